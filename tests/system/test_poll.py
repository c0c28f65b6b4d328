"""Post-call survey (Simotel's Poll component): 1001 calls 1002 with Dial g;
1002 answers and hangs up, and 1001 stays in the dialplan, hears the poll
prompt and presses a score by RFC 4733 DTMF. A valid score becomes a row
of the poll table, a Survey webhook and a reports/poll/search row; no
digit (after every attempt) and an out-of-range digit (after every
attempt) record nothing; an out-of-range digit first gets another try.
reports/poll/search refuses bad bodies with Simotel's success:0."""

import json
import re
import sqlite3
import time

import pytest

from harness import call, read_media_file, start_callee, wait_until
from test_media import Listener
from test_webhook import Receiver, body_of

API_USER, API_PW = "crm", "crm-secret-1"


def plan(poll_args):
    return ('extensions = {\n\tmain_routing = {\n'
            '\t\t["_1XXX"] = function(c, e)\n'
            '\t\t\tapp.dial("SIP/" .. e, 10, "g")\n'
            '\t\t\tif channel.DIALSTATUS:get() == "ANSWER" then\n'
            f'\t\t\t\tapp.poll({poll_args})\n'
            '\t\t\tend\n'
            '\t\t\tapp.hangup()\n'
            '\t\tend,\n'
            '\t},\n}\n')


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def daemon(tamas_factory, receiver, poll_args):
    d = tamas_factory(dialplan=plan(poll_args),
                      conf_update={"webhook": {"url": receiver.url, "backoff_min_ms": 50,
                                               "backoff_max_ms": 200}}).start()
    d.ctl("apiuser", "add", API_USER, "--auth", "basic", "--password", API_PW)
    return d


class PolledCall:
    """1001 (RTP at a Python listener, so the test can press keys) calls
    1002, which answers and hangs up after a moment; the poll follows."""

    def __init__(self, d, sipp):
        sipp.target = d.target
        self.d = d
        self.a = Listener()
        self.callee = start_callee(sipp, d, "1002", scenario="uas_bye", hold_ms=300)
        self.caller = call(sipp, d, "1001", "1002", scenario="uac_call_wait_bye",
                           background=True, keys={"rtp_port": self.a.port})
        self.a_dest = read_media_file(self.caller.files["media"])
        self.a.send(self.a_dest, b"LATCH")

    def wait_try(self, n):
        self.d_wait_log(rf"poll: try {n} of \d+")

    def d_wait_log(self, pattern, timeout=10):
        wait_until(lambda: re.search(pattern, self.d.stderr()), timeout, what=pattern)

    def press(self, keys):
        for k in keys:
            self.a.send_dtmf(self.a_dest, k)
            time.sleep(0.1)

    def finish(self):
        """The dialplan hangs up after the poll: 1001 gets BYE."""
        self.callee.wait(timeout=15)
        self.caller.wait(timeout=15)
        self.a.close()


def poll_rows(d):
    con = sqlite3.connect(f"file:{d.db_path}?mode=ro", uri=True, timeout=2)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM poll ORDER BY rowid")]
    finally:
        con.close()


def surveys(receiver):
    return [b for b in (body_of(r) for r in receiver.snapshot())
            if b.get("event_name") == "Survey"]


def search(d, body):
    r = d.api("reports/poll/search", body, user=API_USER, password=API_PW)
    assert r.status == 200, r
    return r.json


def status_of(d):
    m = re.findall(r"poll: done \(.*status=(\w+)", d.stderr())
    return m[-1] if m else None


