"""Callback module, API side (issue 7): each transition of a request is a
CallbackRequest webhook (registered, calling, retry, done, failed, handled)
and each automatic attempt a callback_attempts row; reports/callback/search
lists requests with their tries; pbx/callbacks/add|update|remove|search
define callbacks at run time, kept in the store across restarts."""

import json
import re
import sqlite3

import pytest

from harness import start_callee, wait_until
from test_callback import (API_PW, API_USER, CALLBACKS, PLAN, Caller, log_wait, register_number,
                           rows)
from test_webhook import TIME_RE, Receiver

EVENT = "CallbackRequest"


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def make(tamas_factory, receiver=None, dialplan=PLAN, callbacks=CALLBACKS, name=None):
    conf = dict(callbacks)
    if receiver:
        conf["webhook"] = {"url": receiver.url, "backoff_min_ms": 50, "backoff_max_ms": 200,
                           "events": EVENT}
    d = tamas_factory(name, dialplan=dialplan, conf_update=conf).start()
    d.ctl("apiuser", "add", API_USER, "--auth", "basic", "--password", API_PW)
    return d


def api(d, path, body):
    r = d.api(path, body, user=API_USER, password=API_PW)
    assert r.status == 200, r
    return r.json


def ok(d, path, body):
    j = api(d, path, body)
    assert j["success"] == 1, (path, body, j)
    return j["data"]


def events(receiver, n):
    return wait_until(lambda: (lambda b: b if len(b) >= n else None)(
        [b for b in receiver.accepted() if b.get("event_name") == EVENT]), 15,
        what=f"{n} {EVENT} events")


def attempts(d):
    con = sqlite3.connect(f"file:{d.db_path}?mode=ro", uri=True, timeout=2)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(
            "SELECT * FROM callback_attempts ORDER BY req_id, attempt")]
    finally:
        con.close()


def report(d, body):
    return ok(d, "reports/callback/search", body)


def test_done_run_sends_registered_calling_done(tamas_factory, receiver, sipp):
    d = make(tamas_factory, receiver)
    sipp.target = d.target
    agent = start_callee(sipp, d, "1002")
    customer = start_callee(sipp, d, "1003", scenario="uas_bye", hold_ms=1500)
    register_number(d, sipp, "501", "1003#", "1003")
    log_wait(d, r"callback: customer called back", timeout=15)
    customer.wait(timeout=15)
    agent.wait(timeout=15)
    (row,) = rows(d)
    ev = events(receiver, 3)
    assert [e["state"] for e in ev] == ["registered", "calling", "done"], ev
    for e in ev:
        assert (e["request_id"], e["callback"], e["caller"], e["number"], e["target"]) == \
            (row["id"], "auto", "1001", "1003", "1002"), e
        assert re.fullmatch(TIME_RE, e["registered_at"]) and re.fullmatch(TIME_RE, e["time"])
        assert e["operator"] == ""
    assert [(int(e["attempt"]), e["originated_call_id"], e["agent"], e["outcome"])
            for e in ev] == [(0, "", "", ""), (1, row["call_id"], "1002", ""),
                             (1, row["call_id"], "1002", "ANSWERED")], ev
    assert ev[0]["handled_at"] == "" and ev[1]["handled_at"] == ""
    assert re.fullmatch(TIME_RE, ev[2]["handled_at"]), ev[2]
    # Only the events asked for: no Cdr although calls ended.
    assert {b.get("event_name") for b in receiver.accepted()} == {EVENT}
    (a,) = attempts(d)
    assert (a["req_id"], a["attempt"], a["call_id"], a["agent"], a["outcome"]) == \
        (row["id"], 1, row["call_id"], "1002", "ANSWERED"), a
    assert a["started_at"] and a["ended_at"] >= a["started_at"]
    # The report shows the attempt as the request's try.
    (r,) = report(d, {"conditions": {"callback": "auto"}})["data"]
    assert (r["_id"], r["status"], r["attempts"], r["originated_call_id"]) == \
        (row["id"], "done", 1, row["call_id"]), r
    assert r["tries"] == [{"attempt": 1, "originated_call_id": row["call_id"], "agent": "1002",
                           "started_at": a["started_at"], "ended_at": a["ended_at"],
                           "outcome": "ANSWERED"}], r


