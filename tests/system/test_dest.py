"""Destinations (Alovoip's module = name + dial code + next/error exits):
a callback's dial code works from a context that does not define it and
then sends the caller to its next (or error) destination; app.destination
from Lua abandons the code after it; an extension's busy / no-answer /
unavailable exits and a queue's timeout / failure exits send the caller on
(DIALSTATUS / QUEUESTATUS still set); bad destinations in tamas.conf stop
the start with file:line."""

import re
import sqlite3
import time

import pytest

from harness import call, free_port, read_media_file, register, start_callee
from test_config import start_expecting_failure
from test_media import Listener

PLAN = """\
extensions = {
	main_routing = {
		["600"] = function(c, e)
			app.answer()
			app.noop("next-reached " .. channel.CALLBACKSTATUS:get())
			app.hangup()
		end,
		["800"] = function(c, e)
			app.destination("goto:other,700")
			app.noop("after-destination")
		end,
		["801"] = function(c, e)
			app.destination("queue:q2")
			app.noop("after-queue-destination")
		end,
		["810"] = function(c, e)
			app.queue("q1", "", 1)
			app.noop("after-queue")
		end,
		["811"] = function(c, e)
			app.destination("queue:q1")
		end,
		["812"] = function(c, e)
			app.queue("q2")
			app.noop("after-queue")
		end,
		["813"] = function(c, e)
			app.destination("queue:q3")
			app.noop("after-loop")
		end,
		["820"] = function(c, e)
			app.dial("SIP/1002", 1)
			app.noop("after-dial")
		end,
		["_1XXX"] = function(c, e)
			app.dial("SIP/" .. e, 10)
			app.noop("after-dial")
		end,
		["i"] = function(c, e)
			app.answer()
			app.noop("invalid-reached")
			app.hangup()
		end,
	},
	other = {
		["700"] = function(c, e)
			app.answer()
			app.noop("error-reached CALLBACK=" .. (channel.CALLBACKSTATUS:get() or "")
				.. " DIAL=" .. (channel.DIALSTATUS:get() or "")
				.. " QUEUE=" .. (channel.QUEUESTATUS:get() or ""))
			app.hangup()
		end,
		["710"] = function(c, e)
			app.answer()
			app.noop("timeout-reached QUEUE=" .. (channel.QUEUESTATUS:get() or ""))
			app.hangup()
		end,
	},
}
"""

CONF = {
    "callback sales": {"code": "7500", "target": "1002", "next": "exten:600",
                       "error": "goto:other,700"},
    "callback off": {"code": "7501", "target": "1002", "active": "no",
                     "error": "goto:other,700"},
    "queue q1": {"member": "SIP/1003", "timeout": 1, "retry": 1, "maxwait": 1,
                 "timeout_dest": "goto:other,710", "failure_dest": "hangup"},
    "queue q2": {"member": "SIP/1003", "joinempty": "unavailable",
                 "failure_dest": "callback:off"},
    "queue q3": {"member": "SIP/1003", "joinempty": "unavailable",
                 "failure_dest": "queue:q3"},
}


def make(tamas_factory, user_opts=None, conf=None):
    d = tamas_factory(dialplan=PLAN, conf_update=conf or CONF)
    d.user_opts = user_opts or {}
    return d.start()


def noops(d, mark=0):
    return re.findall(r"app: NoOp\((.*)\) \(channel=", d.stderr()[mark:])


def rows(d):
    con = sqlite3.connect(f"file:{d.db_path}?mode=ro", uri=True, timeout=2)
    try:
        return con.execute("SELECT callback, caller, number, status FROM callback_requests"
                           ).fetchall()
    finally:
        con.close()


def simple_call(d, sipp, dialled):
    sipp.target = d.target
    call(sipp, d, "1001", dialled, scenario="uac_call_wait_bye", timeout=20)


def register_by_keys(d, sipp, dialled):
    """1001 calls dialled, reaches the callback, keeps its own number (# alone)
    and confirms it (1) when it is read back."""
    sipp.target = d.target
    mark = len(d.stderr())
    a = Listener()
    proc = call(sipp, d, "1001", dialled, scenario="uac_call_wait_bye", background=True,
                keys={"rtp_port": a.port}, timeout=40)
    dest = read_media_file(proc.files["media"])
    a.send(dest, b"LATCH")
    for key, pat in (("#", r"callback: asking for the number, try 1 of"),
                     ("1", r"callback: checking the number, 1 of")):
        deadline = time.monotonic() + 15
        while not re.search(pat, d.stderr()[mark:]):
            assert time.monotonic() < deadline, "callback did not ask: " + pat
            time.sleep(0.05)
        a.send_dtmf(dest, key)
    proc.wait(timeout=40)
    a.close()
    return mark