def test_score_is_stored_sent_and_searchable(tamas_factory, sipp, receiver):
    d = daemon(tamas_factory, receiver, '"support", "beep", 1, 5, 5, 2')
    pc = PolledCall(d, sipp)
    pc.wait_try(1)
    pc.press("4")
    pc.finish()
    assert status_of(d) == "OK"

    rows = poll_rows(d)
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row["point"], row["label"], row["src"], row["dst"], row["qnum"]) == \
        (4, "support", "1001", "1002", "")
    assert re.fullmatch(r"[0-9a-f]{24}", row["id"])
    # The poll row names the caller's channel, as its CDR does.
    cdrs = d.wait_cdrs(1)
    caller_cdr = [c for c in cdrs if c["channel"].startswith("SIP/1001-")]
    assert caller_cdr and caller_cdr[0]["uniqueid"] == row["uniqueid"], cdrs

    ev = wait_until(lambda: surveys(receiver) or None, 10, what="Survey webhook")
    assert len(ev) == 1, ev
    ev = ev[0]
    assert ev["event"] == "Survey"
    assert ev["point"] == 4 and isinstance(ev["point"], int)
    assert (ev["label"], ev["src"], ev["dst"], ev["queue"]) == ("support", "1001", "1002", "")
    assert ev["unique_id"] == ev["cuid"] == row["uniqueid"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", ev["date"])
    # The caller's Cdr event carries the score too (Simotel's spelling).
    cdr_ev = wait_until(lambda: [b for b in (body_of(r) for r in receiver.snapshot())
                                 if b.get("event_name") == "Cdr"
                                 and b.get("unique_id") == row["uniqueid"]], 10, what="Cdr")
    assert cdr_ev[0]["poll_point"] == 4 and cdr_ev[0]["poll_lable"] == "support", cdr_ev

    day = row["date"][:10]
    res = search(d, {"alike": False, "date_range": {"from": f"{day} 00:00", "to": f"{day} 23:59"},
                     "conditions": {"label": "support", "from": "1001"}})
    assert res["success"] == 1, res
    data = res["data"]
    assert data["target"] == "poll" and data["useGroupBy"] is False
    assert data["pagination"]["total"] == 1
    assert data["pagination"]["sorting"] == {"date": -1}
    assert data["data"] == [{"_id": row["id"], "uniqueid": row["uniqueid"], "src": "1001",
                             "dst": "1002", "point": 4, "label": "support", "qnum": "",
                             "date": row["date"]}]
    # Filters that do not match, alike (substring) and an empty window.
    assert search(d, {"alike": False, "date_range": {},
                      "conditions": {"label": "supp"}})["data"]["pagination"]["total"] == 0
    assert search(d, {"alike": "true", "date_range": {},
                      "conditions": {"label": "supp", "cuid": row["uniqueid"]}}
                  )["data"]["pagination"]["total"] == 1
    assert search(d, {"alike": False, "date_range": {"from": "2000-01-01 00:00",
                                                     "to": "2000-01-02 00:00"}}
                  )["data"]["pagination"]["total"] == 0


def test_no_digit_records_nothing(tamas_factory, sipp, receiver):
    d = daemon(tamas_factory, receiver, '"support", "beep", 1, 5, 0.5, 2')
    pc = PolledCall(d, sipp)
    pc.wait_try(2)
    pc.finish()
    assert status_of(d) == "TIMEOUT"
    assert poll_rows(d) == []
    d.wait_cdrs(1)
    # The call's Cdr events arrive; no Survey among them.
    wait_until(lambda: any(b.get("event_name") == "Cdr" for b in
                           (body_of(r) for r in receiver.snapshot())), 10, what="Cdr webhook")
    assert surveys(receiver) == []


def test_out_of_range_digit_gets_another_try(tamas_factory, sipp, receiver):
    d = daemon(tamas_factory, receiver, '"sales", "beep", 1, 5, 5, 2, "beep"')
    pc = PolledCall(d, sipp)
    pc.wait_try(1)
    pc.press("9")
    pc.wait_try(2)
    pc.press("2")
    pc.finish()
    assert status_of(d) == "OK"
    assert re.search(r"poll: score out of range \(.*input=9 min=1 max=5", d.stderr())
    rows = poll_rows(d)
    assert [(r["point"], r["label"]) for r in rows] == [(2, "sales")]
    ev = wait_until(lambda: surveys(receiver) or None, 10, what="Survey webhook")
    assert [e["point"] for e in ev] == [2]


def test_out_of_range_on_the_last_try_is_rejected(tamas_factory, sipp, receiver):
    d = daemon(tamas_factory, receiver, '"sales", "beep", 1, 5, 5, 1')
    pc = PolledCall(d, sipp)
    pc.wait_try(1)
    pc.press("0")
    pc.finish()
    assert status_of(d) == "INVALID"
    assert poll_rows(d) == []
    d.wait_cdrs(1)
    assert surveys(receiver) == []


def test_bad_poll_arguments_skip_the_poll(tamas_factory, sipp, receiver):
    d = daemon(tamas_factory, receiver, '"support", "beep", 5, 1')
    pc = PolledCall(d, sipp)
    pc.finish()
    assert re.search(r"poll: min and max must be numbers with min <= max", d.stderr())
    assert poll_rows(d) == []


@pytest.mark.tamas()
def test_search_refuses_bad_bodies(tamas):
    tamas.ctl("apiuser", "add", API_USER, "--auth", "basic", "--password", API_PW)
    cases = [
        ({"date_range": {}}, "alike"),
        ({"alike": False}, "date_range"),
        ({"alike": False, "date_range": "today"}, "date_range"),
        ({"alike": False, "date_range": {"from": "30/05/2024"}}, "date_range.from"),
        ({"alike": False, "date_range": {"to": "2024-05-30 25"}}, "date_range.to"),
        ({"alike": False, "date_range": {}, "conditions": []}, "conditions"),
        ({"alike": False, "date_range": {}, "conditions": {"label": {"x": 1}}}, "label"),
        ({"alike": False, "date_range": {}, "pagination": {"sorting": {"secret": 1}}},
         "pagination.sorting"),
        ({"alike": False, "date_range": {}, "pagination": {"count": 0}}, "pagination.count"),
    ]
    for body, field in cases:
        res = search(tamas, body)
        assert res["success"] == 0, (body, res)
        assert field in res["message"], (body, res)
    r = tamas.api("reports/poll/search", b"{not json", user=API_USER, password=API_PW)
    assert r.status == 400 and r.json["success"] == 0
    # An empty table with the defaults: total 0, Simotel's default sort.
    res = search(tamas, {"alike": False, "date_range": {}})
    assert res["success"] == 1
    assert res["data"]["pagination"] == {"start": 0, "count": 20, "sorting": {"date": -1},
                                         "total": 0}
    assert res["data"]["data"] == []
    json.dumps(res)
