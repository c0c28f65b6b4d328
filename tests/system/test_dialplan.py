"""The Lua dialplan at run time: a Lua error hangs up only that call;
`tamasctl dialplan reload` picks up a changed file; a reload with a syntax
error keeps the old plan and reports file:line."""

import re

from harness import DEFAULT_DIALPLAN, call, start_callee


def answered_call(tamas, sipp, dialled="1002"):
    callee = start_callee(sipp, tamas, "1002")
    call(sipp, tamas, "1001", dialled, hold_ms=200)
    callee.wait()


def test_lua_error_hangs_up_call_daemon_survives(tamas, sipp):
    # extension 3000 indexes a nil value
    call(sipp, tamas, "1001", "3000", scenario="uac_expect_code", sets={"expect": "any"})
    tamas.assert_alive()
    answered_call(tamas, sipp)


def test_dialplan_reload_picks_up_changes(tamas, sipp):
    call(sipp, tamas, "1001", "4444", scenario="uac_expect_code", sets={"expect": 404})
    tamas.write_dialplan(DEFAULT_DIALPLAN.replace(
        '["3000"]', '["4444"] = function(c, e) app.dial("SIP/1002", 3) app.hangup() end,\n'
        '\t\t["3000"]'))
    tamas.ctl("dialplan", "reload")
    answered_call(tamas, sipp, "4444")


def test_reload_with_syntax_error_keeps_old_plan(tamas, sipp):
    broken = "-- broken on purpose\nextensions = {\n\tmain_routing = = {},\n}\n"
    tamas.write_dialplan(broken)            # the error is on line 3
    r = tamas.ctl("dialplan", "reload", check=False)
    out = (r.stdout + r.stderr).strip()
    assert r.returncode != 0, f"reload of a broken file succeeded: {out}"
    assert re.search(r"extensions\.lua:3\b", out), f"no file:line in {out!r}"
    assert len(out.splitlines()) == 1, f"want a one-line reason: {out!r}"
    tamas.assert_alive()
    answered_call(tamas, sipp)              # the old plan still routes 1002
