-- extensions-bench-play.lua: bench/run.sh's playback phase. tamasd answers
-- every call itself and plays a 4-minute music file (read, resampled if
-- needed, G.711-encoded and sent every 20 ms by tamasd).
extensions = {
	bench = {
		["_X."] = function(context, exten)
			app.answer()
			app.playback("/usr/share/asterisk/moh/macroform-cold_day")
			app.hangup()
		end,
	},
}
