"""call/originate/act: seed 000's two-way calls. tamasd calls the first
party, plays it music on hold while the dialplan dials the second party in
the given context, bridges them; CDR and Cdr webhook carry the originated
call id. The four scenarios (extension/extension, mobile via trunk to an
extension, extension to a mobile through the outgoing route, mobile to
mobile), call_limit with the warning beeper, failures of either party, and
refused requests that place no call."""

import json
import re
import time
from pathlib import Path

import pytest

from harness import RtpEndpoint, exchange_rtp, read_media_file, start_callee, wait_until
from test_webhook import Receiver

CRED = {"user": "crm", "password": "crm-secret"}
ID_RE = r"orig\.call\.\d{10}\.\d{6}"
MOBILE_A, MOBILE_B = "09121234567", "09351112222"


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def daemon(tamas_factory, receiver, sipp, api=None):
    conf = {"webhook": {"url": receiver.url, "backoff_min_ms": 50, "backoff_max_ms": 200}}
    if api:
        conf["api"] = api
    d = tamas_factory(conf_update=conf).start()
    d.ctl("apiuser", "add", CRED["user"], "--auth", "basic", "--password", CRED["password"])
    sipp.target = d.target
    return d


@pytest.fixture
def tamas(tamas_factory, receiver, sipp):
    return daemon(tamas_factory, receiver, sipp)


def originate(tamas, **body):
    return tamas.api("call/originate/act", body, **CRED)


def originated(tamas, **body):
    r = originate(tamas, **body)
    assert r.status == 200 and r.json["success"] == 1, r
    oid = r.json["data"]["originated_call_id"]
    assert re.fullmatch(ID_RE, oid), r
    return oid


def refused(r, field):
    assert r.status == 200 and r.json["success"] == 0, r
    assert field in r.json["message"], r


def audible(payload):
    """PCMU silence is a run of 0xFF (or 0x7F); a prompt or tone is not."""
    return len(set(payload)) > 4


