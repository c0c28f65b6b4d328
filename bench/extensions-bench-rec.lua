-- extensions-bench-rec.lua: bench/run.sh's recording phase. Every call is
-- recorded (both directions mixed into one WAV) while it is relayed.
extensions = {
	bench = {
		["_X."] = function(context, exten)
			app.mixmonitor("bench-${UNIQUEID}.wav")
			app.dial("SIP/uas/" .. exten)
			app.hangup()
		end,
	},
}
