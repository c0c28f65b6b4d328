"""Trunks: calls out through a static trunk (number in the Request-URI),
calls in from the trunk's host:port by DID without auth, and a registering
trunk seen by a provider registrar."""

import re

from harness import HOST, RawSip, call, check_cdr, free_port, sip_request, start_callee


def test_call_out_through_trunk(tamas, sipp):
    provider = sipp.start("uas_trunk", port=tamas.prov_port, keys={"ext": "prov"},
                          sets={"number": "0123456"}, remote="")
    provider.wait_bound()
    call(sipp, tamas, "1001", "0123456", hold_ms=500)
    provider.wait()          # INVITE sip:0123456@..., answered, BYE received
    [invite] = provider.result.received(r"INVITE ")
    assert invite.startswith(f"INVITE sip:0123456@{HOST}:{tamas.prov_port}"), invite[:200]
    row = check_cdr(tamas.wait_cdrs(1)[0], src="1001", dst="0123456",
                    disposition="ANSWERED", caller="1001")
    # Asterisk names the leg after the endpoint (PJSIP/prov-N); the number may be kept
    assert re.fullmatch(r"SIP/prov(/0123456)?-[0-9a-fA-F]{8}", row["dstchannel"]), row


def test_call_in_from_trunk_by_did_needs_no_auth(tamas, sipp):
    callee = start_callee(sipp, tamas, "1002")
    # from the trunk's own host:port; any 401/407 fails uac_trunk_in
    sipp.run("uac_trunk_in", port=tamas.prov_port, keys={"ext": "0611223344"},
             service="5551234", hold_ms=500)
    callee.wait()
    check_cdr(tamas.wait_cdrs(1)[0], src="0611223344", dst="5551234", disposition="ANSWERED",
              dcontext="from_trunk", caller="prov", callee="1002")


def test_invite_from_other_port_is_not_trusted_as_trunk(tamas):
    raw = RawSip(tamas.sip_port)    # same host as the trunk, other port
    try:
        raw.send(sip_request("INVITE", f"sip:5551234@{HOST}:{tamas.sip_port}", raw.port,
                             from_user="0611223344", to_user="5551234"))
        finals = [r for r in raw.responses(3) if r.get("code") and r["code"] >= 200]
        assert finals, "no final response to an unauthenticated INVITE"
        assert finals[0]["code"] in (401, 403, 407), finals[0]["code"]
        if finals[0]["code"] >= 300:
            raw.send(ack_for(finals[0]))
    finally:
        raw.close()
    tamas.assert_alive()


def ack_for(resp):
    h = resp["headers"]
    via = h["via"][0]
    return (f"ACK sip:5551234@{HOST} SIP/2.0\r\nVia: {via}\r\nFrom: {h['from'][0]}\r\n"
            f"To: {h['to'][0]}\r\nCall-ID: {h['call-id'][0]}\r\n"
            f"CSeq: {h['cseq'][0].split()[0]} ACK\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n")


def test_registering_trunk_registers_with_provider(tamas_factory, sipp):
    reg_port = free_port()
    provider = sipp.start("uas_registrar", port=reg_port, remote="",
                          keys={"auth_user": "acct", "auth_pass": "s3cret",
                                "realm": "provider", "expires": 60})
    provider.wait_bound()
    d = tamas_factory("tamas")
    d.trunks["up"] = {"host": HOST, "port": reg_port, "context": "from_trunk",
                      "username": "acct", "password": "s3cret", "register": "yes",
                      "expires": 60}
    d.start()
    provider.wait(timeout=15)     # 401 then a correct Authorization, answered 200
    [reg] = [m for m in provider.result.received(r"REGISTER ") if "Authorization:" in m]
    assert 'username="acct"' in reg, reg[:600]
    d.assert_alive()
