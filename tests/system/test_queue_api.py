"""The queue side of the REST API and webhooks: a queue call answered by a
SIPp agent gives one CdrQueue event (queue, caller, agent, times, status)
and one reports/queue row; abandoned and timed-out calls give MISSED ones;
agents paused over the API are not rung, members added and removed over
the API take calls or stop; a call originated into a queue carries its
originated_call_id; reports/agent shows logged-in and paused
sessions; bad requests are refused with nothing changed."""

import re
import sqlite3

import pytest

from harness import SippResult, call, start_callee, wait_until
from test_webhook import Receiver

USERS = {"1001": "pw1001", "2001": "pw2001", "2002": "pw2002", "2003": "pw2003"}
API = {"user": "qa", "password": "qa-secret"}
RANGE = {"from": "2000-01-01 00:00", "to": "2999-12-31 23:59"}

DIALPLAN = """\
extensions = {
	main_routing = {
		-- 8xx: queue q<xx>, 10 s; 9xx: the same with a 1 s queue timeout
		["_8XX"] = function(c, e)
			app.queue("q" .. e:sub(2), "", 10)
			app.hangup()
		end,
		["_9XX"] = function(c, e)
			app.queue("q" .. e:sub(2), "", 1)
			app.hangup()
		end,
	},
}
"""


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def make(tamas_factory, receiver, sipp, queues):
    conf = {"webhook": {"url": receiver.url, "backoff_min_ms": 50, "backoff_max_ms": 200,
                        "events": "CdrQueue"}}
    for name, members in queues.items():
        sec = {"strategy": "linear", "retry": 0, "timeout": 5}
        for i, m in enumerate(members):
            sec["member" if i == 0 else f"member{i + 1}"] = m
        conf[f"queue {name}"] = sec
    d = tamas_factory("tamas", users=USERS, dialplan=DIALPLAN, conf_update=conf,
                      overrides=["http.auth_fail_limit=1000"])
    d.start()
    d.ctl("apiuser", "add", API["user"], "--auth", "basic", "--password", API["password"])
    sipp.target = d.target
    return d


def api(d, path, body):
    r = d.api(path, body, **API)
    assert r.status == 200 and r.json is not None, r
    return r.json


def ok(d, path, body):
    j = api(d, path, body)
    assert j["success"] == 1, (path, body, j)
    return j["data"]


def failed(d, path, body, message_re):
    j = api(d, path, body)
    assert j["success"] == 0 and re.search(message_re, j["message"] or ""), (path, body, j)


def cdrqueue(receiver, n):
    return wait_until(lambda: (lambda b: b if len(b) >= n else None)(
        [b for b in receiver.accepted() if b.get("event_name") == "CdrQueue"]), 10,
        what=f"{n} CdrQueue events")


def qlog(d):
    con = sqlite3.connect(f"file:{d.db_path}?mode=ro", uri=True, timeout=2)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM queue_log ORDER BY id")]
    finally:
        con.close()


def idle(d):
    wait_until(lambda: not d.channel_names(), 5, what="no channels left")


def queue_report(d, **cond):
    return ok(d, "reports/queue/search", {"alike": False, "conditions": cond,
                                          "date_range": RANGE})


def agent_report(d, **cond):
    return ok(d, "reports/agent/search", {"alike": False, "conditions": cond,
                                          "date_range": RANGE})


def members(d, queue):
    qs = ok(d, "pbx/queues/search", {"alike": False, "conditions": {"name": queue}})
    assert len(qs) == 1, qs
    return {m["agent"]: m for m in qs[0]["members"]}


def invites(proc):
    proc.kill()
    return len(SippResult(proc.name, proc.argv, "killed", proc.files).received(r"INVITE "))


