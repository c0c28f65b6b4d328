"""Call-center queues (Asterisk app_queue): SIPp agents registered as
extensions 2001-2003 on 127.0.0.1 take calls from 1001/1002 through Queue():
who rings per strategy, busy/unregistered members skipped, ring timeout
with autopause, wrap-up, pause and unpause, dynamic members kept across a
restart, waiting order, announcements, options c and n, queue timeout,
abandon, joinempty/leavewhenempty, maxlen, bad configuration; the
queue_log rows in the SQLite database and the CDRs."""

import re
import sqlite3
import time

import pytest

from harness import call, start_callee, wait_until

USERS = {"1001": "pw1001", "1002": "pw1002", "2001": "pw2001", "2002": "pw2002",
         "2003": "pw2003"}
AGENTS = ["2001", "2002", "2003"]

DIALPLAN = """\
local function status(name)
	return channel[name]:get() or ""
end

extensions = {
	main_routing = {
		-- 8xx: queue q<xx>; what Queue left goes to the CDR's userfield
		["_8XX"] = function(c, e)
			app.queue("q" .. e:sub(2), "", 3)
			channel["CDR(userfield)"]:set("QS=" .. status("QUEUESTATUS") ..
				";AB=" .. status("ABANDONED"))
			app.hangup()
		end,
		-- 9xx: the same with a 1 s queue timeout
		["_9XX"] = function(c, e)
			app.queue("q" .. e:sub(2), "", 1)
			channel["CDR(userfield)"]:set("QS=" .. status("QUEUESTATUS") ..
				";AB=" .. status("ABANDONED"))
			app.hangup()
		end,
		-- 6xx: a 10 s queue timeout; 3xx: the same with QUEUE_PRIO 10;
		-- 2xx: QUEUE_MAX_PENALTY 0
		["_6XX"] = function(c, e)
			app.queue("q" .. e:sub(2), "", 10)
			app.hangup()
		end,
		["_3XX"] = function(c, e)
			channel.QUEUE_PRIO:set("10")
			app.queue("q" .. e:sub(2), "", 10)
			app.hangup()
		end,
		["_2XX"] = function(c, e)
			channel.QUEUE_MAX_PENALTY:set("0")
			app.queue("q" .. e:sub(2), "", 3)
			channel["CDR(userfield)"]:set("QS=" .. status("QUEUESTATUS"))
			app.hangup()
		end,
		-- 5xx: option n (one ring cycle), 4xx: option c (continue after the agent)
		["_5XX"] = function(c, e)
			app.queue("q" .. e:sub(2), "n", 10)
			channel["CDR(userfield)"]:set("QS=" .. status("QUEUESTATUS"))
			app.hangup()
		end,
		["_4XX"] = function(c, e)
			app.queue("q" .. e:sub(2), "c", 10)
			channel["CDR(userfield)"]:set("QS=" .. status("QUEUESTATUS"))
			app.hangup()
		end,
		["_71XX"] = function(c, e)
			app.answer()
			app.pausequeuemember("q" .. e:sub(3), "SIP/2001", "", "lunch")
			channel["CDR(userfield)"]:set(status("PQMSTATUS"))
			app.hangup()
		end,
		["_72XX"] = function(c, e)
			app.answer()
			app.unpausequeuemember("q" .. e:sub(3), "SIP/2001")
			channel["CDR(userfield)"]:set(status("UPQMSTATUS"))
			app.hangup()
		end,
		["_73XX"] = function(c, e)
			app.answer()
			app.addqueuemember("q" .. e:sub(3), "SIP/2003")
			channel["CDR(userfield)"]:set(status("AQMSTATUS"))
			app.hangup()
		end,
		["_74XX"] = function(c, e)
			app.answer()
			app.removequeuemember("q" .. e:sub(3), "SIP/2003")
			channel["CDR(userfield)"]:set(status("RQMSTATUS"))
			app.hangup()
		end,
		["_76XX"] = function(c, e)
			app.answer()
			app.pausequeuemember("q" .. e:sub(3), "SIP/2003")
			channel["CDR(userfield)"]:set(status("PQMSTATUS"))
			app.hangup()
		end,
		["_77XX"] = function(c, e)
			app.answer()
			app.unpausequeuemember("q" .. e:sub(3), "SIP/2003")
			channel["CDR(userfield)"]:set(status("UPQMSTATUS"))
			app.hangup()
		end,
		["7500"] = function(c, e)
			app.answer()
			app.queue("nosuchqueue")
			channel["CDR(userfield)"]:set(status("QUEUESTATUS"))
			app.hangup()
		end,
	},
	qexit = {
		["5"] = function(c, e)
			channel["CDR(userfield)"]:set("EXIT" .. e .. ";QS=" .. status("QUEUESTATUS"))
			app.hangup()
		end,
	},
}
"""


