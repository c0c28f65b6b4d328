"""Handler routines (seed 002, asterisk-semantics.md §4): hangup handlers run
LIFO after the call with its final variables, Dial's pre-dial B()/b() and
pre-bridge U() routines with GOSUB_RESULT, and broken handlers (missing, Lua
error, endless loop) are logged and skipped while the call goes on."""

import sqlite3

import pytest

from harness import call, start_callee, wait_until


def plan(main, extra=""):
    return ("extensions = {\n\tmain_routing = {\n" + main + "\n\t},\n"
            "\thandlers = {\n" + extra + "\n\t},\n}\n")


def kv(tamas, family, key):
    db = sqlite3.connect(f"file:{tamas.db_path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM kv WHERE family=? AND key=?",
                         (family, key)).fetchone()
        return row[0] if row else None
    finally:
        db.close()


# a handler appends "<ARG1>:<DIALSTATUS>:<HANGUPCAUSE>;" to DB(hh/log)
APPEND = ('\t\t["log"] = function() '
          'local old = channel.DB("hh/log"):get() or "" '
          'channel.DB("hh/log"):set(old .. channel.ARG1:get() .. ":" .. '
          '(channel.DIALSTATUS:get() or "") .. ":" .. channel.HANGUPCAUSE:get() .. ";") '
          'app.Return() end,')


@pytest.mark.tamas(dialplan=plan(
    '\t\t["_1XXX"] = function(c, e) '
    'channel.CHANNEL("hangup_handler_push"):set("handlers,log,1(first)") '
    'channel.CHANNEL("hangup_handler_push"):set("handlers,log,1(second)") '
    'app.dial("SIP/" .. e, 5) end,\n'
    '\t\t["h"] = function() channel.DB("hh/log"):set("h;") end,', APPEND))
def test_hangup_handlers_run_lifo_after_h_with_final_variables(tamas, sipp):
    callee = start_callee(sipp, tamas, "1002")
    call(sipp, tamas, "1001", "1002", hold_ms=300)
    callee.wait()
    got = wait_until(lambda: kv(tamas, "hh", "log") if (kv(tamas, "hh", "log") or "")
                     .count(";") >= 3 else None, 5, what="hangup handlers ran")
    assert got == "h;second:ANSWER:16;first:ANSWER:16;", got


@pytest.mark.tamas(dialplan=plan(
    '\t\t["_1XXX"] = function(c, e) app.dial("SIP/" .. e, 5, "b(handlers^callee^1)") end,',
    APPEND +
    '\n\t\t["callee"] = function() '
    'channel.CHANNEL("hangup_handler_push"):set("handlers,log,1(callee-hh)") '
    'app.Return() end,'))
def test_callee_hangup_handler_pushed_by_predial_routine(tamas, sipp):
    callee = start_callee(sipp, tamas, "1002")
    call(sipp, tamas, "1001", "1002", hold_ms=300)
    callee.wait()
    got = wait_until(lambda: kv(tamas, "hh", "log"), 5, what="callee's hangup handler")
    assert got.startswith("callee-hh:"), got


@pytest.mark.tamas(dialplan=plan(
    '\t\t["_1XXX"] = function(c, e) '
    'app.dial("SIP/" .. e, 5, "B(handlers^caller^1(from-B))b(handlers^callee^1(7777))") end,',
    '\t\t["caller"] = function() app.set("CDR(userfield)=" .. channel.ARG1:get()) '
    'app.Return() end,\n'
    '\t\t["callee"] = function() app.set("CALLERID(num)=" .. channel.ARG1:get()) '
    'app.Return() end,'))
def test_predial_routines_run_on_caller_and_on_each_callee(tamas, sipp):
    callee = start_callee(sipp, tamas, "1002")
    call(sipp, tamas, "1001", "1002", hold_ms=300)
    res = callee.wait()
    [invite] = res.received(r"INVITE ")
    from_hdr = next(line for line in invite.splitlines() if line.lower().startswith("from:"))
    assert "sip:7777@" in from_hdr, f"b() set CALLERID(num) but From is {from_hdr!r}"
    [row] = tamas.wait_cdrs(1)
    assert row["userfield"] == "from-B", row


@pytest.mark.parametrize("result,userfield", [
    ("ABORT", None), ("CONTINUE", "after:ANSWER"), ("BUSY", "after:BUSY")])
def test_prebridge_routine_gosub_result(tamas_factory, sipp, result, userfield):
    d = tamas_factory(dialplan=plan(
        '\t\t["_1XXX"] = function(c, e) app.dial("SIP/" .. e, 5, "gU(screen^' + result + ')") '
        'app.set("CDR(userfield)=after:" .. channel.DIALSTATUS:get()) end,',
        '\t\t["s"] = function() app.set("GOSUB_RESULT=" .. channel.ARG1:get()) '
        'app.Return() end,').replace("handlers = {", "screen = {"))
    if result == "ABORT":
        d.write_dialplan(d.dialplan_path.read_text().replace('"gU(', '"U('))
    d.start()
    sipp.target = d.target
    callee = start_callee(sipp, d, "1002")
    # the callee answers and is hung up by tamasd; the caller, never answered,
    # gets a final error once its dialplan is done
    r = call(sipp, d, "1001", "1002", scenario="uac_expect_code", background=True,
             sets={"expect": "any"})
    callee.wait()
    r.wait()
    [row] = d.wait_cdrs(1)
    if userfield:
        assert row["userfield"] == userfield, row
    else:
        assert row["userfield"] in ("", None), row   # ABORT without g: no next step