def test_answered_call_gives_cdrqueue_and_a_report_row(tamas_factory, receiver, sipp):
    d = make(tamas_factory, receiver, sipp, {"q01": ["SIP/2001"]})
    agent = start_callee(sipp, d, "2001")
    call(sipp, d, "1001", "801", hold_ms=1200)
    agent.wait()
    cdr = d.wait_cdrs(1)[0]
    ev, = cdrqueue(receiver, 1)
    assert ev["unique_id"] == ev["cuid"] == cdr["uniqueid"], (ev, cdr)
    assert (ev["queue"], ev["src"], ev["dst"]) == ("q01", "1001", "2001"), ev
    assert (ev["disposition"], ev["queue_status"], ev["hangup"]) == \
        ("ANSWERED", "CONTINUE", "caller"), ev
    assert int(ev["billsec"]) >= 1 and int(ev["duration"]) >= int(ev["billsec"]), ev
    assert ev["wait"].isdigit() and ev["agent_wait"].isdigit(), ev
    assert ev["starttime"] <= ev["ringtime"] <= ev["answeredtime"] <= ev["endtime"], ev
    assert "originated_call_id" not in ev, ev
    assert [(x["dst"], x["disposition"], x["tries"]) for x in ev["detail"]] == \
        [("2001", "ANSWERED", "1")], ev
    rep = queue_report(d)
    assert rep["pagination"]["total"] == 1 and rep["target"] == "queue_stat", rep
    row = rep["data"][0]
    assert (row["cuid"], row["src"], row["dst"], row["qnum"], row["disposition"],
            row["queue_status"], row["hangup"]) == \
        (cdr["uniqueid"], "1001", "2001", "q01", "ANSWERED", "CONTINUE", "caller"), row
    assert row["billsec"] == int(ev["billsec"]) and row["ANSWERED"] == 1, (row, ev)
    assert row["answeredtime"] and row["billsec_hhmmss"].count(":") == 2, row
    # filters: by agent, caller, queue; a MISSED filter finds nothing
    assert queue_report(d, to="2001")["pagination"]["total"] == 1
    assert queue_report(d, to="2002")["pagination"]["total"] == 0
    assert queue_report(d, qnum="q01", disposition="MISSED")["pagination"]["total"] == 0
    assert queue_report(d, cuid=cdr["uniqueid"])["pagination"]["total"] == 1


def test_abandon_and_timeout_give_missed_events(tamas_factory, receiver, sipp):
    # SIP/2002 never registers: nobody is rung, callers wait
    d = make(tamas_factory, receiver, sipp, {"q02": ["SIP/2002"]})
    call(sipp, d, "1001", "802", hold_ms=1000)           # hangs up while waiting
    ab, = cdrqueue(receiver, 1)
    assert (ab["queue"], ab["src"], ab["dst"], ab["disposition"], ab["queue_status"],
            ab["hangup"], ab["billsec"]) == \
        ("q02", "1001", "", "MISSED", "ABANDON", "caller", "0"), ab
    assert int(ab["wait"]) >= 1 and ab["detail"] == [] and "answeredtime" not in ab, ab
    idle(d)
    call(sipp, d, "1001", "902", scenario="uac_call_wait_bye")   # the queue gives up
    to = cdrqueue(receiver, 2)[1]
    assert (to["disposition"], to["queue_status"]) == ("MISSED", "TIMEOUT"), to
    assert "hangup" not in to, to
    rows = queue_report(d, disposition="MISSED")["data"]
    assert [r["queue_status"] for r in rows] == ["TIMEOUT", "ABANDON"], rows   # newest first
    assert all(r["MISSED"] == 1 and r["answeredtime"] is None for r in rows), rows
    asc = ok(d, "reports/queue/search", {"alike": False, "date_range": RANGE,
                                          "pagination": {"start": 1, "count": 1,
                                                         "sorting": {"starttime": 1}}})
    assert asc["pagination"]["total"] == 2 and \
        [r["queue_status"] for r in asc["data"]] == ["TIMEOUT"], asc
    # an originated call into the queue: the event names the originate id
    idle(d)
    party = start_callee(sipp, d, "1001", "uas_bye", hold_ms=1500)
    oid = ok(d, "call/originate/act", {"caller": "1001", "callee": "802",
                                       "context": "main_routing"})["originated_call_id"]
    party.wait()
    orig = cdrqueue(receiver, 3)[2]
    assert (orig["originated_call_id"], orig["queue_status"]) == (oid, "ABANDON"), orig


