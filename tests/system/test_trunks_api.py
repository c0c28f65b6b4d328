"""pbx/trunks/add|search|update|remove: a trunk made over the REST API is
used for calls at once, moves when its host/port change, stops when
removed or deactivated, survives a restart, registers when given a
register_string, and sends TrunkAdded/TrunkRemoved; tamas.conf trunks keep
their names; bad requests change nothing."""

import re

from harness import HOST, call, free_port
from test_webhook import Receiver

import pytest

CRED = {"user": "crm", "password": "crm-secret"}

DIALPLAN = """\
extensions = {
	main_routing = {
		["_0X."] = function(context, exten)
			app.dial("SIP/itsp/" .. exten, 3)
			channel["CDR(userfield)"]:set(channel.DIALSTATUS:get())
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


def start(tamas_factory, sipp, receiver=None, d=None):
    if d is None:
        conf = {"webhook": {"url": receiver.url, "events": "TrunkAdded,TrunkRemoved,"
                            "TrunkNewState"}} if receiver else {}
        d = tamas_factory(dialplan=DIALPLAN, conf_update=conf)
    d.start()
    d.ctl("apiuser", "add", CRED["user"], "--auth", "basic", "--password", CRED["password"],
          check=False)
    sipp.target = d.target
    return d


def api(d, path, body):
    r = d.api(path, body, **CRED)
    assert r.status == 200, r
    return r.json


def ok(j):
    assert j["success"] == 1, j
    return j["data"]


def fail(j, text):
    assert j["success"] == 0 and text in j["message"], j


def provider(sipp, port, number):
    p = sipp.start("uas_answer", port=port, keys={"ext": "itsp"}, remote="")
    p.wait_bound()
    return p


def call_out(sipp, d, number, status):
    call(sipp, d, "1001", number, scenario="uac_expect_code" if status != "ANSWERED"
         else "uac_call", hold_ms=300, sets={"expect": "any"} if status != "ANSWERED"
         else None)


def test_trunk_lifecycle_over_the_api(tamas_factory, sipp, receiver):
    d = start(tamas_factory, sipp, receiver)
    p1 = free_port()
    tid = ok(api(d, "pbx/trunks/add", {"name": "itsp", "trunk_type": "SIP", "host": HOST,
                                        "port": str(p1), "context": "from_trunk"}))["_id"]
    assert re.fullmatch(r"[0-9a-f]{24}", tid)
    prov = provider(sipp, p1, "0912")
    call(sipp, d, "1001", "09120000001", hold_ms=300)
    prov.wait()
    [inv] = prov.result.received(r"INVITE ")
    assert inv.startswith(f"INVITE sip:09120000001@{HOST}:{p1}"), inv[:120]

    # search shows it with Simotel's fields
    [t] = ok(api(d, "pbx/trunks/search", {"alike": "false", "conditions": {"name": "itsp"}}))
    assert t["_id"] == tid and t["host"] == HOST and t["port"] == str(p1), t
    assert t["active"] == "yes" and t["trunk_type"] == "SIP" and "date" in t, t
    assert ok(api(d, "pbx/trunks/search", {"alike": True, "conditions": {"name": "ts"}}))
    assert ok(api(d, "pbx/trunks/search", {"alike": False, "conditions": {"name": "ts"}})) == []

    # a new port takes effect at once
    p2 = free_port()
    assert ok(api(d, "pbx/trunks/update", {"_id": tid, "port": p2})) == ""
    prov2 = provider(sipp, p2, "0912")
    call(sipp, d, "1001", "09120000002", hold_ms=300)
    prov2.wait()

    # it is kept across a restart
    assert d.stop() == 0
    d.proc = None
    start(tamas_factory, sipp, d=d)
    prov3 = provider(sipp, p2, "0912")
    call(sipp, d, "1001", "09120000003", hold_ms=300)
    prov3.wait()

    # deactivated, then removed: calls no longer go out
    ok(api(d, "pbx/trunks/update", {"_id": tid, "active": "no"}))
    call(sipp, d, "1001", "09120000004", scenario="uac_expect_code", sets={"expect": "any"})
    ok(api(d, "pbx/trunks/update", {"_id": tid, "active": "yes"}))
    assert ok(api(d, "pbx/trunks/remove", {"_id": tid})) == ""
    call(sipp, d, "1001", "09120000005", scenario="uac_expect_code", sets={"expect": "any"})
    rows = d.wait_cdrs(5)
    assert [r["userfield"] for r in rows[-2:]] == ["CHANUNAVAIL", "CHANUNAVAIL"], rows[-2:]
    assert ok(api(d, "pbx/trunks/search", {"alike": False})) == []
    evs = [e["event_name"] for e in receiver.accepted() if e["event_name"].startswith("Trunk")]
    assert evs[0] == "TrunkAdded" and evs[-1] == "TrunkRemoved", evs
    added = next(e for e in receiver.accepted() if e["event_name"] == "TrunkAdded")
    assert added["trunk_name"] == "itsp" and added["state"] == "Ok", added


def test_register_string_makes_a_registering_trunk(tamas_factory, sipp, receiver):
    reg_port = free_port()
    registrar = sipp.start("uas_registrar", port=reg_port, remote="",
                           keys={"auth_user": "acct", "auth_pass": "s3cret",
                                 "realm": "provider", "expires": 60})
    registrar.wait_bound()
    d = start(tamas_factory, sipp, receiver)
    ok(api(d, "pbx/trunks/add", {"name": "reg1", "host": HOST, "port": reg_port,
                                 "register_string": f"acct:s3cret@{HOST}/1000"}))
    registrar.wait(timeout=15)
    from test_webhook import wait_accepted
    [ev] = wait_accepted(receiver, lambda b: b["event_name"] == "TrunkNewState", "state")
    assert ev["trunk_name"] == "reg1" and ev["state"] == "Ok", ev


def test_bad_trunk_requests_change_nothing(tamas_factory, sipp):
    d = start(tamas_factory, sipp)
    cases = [
        ({"host": HOST}, "name"),
        ({"name": "x"}, "host"),
        ({"name": "x", "host": "not an address"}, "host"),
        ({"name": "x y", "host": HOST}, "name"),
        ({"name": "x", "host": HOST, "port": "70000"}, "port"),
        ({"name": "x", "host": HOST, "port": "abc"}, "port"),
        ({"name": "x", "host": HOST, "trunk_type": "DAHDI"}, "trunk_type"),
        ({"name": "x", "host": HOST, "active": "maybe"}, "active"),
        ({"name": "x", "host": HOST, "register_string": "nonsense"}, "register_string"),
        ({"name": "x", "host": HOST, "context": "bad context"}, "context"),
        ({"name": ["x"], "host": HOST}, "name"),
        ({"name": "prov", "host": HOST}, "already exists"),     # tamas.conf's trunk
    ]
    for body, text in cases:
        fail(api(d, "pbx/trunks/add", body), text)
    tid = ok(api(d, "pbx/trunks/add", {"name": "x", "host": HOST}))["_id"]
    fail(api(d, "pbx/trunks/add", {"name": "x", "host": HOST}), "already exists")
    fail(api(d, "pbx/trunks/update", {"_id": "0" * 24, "port": 5070}), "No trunk")
    fail(api(d, "pbx/trunks/update", {"_id": tid, "host": "nowhere"}), "host")
    fail(api(d, "pbx/trunks/update", {"port": 5070}), "_id")
    fail(api(d, "pbx/trunks/remove", {"_id": "0" * 24}), "No trunk")
    [t] = ok(api(d, "pbx/trunks/search", {"alike": False}))
    assert t["host"] == HOST and t["port"] == "5060", t     # the refused update left it
    r = d.api("pbx/trunks/add", b"{", **CRED)
    assert r.status == 400, r
