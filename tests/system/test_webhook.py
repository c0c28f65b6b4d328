"""Simotel-style event webhooks: a call between two phones produces a Cdr
event whose fields are the CDR row's; a receiver that answers 503 or is not
there at all gets every event later, in order per call/extension; events
pending when tamasd stops are delivered after it starts again, each once;
the events filter, the Rest4 style, GET and Basic auth are honoured; trunk
calls give IncomingCall/OutgoingCall; bad [webhook] values stop the daemon
with file:line."""

import base64
import json
import re
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from harness import HOST, call, free_port, start_callee, wait_until

TIME_RE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}"


class Receiver:
    """An HTTP receiver on 127.0.0.1 that records every request and answers
    with .status. stop() closes the port (connection refused); start()
    again listens on the same port."""

    def __init__(self):
        self.port = free_port(udp=False, tcp=True)
        self.status = 200
        self.requests = []
        self.lock = threading.Lock()
        self.server = None

    @property
    def url(self):
        return f"http://{HOST}:{self.port}/hook/"

    def start(self):
        rcv = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                parts = urlsplit(self.path)
                with rcv.lock:
                    status = rcv.status
                    rcv.requests.append({
                        "method": self.command, "path": parts.path,
                        "query": {k: v[0] for k, v in parse_qs(parts.query,
                                                               keep_blank_values=True).items()},
                        "headers": dict(self.headers), "raw": raw, "status": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = handle_one
            do_GET = handle_one

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer((HOST, self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def accepted(self):
        """Bodies (as dicts) of the requests answered 2xx, in arrival order."""
        return [body_of(r) for r in self.snapshot() if 200 <= r["status"] < 300]


def body_of(req):
    if req["method"] == "POST":
        return json.loads(req["raw"])
    return dict(req["query"])


def ident(body):
    return json.dumps(body, sort_keys=True)


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def daemon(tamas_factory, receiver, sipp, **webhook):
    conf = {"url": receiver.url, "backoff_min_ms": 50, "backoff_max_ms": 200,
            "timeout_ms": 2000}
    conf.update(webhook)
    d = tamas_factory(conf_update={"webhook": conf}).start()
    sipp.target = d.target
    return d


def outbox(d):
    con = sqlite3.connect(f"file:{d.db_path}?mode=ro", uri=True, timeout=2)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM outbox ORDER BY id")]
    finally:
        con.close()


def local_call(sipp, d, hold_ms=300):
    callee = start_callee(sipp, d, "1002")
    call(sipp, d, "1001", "1002", hold_ms=hold_ms)
    callee.wait()


def wait_accepted(receiver, pred, what, timeout=10):
    return wait_until(lambda: [b for b in receiver.accepted() if pred(b)], timeout,
                      what=what)


def wait_outbox_empty(d, timeout=10):
    wait_until(lambda: not outbox(d), timeout, what="an empty outbox")


def states(bodies, ext):
    return [b["state"] for b in bodies if b.get("event_name") == "NewState"
            and b["exten"] == ext]


# ------------------------------------------------------------------ Cdr

def test_call_sends_cdr_event_matching_the_cdr_row(tamas_factory, receiver, sipp):
    d = daemon(tamas_factory, receiver, sipp)
    local_call(sipp, d)
    [row] = d.wait_cdrs(1)
    [cdr] = wait_accepted(receiver, lambda b: b["event_name"] == "Cdr", "the Cdr event")
    [req] = [r for r in receiver.snapshot() if r["method"] == "POST" and
             body_of(r).get("event_name") == "Cdr"]
    # G4: the URL as configured, a JSON body
    assert req["path"] == "/hook/"
    assert req["headers"]["Content-Type"] == "application/json"
    assert cdr["src"] == row["src"] == "1001"
    assert cdr["dst"] == row["dst"] == "1002"
    assert cdr["disposition"] == row["disposition"] == "ANSWERED"
    assert cdr["duration"] == row["duration"] and cdr["billsec"] == row["billsec"]
    assert cdr["unique_id"] == cdr["cuid"] == row["uniqueid"]
    assert re.fullmatch(TIME_RE, cdr["starttime"]) and re.fullmatch(TIME_RE, cdr["endtime"])
    assert cdr["starttime"].startswith(row["start"]), (cdr, row)
    assert cdr["endtime"].startswith(row["end"]), (cdr, row)
    assert cdr["type"] == "local"
    assert isinstance(cdr["wait"], int) and 0 <= cdr["wait"] <= cdr["duration"]
    for absent in ("record", "entry_point", "outgoing_point", "originated_call_id"):
        assert absent not in cdr, cdr
    wait_outbox_empty(d)
    got = receiver.accepted()
    assert len([b for b in got if b["event_name"] == "Cdr"]) == 1
    # the extensions' states, in order, tied to the call
    assert states(got, "1002") == ["Ringing", "InUse", "Idle"], got
    assert states(got, "1001") == ["InUse", "Idle"], got
    for b in got:
        if b["event_name"] == "NewState":
            assert b["unique_id"] == row["linkedid"], b
    [ringing] = [b for b in got if b.get("exten") == "1002" and b["state"] == "Ringing"]
    assert ringing["participant"] == "1001" and ringing["direction"] == "in"
    [dialing] = [b for b in got if b.get("exten") == "1001" and b["state"] == "InUse"]
    assert dialing["dialer"] == "yes" and dialing["participant"] == "1002"


# ------------------------------------------------------------------ outage

def test_receiver_down_keeps_events_and_delivers_them_in_order(tamas_factory, receiver,
                                                                sipp):
    receiver.status = 503
    d = daemon(tamas_factory, receiver, sipp)
    local_call(sipp, d)
    local_call(sipp, d)
    d.wait_cdrs(2)
    # the Cdr rows commit with the CDR rows, so by now every event is queued
    rows = wait_until(lambda: (lambda o: o if sum(r["event"] == "Cdr" for r in o) == 2
                               else None)(outbox(d)), 5, what="2 Cdr rows in the outbox")
    wait_until(lambda: all(r["attempts"] >= 1 for r in outbox(d)
                           if r["id"] == min(x["id"] for x in outbox(d)
                                             if x["call_key"] == r["call_key"])),
               10, what="every call's first event tried")
    tried = wait_until(lambda: [r for r in outbox(d) if r["attempts"] >= 2], 10,
                       what="retries")
    assert tried[0]["last_error"] == "HTTP 503", tried[0]
    assert not receiver.accepted()
    # only the oldest row of a call key is ever tried while it is undelivered
    heads = {}
    for r in rows:
        heads.setdefault(r["call_key"], ident(json.loads(r["body"])))
    for req in receiver.snapshot():
        b = body_of(req)
        key = f"exten/{b['exten']}" if b["event_name"] == "NewState" else b["unique_id"]
        assert ident(b) == heads[key], f"{b} sent before the older events of {key}"

    # now the port is closed: connection refused, events still kept
    receiver.stop()
    seen = {r["id"]: r["attempts"] for r in outbox(d)}
    wait_until(lambda: any(r["attempts"] > seen[r["id"]] and r["last_error"] != "HTTP 503"
                           for r in outbox(d)), 10, what="a failed connect")
    assert len(outbox(d)) == len(rows)

    receiver.status = 200
    receiver.start()
    wait_outbox_empty(d)
    got = receiver.accepted()
    want = [json.loads(r["body"]) for r in rows]
    assert sorted(map(ident, got)) == sorted(map(ident, want)), "each event exactly once"
    for key in {r["call_key"] for r in rows}:
        order = [ident(json.loads(r["body"])) for r in rows if r["call_key"] == key]
        assert [ident(b) for b in got if ident(b) in order] == order, f"order of {key}"


def test_pending_events_are_delivered_after_a_restart(tamas_factory, receiver, sipp):
    receiver.status = 503
    d = daemon(tamas_factory, receiver, sipp, events="Cdr", style="Rest4",
               rest_lowercase="yes")
    local_call(sipp, d)
    d.wait_cdrs(1)
    wait_until(lambda: [r for r in outbox(d) if r["attempts"] >= 1], 10,
               what="a failed attempt")
    pending = outbox(d)
    assert [r["event"] for r in pending] == ["Cdr"], "events=Cdr queues nothing else"
    assert d.stop() == 0
    d.proc = None
    assert [r["id"] for r in outbox(d)] == [r["id"] for r in pending]
    with receiver.lock:
        receiver.requests.clear()
    receiver.status = 200
    d.start()
    wait_outbox_empty(d)
    got = receiver.snapshot()
    assert [ident(body_of(r)) for r in got] == [ident(json.loads(r["body"]))
                                                 for r in pending]
    assert got[0]["path"] == "/hook/cdr"      # Rest4, lower-cased
    assert not [r for r in receiver.snapshot() if body_of(r)["event_name"] != "Cdr"]


# ------------------------------------------------------------------ options

def test_events_filter_leaves_out_cdr(tamas_factory, receiver, sipp):
    d = daemon(tamas_factory, receiver, sipp, events="NewState")
    local_call(sipp, d)
    d.wait_cdrs(1)
    wait_accepted(receiver, lambda b: b.get("exten") == "1002" and b["state"] == "Idle",
                  "1002 Idle")
    # a wanted Cdr would have been queued with the CDR row: nothing there
    assert not [r for r in outbox(d) if r["event"] != "NewState"]
    assert {b["event_name"] for b in receiver.accepted()} == {"NewState"}


def test_rest4_get_with_basic_auth(tamas_factory, receiver, sipp):
    d = daemon(tamas_factory, receiver, sipp, events="Cdr", style="Rest4", method="GET",
               username="crm", password="s3cret")
    local_call(sipp, d)
    [row] = d.wait_cdrs(1)
    wait_accepted(receiver, lambda b: b.get("event_name") == "Cdr", "the Cdr event")
    [req] = receiver.snapshot()
    assert req["method"] == "GET" and req["path"] == "/hook/Cdr"
    q = req["query"]
    assert q["event_name"] == "Cdr" and q["src"] == "1001" and q["dst"] == "1002"
    assert q["duration"] == str(row["duration"]) and q["unique_id"] == row["uniqueid"]
    assert re.fullmatch(TIME_RE, q["starttime"])
    want = "Basic " + base64.b64encode(b"crm:s3cret").decode()
    assert req["headers"]["Authorization"] == want


def test_trunk_calls_give_incoming_and_outgoing_events(tamas_factory, receiver, sipp):
    d = daemon(tamas_factory, receiver, sipp, events="Cdr,IncomingCall,OutgoingCall")
    # in: the provider calls DID 5551234, which rings 1002
    callee = start_callee(sipp, d, "1002")
    sipp.run("uac_trunk_in", port=d.prov_port, keys={"ext": "0611223344"},
             service="5551234", hold_ms=300)
    callee.wait()
    [inc] = wait_accepted(receiver, lambda b: b["event_name"] == "IncomingCall", "IncomingCall")
    assert inc["number"] == "0611223344" and inc["entry_point"] == "prov"
    assert inc["did"] == "5551234"
    [row_in] = d.wait_cdrs(1)
    [cdr_in] = wait_accepted(receiver, lambda b: b["event_name"] == "Cdr", "incoming Cdr")
    assert cdr_in["type"] == "incoming" and cdr_in["entry_point"] == "prov"
    assert inc["unique_id"] == cdr_in["unique_id"] == row_in["uniqueid"]
    # out: 1001 dials 0123456 through the trunk
    provider = sipp.start("uas_trunk", port=d.prov_port, keys={"ext": "prov"},
                          sets={"number": "0123456"}, remote="")
    provider.wait_bound()
    call(sipp, d, "1001", "0123456", hold_ms=300)
    provider.wait()
    [out] = wait_accepted(receiver, lambda b: b["event_name"] == "OutgoingCall",
                          "OutgoingCall")
    assert out["number"] == "0123456" and out["outgoing_point"] == "prov"
    rows = d.wait_cdrs(2)
    [cdr_out] = wait_accepted(receiver, lambda b: b["event_name"] == "Cdr" and
                              b["dst"] == "0123456", "outgoing Cdr")
    assert cdr_out["type"] == "outgoing" and cdr_out["outgoing_point"] == "prov"
    assert "entry_point" not in cdr_out
    assert out["unique_id"] == cdr_out["unique_id"] == rows[1]["uniqueid"]


def test_no_url_queues_nothing(tamas_factory, sipp):
    d = tamas_factory().start()
    sipp.target = d.target
    local_call(sipp, d, hold_ms=100)
    d.wait_cdrs(1)
    assert outbox(d) == []


@pytest.mark.parametrize("key,value,why", [
    ("url", "ftp://example.org/x", "expected an http"),
    ("style", "G3", "expected G4 or Rest4"),
    ("method", "PUT", "expected POST or GET"),
    ("events", "Cdr,Bogus", "unknown event 'Bogus'"),
    ("timeout_ms", "soon", "expected integer"),
    ("backoff_max_ms", "10", "must not be below"),
])
def test_bad_webhook_value_stops_the_daemon_with_file_and_line(tamas_factory, key, value,
                                                                why):
    d = tamas_factory(conf_update={"webhook": {"url": "http://127.0.0.1:9/h",
                                               "backoff_min_ms": 100, key: value}})
    text = d.conf_text()
    line = next(i + 1 for i, l in enumerate(text.splitlines())
                if l.startswith(f"{key} = {value}"))
    d.write_conf(text)
    d.spawn()
    assert d.wait_exit(5) != 0
    err = d.stderr()
    assert re.search(rf"tamas\.conf:{line}: webhook\.{key}: .*{re.escape(why)}", err), err[-2000:]
    assert not d.db_path.exists(), "nothing is created for a bad configuration"


# ------------------------------------------------------- Transfer, trunks

def test_blind_refer_sends_transfer_event(tamas_factory, receiver, sipp):
    d = daemon(tamas_factory, receiver, sipp, events="Transfer")
    target = start_callee(sipp, d, "1003")
    b = start_callee(sipp, d, "1002", scenario="uas_answer_refer",
                     keys={"target": "1003"}, sets={"pause_ms": 500})
    call(sipp, d, "1001", "1002", hold_ms=2500)
    b.wait()
    target.wait()
    [ev] = wait_accepted(receiver, lambda b: b["event_name"] == "Transfer", "Transfer")
    assert ev["transferer"] == "1002", ev
    assert ev["transferred_from"] == "1001", ev
    assert ev["transferred_to"] == "1003", ev
    [row] = d.wait_cdrs(1)
    assert ev["unique_id"] == row["linkedid"], (ev, row)


def test_registering_trunk_sends_trunk_new_state(tamas_factory, receiver, sipp):
    from harness import HOST
    reg_port = free_port()
    provider = sipp.start("uas_registrar", port=reg_port, remote="",
                          keys={"auth_user": "acct", "auth_pass": "s3cret",
                                "realm": "provider", "expires": 60})
    provider.wait_bound()
    d = tamas_factory(conf_update={"webhook": {"url": receiver.url,
                                               "events": "TrunkNewState"}})
    d.trunks["up"] = {"host": HOST, "port": reg_port, "context": "from_trunk",
                      "username": "acct", "password": "s3cret", "register": "yes",
                      "expires": 60}
    d.start()
    provider.wait(timeout=15)
    [ev] = wait_accepted(receiver, lambda b: b["event_name"] == "TrunkNewState",
                         "TrunkNewState")
    assert ev["trunk_name"] == "up" and ev["state"] == "Ok", ev
    assert ev["trunk_type"] == "SIP" and re.fullmatch(r"\d{10}\.\d{6}", ev["date"]), ev


def test_api_user_changes_and_ping_send_events(tamas_factory, receiver, sipp):
    d = daemon(tamas_factory, receiver, sipp, events="ExtenAdded,ExtenRemoved,Ping")
    d.ctl("apiuser", "add", "crm", "--auth", "basic", "--password", "crm-secret")
    auth = {"user": "crm", "password": "crm-secret"}
    r = d.api("pbx/users/add", {"name": "N", "number": "2070", "secret": "s3cret-2070"}, **auth)
    assert r.json["success"] == 1, r
    assert d.api("pbx/users/remove", {"_id": r.json["data"]["_id"]}, **auth).json["success"] == 1
    assert d.api("setting/ping/act", {}, **auth).json["success"] == 1
    evs = wait_until(lambda: len(receiver.accepted()) >= 3 and receiver.accepted(), 10,
                     what="three events")
    assert [e["event_name"] for e in evs] == ["ExtenAdded", "ExtenRemoved", "Ping"], evs
    assert evs[0]["exten"] == "2070" and evs[0]["state"] == "Unavailable", evs
    assert evs[1]["exten"] == "2070", evs
    assert re.fullmatch(TIME_RE, evs[2]["date"]), evs