def test_code_from_any_context_then_next_destination(tamas_factory, sipp):
    d = make(tamas_factory)
    # 7500 is no extension of main_routing (which has `i`): the code wins.
    mark = register_by_keys(d, sipp, "7500")
    assert rows(d) == [("sales", "1001", "1001", "pending")]
    assert noops(d, mark) == ["next-reached REGISTERED"], d.stderr()[mark:]
    assert re.search(r"dest: callback:sales done \(channel=SIP/1001-\w+ status=REGISTERED "
                     r"exit=next\)", d.stderr())


def test_code_error_path_goes_to_error_destination(tamas_factory, sipp):
    d = make(tamas_factory)
    simple_call(d, sipp, "7501")          # [callback off] is inactive: ERROR
    assert noops(d) == ["error-reached CALLBACK=ERROR DIAL= QUEUE="]
    assert rows(d) == []
    # An unknown number still falls to `i`.
    simple_call(d, sipp, "7599")
    assert noops(d)[-1] == "invalid-reached"


def test_destination_app_from_lua_abandons_the_code_after(tamas_factory, sipp):
    d = make(tamas_factory)
    simple_call(d, sipp, "800")
    assert noops(d) == ["error-reached CALLBACK= DIAL= QUEUE="]
    # queue:NAME runs the queue with its own settings: q2 refuses (JOINEMPTY),
    # its failure_dest is callback:off, whose error exit is goto:other,700.
    simple_call(d, sipp, "801")
    assert noops(d)[-1] == "error-reached CALLBACK=ERROR DIAL= QUEUE=JOINEMPTY"
    assert "after-destination" not in d.stderr()
    assert "after-queue-destination" not in d.stderr()


def test_user_busy_sends_caller_to_callback(tamas_factory, sipp):
    d = make(tamas_factory, {"1002": {"busy_dest": "callback:sales"}})
    sipp.target = d.target
    callee = start_callee(sipp, d, "1002", scenario="uas_busy")
    mark = register_by_keys(d, sipp, "1002")
    callee.wait(timeout=15)
    assert rows(d) == [("sales", "1001", "1001", "pending")]
    assert noops(d, mark) == ["next-reached REGISTERED"]
    assert re.search(r"dest: sending the call to callback:sales", d.stderr())
    assert "after-dial" not in d.stderr()


def test_user_noanswer_and_unavailable_exits(tamas_factory, sipp):
    d = make(tamas_factory, {"1002": {"noanswer_dest": "callback:off"},
                             "1003": {"unavail_dest": "callback:off",
                                      "busy_dest": "goto:other,710"}})
    sipp.target = d.target
    callee = start_callee(sipp, d, "1002", scenario="uas_ring_forever")
    simple_call(d, sipp, "820")               # Dial(SIP/1002, 1): no answer
    assert noops(d) == ["error-reached CALLBACK=ERROR DIAL=NOANSWER QUEUE="]
    callee.kill()
    simple_call(d, sipp, "1003")              # not registered: CHANUNAVAIL
    assert noops(d)[-1] == "error-reached CALLBACK=ERROR DIAL=CHANUNAVAIL QUEUE="
    assert "after-dial" not in d.stderr()
    # 1001 has no exits: a failed Dial to it returns to the dialplan.
    mark = len(d.stderr())
    simple_call_expect_fail(d, sipp, "1001")
    assert noops(d, mark) == ["after-dial"]


def simple_call_expect_fail(d, sipp, dialled):
    sipp.target = d.target
    r = call(sipp, d, "1003", dialled, scenario="uac_call", check=False, timeout=20)
    assert r.rc != 0