def drain_for(ep, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ep.drain()
        time.sleep(0.01)


def got_ack(proc):
    """The UAS scenario has logged the ACK of its 200 (the call is up)."""
    msg = Path(proc.files["msg"])
    return msg.exists() and re.search(r"^ACK sip:", msg.read_text(errors="replace"), re.M)


def hang_up_all(tamas):
    for name in tamas.channel_names():
        tamas.ctl("hangup", name, check=False)


def cdr_events(receiver):
    out = []
    for req in receiver.snapshot():
        body = json.loads(req["raw"] or b"{}")
        if body.get("event_name") == "Cdr":
            out.append(body)
    return out


def one_cdr(tamas, oid):
    [row] = tamas.wait_cdrs(1)
    assert row["originated_call_id"] == oid, row
    return row


def test_extension_to_extension_moh_then_bridge(tamas, receiver, sipp):
    a, b = RtpEndpoint(), RtpEndpoint()
    try:
        caller = start_callee(sipp, tamas, "1001", "uas_answer_late", keys={"rtp_port": a.port})
        callee = start_callee(sipp, tamas, "1002", "uas_answer_late", keys={"rtp_port": b.port})
        oid = originated(tamas, caller="1001", callee="1002", context="main_routing",
                         caller_id="557")
        a_dest = read_media_file(caller.files["media"])
        b_dest = read_media_file(callee.files["media"], timeout=10)
        # the second party is called only once the first has answered
        first = Path(caller.files["media"]).stat().st_mtime
        second = Path(callee.files["media"]).stat().st_mtime
        assert second - first >= 1.3, (first, second)
        # while the callee rings, the answered caller hears music on hold
        a.received.clear()
        drain_for(a, 1.0)
        moh = sum(1 for p, _ in a.received if audible(p))
        assert moh >= 20, f"caller got {moh} audible packets while the callee rang"
        wait_until(lambda: got_ack(callee), 5, what="the callee's call to be up")
        exchange_rtp(a, a_dest, b, b_dest, n=50)
        assert b.count(b"TAMAS-FROM-A") >= 40, b.count(b"TAMAS-FROM-A")
        assert a.count(b"TAMAS-FROM-B") >= 40, a.count(b"TAMAS-FROM-B")
        hang_up_all(tamas)
        caller.wait()
        callee.wait()
    finally:
        a.close()
        b.close()
    row = one_cdr(tamas, oid)
    assert row["disposition"] == "ANSWERED", row
    assert row["dst"] == "1002" and row["dcontext"] == "main_routing", row
    assert row["channel"].startswith("SIP/1001-"), row
    assert row["dstchannel"].startswith("SIP/1002-"), row
    assert "557" in row["clid"], row
    wait_until(lambda: cdr_events(receiver), 5, what="the Cdr webhook")
    [ev] = cdr_events(receiver)
    assert ev["originated_call_id"] == oid and ev["disposition"] == "ANSWERED", ev
    assert ev["unique_id"] == row["uniqueid"], ev
    # the quick report shows it the way Simotel marks originated calls
    r = tamas.api("reports/quick/search", {"alike": False, "conditions": {"cuid": row["uniqueid"]},
                                          "date_range": {}}, **CRED)
    [rep] = r.json["data"]["data"]
    assert rep["originated_call_id"] == oid, rep
    assert rep["comment"] == f"originated call: {oid}", rep


def test_mobile_via_trunk_to_extension(tamas, receiver, sipp):
    provider = sipp.start("uas_answer", port=tamas.prov_port, keys={"ext": "prov"}, remote="")
    provider.wait_bound()
    callee = start_callee(sipp, tamas, "1002")
    oid = originated(tamas, caller=MOBILE_A, trunk_name="prov", callee="1002",
                     context="main_routing", caller_id="557")
    read_media_file(callee.files["media"], timeout=10)
    wait_until(lambda: got_ack(callee), 5, what="the callee's call to be up")
    hang_up_all(tamas)
    provider.wait()
    callee.wait()
    [inv] = provider.result.received(r"INVITE ")
    assert inv.startswith(f"INVITE sip:{MOBILE_A}@"), inv[:200]
    row = one_cdr(tamas, oid)
    assert row["channel"].startswith("SIP/prov"), row
    assert row["dstchannel"].startswith("SIP/1002-"), row
    assert row["disposition"] == "ANSWERED", row
    out = wait_until(lambda: [e for e in receiver.accepted()
                              if e["event_name"] == "OutgoingCall"], 5, what="OutgoingCall")
    assert out[0]["originated_call_id"] == oid and out[0]["number"] == MOBILE_A, out
    assert out[0]["outgoing_point"] == "prov", out


def test_extension_to_mobile_through_outgoing_route(tamas, receiver, sipp):
    caller = start_callee(sipp, tamas, "1001")
    provider = sipp.start("uas_answer", port=tamas.prov_port, keys={"ext": "prov"}, remote="")
    provider.wait_bound()
    oid = originated(tamas, caller="1001", callee=MOBILE_B, context="main_routing",
                     caller_id="557")
    read_media_file(provider.files["media"], timeout=10)
    wait_until(lambda: got_ack(provider), 5, what="the mobile's call to be up")
    hang_up_all(tamas)
    caller.wait()
    provider.wait()
    [inv] = provider.result.received(r"INVITE ")
    assert inv.startswith(f"INVITE sip:{MOBILE_B}@"), inv[:200]
    from_hdr = re.search(r"^From:.*$", inv, re.M | re.I).group(0)
    assert "557" in from_hdr, from_hdr
    row = one_cdr(tamas, oid)
    assert row["channel"].startswith("SIP/1001-") and row["dst"] == MOBILE_B, row
    assert row["dstchannel"].startswith("SIP/prov"), row
    # the mobile leg's OutgoingCall webhook names the originated call
    out = wait_until(lambda: [e for e in receiver.accepted()
                              if e["event_name"] == "OutgoingCall"], 5, what="OutgoingCall")
    assert out[0]["originated_call_id"] == oid and out[0]["number"] == MOBILE_B, out


def test_mobile_to_mobile_both_through_the_trunk(tamas, sipp):
    provider = sipp.start("uas_answer", port=tamas.prov_port, keys={"ext": "prov"},
                          remote="", calls=2)
    provider.wait_bound()
    oid = originated(tamas, caller=MOBILE_A, trunk_name="prov", callee=MOBILE_B,
                     context="main_routing", caller_id="557")
    wait_until(lambda: len(re.findall(r"^ACK sip:", Path(provider.files["msg"]).read_text(
        errors="replace"), re.M)) >= 2 if Path(provider.files["msg"]).exists() else False,
        10, what="both mobile legs to be up")
    hang_up_all(tamas)
    provider.wait()
    invs = provider.result.received(r"INVITE ")
    assert [i.split()[1].split("@")[0] for i in invs] == [f"sip:{MOBILE_A}", f"sip:{MOBILE_B}"]
    row = one_cdr(tamas, oid)
    assert row["channel"].startswith("SIP/prov") and row["dstchannel"].startswith("SIP/prov")


def test_call_limit_beeps_then_hangs_up(tamas_factory, receiver, sipp):
    tamas = daemon(tamas_factory, receiver, sipp, api={
        "originate_hold": "", "call_limit_warning_beeper_time_to_end_sec": 2,
        "call_limit_warning_beeper_repeat_time_sec": 0})
    a, b = RtpEndpoint(), RtpEndpoint()
    try:
        caller = start_callee(sipp, tamas, "1001", keys={"rtp_port": a.port})
        callee = start_callee(sipp, tamas, "1002", keys={"rtp_port": b.port})
        oid = originated(tamas, caller="1001", callee="1002", context="main_routing",
                         caller_id="557", call_limit=4)
        wait_until(lambda: got_ack(callee), 10, what="the bridge")
        up = time.monotonic()
        # Dial's ringback to the answered caller may still be in flight
        drain_for(a, 0.3)
        a.received.clear()
        heard = []
        while time.monotonic() - up < 7 and (caller.proc.poll() is None
                                             or callee.proc.poll() is None):
            a.drain()
            for p, _ in a.received:
                if audible(p):
                    heard.append(time.monotonic() - up)
            a.received.clear()
            time.sleep(0.01)
        ended = time.monotonic() - up
        b.drain()
        caller.wait()      # both got tamasd's BYE
        callee.wait()
    finally:
        a.close()
        b.close()
    assert heard, "no warning beep reached the caller"
    assert 1.0 <= heard[0] <= 3.5, f"first beep {heard[0]:.2f} s after the bridge (want ~2)"
    assert any(audible(p) for p, _ in b.received), "no warning beep reached the callee"
    assert 3.0 <= ended <= 5.5, f"call ended {ended:.2f} s after the bridge (limit 4)"
    row = one_cdr(tamas, oid)
    assert 3 <= int(row["billsec"]) <= 5, row


def test_first_party_busy_or_not_answering(tamas, receiver, sipp):
    busy = start_callee(sipp, tamas, "1001", "uas_busy")
    oid = originated(tamas, caller="1001", callee="1002", context="main_routing")
    busy.wait()
    row = one_cdr(tamas, oid)
    assert row["disposition"] == "BUSY", row
    ring = start_callee(sipp, tamas, "1001", "uas_ring_forever")
    oid2 = originated(tamas, caller="1001", callee="1002", context="main_routing", timeout=2)
    ring.wait()
    rows = tamas.wait_cdrs(2)
    assert rows[1]["originated_call_id"] == oid2 and rows[1]["disposition"] == "NO ANSWER", rows
    # Simotel sends no Cdr event when the first party never answered
    time.sleep(1.0)
    assert cdr_events(receiver) == [], cdr_events(receiver)
    assert tamas.channel_names() == []


def test_first_party_unreachable_is_a_failed_spool(tamas, sipp):
    # 1001 exists but is not registered
    oid = originated(tamas, caller="1001", callee="1002", context="main_routing")
    row = one_cdr(tamas, oid)
    # ids are unique even for requests within one second
    ids = {originated(tamas, caller="1001", callee="1002", context="main_routing")
           for _ in range(20)}
    assert len(ids) == 20 and oid not in ids, ids
    assert row["disposition"] == "FAILED", row
    assert row["channel"].startswith("OutgoingSpoolFailed"), row


@pytest.mark.parametrize("scenario,disposition", [("uas_busy", "BUSY"),
                                                   ("uas_ring_forever", "NO ANSWER"),
                                                   (None, "FAILED")])
def test_second_party_failing_hangs_up_the_first(tamas, sipp, scenario, disposition):
    caller = start_callee(sipp, tamas, "1001")
    second = start_callee(sipp, tamas, "1002", scenario) if scenario else None  # None: unregistered
    oid = originated(tamas, caller="1001", callee="1002", context="main_routing")
    if second:
        second.wait()
    caller.wait()          # answered, then tamasd's BYE
    row = one_cdr(tamas, oid)
    assert row["disposition"] == disposition, row
    assert tamas.channel_names() == []


def test_refused_requests_place_no_call(tamas):
    base = {"caller": "1001", "callee": "1002", "context": "main_routing", "caller_id": "557"}
    cases = [
        ({k: v for k, v in base.items() if k != "caller"}, "caller"),
        ({k: v for k, v in base.items() if k != "callee"}, "callee"),
        ({k: v for k, v in base.items() if k != "context"}, "context"),
        (dict(base, caller="1999"), "caller"),
        (dict(base, caller="abc;x"), "caller"),
        (dict(base, caller=MOBILE_A, trunk_name="nosuch"), "trunk_name"),
        (dict(base, callee="77"), "callee"),
        (dict(base, context="nosuch"), "callee"),
        (dict(base, timeout="soon"), "timeout"),
        (dict(base, timeout=0), "timeout"),
        (dict(base, call_limit=-5), "call_limit"),
        (dict(base, caller=["1001"]), "caller"),
    ]
    for body, field in cases:
        refused(originate(tamas, **body), field)
    r = tamas.api("call/originate/act", b"{caller:", **CRED)
    assert r.status == 400 and r.json["success"] == 0, r
    r = tamas.api("call/originate/act", base)    # no credentials
    assert r.status == 401, r
    time.sleep(0.3)
    assert tamas.channel_names() == []
    assert tamas.cdr_rows() == []


L_DIALPLAN = """\
extensions = {
	main_routing = {
		["_1XXX"] = function(context, exten)
			app.dial("SIP/" .. exten, 10, "L(3000:1000)")
		end,
		["2000"] = function(context, exten)
			app.dial("SIP/1002", 10, "L(x:1)")
			app.set("CDR(userfield)=" .. channel.DIALSTATUS:get())
			app.hangup()
		end,
	},
}
"""


def test_dial_L_option_limits_a_phone_call(tamas_factory, sipp):
    # Dial's own L(x:y) (asterisk-semantics.md §2.3), the mechanism under
    # call_limit: the bridge ends at x ms, the caller's dialplan goes on
    from harness import call
    tamas = tamas_factory(dialplan=L_DIALPLAN).start()
    sipp.target = tamas.target
    callee = start_callee(sipp, tamas, "1002")
    t0 = time.monotonic()
    call(sipp, tamas, "1001", "1002", scenario="uac_call_wait_bye")
    took = time.monotonic() - t0
    callee.wait()
    assert 2.5 <= took <= 6, f"call lasted {took:.1f} s with L(3000)"
    [row] = tamas.wait_cdrs(1)
    assert row["disposition"] == "ANSWERED" and 2 <= int(row["billsec"]) <= 4, row
    # a bad L() argument does not place the call
    call(sipp, tamas, "1001", "2000", scenario="uac_expect_code", sets={"expect": "any"})
    row = tamas.wait_cdrs(2)[1]
    assert row["dst"] == "2000" and row["userfield"] == "INVALIDARGS", row
