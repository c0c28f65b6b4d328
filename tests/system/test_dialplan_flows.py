"""The Lua dialplan as a user writes it: errors, reloads, variables."""
import time

from phones import DEFAULT_DIALPLAN, free_port, pbx, running, sipp  # noqa: F401
from test_call_flows import call, expect, register_callee

ERRORING = """
extensions = {
  main_routing = {
    ["_1XXX"] = function(c, e)
      local x = nil
      app.noop("before the error")
      return x.field   -- line 7: attempt to index a nil value
    end,
  },
}
"""

VARS = """
extensions = {
  main_routing = {
    ["_1XXX"] = function(c, e)
      channel.__TRANSFERRED_BY:set("9999")
      channel["CDR(userfield)"]:set("ctx=" .. c .. ";exten=" .. e .. ";cid=" ..
                                    channel["CALLERID(num)"]:get())
      app.dial("SIP/" .. e, 4)
      if channel.DIALSTATUS:get() == "ANSWER" then app.hangup() end
      app.hangup()
    end,
  },
}
"""


def test_lua_error_hangs_up_call_and_daemon_lives(pbx, sipp):
    pbx.write_config(dialplan=ERRORING)
    pbx.start()
    pbx.add_user("1001", "pw1001")
    r = expect(sipp, 603, "1002")
    assert r.returncode == 0, r.errors
    pbx.wait_log(r"extensions.lua:7:.*attempt to index")
    assert pbx.ctl("status").returncode == 0
    # the next call gets the same clean treatment
    assert expect(sipp, 603, "1003").returncode == 0


def test_dialplan_reload_takes_new_code(running, sipp):
    assert expect(sipp, 404, "555").returncode == 0
    running.dialplan.write_text(DEFAULT_DIALPLAN.replace(
        'main_routing = {', 'main_routing = {\n    ["555"] = function() app.busy() end,'))
    r = running.ctl("dialplan", "reload")
    assert r.returncode == 0, r.stderr
    assert expect(sipp, 486, "555").returncode == 0


def test_reload_with_syntax_error_keeps_old_plan(running, sipp):
    running.dialplan.write_text("extensions = { main_routing = {\n  oops oops\n} }\n")
    r = running.ctl("dialplan", "reload", check=False)
    assert r.returncode != 0
    assert "extensions.lua:2:" in r.stderr
    # old plan still routes: an unregistered user is 480, unknown is 404
    assert expect(sipp, 480, "1002").returncode == 0
    assert expect(sipp, 404, "555").returncode == 0


def test_sighup_reloads_dialplan(running, sipp):
    running.dialplan.write_text(DEFAULT_DIALPLAN.replace(
        'main_routing = {', 'main_routing = {\n    ["556"] = function() app.congestion() end,'))
    running.proc.send_signal(1)
    running.wait_log(r"dialplan: reloaded on SIGHUP")
    assert expect(sipp, 503, "556").returncode == 0


def test_channel_variables_and_cdr_userfield(pbx, sipp):
    pbx.write_config(dialplan=VARS)
    pbx.start()
    pbx.add_user("1001", "pw1001")
    pbx.add_user("1002", "pw1002")
    uas = sipp.start("uas_answer.xml", register_callee(sipp))
    r = call(sipp, hold=200)
    assert r.returncode == 0, r.errors
    assert sipp.wait(uas) == 0, uas.errors
    (row,) = pbx.wait_cdrs(1)
    assert row["userfield"] == "ctx=main_routing;exten=1002;cid=1001"
    assert row["disposition"] == "ANSWERED"


def test_goto_and_include_and_h_extension(pbx, sipp):
    pbx.write_config(dialplan="""
extensions = {
  main_routing = {
    include = {"more"},
    ["777"] = function(c, e)
      app["goto"]("more", "888", 1)
      app.noop("never reached")
    end,
    h = function(c, e) channel["CDR(userfield)"]:set("h ran") end,
  },
  more = {
    ["_8XX"] = function(c, e) app.set("CDR(accountcode)=acct-" .. e) app.busy() end,
  },
}
""")
    pbx.start()
    pbx.add_user("1001", "pw1001")
    assert expect(sipp, 486, "777").returncode == 0
    (row,) = pbx.wait_cdrs(1)
    assert row["accountcode"] == "acct-888"
    assert row["dcontext"] == "more"
    assert row["disposition"] == "BUSY"
    # the include finds _8XX from main_routing too
    assert expect(sipp, 486, "812").returncode == 0
