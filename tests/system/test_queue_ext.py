"""Queue extensions: callers refused at the door (FULL, JOINEMPTY) still
give a MISSED CdrQueue event and no queue_log row; the per-attempt queue
report (reports/queue_details) and the cursor-paged queue reports; Queue
options C, b, B and i; Persian announcements for a fa caller; queues
added, updated and removed over the API and kept across a restart."""

import re
import sqlite3

import pytest

from harness import call, free_port, register, start_callee, wait_until
from test_webhook import Receiver

USERS = {"1001": "pw1001", "1002": "pw1002", "2001": "pw2001", "2002": "pw2002",
         "2003": "pw2003"}
API = {"user": "qa", "password": "qa-secret"}
RANGE = {"from": "2000-01-01 00:00", "to": "2999-12-31 23:59"}

DIALPLAN = """\
extensions = {
	main_routing = {
		-- 8xx: queue q<xx>, 10 s
		["_8XX"] = function(c, e)
			app.queue("q" .. e:sub(2), "", 10)
			app.hangup()
		end,
		-- 7xx: option C, 6xx: without; both 1 s in the queue, b() on members
		["_7XX"] = function(c, e)
			app.queue("q" .. e:sub(2), "Cb(handlers^member^1(C))", 1)
			app.hangup()
		end,
		["_6XX"] = function(c, e)
			app.queue("q" .. e:sub(2), "b(handlers^member^1(noC))", 1)
			app.hangup()
		end,
		-- 3xx: a Persian caller
		["_3XX"] = function(c, e)
			app.set("CHANNEL(language)=fa")
			app.queue("q" .. e:sub(2), "", 10)
			app.hangup()
		end,
		-- 4xx: option i (member forwards are not followed)
		["_4XX"] = function(c, e)
			app.queue("q" .. e:sub(2), "i", 10)
			app.hangup()
		end,
		-- 5xx: B() on the caller, b() sets the member leg's caller id
		["_5XX"] = function(c, e)
			app.queue("q" .. e:sub(2), "B(handlers^caller^1(from-B))b(handlers^cid^1(7777))", 10)
			app.hangup()
		end,
	},
	handlers = {
		member = function()
			channel.CHANNEL("hangup_handler_push"):set("handlers,log,1(" ..
				channel.ARG1:get() .. ")")
			app.Return()
		end,
		log = function()
			local old = channel.DB("hh/log"):get() or ""
			channel.DB("hh/log"):set(old .. channel.ARG1:get() .. ":" ..
				channel.HANGUPCAUSE:get() .. ";")
			app.Return()
		end,
		caller = function()
			app.set("CDR(userfield)=" .. channel.ARG1:get() .. ":" ..
				(channel.QUEUESTATUS:get() or ""))
			app.Return()
		end,
		cid = function()
			app.set("CALLERID(num)=" .. channel.ARG1:get())
			app.Return()
		end,
	},
}
"""


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def make(tamas_factory, receiver, sipp, queues, dialplan=DIALPLAN):
    conf = {"webhook": {"url": receiver.url, "backoff_min_ms": 50, "backoff_max_ms": 200,
                        "events": "CdrQueue"}}
    for name, (members, keys) in queues.items():
        sec = {"strategy": "linear", "retry": 0, "timeout": 5}
        sec.update(keys)
        for i, m in enumerate(members):
            sec["member" if i == 0 else f"member{i + 1}"] = m
        conf[f"queue {name}"] = sec
    d = tamas_factory("tamas", users=USERS, dialplan=dialplan, conf_update=conf,
                      overrides=["http.auth_fail_limit=1000"])
    d.start()
    d.ctl("apiuser", "add", API["user"], "--auth", "basic", "--password", API["password"])
    sipp.target = d.target
    return d


def ok(d, path, body):
    r = d.api(path, body, **API)
    assert r.status == 200 and r.json is not None, r
    assert r.json["success"] == 1, (path, body, r.json)
    return r.json["data"]


