-- extensions.lua: tamas dialplan, in Asterisk pbx_lua's shape.
-- Contexts are tables; extensions are functions(context, extension).

-- Smart transfer (seed 004), bound to '#' by [applicationmap] in
-- tamas.conf: during a call the agent presses #, the target extension, #.
-- An unavailable target: the agent hears so and keeps the call. Otherwise
-- the caller hears music on hold while the target rings; busy: the caller
-- may press 1 to wait and retry; no answer: the call returns to the agent.
local function smart_transfer(context, extension)
	app.read("XFER_TO", "transfer", 6, "", 1, 5)
	local target = channel.XFER_TO:get() or ""
	if channel.READSTATUS:get() ~= "OK" or target == "" then
		return
	end
	if channel.DEVICE_STATE("SIP/" .. target):get() == "UNAVAILABLE" then
		app.playback("vm-isunavail")
		return
	end
	local peer = channel.BRIDGEPEER:get()
	local me = string.match(channel.CHANNEL:get(), "^%a+/([^-]+)")
	channel.DB("transferedBy/" .. peer):set(me)
	app.channelredirect(peer, "smart_transfer_target", target, 1)
end

local function smart_transfer_target(context, target)
	local by = channel.DB_DELETE("transferedBy/" .. channel.CHANNEL:get()):get() or ""
	channel.__TRANSFEREDBY:set(by)
	for attempt = 1, 3 do
		app.dial("SIP/" .. target, 30, "mg")
		if channel.DIALSTATUS:get() ~= "BUSY" then
			break
		end
		app.read("CHOICE", "vm-isonphone&vm-press&digits/1&pls-hold-while-try", 1, "", 1, 5)
		if channel.CHOICE:get() ~= "1" then
			break
		end
		app.musiconhold("", 15)
	end
	if channel.DIALSTATUS:get() ~= "ANSWER" and by ~= "" then
		app.dial("SIP/" .. by, 30, "m")
	end
	app.hangup()
end

-- Dial a local user; SIP/<ext> reaches its registered contact.
local function local_call(context, exten)
	channel.__DYNAMIC_FEATURES:set("smartTransfer")
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

-- A Trunk API route (Simotel's component, tamas.conf [api]): the customer's
-- web service names the trunk, the number and a talk-time limit (CALL_LIMIT,
-- which Dial applies); when it fails or is slow, take the fallback route.
-- ["_8X."] = function(context, exten)
-- 	app.trunkapi("http://127.0.0.1:8000/route", "route-by-crm")
-- 	if channel.TRUNKAPI_STATUS:get() == "SUCCESS" then
-- 		app.dial(channel.TRUNKAPI_DIAL:get(), 30)
-- 	else   -- FAILED or TIMEOUT; TRUNKAPI_ERROR says why
-- 		app.dial("SIP/1001", 30)
-- 	end
-- 	app.hangup()
-- end,
-- app.extenapi(url[, app_name[, data]]) likewise sets EXTENAPI_STATUS,
-- EXTENAPI_EXTENSION and EXTENAPI_DIAL ("SIP/<extension>").

extensions = {
	main_routing = {
		["_1XXX"] = local_call,
		["_0X."] = trunk_call,
		["_9X."] = function(context, exten)
			trunk_call(context, exten:sub(2))
		end,
	},
	smart_transfer = {
		["#"] = smart_transfer,
	},
	smart_transfer_target = {
		["_X."] = smart_transfer_target,
	},
	from_trunk = {
		-- DIDs arrive here; route the demo DID to extension 1001.
		["_X."] = function(context, exten)
			app.dial("SIP/1001", 30)
			app.hangup()
		end,
	},
}