def test_failed_run_then_handled(tamas_factory, receiver, sipp):
    d = make(tamas_factory, receiver)
    sipp.target = d.target
    agent = start_callee(sipp, d, "1002", calls=2)
    customer = start_callee(sipp, d, "1003", scenario="uas_busy", calls=2)
    register_number(d, sipp, "501", "1003#", "1003")
    log_wait(d, r"callback: request failed after 2 attempts", timeout=20)
    customer.wait(timeout=15)
    agent.wait(timeout=15)
    (row,) = rows(d)
    ev = events(receiver, 5)
    assert [(e["state"], int(e["attempt"])) for e in ev] == \
        [("registered", 0), ("calling", 1), ("retry", 1), ("calling", 2), ("failed", 2)], ev
    assert [e["outcome"] for e in ev] == ["", "", "BUSY", "", "BUSY"], ev
    assert ev[1]["originated_call_id"] == ev[2]["originated_call_id"] != ""
    assert ev[4]["originated_call_id"] == row["call_id"] != ev[1]["originated_call_id"]
    assert ev[3]["handled_at"] == "" and re.fullmatch(TIME_RE, ev[4]["handled_at"])
    assert [(a["attempt"], a["call_id"], a["outcome"]) for a in attempts(d)] == \
        [(1, ev[1]["originated_call_id"], "BUSY"), (2, row["call_id"], "BUSY")]
    (r,) = report(d, {"conditions": {"status": "failed"}})["data"]
    assert [(t["attempt"], t["originated_call_id"], t["outcome"]) for t in r["tries"]] == \
        [(1, ev[1]["originated_call_id"], "BUSY"), (2, row["call_id"], "BUSY")], r
    # An operator handles the failed request: one more event, with who.
    ok(d, "callback/requests/done", {"_id": row["id"], "operator": "1005"})
    ev = events(receiver, 6)
    assert (ev[5]["state"], ev[5]["operator"], ev[5]["request_id"]) == \
        ("handled", "1005", row["id"]), ev[5]
    assert re.fullmatch(TIME_RE, ev[5]["handled_at"])


def test_report_filters_and_pages(tamas_factory, sipp):
    d = make(tamas_factory)
    sipp.target = d.target
    register_number(d, sipp, "500", "#", "1001")                 # sales, own number 1001
    register_number(d, sipp, "501", "09120000000#", "09120000000")       # auto; 1002 away: stays pending
    sales, auto = rows(d)
    ok(d, "callback/requests/done", {"_id": sales["id"], "operator": "1002"})
    day = sales["registered_at"][:10]

    def ids(body):
        res = report(d, body)
        return res["pagination"]["total"], [r["_id"] for r in res["data"]]

    both = {"date_range": {"from": day, "to": day}}
    assert ids(both) == (2, [auto["id"], sales["id"]])           # newest first
    assert ids({**both, "pagination": {"start": 0, "count": 1}}) == (2, [auto["id"]])
    assert ids({**both, "pagination": {"start": 0, "count": 5, "sorting": {"registered_at": 1}}}
               ) == (2, [sales["id"], auto["id"]])
    assert ids({"conditions": {"operator": "1002"}}) == (1, [sales["id"]])
    assert ids({"conditions": {"target": "1002", "status": "pending"}}) == (1, [auto["id"]])
    assert ids({"alike": True, "conditions": {"number": "0912"}}) == (1, [auto["id"]])
    assert ids({"alike": False, "conditions": {"number": "0912"}}) == (0, [])
    assert ids({"conditions": {"caller": "1001", "callback": "sales"}}) == (1, [sales["id"]])
    # handled_range: only handled requests, by handled_at.
    assert ids({"handled_range": {"from": day, "to": day}}) == (1, [sales["id"]])
    assert ids({"handled_range": {"to": day}}) == (1, [sales["id"]])
    assert ids({"handled_range": {"from": "2000-01-01", "to": "2000-01-02"}}) == (0, [])
    assert ids({"date_range": {"from": "2000-01-01", "to": "2000-01-02"}}) == (0, [])
    (r,) = report(d, {"conditions": {"callback": "sales"}})["data"]
    assert (r["caller"], r["number"], r["target"], r["operator"], r["status"], r["tries"],
            r["attempts"]) == ("1001", "1001", "1002", "1002", "done", [], 0), r
    assert r["handled_at"] >= r["registered_at"] != ""
    for body, msg in [({"handled_range": "today"}, "handled_range"),
                      ({"handled_range": {"from": "yesterday"}}, "handled_range.from"),
                      ({"date_range": {"to": "1-2-3"}}, "date_range.to"),
                      ({"conditions": {"status": "maybe"}}, "status"),
                      ({"pagination": {"sorting": {"caller": 1}}}, "sorting")]:
        j = api(d, "reports/callback/search", body)
        assert j["success"] == 0 and msg in j["message"], (body, j)


