"""Simotel's Trunk API and Extension API dialplan components
(simotel-dialplan-api.md): a caller dials, tamasd asks the customer's web
service (a local http.server here) where the call goes, dials the trunk and
number (or extension) it names, and ends the bridged call after the reply's
call_limit; when the service is down, answers garbage or an error, or is too
slow, the dialplan takes its fallback route (extension 1002). A caller who
hangs up while the request is out is safe; GET and Basic follow [webhook];
bad [api] values stop the daemon with file:line."""

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from harness import HOST, call, free_port, start_callee, wait_until

DIALPLAN = """
API_URL = "%(url)s"

-- Trunk API: ask, then dial what the service said or take the fallback.
local function trunk_api(context, exten)
	if exten:sub(1, 1) == "7" then
		app.ringing()                 -- lets a caller CANCEL while we ask
	end
	app.trunkapi(API_URL, "route-by-crm", "42")
	local st = channel.TRUNKAPI_STATUS:get()
	channel["CDR(userfield)"]:set(st .. ";limit=" .. (channel.CALL_LIMIT:get() or ""))
	if st == "SUCCESS" then
		app.dial(channel.TRUNKAPI_DIAL:get(), 10)
	else
		app.dial("SIP/1002", 10)      -- the fallback route
	end
	app.hangup()
end

extensions = {
	main_routing = {
		["_0X."] = trunk_api,
		["_7X."] = trunk_api,
		["_2XXX"] = function(context, exten)
			app.extenapi(API_URL)
			local st = channel.EXTENAPI_STATUS:get()
			channel["CDR(userfield)"]:set(st)
			if st == "SUCCESS" then
				app.dial(channel.EXTENAPI_DIAL:get(), 10)
			else
				app.dial("SIP/1002", 10)
			end
			app.hangup()
		end,
	},
}
"""