def failed(d, path, body, message):
    r = d.api(path, body, **API)
    assert r.status == 200 and r.json["success"] == 0 and message in (r.json["message"] or ""), \
        (path, body, r.json)


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


def kv(d, family, key):
    con = sqlite3.connect(f"file:{d.db_path}?mode=ro", uri=True, timeout=2)
    try:
        row = con.execute("SELECT value FROM kv WHERE family=? AND key=?",
                          (family, key)).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def idle(d):
    wait_until(lambda: not d.channel_names(), 5, what="no channels left")


def test_refused_callers_give_missed_cdrqueue_without_queue_log(tamas_factory, receiver,
                                                                 sipp):
    # SIP/2002 and SIP/2003 never register: q31 keeps its one caller waiting
    # (maxlen 1), q32 lets nobody in (joinempty unavailable)
    d = make(tamas_factory, receiver, sipp, {
        "q31": (["SIP/2002"], {"maxlen": 1}),
        "q32": (["SIP/2003"], {"joinempty": "unavailable"})})
    first = call(sipp, d, "1001", "831", hold_ms=2500, background=True)
    wait_until(lambda: any(r["event"] == "ENTERQUEUE" for r in qlog(d)), 5,
               what="first caller queued")
    call(sipp, d, "1002", "831", scenario="uac_call_wait_bye", check=False)
    full, = cdrqueue(receiver, 1)
    assert (full["queue"], full["src"], full["dst"], full["disposition"],
            full["queue_status"], full["wait"], full["billsec"], full["agent_wait"]) == \
        ("q31", "1002", "", "MISSED", "FULL", "0", "0", "0"), full
    assert full["detail"] == [] and full["unique_id"] and full["starttime"], full
    assert "hangup" not in full and "answeredtime" not in full, full
    first.wait()
    idle(d)
    call(sipp, d, "1001", "832", scenario="uac_call_wait_bye", check=False)
    ev = cdrqueue(receiver, 3)
    empty = [e for e in ev if e["queue"] == "q32"]
    assert [(e["src"], e["disposition"], e["queue_status"], e["wait"]) for e in empty] == \
        [("1001", "MISSED", "JOINEMPTY", "0")], ev
    # the waiting caller hung up: its own ABANDON; nothing logged for the refused
    rows = qlog(d)
    assert [(r["queuename"], r["event"]) for r in rows] == \
        [("q31", "ENTERQUEUE"), ("q31", "ABANDON")], rows
    assert full["unique_id"] not in {r["callid"] for r in rows}, rows