def test_paused_agent_is_not_rung_and_resumes(tamas_factory, receiver, sipp):
    d = make(tamas_factory, receiver, sipp, {"q03": ["SIP/2001", "SIP/2002"]})
    assert ok(d, "pbx/queues/pauseagent", {"queue": "q03", "agent": "2001",
                                           "reason": "lunch"}) == \
        {"message": "Paused successfully", "ok": 1}
    failed(d, "pbx/queues/pauseagent", {"queue": "q03", "agent": "2001"}, "already paused")
    m = members(d, "q03")
    assert (m["2001"]["state"], m["2001"]["paused"], m["2002"]["state"]) == \
        ("Pause", "yes", "Idle"), m
    first = start_callee(sipp, d, "2001")
    second = start_callee(sipp, d, "2002")
    call(sipp, d, "1001", "803", hold_ms=300)
    second.wait()
    assert invites(first) == 0                     # linear would have rung 2001 first
    assert cdrqueue(receiver, 1)[0]["dst"] == "2002"
    idle(d)
    assert ok(d, "pbx/queues/resumeagent", {"queue": "q03", "agent": 2001}) == \
        {"message": "UnPaused successfully", "ok": 1}
    failed(d, "pbx/queues/resumeagent", {"queue": "q03", "agent": "2001"}, "not paused")
    first = start_callee(sipp, d, "2001", "uas_bye", hold_ms=500)     # the agent hangs up
    call(sipp, d, "1001", "803", scenario="uac_call_wait_bye")
    first.wait()
    back = cdrqueue(receiver, 2)[1]
    assert (back["dst"], back["hangup"], back["disposition"]) == ("2001", "agent", "ANSWERED")
    ev = [(r["event"], r["agent"], r["data1"]) for r in qlog(d)
          if r["event"] in ("PAUSE", "UNPAUSE")]
    assert ev == [("PAUSE", "SIP/2001", "lunch"), ("UNPAUSE", "SIP/2001", "")], ev
    rep = agent_report(d, exten="2001")
    assert rep["target"] == "agent" and rep["pagination"]["total"] == 1, rep
    s = rep["data"][0]
    assert (s["type"], s["qnum"], s["reason"], s["pause"]) == ("pause", "q03", "lunch", 1), s
    assert s["end"] and s["end"] >= s["start"] and s["pause_du"] == s["duration"] >= 0, s


def test_members_added_and_removed_over_the_api(tamas_factory, receiver, sipp):
    d = make(tamas_factory, receiver, sipp, {"q04": ["SIP/2001"]})
    assert ok(d, "pbx/queues/addagent", {"queue": "q04", "source": "2003", "agent": "2003",
                                         "penalty": "0"}) == \
        {"message": "Added successfully", "ok": 1}
    failed(d, "pbx/queues/addagent", {"queue": "q04", "source": "2003", "agent": "2003"},
           "already a member")
    m = members(d, "q04")
    assert (m["2003"]["dynamic"], m["2001"]["dynamic"]) == ("yes", "no"), m
    # 2001 is out of the way: only the new member can answer
    ok(d, "pbx/queues/pauseagent", {"queue": "q04", "agent": "2001"})
    agent = start_callee(sipp, d, "2003")
    call(sipp, d, "1001", "804", hold_ms=300)
    agent.wait()
    assert cdrqueue(receiver, 1)[0]["dst"] == "2003"
    idle(d)
    assert ok(d, "pbx/queues/removeagent", {"queue": "q04", "agent": "2003"}) == \
        {"message": "Removed successfully", "ok": 1}
    failed(d, "pbx/queues/removeagent", {"queue": "q04", "agent": "2003"}, "not a member")
    failed(d, "pbx/queues/removeagent", {"queue": "q04", "agent": "2001"}, "static member")
    assert set(members(d, "q04")) == {"2001"}
    # the agent report: 2003 logged in and out (inout), 2001 still paused
    rows = agent_report(d)["data"]
    got = {(r["type"], r["exten"]): r for r in rows}
    assert set(got) == {("inout", "2003"), ("pause", "2001")}, rows
    assert got[("inout", "2003")]["end"] and got[("pause", "2001")]["end"] is None, rows
    assert agent_report(d, type="inout")["pagination"]["total"] == 1
    # batches: per-item results, ok only when all succeeded
    res = ok(d, "pbx/queues/batchaddagent", {"agents": [
        {"queue": "q04", "source": "2002", "agent": "2002"},
        {"queue": "nosuch", "source": "2003", "agent": "2003"}]})
    assert res["ok"] == 0 and [x["ok"] for x in res["Data"]] == [1, 0], res
    assert res["Data"][0]["agents"] == "2002" and "does not exist" in res["Data"][1]["message"]
    res = ok(d, "pbx/queues/batchremoveagent", {"agents": [{"queue": "q04", "agent": "2002"}]})
    assert res == {"Data": [{"agent": "2002", "queue": "q04", "message": "Removed successfully",
                             "ok": 1}], "ok": 1}, res