def queue_conf(name, members=(), **keys):
    sec = {"retry": 0, "timeout": 10}
    sec.update({k: v for k, v in keys.items()})
    for i, m in enumerate(members):
        sec["member" if i == 0 else f"member{i + 1}"] = m
    return {f"queue {name}": sec}


def make(tamas_factory, *queues):
    conf = {}
    for q in queues:
        conf.update(q)
    d = tamas_factory("tamas", users=USERS, dialplan=DIALPLAN, conf_update=conf)
    d.start()
    return d


def qlog(tamas):
    con = sqlite3.connect(f"file:{tamas.db_path}?mode=ro", uri=True, timeout=2)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM queue_log ORDER BY id")]
    finally:
        con.close()


def events(tamas, queue=None):
    return [(r["event"], r["agent"]) for r in qlog(tamas)
            if queue is None or r["queuename"] == queue]


def idle(tamas):
    wait_until(lambda: not tamas.channel_names(), 5, what="no channels left")


def answered_by(row):
    m = re.fullmatch(r"SIP/(\d+)-[0-9a-fA-F]{8}", row["dstchannel"] or "")
    return m.group(1) if m else None


def queue_calls(tamas, sipp, exten, n, hold_ms=400):
    """n calls from 1001 to exten one after the other (one SIPp, one call at
    a time); returns who answered each."""
    before = len(tamas.cdr_rows())
    call(sipp, tamas, "1001", exten, hold_ms=hold_ms, calls=n, extra=("-l", "1"))
    rows = tamas.wait_cdrs(before + n)
    idle(tamas)
    return [answered_by(r) for r in rows[before:]]


def agent_invites(res):
    return len(res.received(r"INVITE "))


STRATEGIES = [          # queue, strategy, calls, who answers them (None: any agent)
    ("q11", "rrmemory", 4, ["2001", "2002", "2003", "2001"]),
    ("q12", "roundrobin", 2, ["2001", "2002"]),
    ("q13", "linear", 2, ["2001", "2001"]),
    ("q14", "leastrecent", 3, ["2001", "2002", "2003"]),
    ("q15", "fewestcalls", 3, ["2001", "2002", "2003"]),
    ("q16", "random", 2, None),
    ("q17", "wrandom", 2, None),
]


def test_strategy_decides_who_rings(tamas_factory, sipp):
    # one daemon, one queue per strategy over the same three agents: each
    # queue keeps its own rrmemory position and member counters. ringinuse:
    # back-to-back calls need not wait for the last agent leg to be gone.
    tamas = make(tamas_factory, *[queue_conf(q, [f"SIP/{a}" for a in AGENTS], strategy=s,
                                             ringinuse="yes")
                                  for q, s, _, _ in STRATEGIES])
    sipp.target = tamas.target
    total = sum(n for _, _, n, _ in STRATEGIES)
    agents = {a: start_callee(sipp, tamas, a, calls=total) for a in AGENTS}
    for q, strategy, calls, expect in STRATEGIES:
        got = queue_calls(tamas, sipp, "8" + q[1:], calls, hold_ms=200)
        if expect is not None:
            assert got == expect, f"{strategy}: calls answered by {got}, want {expect}"
        else:
            assert all(g in AGENTS for g in got), (strategy, got)
        # Asterisk's queue_log for each call: ENTERQUEUE, CONNECT, COMPLETECALLER
        ev = events(tamas, q)
        assert [e for e, _ in ev] == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"] * calls, ev
        assert [f"SIP/{g}" for g in got] == [a for e, a in ev if e == "CONNECT"]
    for p in agents.values():
        p.kill()
    for row in tamas.cdr_rows():
        assert row["disposition"] == "ANSWERED" and row["dst"].startswith("81"), row
    connect = [r for r in qlog(tamas) if r["event"] == "CONNECT"]
    complete = [r for r in qlog(tamas) if r["event"] == "COMPLETECALLER"]
    cdrs = tamas.cdr_rows()
    # CONNECT: holdtime, the member channel's uniqueid, ring time; the
    # caller's CDR names that member channel as dstchannel
    assert [r["callid"] for r in connect] == [c["uniqueid"] for c in cdrs]
    assert all(r["data2"] and r["data2"] != r["callid"] for r in connect)
    assert all(r["data3"] == "1" for r in complete)     # original position