def test_queue_details_and_ordered_reports(tamas_factory, receiver, sipp):
    # linear: 2001 rings 1 s unanswered, then 2002 answers
    d = make(tamas_factory, receiver, sipp, {
        "q33": (["SIP/2001", "SIP/2002"], {"timeout": 1})})
    ringer = start_callee(sipp, d, "2001", "uas_ring_forever")
    agent = start_callee(sipp, d, "2002")
    call(sipp, d, "1001", "833", hold_ms=2500)
    agent.wait()
    ringer.kill()
    ev, = cdrqueue(receiver, 1)
    cuid = ev["unique_id"]
    body = {"alike": False, "date_range": RANGE, "conditions": {}}
    rep = ok(d, "reports/queue_details/search", body)
    assert rep["target"] == "queue" and rep["pagination"]["total"] == 2, rep
    con, rna = rep["data"]                               # newest first
    assert (con["type"], con["cuid"], con["queue_id"], con["qnum"], con["src"], con["dst"],
            con["disposition"], con["tries"], con["ANSWERED"]) == \
        ("queue_report", cuid, cuid, "q33", "1001", "2002", "ANSWERED", 1, 1), con
    assert con["billsec"] >= 1 and con["answer"] and con["uniqueid"], con
    assert con["duration"] == con["billsec"] + con["ringtime"], con
    assert (rna["dst"], rna["disposition"], rna["tries"], rna["billsec"], rna["answer"],
            rna["ringtime"]) == ("2001", "NO ANSWER", 1, 0, None, 1), rna
    assert rna["last_try"] <= con["last_try"] and rna["clid"] == '"" <1001>', rna
    # filters: agent, disposition, cuid without a date_range, queue
    def total(**cond):
        b = dict(body, conditions=cond)
        if "cuid" in cond:
            del b["date_range"]
        return ok(d, "reports/queue_details/search", b)["pagination"]["total"]
    assert total(to="2001") == 1 and total(to="2003") == 0
    assert total(disposition="NO ANSWER") == 1 and total(disposition="ANSWERED") == 1
    assert total(cuid=cuid) == 2 and total(cuid="1.2") == 0 and total(queue="q99") == 0
    asc = ok(d, "reports/queue_details/search", dict(body, pagination={
        "start": 0, "count": 1, "sorting": {"starttime": 1}}))
    assert [r["dst"] for r in asc["data"]] == ["2001"] and asc["pagination"]["total"] == 2
    failed(d, "reports/queue_details/search", dict(body, conditions={"disposition": "X"}),
           "disposition")
    failed(d, "reports/queue_details/search", {"alike": False}, "date_range")
    # cursor paging: attempts in id order, then nothing with the cursor kept
    page = ok(d, "reports/queue_details/ordered/id", {"_id": ""})
    assert [r["dst"] for r in page["data"]] == ["2001", "2002"], page
    assert page["last_id"] == con["_id"], page
    more = ok(d, "reports/queue_details/ordered/id", {"_id": page["last_id"]})
    assert more == {"last_id": page["last_id"], "data": []}, more
    after_first = ok(d, "reports/queue_details/ordered/id", {"_id": rna["_id"]})
    assert [r["dst"] for r in after_first["data"]] == ["2002"], after_first
    q = ok(d, "reports/queue/ordered/id", {"_id": ""})
    row, = q["data"]
    assert (row["cuid"], row["dst"], row["disposition"], q["last_id"]) == \
        (cuid, "2002", "ANSWERED", row["_id"]), q
    dates = row["data"]
    assert set(dates) == {"start_time", "ring_time", "answered_time", "end_time"}, row
    assert int(dates["start_time"]["$date"]["$numberLong"]) <= \
        int(dates["answered_time"]["$date"]["$numberLong"]) <= \
        int(dates["end_time"]["$date"]["$numberLong"]), row
    assert ok(d, "reports/queue/ordered/id", {"_id": q["last_id"]})["data"] == []
    failed(d, "reports/queue/ordered/id", {"_id": "zz"}, "_id")
    failed(d, "reports/queue_details/ordered/id", {"_id": "12"}, "_id")


def test_option_C_marks_cancelled_members_answered_elsewhere(tamas_factory, receiver, sipp):
    # 2001 rings until the 1 s queue timeout drops it; its b() routine pushed
    # a hangup handler that logs the cause the leg ended with
    d = make(tamas_factory, receiver, sipp, {"q35": (["SIP/2001"], {})})
    ringer = start_callee(sipp, d, "2001", "uas_ring_forever")
    call(sipp, d, "1001", "735", scenario="uac_call_wait_bye")
    ringer.wait()
    idle(d)
    ringer = start_callee(sipp, d, "2001", "uas_ring_forever")
    call(sipp, d, "1001", "635", scenario="uac_call_wait_bye")
    ringer.wait()
    got = wait_until(lambda: (lambda v: v if v and v.count(";") >= 2 else None)(
        kv(d, "hh", "log")), 5, what="both members' hangup handlers")
    # 26 ANSWERED_ELSEWHERE with C, 19 NO_ANSWER without
    assert got == "C:26;noC:19;", got
    assert [r["event"] for r in qlog(d)] == ["ENTERQUEUE", "EXITWITHTIMEOUT"] * 2