def test_bad_requests_change_nothing(tamas_factory, receiver, sipp):
    d = make(tamas_factory, receiver, sipp, {"q05": ["SIP/2001"]})
    ok(d, "pbx/queues/addagent", {"queue": "q05", "source": "2002", "agent": "2002"})
    ok(d, "pbx/queues/pauseagent", {"queue": "q05", "agent": "2002"})
    before_members, before_log = members(d, "q05"), qlog(d)
    bad = [
        ("pbx/queues/addagent", {"queue": "nosuch", "source": "2003", "agent": "2003"},
         "Queue 'nosuch' does not exist"),
        ("pbx/queues/addagent", {"queue": "q05", "agent": "2003"},
         "Field 'source':value is missing"),
        ("pbx/queues/addagent", {"queue": "q05", "source": "2003", "agent": "2004"},
         "Field 'agent': must name the same member"),
        ("pbx/queues/addagent", {"queue": "q05", "source": "20 03", "agent": "20 03"},
         "Field 'agent': expected an extension"),
        ("pbx/queues/addagent", {"queue": "q05", "source": "2003", "agent": "2003",
                                 "penalty": "-1"}, "Field 'penalty'"),
        ("pbx/queues/addagent", {"queue": ["q05"], "source": "2003", "agent": "2003"},
         "Field 'queue': expected a string"),
        ("pbx/queues/pauseagent", {"queue": "q05", "agent": "2003"}, "not a member"),
        ("pbx/queues/pauseagent", {"queue": "q05", "agent": "2002"}, "already paused"),
        ("pbx/queues/pauseagent", {"queue": "q05"}, "Field 'agent':value is missing"),
        ("pbx/queues/pauseagent", {"queue": "q05", "agent": {"x": 1}},
         "Field 'agent': expected a string"),
        ("pbx/queues/resumeagent", {"queue": "nosuch", "agent": "2002"}, "does not exist"),
        ("pbx/queues/removeagent", {"queue": "q05", "agent": "2001"}, "static member"),
        ("pbx/queues/batchpauseagent", {"agents": "2002"}, "Field 'agents': expected a list"),
        ("pbx/queues/batchpauseagent", {"agents": [{"queue": "q05", "agent": "2001"}, 7]},
         r"Field 'agents\[1\]': expected an object"),
        ("pbx/queues/add", {"name": "sales", "number": "q05"}, "this queue already exists"),
        ("pbx/queues/remove", {"_id": "q05"}, "configured in tamas.conf"),
        ("pbx/queues/search", {"conditions": {}}, "Field 'alike'"),
        ("reports/queue/search", {"alike": False}, "date_range.from"),
        ("reports/queue/search", {"alike": False, "date_range": {"from": "yesterday",
                                                                  "to": "2999-01-01"}},
         "date_range.from"),
        ("reports/queue/search", {"alike": False, "date_range": RANGE,
                                  "conditions": {"disposition": "LOST"}}, "ANSWERED or MISSED"),
        ("reports/queue/search", {"alike": False, "date_range": RANGE,
                                  "pagination": {"sorting": {"color": 1}}}, "sort by 'color'"),
        ("reports/agent/search", {"alike": False, "date_range": RANGE,
                                  "conditions": {"type": "lunch"}}, "inout or pause"),
        ("reports/agent/search", {"alike": "maybe", "date_range": RANGE}, "Field 'alike'"),
    ]
    for path, body, msg in bad:
        failed(d, path, body, msg)
    r = d.api("pbx/queues/pauseagent", b"{not json", **API)
    assert r.status == 400 and r.json["success"] == 0, r
    # the batch with a bad item was refused whole: 2001 is not paused
    assert members(d, "q05") == before_members
    assert qlog(d) == before_log
    assert ok(d, "pbx/queues/search", {"alike": True, "conditions": {"name": "nosuch"}}) == []