def test_ringall_rings_every_free_member(tamas_factory, sipp):
    tamas = make(tamas_factory, queue_conf("q02", [f"SIP/{a}" for a in AGENTS],
                                          strategy="ringall"))
    sipp.target = tamas.target
    ringers = {a: start_callee(sipp, tamas, a, "uas_ring_forever") for a in ("2001", "2003")}
    winner = start_callee(sipp, tamas, "2002")
    assert queue_calls(tamas, sipp, "802", 1) == ["2002"]
    for a, p in ringers.items():
        res = p.wait()                      # INVITE, 180, CANCEL, 487
        assert agent_invites(res) == 1, a
    assert agent_invites(winner.wait()) == 1
    ev = events(tamas, "q02")
    assert ("CONNECT", "SIP/2002") in ev, ev


def test_no_answer_autopause_then_next_member(tamas_factory, sipp):
    tamas = make(tamas_factory, queue_conf("q03", ["SIP/2001", "SIP/2002"], strategy="linear",
                                          timeout=1, autopause="yes"))
    sipp.target = tamas.target
    slow = start_callee(sipp, tamas, "2001", "uas_ring_forever")
    good = start_callee(sipp, tamas, "2002", calls=2)
    assert queue_calls(tamas, sipp, "803", 1, hold_ms=1500) == ["2002"]
    slow.wait()                              # it rang and was cancelled
    ev = events(tamas, "q03")
    assert ev[:4] == [("ENTERQUEUE", "NONE"), ("RINGNOANSWER", "SIP/2001"),
                      ("PAUSE", "SIP/2001"), ("CONNECT", "SIP/2002")], ev
    pause = [r for r in qlog(tamas) if r["event"] == "PAUSE"][0]
    assert pause["data1"] == "Auto-Pause"
    ring = [r for r in qlog(tamas) if r["event"] == "RINGNOANSWER"][0]
    assert int(ring["data1"]) >= 900, ring          # ring time in ms
    # 2001 stays paused: the next call goes straight to 2002 again
    assert queue_calls(tamas, sipp, "803", 1) == ["2002"]
    assert events(tamas, "q03").count(("RINGNOANSWER", "SIP/2001")) == 1
    good.kill()


def test_busy_and_unregistered_members_are_skipped(tamas_factory, sipp):
    # 2003 never registers (DEVICE_STATE UNAVAILABLE: not rung), 2001 is busy
    tamas = make(tamas_factory, queue_conf("q23", ["SIP/2003", "SIP/2001", "SIP/2002"],
                                          strategy="linear"))
    sipp.target = tamas.target
    busy = start_callee(sipp, tamas, "2001", "uas_busy")
    good = start_callee(sipp, tamas, "2002")
    assert queue_calls(tamas, sipp, "823", 1, hold_ms=1000) == ["2002"]
    busy.wait()
    good.wait()
    assert events(tamas, "q23") == [("ENTERQUEUE", "NONE"), ("RINGNOANSWER", "SIP/2001"),
                                    ("CONNECT", "SIP/2002"), ("COMPLETECALLER", "SIP/2002")]


def test_wrapup_keeps_member_out_after_a_call(tamas_factory, sipp):
    tamas = make(tamas_factory, queue_conf("q04", ["SIP/2001", "SIP/2002"], strategy="linear",
                                          wrapuptime=60))
    sipp.target = tamas.target
    agents = {a: start_callee(sipp, tamas, a, calls=2) for a in ("2001", "2002")}
    # linear would ring 2001 every time; during its wrap-up 2002 takes the call
    assert queue_calls(tamas, sipp, "804", 2) == ["2001", "2002"]
    for p in agents.values():
        p.kill()