def test_predial_routines_on_caller_and_members(tamas_factory, receiver, sipp):
    d = make(tamas_factory, receiver, sipp, {"q36": (["SIP/2001"], {})})
    agent = start_callee(sipp, d, "2001")
    call(sipp, d, "1001", "536", hold_ms=2000)
    res = agent.wait()
    [invite] = res.received(r"INVITE ")
    from_hdr = next(ln for ln in invite.splitlines() if ln.lower().startswith("from:"))
    assert "sip:7777@" in from_hdr, from_hdr
    row = d.wait_cdrs(1)[0]
    # B() ran before the caller joined: no QUEUESTATUS yet
    assert row["userfield"] == "from-B:", row
    assert [r["event"] for r in qlog(d)] == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]


def test_option_i_does_not_follow_a_member_forward(tamas_factory, receiver, sipp):
    # linear: 2001 answers 302 to 2003's contact; with i the queue does not
    # follow it and rings 2002 next
    d = make(tamas_factory, receiver, sipp, {"q37": (["SIP/2001", "SIP/2002"], {})})
    port = free_port()
    register(sipp, d, "2003", port)
    target = sipp.start("uas_answer_late", port=port, keys={"ext": "2003"}, remote="")
    target.wait_bound()
    fwd = start_callee(sipp, d, "2001", scenario="uas_redirect",
                       keys={"target": f"sip:2003@127.0.0.1:{port}"})
    agent = start_callee(sipp, d, "2002")
    call(sipp, d, "1001", "437", hold_ms=2500)
    fwd.wait()
    agent.wait()
    target.kill()
    rows = [(r["event"], r["agent"]) for r in qlog(d)]
    assert rows == [("ENTERQUEUE", "NONE"), ("RINGNOANSWER", "SIP/2001"),
                    ("CONNECT", "SIP/2002"), ("COMPLETECALLER", "SIP/2002")], rows
    assert "member forwarded the call, ignored (queue=q37 member=SIP/2001)" in d.stderr()


def test_persian_caller_hears_announcements_in_persian(tamas_factory, receiver, sipp):
    # nobody can answer (2002 never registers): the caller waits 2.5 s and
    # hears its position each second, spoken in Persian by TTS
    d = make(tamas_factory, receiver, sipp, {"q38": (["SIP/2002"], {
        "announce-frequency": 1, "announce-to-first-user": "yes",
        "announce-holdtime": "no"})})
    call(sipp, d, "1001", "338", hold_ms=2500)
    log = wait_until(lambda: (lambda t: t if "lang=fa" in t else None)(d.stderr()), 5,
                     what="a Persian announcement")
    assert re.search(r"queue: announcing \(queue=q38 channel=SIP/1001-\S+ position=1 "
                     r"holdtime=0 lang=fa text=شما نفر بعدی هستید\. "
                     r"از شکیبایی شما سپاسگزاریم\.\)", log), log[-3000:]
    assert "files=queue-youarenext" not in log and "not spoken" not in log
    wait_until(lambda: list((d.workdir / "tts").glob("fa-*.wav")), 5, what="the fa TTS file")
    assert "TTS failed" not in d.stderr() and "refused" not in d.stderr()


def stored_queues(d):
    con = sqlite3.connect(f"file:{d.db_path}?mode=ro", uri=True, timeout=2)
    try:
        return [r[0] for r in con.execute("SELECT number FROM queues ORDER BY rowid")]
    finally:
        con.close()


def queue_obj(d, number):
    qs = ok(d, "pbx/queues/search", {"alike": False, "conditions": {"number": number}})
    return qs[0] if qs else None


