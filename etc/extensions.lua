-- extensions.lua: tamas dialplan, in Asterisk pbx_lua's shape.
-- Contexts are tables; extensions are functions(context, extension).

-- Dial a local user; SIP/<ext> reaches its registered contact.
local function local_call(context, exten)
	app.dial("SIP/" .. exten, 30)
	local status = channel.DIALSTATUS:get()
	app.noop("dial to " .. exten .. " ended: " .. tostring(status))
	if status == "BUSY" then
		app.busy()
	elseif status == "CONGESTION" or status == "CHANUNAVAIL" then
		app.congestion()
	end
	app.hangup()
end

-- External numbers leave through the demo trunk.
local function trunk_call(context, exten)
	app.dial("SIP/demo/" .. exten, 60)
	app.hangup()
end

extensions = {
	main_routing = {
		["_1XXX"] = local_call,
		["_0X."] = trunk_call,
		["_9X."] = function(context, exten)
			trunk_call(context, exten:sub(2))
		end,
	},
	from_trunk = {
		-- DIDs arrive here; route the demo DID to extension 1001.
		["_X."] = function(context, exten)
			app.dial("SIP/1001", 30)
			app.hangup()
		end,
	},
}