def test_pause_and_unpause_member(tamas_factory, sipp):
    tamas = make(tamas_factory, queue_conf("q05", ["SIP/2001", "SIP/2002"], strategy="linear"))
    sipp.target = tamas.target
    agents = {a: start_callee(sipp, tamas, a, calls=2) for a in ("2001", "2002")}
    call(sipp, tamas, "1001", "7105", scenario="uac_call_wait_bye")
    call(sipp, tamas, "1001", "7105", scenario="uac_call_wait_bye")    # twice: still PAUSED
    assert [r["userfield"] for r in tamas.wait_cdrs(2)] == ["PAUSED", "PAUSED"]
    idle(tamas)
    assert queue_calls(tamas, sipp, "805", 1) == ["2002"]
    call(sipp, tamas, "1001", "7205", scenario="uac_call_wait_bye")
    assert tamas.wait_cdrs(4)[3]["userfield"] == "UNPAUSED"
    idle(tamas)
    assert queue_calls(tamas, sipp, "805", 1) == ["2001"]
    call(sipp, tamas, "1001", "7199", scenario="uac_call_wait_bye")   # no such queue
    assert tamas.wait_cdrs(6)[5]["userfield"] == "NOTFOUND"
    for p in agents.values():
        p.kill()
    rows = [r for r in qlog(tamas) if r["event"] in ("PAUSE", "UNPAUSE")]
    assert [(r["event"], r["agent"], r["data1"]) for r in rows] == [
        ("PAUSE", "SIP/2001", "lunch"), ("UNPAUSE", "SIP/2001", "")], rows


def userfield_of(tamas, sipp, caller, exten, check=True):
    n = len(tamas.cdr_rows())
    call(sipp, tamas, caller, exten, scenario="uac_call_wait_bye", check=check)
    return tamas.wait_cdrs(n + 1)[n]["userfield"]


def test_dynamic_members_and_a_restart(tamas_factory, sipp):
    tamas = make(tamas_factory, queue_conf("q21", [], joinempty="paused,unavailable,invalid"))
    sipp.target = tamas.target
    assert userfield_of(tamas, sipp, "1001", "7321") == "ADDED"
    assert userfield_of(tamas, sipp, "1001", "7321") == "MEMBERALREADY"
    assert userfield_of(tamas, sipp, "1001", "7399") == "NOSUCHQUEUE"
    assert userfield_of(tamas, sipp, "1001", "7621") == "PAUSED"
    assert tamas.stop() == 0
    tamas.proc = None
    tamas.start()
    agent = start_callee(sipp, tamas, "2003", calls=1)
    # restored, still paused: nobody to take the call
    assert userfield_of(tamas, sipp, "1001", "821", check=False) == "QS=JOINEMPTY;AB="
    assert userfield_of(tamas, sipp, "1001", "7721") == "UNPAUSED"
    idle(tamas)
    assert queue_calls(tamas, sipp, "821", 1) == ["2003"]
    agent.wait()
    assert userfield_of(tamas, sipp, "1001", "7421") == "REMOVED"
    assert userfield_of(tamas, sipp, "1001", "7421") == "NOTINQUEUE"
    assert tamas.stop() == 0
    tamas.proc = None
    tamas.start()
    assert userfield_of(tamas, sipp, "1001", "821", check=False) == "QS=JOINEMPTY;AB="
    # the restore itself writes no ADDMEMBER; a failed add or remove none either
    assert [e for e, _ in events(tamas, "q21") if e.endswith("MEMBER")] == [
        "ADDMEMBER", "REMOVEMEMBER"]
    assert [(r["event"], r["agent"], r["data1"]) for r in qlog(tamas)
            if r["event"] in ("PAUSE", "UNPAUSE")] == [("PAUSE", "SIP/2003", ""),
                                                       ("UNPAUSE", "SIP/2003", "")]