def test_queues_added_updated_removed_over_the_api(tamas_factory, receiver, sipp):
    d = make(tamas_factory, receiver, sipp, {"q40": (["SIP/2001"], {})})
    qid = ok(d, "pbx/queues/add", {"name": "Sales", "number": "q41", "strategy": "linear",
                                   "timeout": "5", "retry": 0, "maxlen": "1"})["_id"]
    assert len(qid) == 24, qid
    q = queue_obj(d, "q41")
    assert (q["_id"], q["name"], q["number"], q["source"], q["strategy"], q["timeout"],
            q["retry"], q["maxlen"], q["members"]) == \
        (qid, "Sales", "q41", "api", "linear", "5", "0", "1", []), q
    assert queue_obj(d, "q40")["source"] == "tamas.conf"
    # bad requests name the field and store nothing
    bad = [
        ({"name": "x"}, "Field 'number':value is missing"),
        ({"number": "q42"}, "Field 'name':value is missing"),
        ({"name": "x", "number": "q 42"}, "Field 'number'"),
        ({"name": "x", "number": "q42", "timeout": "soon"}, "Field 'timeout'"),
        ({"name": "x", "number": "q42", "maxlen": -1}, "Field 'maxlen'"),
        ({"name": "x", "number": "q42", "strategy": "sometimes"}, "Field 'strategy'"),
        ({"name": "x", "number": "q42", "joinempty": "maybe"}, "Field 'joinempty'"),
        ({"name": "x", "number": "q42", "ringinuse": "perhaps"}, "Field 'ringinuse'"),
        ({"name": "x", "number": "q41"}, "this queue already exists"),
        ({"name": "x", "number": "Q40"}, "this queue already exists"),
    ]
    for body, msg in bad:
        failed(d, "pbx/queues/add", body, msg)
    assert stored_queues(d) == ["q41"]
    # tamas.conf queues are not the API's to change
    failed(d, "pbx/queues/update", {"_id": "q40", "timeout": "3"},
           "Queue 'q40' is configured in tamas.conf")
    failed(d, "pbx/queues/remove", {"_id": "q40"}, "Queue 'q40' is configured in tamas.conf")
    failed(d, "pbx/queues/remove", {"_id": "0" * 24}, "No queue with this _id")
    failed(d, "pbx/queues/update", {}, "Field '_id':value is missing")
    failed(d, "pbx/queues/update", {"_id": qid, "number": "q43"}, "Field 'number'")
    failed(d, "pbx/queues/update", {"_id": qid, "wrapuptime": "x"}, "Field 'wrapuptime'")
    assert queue_obj(d, "q41")["wrapuptime"] == "0"
    ok(d, "pbx/queues/update", {"_id": qid, "name": "Sales 2", "timeout": 7})
    q = queue_obj(d, "q41")
    assert (q["name"], q["timeout"], q["strategy"], q["maxlen"]) == \
        ("Sales 2", "7", "linear", "1"), q
    # the stored queue takes calls, keeps its agent across a restart
    ok(d, "pbx/queues/addagent", {"queue": "q41", "source": "2002", "agent": "2002"})
    assert d.stop() == 0
    d.proc = None
    d.start()
    q = queue_obj(d, "q41")
    assert (q["_id"], q["name"], q["timeout"], [m["agent"] for m in q["members"]]) == \
        (qid, "Sales 2", "7", ["2002"]), q
    agent = start_callee(sipp, d, "2002")
    call(sipp, d, "1001", "841", hold_ms=1500)
    agent.wait()
    assert [(r["queuename"], r["event"]) for r in qlog(d)][-3:] == \
        [("q41", "ENTERQUEUE"), ("q41", "CONNECT"), ("q41", "COMPLETECALLER")]
    idle(d)
    # not while a caller waits; then removed with its stored member
    waiting = call(sipp, d, "1001", "841", hold_ms=2000, background=True)
    wait_until(lambda: qlog(d)[-1]["event"] == "ENTERQUEUE", 5, what="a waiting caller")
    failed(d, "pbx/queues/remove", {"_id": qid}, "has callers waiting")
    waiting.wait()
    idle(d)
    assert ok(d, "pbx/queues/remove", {"_id": qid}) == ""
    assert queue_obj(d, "q41") is None and stored_queues(d) == []
    failed(d, "pbx/queues/remove", {"_id": qid}, "No queue with this _id")
    con = sqlite3.connect(f"file:{d.db_path}?mode=ro", uri=True, timeout=2)
    try:
        assert con.execute("SELECT count(*) FROM queue_members WHERE queuename='q41'")\
            .fetchone()[0] == 0
    finally:
        con.close()
