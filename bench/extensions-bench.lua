-- extensions-bench.lua: the benchmark's dialplan (bench/run.sh).
-- Every number SIPp calls through trunk "sipp" goes out to the SIPp UAS
-- through trunk "uas", media anchored. Kept in Lua on purpose: the bench
-- measures tamas with its dialplan and CDRs on, as it runs in production.
extensions = {
	bench = {
		["_X."] = function(context, exten)
			app.dial("SIP/uas/" .. exten)
			app.hangup()
		end,
	},
}