def test_single_member_paths(tamas_factory, sipp):
    # queue timeout, option n, abandon (2001 rings and never answers);
    # agent hangs up first, option c (2002 answers, then sends BYE)
    tamas = make(tamas_factory, queue_conf("q07", ["SIP/2001"], timeout=30),
                 queue_conf("q22", ["SIP/2001"], timeout=1), queue_conf("q08", ["SIP/2001"]),
                 queue_conf("q09", ["SIP/2002"]))
    sipp.target = tamas.target
    ringer = start_callee(sipp, tamas, "2001", "uas_ring_forever", calls=3)
    agent = start_callee(sipp, tamas, "2002", "uas_bye", hold_ms=500, calls=2)

    call(sipp, tamas, "1001", "907", scenario="uac_call_wait_bye")   # BYE after 1 s
    row = tamas.wait_cdrs(1)[0]
    assert row["userfield"] == "QS=TIMEOUT;AB=", row
    rows = [r for r in qlog(tamas) if r["queuename"] == "q07"]
    assert [r["event"] for r in rows] == ["ENTERQUEUE", "EXITWITHTIMEOUT"], rows
    assert rows[0]["data2"] == "1001" and rows[0]["data3"] == "1"   # callerid, position
    assert rows[1]["data1"] == "1" and rows[1]["data2"] == "1"      # position, original
    assert rows[0]["callid"] == rows[1]["callid"] == row["uniqueid"]
    idle(tamas)

    # n: after one ring cycle (2001 rang 1 s) the caller leaves, long before 10 s
    call(sipp, tamas, "1001", "522", scenario="uac_call_wait_bye")
    assert tamas.wait_cdrs(2)[1]["userfield"] == "QS=TIMEOUT"
    assert [e for e, _ in events(tamas, "q22")] == ["ENTERQUEUE", "RINGNOANSWER",
                                                    "EXITWITHTIMEOUT"]
    idle(tamas)

    call(sipp, tamas, "1001", "808", hold_ms=1000)                  # hangs up while waiting
    tamas.wait_cdrs(3)
    assert [e for e, _ in events(tamas, "q08")] == ["ENTERQUEUE", "ABANDON"]
    ringer.wait()                                                   # 3 INVITEs, 3 CANCELs
    idle(tamas)

    call(sipp, tamas, "1001", "809", scenario="uac_call_wait_bye")
    row = tamas.wait_cdrs(4)[3]
    assert answered_by(row) == "2002" and row["disposition"] == "ANSWERED", row
    assert row["userfield"] == "", row       # Queue returned -1: the dialplan stopped
    idle(tamas)
    # c: the caller continues in the dialplan with QUEUESTATUS=CONTINUE
    call(sipp, tamas, "1001", "409", scenario="uac_call_wait_bye")
    agent.wait()
    assert tamas.wait_cdrs(5)[4]["userfield"] == "QS=CONTINUE"
    assert [e for e, _ in events(tamas, "q09")] == ["ENTERQUEUE", "CONNECT",
                                                    "COMPLETEAGENT"] * 2


def test_position_and_periodic_announcements(tamas_factory, sipp):
    tamas = make(tamas_factory, queue_conf("q19", ["SIP/2001"], **{
        "announce-frequency": 1, "announce-to-first-user": "yes",
        "periodic-announce": "queue-periodic-announce,queue-thankyou",
        "periodic-announce-frequency": 1}))
    sipp.target = tamas.target
    agent = start_callee(sipp, tamas, "2001", "uas_ring_forever")
    call(sipp, tamas, "1001", "819", scenario="uac_call_wait_bye")    # 3 s, then TIMEOUT
    agent.wait()
    log = tamas.stderr()
    assert re.search(r"queue: announcing \(queue=q19 channel=SIP/1001-\S+ position=1 "
                     r"holdtime=0 files=queue-youarenext&queue-thankyou\)", log), log[-3000:]
    per = re.findall(r"queue: periodic announcement \(queue=q19 \S+ file=(\S+)\)", log)
    assert per[:2] == ["queue-periodic-announce", "queue-thankyou"], per
    assert "announcement not played" not in log
    assert tamas.wait_cdrs(1)[0]["userfield"] == "QS=TIMEOUT;AB="


def test_leaving_without_an_agent(tamas_factory, sipp):
    # exit key (q24), leavewhenempty (q20: 2003 never registers), a caller's
    # QUEUE_MAX_PENALTY with joinempty=penalty (q26: 2001 has penalty 1)
    tamas = make(tamas_factory, queue_conf("q24", [], context="qexit"),
                 queue_conf("q20", ["SIP/2003"], leavewhenempty="unavailable"),
                 queue_conf("q26", ["SIP/2001,1"], joinempty="penalty"))
    sipp.target = tamas.target
    # digits 7 and 8 are no extension of qexit: ignored; 5 is
    call(sipp, tamas, "1001", "824", scenario="uac_info_dtmf", sets={"pause_ms": 300},
         keys={"ctype": "application/dtmf", "d1": "7", "d2": "8", "d3": "5"})
    assert tamas.wait_cdrs(1)[0]["userfield"] == "EXIT5;QS="
    rows = [r for r in qlog(tamas) if r["queuename"] == "q24"]
    assert [r["event"] for r in rows] == ["ENTERQUEUE", "EXITWITHKEY"], rows
    assert (rows[1]["data1"], rows[1]["data2"], rows[1]["data3"]) == ("5", "1", "1")

    assert userfield_of(tamas, sipp, "1001", "820") == "QS=LEAVEEMPTY;AB="
    assert [e for e, _ in events(tamas, "q20")] == ["ENTERQUEUE", "EXITEMPTY"]

    agent = start_callee(sipp, tamas, "2001", calls=1)
    assert userfield_of(tamas, sipp, "1001", "226", check=False) == "QS=JOINEMPTY"
    assert queue_calls(tamas, sipp, "826", 1) == ["2001"]
    agent.wait()


