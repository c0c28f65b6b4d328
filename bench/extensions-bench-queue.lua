-- extensions-bench-queue.lua: bench/run.sh's queue phases. SIPp calls
-- 9001 (queue "ringall"), 9002 (queue "leastrecent"), both of 50 agents
-- SIP/uas/2000..2049 answered by one SIPp UAS, or 9003 (queue "wait", no
-- members: callers hear music on hold until they hang up). app.queue
-- answers the caller; its timeout (s) bounds every wait.
local function q(name, timeout)
	return function(context, exten)
		app.queue(name, "", timeout)
		app.hangup()
	end
end

extensions = {
	bench = {
		["9001"] = q("ringall", 10),
		["9002"] = q("leastrecent", 10),
		["9003"] = q("wait", 300),
	},
}