class Service:
    """The customer's web service on 127.0.0.1: records each request and
    answers with .status and .reply (bytes, or a dict sent as JSON). With
    .hold set, a request waits until release() (at most 10 s) first."""

    def __init__(self):
        self.port = free_port(udp=False, tcp=True)
        self.status = 200
        self.reply = {"ok": "1", "trunk": "prov", "extension": "09123334455"}
        self.hold = False
        self.released = threading.Event()
        self.requests = []
        self.lock = threading.Lock()
        self.server = None

    @property
    def url(self):
        return f"http://{HOST}:{self.port}/route"

    def start(self):
        svc = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                parts = urlsplit(self.path)
                with svc.lock:
                    svc.requests.append({
                        "method": self.command, "path": parts.path, "raw": raw,
                        "query": {k: v[0] for k, v in parse_qs(
                            parts.query, keep_blank_values=True).items()},
                        "headers": {k.lower(): v for k, v in self.headers.items()}})
                if svc.hold:
                    svc.released.wait(10)
                body = svc.reply if isinstance(svc.reply, bytes) \
                    else json.dumps(svc.reply).encode()
                try:
                    self.send_response(svc.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass              # tamasd gave up on us: that is the point

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
        self.released.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def wait_requests(self, n=1, timeout=5):
        return wait_until(lambda: self.snapshot() if len(self.snapshot()) >= n else None,
                          timeout, what=f"{n} request(s) at the web service")


@pytest.fixture
def service():
    s = Service().start()
    yield s
    s.stop()


def daemon(tamas_factory, sipp, url, conf=None):
    d = tamas_factory(dialplan=DIALPLAN % {"url": url}, conf_update=conf or {}).start()
    sipp.target = d.target
    return d


def fields(req):
    if req["method"] == "POST":
        return json.loads(req["raw"])
    return req["query"]


def test_trunk_api_request_fields_and_call_to_the_trunk_it_names(tamas_factory, sipp,
                                                                 service):
    d = daemon(tamas_factory, sipp, service.url)
    prov = sipp.start("uas_trunk", port=d.prov_port, keys={"ext": "prov"},
                      sets={"number": "09123334455"})
    call(sipp, d, "1001", "0212345678", hold_ms=300)
    prov.wait()                                # INVITE for the number, BYE
    (req,) = service.snapshot()
    assert req["method"] == "POST" and req["path"] == "/route"
    assert req["headers"]["content-type"] == "application/json"
    body = fields(req)
    (row,) = d.wait_cdrs(1)
    assert body == {"src": "1001", "dst": "0212345678", "data": "42",
                    "unique_id": row["uniqueid"], "app_name": "route-by-crm"}, body
    assert row["disposition"] == "ANSWERED", row
    assert row["dstchannel"].startswith("SIP/prov/09123334455-"), row
    assert row["userfield"] == "SUCCESS;limit=", row


def test_call_limit_from_the_reply_ends_the_bridged_call(tamas_factory, sipp, service):
    service.reply = {"ok": "1", "trunk": "prov", "extension": "0912555", "call_limit": "2"}
    d = daemon(tamas_factory, sipp, service.url)
    prov = sipp.start("uas_trunk", port=d.prov_port, keys={"ext": "prov"},
                      sets={"number": "0912555"})
    # Neither side hangs up: both wait for tamasd's BYE (SIPp's own timeout
    # is 15 s, so a missing limit fails the runs).
    call(sipp, d, "1001", "0212345678", scenario="uac_call_wait_bye")
    prov.wait()
    (row,) = d.wait_cdrs(1)
    assert row["disposition"] == "ANSWERED", row
    assert row["userfield"] == "SUCCESS;limit=2", row
    assert abs(int(row["billsec"]) - 2) <= 1, f"billsec {row['billsec']} for a 2 s limit"


def test_extension_api_rings_the_extension_it_names(tamas_factory, sipp, service):
    service.reply = {"ok": 1, "extension": "1003"}
    d = daemon(tamas_factory, sipp, service.url)
    callee = start_callee(sipp, d, "1003")
    call(sipp, d, "1001", "2000", hold_ms=300)
    callee.wait()
    body = fields(service.snapshot()[0])
    assert body["app_name"] == "ExtenAPI" and body["dst"] == "2000" and body["data"] == ""
    (row,) = d.wait_cdrs(1)
    assert row["dstchannel"].startswith("SIP/1003-"), row
    assert row["userfield"] == "SUCCESS", row


FAILURES = {
    "garbage": (200, b"<html>route me</html>", "FAILED", r"reply is not JSON"),
    "http_500": (500, {"ok": "1", "trunk": "prov", "extension": "1"}, "FAILED",
                 r"HTTP 500"),
    "ok_0": (200, {"ok": 0}, "FAILED", r"ok is not 1"),
    "no_trunk": (200, {"ok": "1", "extension": "0912"}, "FAILED", r"trunk is missing"),
    "dial_injection": (200, {"ok": "1", "trunk": "prov", "extension": "0912&SIP/1003"},
                       "FAILED", r"has characters"),
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_bad_reply_takes_the_fallback_route(tamas_factory, sipp, service, kind):
    service.status, service.reply, status, why = FAILURES[kind]
    d = daemon(tamas_factory, sipp, service.url)
    callee = start_callee(sipp, d, "1002")
    call(sipp, d, "1001", "0212345678", hold_ms=200)
    callee.wait()
    (row,) = d.wait_cdrs(1)
    assert row["dstchannel"].startswith("SIP/1002-"), row
    assert row["userfield"] == f"{status};limit=", row
    assert re.search(r"dpapi: TrunkAPI failed.*status=%s error=.*%s" % (status, why),
                     d.stderr()), d.stderr()[-2000:]


def test_service_down_takes_the_fallback_route(tamas_factory, sipp):
    url = f"http://{HOST}:{free_port(udp=False, tcp=True)}/route"   # nobody listens
    d = daemon(tamas_factory, sipp, url)
    callee = start_callee(sipp, d, "1002")
    call(sipp, d, "1001", "0212345678", hold_ms=200)
    callee.wait()
    (row,) = d.wait_cdrs(1)
    assert row["dstchannel"].startswith("SIP/1002-"), row
    assert row["userfield"] == "FAILED;limit=", row
    assert re.search(r"dpapi: TrunkAPI failed.*status=FAILED", d.stderr())


def test_slow_service_times_out_to_the_fallback_route(tamas_factory, sipp, service):
    service.hold = True                       # answers only after the test ends
    d = daemon(tamas_factory, sipp, service.url,
               {"api": {"client_api_caller_timeout": 1}})
    callee = start_callee(sipp, d, "1002")
    call(sipp, d, "1001", "0212345678", hold_ms=200)
    callee.wait()
    assert len(service.snapshot()) == 1
    (row,) = d.wait_cdrs(1)
    assert row["dstchannel"].startswith("SIP/1002-"), row
    assert row["userfield"] == "TIMEOUT;limit=", row
    assert re.search(r"dpapi: TrunkAPI failed.*status=TIMEOUT", d.stderr())


def test_loop_keeps_running_while_the_service_thinks(tamas_factory, sipp, service):
    service.hold = True
    d = daemon(tamas_factory, sipp, service.url,
               {"api": {"client_api_caller_timeout": 30}})
    prov = sipp.start("uas_trunk", port=d.prov_port, keys={"ext": "prov"},
                      sets={"number": "09123334455"})
    caller = call(sipp, d, "1001", "0212345678", hold_ms=300, background=True)
    service.wait_requests(1)
    # tamasd still serves its control socket and lists the waiting caller
    chans = d.channel_names()
    assert any(c.startswith("SIP/1001-") for c in chans), chans
    service.released.set()
    caller.wait()
    prov.wait()
    (row,) = d.wait_cdrs(1)
    assert row["userfield"] == "SUCCESS;limit=", row


def test_caller_hangs_up_while_the_request_is_out(tamas_factory, sipp, service):
    service.hold = True
    d = daemon(tamas_factory, sipp, service.url,
               {"api": {"client_api_caller_timeout": 30}})
    # 180 from app.ringing(), then CANCEL while the service holds the request
    call(sipp, d, "1001", "7212345678", scenario="uac_cancel")
    (row,) = d.wait_cdrs(1)
    assert row["disposition"] == "NO ANSWER", row
    assert len(service.snapshot()) == 1
    assert re.search(r"dpapi: TrunkAPI cancelled, the channel hung up", d.stderr())
    service.released.set()                    # its late answer reaches nobody
    wait_until(lambda: not d.channel_names(), 5, what="no channels left")
    d.assert_alive()


def test_get_method_and_basic_auth_follow_webhook_settings(tamas_factory, sipp, service):
    d = daemon(tamas_factory, sipp, service.url,
               {"webhook": {"method": "GET", "username": "crm", "password": "s3cret"}})
    prov = sipp.start("uas_trunk", port=d.prov_port, keys={"ext": "prov"},
                      sets={"number": "09123334455"})
    call(sipp, d, "1001", "0212345678", hold_ms=200)
    prov.wait()
    (req,) = service.snapshot()
    assert req["method"] == "GET" and req["raw"] == b""
    assert req["headers"]["authorization"] == \
        "Basic " + base64.b64encode(b"crm:s3cret").decode()
    (row,) = d.wait_cdrs(1)
    assert req["query"] == {"src": "1001", "dst": "0212345678", "data": "42",
                            "unique_id": row["uniqueid"], "app_name": "route-by-crm"}


@pytest.mark.parametrize("section,value", [("api", "banana"), ("api", "0"),
                                           ("client_api_service", "-3")])
def test_bad_timeout_stops_the_daemon_with_file_and_line(tamas_factory, section, value):
    d = tamas_factory(conf_update={section: {"client_api_caller_timeout": value}})
    text = d.conf_text()
    line = next(i + 1 for i, l in enumerate(text.splitlines())
                if l.startswith(f"client_api_caller_timeout = {value}"))
    d.write_conf(text)
    d.spawn()
    assert d.wait_exit(5) != 0, "tamasd accepted a bad client_api_caller_timeout"
    err = d.stderr()
    assert re.search(rf"tamas\.conf:{line}:.*client_api_caller_timeout", err), err[-2000:]