@pytest.mark.tamas(dialplan=plan(
    '\t\t["_1XXX"] = function(c, e) '
    'channel.CHANNEL("hangup_handler_push"):set("handlers,missing,1") '
    'channel.CHANNEL("hangup_handler_push"):set("handlers,spin,1") '
    'channel.CHANNEL("hangup_handler_push"):set("handlers,boom,1") '
    'channel.CHANNEL("hangup_handler_push"):set("handlers,log,1(last-ok)") '
    'app.dial("SIP/" .. e, 5) end,',
    APPEND + '\n\t\t["boom"] = function() local t = nil return t.x end,\n'
    '\t\t["spin"] = function() while true do end end,'))
def test_broken_handlers_are_logged_and_skipped(tamas, sipp):
    callee = start_callee(sipp, tamas, "1002")
    call(sipp, tamas, "1001", "1002", hold_ms=300)
    callee.wait()
    got = wait_until(lambda: kv(tamas, "hh", "log"), 10, what="the good handler ran")
    assert got.startswith("last-ok:"), got
    err = wait_until(lambda: tamas.stderr() if "missing does not exist" in tamas.stderr()
                     else None, 10, what="all handlers tried")
    assert "attempt to index a nil value" in err and "extensions.lua:" in err
    assert "instruction budget exhausted" in err
    tamas.assert_alive()
    # the daemon still places calls
    callee = start_callee(sipp, tamas, "1002")
    call(sipp, tamas, "1001", "1002", hold_ms=200)
    callee.wait()


@pytest.mark.tamas(dialplan=plan(
    '\t\t["_1XXX"] = function(c, e) '
    'app.dial("SIP/" .. e, 5, "B(handlers^rude^1)") end,',
    '\t\t["rude"] = function() app.hangup() app.set("NEVER=1") end,'))
def test_predial_routine_may_not_hang_the_caller_up(tamas, sipp):
    callee = start_callee(sipp, tamas, "1002")
    call(sipp, tamas, "1001", "1002", hold_ms=300)     # the call still goes through
    callee.wait()
    assert "Hangup() in a handler routine is not allowed" in tamas.stderr()


# ------------------------------------------------------ redirecting (§4.4)

@pytest.mark.tamas(dialplan=plan(
    '\t\t["_1XXX"] = function(c, e) '
    'channel.REDIRECTING_SEND_SUB:set("handlers,redir,1") '
    'app.dial("SIP/" .. e, 5) end,\n',
    '\t\t["redir"] = function() '
    'app.set("CDR(userfield)=" .. channel.REDIRECTING("from-num"):get() .. "/" .. '
    'channel.REDIRECTING("reason"):get() .. "/" .. channel.REDIRECTING("count"):get()) '
    'app.set("REDIRECTING(from-num)=5555") '
    'app.Return() end,'))
def test_diversion_runs_redirecting_sub_and_reaches_the_caller(tamas, sipp):
    # the callee answers with a Diversion header (it was forwarded to): the
    # caller's REDIRECTING_SEND_SUB sees REDIRECTING() and may edit it
    # before tamasd tells the caller's phone (181 with Diversion)
    callee = start_callee(sipp, tamas, "1002", scenario="uas_answer_diverted")
    res = call(sipp, tamas, "1001", "1002", hold_ms=500)
    callee.wait()
    [row] = tamas.wait_cdrs(1)
    assert row["userfield"] == "2000/unconditional/1", row
    [r181] = res.received(r"SIP/2.0 181 ")
    div = next(l for l in r181.splitlines() if l.lower().startswith("diversion:"))
    assert "sip:5555@" in div and "reason=unconditional" in div, div
    assert "callee diverted the call" in tamas.stderr()


@pytest.mark.tamas(dialplan=plan(
    '\t\t["_1XXX"] = function(c, e) '
    'channel.REDIRECTING_SEND_SUB:set("handlers,redir,1") '
    'app.dial("SIP/" .. e, 5) end,\n',
    '\t\t["redir"] = function() '
    'app.set("CDR(userfield)=" .. channel.REDIRECTING("from-num"):get() .. "/" .. '
    'channel.REDIRECTING("to-num"):get() .. "/" .. channel.REDIRECTING("reason"):get()) '
    'app.Return() end,'))
def test_302_is_followed_and_runs_redirecting_sub(tamas, sipp):
    # 1002 answers 302 to 1003's contact: the call reaches 1003, and the
    # caller's REDIRECTING_SEND_SUB saw who diverted (1002) and where to
    from harness import free_port, register
    port = free_port()
    register(sipp, tamas, "1003", port)
    # rings 1.5 s: the caller hears of the forward while it still rings
    target = sipp.start("uas_answer_late", port=port, keys={"ext": "1003"}, remote="")
    target.wait_bound()
    fwd = start_callee(sipp, tamas, "1002", scenario="uas_redirect",
                       keys={"target": f"sip:1003@127.0.0.1:{port}"})
    res = call(sipp, tamas, "1001", "1002", hold_ms=500)
    fwd.wait()
    target.wait()
    [row] = tamas.wait_cdrs(1)
    assert row["userfield"] == "1002/1003/unknown", row
    assert row["disposition"] == "ANSWERED", row
    assert res.received(r"SIP/2.0 181 "), "the caller was not told of the forward"