def test_queue_timeout_and_joinempty_exits(tamas_factory, sipp):
    d = make(tamas_factory)
    simple_call(d, sipp, "810")               # nobody answers q1 within 1 s
    assert noops(d) == ["timeout-reached QUEUE=TIMEOUT"]
    assert "after-queue" not in d.stderr()
    # queue:q1 has no Queue() timeout: q1's own maxwait ends the wait.
    simple_call(d, sipp, "811")
    assert noops(d)[-1] == "timeout-reached QUEUE=TIMEOUT"
    # Straight from Lua, JOINEMPTY goes to q2's failure_dest (callback:off,
    # whose error exit is goto:other,700).
    simple_call(d, sipp, "812")
    assert noops(d)[-1] == "error-reached CALLBACK=ERROR DIAL= QUEUE=JOINEMPTY"
    assert "after-queue" not in d.stderr()


def test_destinations_leading_back_into_each_other_hang_up(tamas_factory, sipp):
    d = make(tamas_factory)
    sipp.target = d.target
    r = call(sipp, d, "1001", "813", scenario="uac_call", check=False, timeout=20)
    assert r.rc != 0                          # never answered: refused
    assert "dest: destinations lead back into each other, hanging up" in d.stderr()
    assert "after-loop" not in d.stderr()
    d.assert_alive()


@pytest.mark.parametrize("section,key,value,why", [
    ("user 1002", "busy_dest", "callback:nosuch", "no callback named 'nosuch'"),
    ("user 1002", "unavail_dest", "voicemail:1002", "expected hangup, callback:NAME"),
    ("queue q1", "timeout_dest", "queue:nosuch", "no queue named 'nosuch'"),
    ("queue q1", "failure_dest", "goto:other", "expected goto:CONTEXT,EXTEN"),
    ("callback sales", "next", "exten:", "expected exten:NUMBER"),
    ("callback sales", "error", "callback:ghost", "no callback named 'ghost'"),
])
def test_bad_destination_refused_with_file_and_line(tamas_factory, section, key, value, why):
    conf = {k: dict(v) for k, v in CONF.items()}
    d = tamas_factory(dialplan=PLAN, conf_update=conf)
    if section.startswith("user "):
        d.user_opts = {section[5:]: {key: value}}
    else:
        d.conf[section][key] = value
    text = d.conf_text()
    line = next(i + 1 for i, l in enumerate(text.splitlines())
                if l == f"{key} = {value}")
    d.write_conf(text)
    err = start_expecting_failure(d)
    assert f"{d.conf_path}:{line}: [{section}]: {key}: " in err, err
    assert why in err, err


def test_no_answer_leaves_a_request_then_tamasd_calls_back(tamas_factory, sipp):
    """The issue's story end to end: 1001 calls 1002, who does not answer;
    1002's no-answer exit is a callback with auto_call; 1001 keeps its own
    number; once 1002 is free again tamasd calls 1002, then 1001, and
    bridges them; the request is done and both legs carry the call id."""
    conf = dict(CONF)
    conf["callback auto"] = {"code": "7502", "target": "1002", "auto_call": "yes",
                             "min_wait": 3, "retries": 1, "next": "exten:600"}
    d = make(tamas_factory, {"1002": {"noanswer_dest": "callback:auto"}}, conf)
    sipp.target = d.target
    ringer = start_callee(sipp, d, "1002", scenario="uas_ring_forever")
    mark = register_by_keys(d, sipp, "820")          # Dial(SIP/1002, 1): no answer
    assert noops(d, mark) == ["next-reached REGISTERED"]
    assert rows(d) == [("auto", "1001", "1001", "pending")]
    ringer.kill()
    # 1002 is back at its desk (registers again) and 1001 waits for the call.
    agent = start_callee(sipp, d, "1002")
    customer = start_callee(sipp, d, "1001", scenario="uas_bye", hold_ms=1000)
    customer.wait(timeout=20)
    agent.wait(timeout=15)

    def done():
        con = sqlite3.connect(f"file:{d.db_path}?mode=ro", uri=True, timeout=2)
        try:
            return con.execute("SELECT status, attempts, call_id FROM callback_requests "
                               "WHERE status = 'done'").fetchone()
        finally:
            con.close()
    deadline = time.monotonic() + 10
    while not done():
        assert time.monotonic() < deadline, rows(d)
        time.sleep(0.1)
    status, attempts, call_id = done()
    assert (status, attempts) == ("done", 1) and call_id.startswith("orig.call.")
    linked = [c for c in d.wait_cdrs(2) if c.get("originated_call_id") == call_id]
    assert any(c["channel"].startswith("SIP/1002-") and
               (c["dstchannel"] or "").startswith("SIP/1001-") and
               c["disposition"] == "ANSWERED" for c in linked), linked