def test_queue_prio_goes_ahead(tamas_factory, sipp):
    tamas = make(tamas_factory, queue_conf("q25", ["SIP/2001"]))
    sipp.target = tamas.target
    agent = start_callee(sipp, tamas, "2001", calls=3)
    a = call(sipp, tamas, "1001", "625", background=True, hold_ms=1000)
    wait_until(lambda: ("CONNECT", "SIP/2001") in events(tamas), 5, what="A connected")
    b = call(sipp, tamas, "1002", "625", background=True, hold_ms=3500)
    wait_until(lambda: len(events(tamas)) == 3, 5, what="B queued")
    c = call(sipp, tamas, "1001", "325", background=True, hold_ms=1500)
    for p in (a, b, c, agent):
        p.wait()
    rows = qlog(tamas)
    # A is taken at once; B waits for the busy agent; C (QUEUE_PRIO 10) joins
    # ahead of B and gets the agent when A's call completes; then B
    assert [(r["event"], r["agent"]) for r in rows] == [
        ("ENTERQUEUE", "NONE"), ("CONNECT", "SIP/2001"), ("ENTERQUEUE", "NONE"),
        ("ENTERQUEUE", "NONE"), ("COMPLETECALLER", "SIP/2001"), ("CONNECT", "SIP/2001"),
        ("COMPLETECALLER", "SIP/2001"), ("CONNECT", "SIP/2001"),
        ("COMPLETECALLER", "SIP/2001")], rows
    enter = [r for r in rows if r["event"] == "ENTERQUEUE"]
    assert [r["data3"] for r in enter] == ["1", "1", "1"], enter   # C went ahead of B
    assert [r["data2"] for r in enter] == ["1001", "1002", "1001"], enter
    connect = [r["callid"] for r in rows if r["event"] == "CONNECT"]
    assert connect == [enter[0]["callid"], enter[2]["callid"], enter[1]["callid"]], rows


def test_maxlen_full_and_unknown_queue(tamas_factory, sipp):
    tamas = make(tamas_factory, queue_conf("q10", ["SIP/2001"], maxlen=1))
    sipp.target = tamas.target
    agent = start_callee(sipp, tamas, "2001", "uas_ring_forever")
    first = call(sipp, tamas, "1001", "910", scenario="uac_call_wait_bye", background=True)
    wait_until(lambda: ("ENTERQUEUE", "NONE") in events(tamas), 5, what="first caller queued")
    call(sipp, tamas, "1002", "910", scenario="uac_call_wait_bye", check=False)   # 603
    call(sipp, tamas, "1002", "7500", scenario="uac_call_wait_bye")
    first.wait()
    agent.wait()
    by_src = {}
    for r in tamas.wait_cdrs(3):
        by_src.setdefault((r["src"], r["dst"]), r["userfield"])
    assert by_src[("1002", "910")] == "QS=FULL;AB=", by_src
    assert by_src[("1001", "910")] == "QS=TIMEOUT;AB=", by_src
    assert by_src[("1002", "7500")] == "UNKNOWN", by_src


@pytest.mark.parametrize("keys,want", [
    ({"strategy": "sometimes"}, "strategy"),
    ({"joinempty": "paused,maybe"}, "maybe"),
    ({"member": "1001"}, "TECH/resource"),
    ({"member": "SIP/1001,high"}, "penalty"),
    ({"colour": "blue"}, "unknown key 'colour'"),
])
def test_bad_queue_config_is_refused(tamas_factory, keys, want):
    d = tamas_factory(users=USERS, dialplan=DIALPLAN,
                      conf_update={"queue bad": dict({"member": "SIP/2001"}, **keys)})
    text = d.conf_text()
    d.write_conf(text)
    d.spawn()
    assert d.wait_exit(5) != 0
    err = d.stderr()
    assert want in err, err[-1500:]
    assert re.search(r"tamas\.conf(:\d+)?:", err), err[-1500:]


def test_member_listed_twice_is_refused(tamas_factory):
    d = tamas_factory(users=USERS, dialplan=DIALPLAN,
                      conf_update={"queue dup": {"member": "SIP/2001", "member2": "SIP/2001"}})
    d.write_conf()
    d.spawn()
    assert d.wait_exit(5) != 0
    assert "listed twice" in d.stderr()