WEBPLAN = PLAN.replace('\t\t["_1XXX"]', '\t\t["502"] = function(c, e)\n'
                       '\t\t\tapp.answer()\n\t\t\tapp.callback("web")\n\t\t\tapp.hangup()\n'
                       '\t\tend,\n\t\t["_1XXX"]')


def defs(d):
    con = sqlite3.connect(f"file:{d.db_path}?mode=ro", uri=True, timeout=2)
    try:
        return [(n, json.loads(c)) for n, c in
                con.execute("SELECT name, conf FROM callback_defs ORDER BY rowid")]
    finally:
        con.close()


def listed(d, body=None):
    return {r["name"]: r for r in ok(d, "pbx/callbacks/search", body or {})}


def failed(d, path, body, msg):
    j = api(d, path, body)
    assert j["success"] == 0 and msg in (j["message"] or ""), (path, body, j)


def restart(d):
    assert d.stop() == 0
    d.proc = None
    d.start()


def test_callbacks_defined_through_the_api(tamas_factory, sipp):
    d = make(tamas_factory, dialplan=WEBPLAN)
    sipp.target = d.target
    # Bad input: the messages of tamas.conf, and nothing stored or in service.
    for body, msg in [
        ({"name": "web", "target": "1002"}, "code: is required"),
        ({"name": "web", "code": "500", "target": "1002"}, "code: 500 is already [callback sales]'s"),
        ({"name": "web", "code": 502, "target": "sales"}, "target: expected extensions or queue:NAME"),
        ({"name": "web", "code": 502, "target": 1002, "colour": "red"}, "'colour'"),
        ({"name": "web", "code": 502, "target": 1002, "retries": 0}, "retries: expected"),
        ({"name": "web", "code": 502, "target": 1002, "auto_call": "perhaps"}, "auto_call"),
        ({"name": "web", "code": [502], "target": 1002}, "'code'"),
        ({"name": "sales", "code": 502, "target": 1002}, "name: a callback of that name"),
        ({"code": 502, "target": 1002}, "Field 'name':value is missing"),
        ({"name": "web", "code": 502, "target": 1002, "next": "callback:nosuch"},
         "next: "),
        ({"name": "web", "code": 502, "target": 1002, "error": "voicemail:1"}, "error: "),
    ]:
        failed(d, "pbx/callbacks/add", body, msg)
    r = d.api("pbx/callbacks/add", b'{"name": "web", "code": ', user=API_USER, password=API_PW)
    assert r.status == 400, r
    assert defs(d) == []
    got = listed(d)
    assert set(got) == {"sales", "auto"}, got
    assert (got["sales"]["_id"], got["sales"]["source"], got["sales"]["code"],
            got["sales"]["retries"], got["sales"]["retry_wait"], got["sales"]["active"]) == \
        ("sales", "config", "500", "3", "60", "yes"), got

    wid = ok(d, "pbx/callbacks/add", {"name": "web", "code": 502, "target": 1002,
                                      "auto_call": False, "retries": 2, "min_wait": "00:01:00",
                                      "confirm": "beep"})["_id"]
    assert re.fullmatch(r"[0-9a-f]{24}", wid)
    w = listed(d, {"alike": True, "conditions": {"name": "we"}})
    assert list(w) == ["web"], w
    assert (w["web"]["_id"], w["web"]["source"], w["web"]["code"], w["web"]["target"],
            w["web"]["auto_call"], w["web"]["retries"], w["web"]["min_wait"]) == \
        (wid, "api", "502", "1002", "no", "2", "00:01:00"), w
    assert list(listed(d, {"conditions": {"source": "config"}})) == ["sales", "auto"]
    register_number(d, sipp, "502", "#", "1001")        # in service at once
    (row,) = rows(d)
    assert (row["callback"], row["target"], row["status"]) == ("web", "1002", "pending"), row

    # An update changes what callers get: the request now is for 1005.
    assert ok(d, "pbx/callbacks/update", {"_id": wid, "target": "1005"}) == ""
    register_number(d, sipp, "502", "#", "1001")
    (row,) = rows(d)
    assert row["target"] == "1005", row
    # Refused updates leave the definition as it was.
    for body, msg in [({"_id": wid, "code": "500"}, "code: 500 is already"),
                      ({"_id": wid, "target": "x1"}, "target: expected"),
                      ({"_id": wid, "colour": 1}, "'colour'"),
                      ({"_id": wid, "name": "other"}, "name: cannot be changed"),
                      ({"_id": "0" * 24}, "No callback with _id"),
                      ({}, "Field '_id':value is missing"),
                      ({"_id": "sales", "target": "1003"}, "configured in tamas.conf"),
                      ({"name": "auto", "retries": 5}, "configured in tamas.conf")]:
        failed(d, "pbx/callbacks/update", body, msg)
    failed(d, "pbx/callbacks/remove", {"_id": "sales"}, "configured in tamas.conf")
    assert defs(d) == [("web", {"auto_call": "no", "code": "502", "confirm": "beep",
                                "min_wait": "00:01:00", "retries": "2", "target": "1005"})]
    assert listed(d)["web"]["target"] == "1005"

    # Kept across a restart, and in service after it.
    restart(d)
    assert "callback: 1 callbacks defined through the API are in service" in d.stderr()
    assert listed(d)["web"]["_id"] == wid
    register_number(d, sipp, "502", "09121111111#", "09121111111")
    (row,) = rows(d)
    assert (row["callback"], row["number"], row["target"]) == ("web", "09121111111", "1005")

    # Removed: callers no longer reach it; its request stays as it was.
    assert ok(d, "pbx/callbacks/remove", {"_id": wid}) == ""
    assert defs(d) == [] and "web" not in listed(d)
    res = ok(d, "callback/requests/search", {"conditions": {"callback": "web"}})
    assert [(x["_id"], x["status"]) for x in res["data"]] == [(row["id"], "pending")], res
    mark = len(d.stderr())
    Caller(d, sipp, "502").finish()
    assert re.search(r"callback: no such callback 'web'", d.stderr()[mark:])
    failed(d, "pbx/callbacks/remove", {"_id": wid}, "No callback with _id")
    mark = len(d.stderr())
    restart(d)
    assert "web" not in listed(d) and "defined through the API" not in d.stderr()[mark:]

    # tamas.conf wins a clash: the stored callback waits, listed, until fixed.
    w2 = ok(d, "pbx/callbacks/add", {"name": "web2", "code": "503", "target": "1002"})["_id"]
    d.conf["callback clash"] = {"code": "503", "target": "1002"}
    d.write_conf()
    mark = len(d.stderr())
    restart(d)
    assert re.search(rf"stored callback not in service \(name=web2 id={w2}\): code: 503 is "
                     r"already \[callback clash\]'s", d.stderr()[mark:])
    got = listed(d)
    assert (got["web2"]["in_service"], got["web2"]["code"], got["clash"]["source"]) == \
        ("no", "503", "config"), got
    assert ok(d, "pbx/callbacks/update", {"_id": w2, "code": "504"}) == ""
    assert (listed(d)["web2"]["in_service"], listed(d)["web2"]["code"]) == ("yes", "504")

