"""The SIPp scenarios checked against each other (no tamasd involved), so a
failure elsewhere in this suite points at the daemon, not at a scenario.
Peers live in scenarios/peers/ and play the PBX or a plain caller."""

import time

import pytest

from harness import HOST, SCENARIOS, RtpEndpoint, Sipp, free_port, read_media_file

AUTH = {"realm": "selftest", "auth_user": "1001", "auth_pass": "pw1001"}


@pytest.fixture
def sipp(tmp_path):
    s = Sipp(tmp_path / "sipp", default_timeout=8)
    yield s
    s.kill_all()


def serve(sipp, scenario, keys):
    port = free_port()
    p = sipp.start(scenario, port=port, keys=keys, remote="")
    p.wait_bound()
    return p, f"{HOST}:{port}"


def test_register_against_registrar(sipp):
    srv, target = serve(sipp, "uas_registrar", dict(AUTH, expires=60))
    r = sipp.run("register", remote=target, keys={"ext": "1001", "expires": 60},
                 user="1001", password="pw1001")
    srv.wait()
    assert 'realm="selftest"' in r.text("log")


def test_register_wrong_password_gets_403(sipp):
    srv, target = serve(sipp, "uas_registrar", dict(AUTH, expires=60))
    sipp.run("register_wrong_password", remote=target, keys={"ext": "1001", "expires": 60},
             user="1001", password="nope")
    srv.wait(check=False).check(ok=False)   # the registrar saw bad credentials


def test_uac_call_against_pbx(sipp):
    srv, target = serve(sipp, "peers/pbx_answer", dict(AUTH, ext="1002"))
    sipp.run("uac_call", remote=target, keys={"ext": "1001"}, service="1002",
             user="1001", password="pw1001", hold_ms=200)
    srv.wait()


def test_uac_call_media_file_and_rtp_echo(sipp):
    # callee echoes RTP on its -mp port, which is also its SDP port
    echo_port = free_port(udp=True, tcp=False, span=4)
    port = free_port()
    srv = sipp.start("uas_answer", port=port, keys={"ext": "1002"}, remote="",
                     media_port=echo_port, rtp_echo=True)
    srv.wait_bound()
    a = RtpEndpoint()
    try:
        uac = sipp.start("uac_trunk_in", remote=f"{HOST}:{port}",
                         keys={"ext": "0611", "rtp_port": a.port}, service="5551234",
                         hold_ms=1500)
        ip, mport = read_media_file(uac.files["media"])
        assert (ip, mport) == (HOST, echo_port)
        for _ in range(10):
            a.send((ip, mport), b"ECHO-ME")
            time.sleep(0.02)
        time.sleep(0.3)
        a.drain()
        assert a.count(b"ECHO-ME") >= 5
        uac.wait()
        srv.wait()
        # the callee learnt the caller's SDP port
        ip_b, port_b = read_media_file(srv.files["media"])
        assert (ip_b, port_b) == (HOST, a.port)
    finally:
        a.close()


def test_uac_call_wait_bye_against_pbx(sipp):
    srv, target = serve(sipp, "peers/pbx_answer_bye", dict(AUTH, ext="1002"))
    sipp.run("uac_call_wait_bye", remote=target, keys={"ext": "1001"}, service="1002",
             user="1001", password="pw1001")
    srv.wait()


@pytest.mark.parametrize("code,expect,ok", [(486, "486", True), (404, "404", True),
                                            (480, "any", True), (486, "480", False)])
def test_uac_expect_code_against_pbx(sipp, tmp_path, code, expect, ok):
    # SIPp wants literal response codes: answer `code` from a copy of the peer
    peer = tmp_path / "pbx_code.xml"
    peer.write_text((SCENARIOS / "peers" / "pbx_code.xml").read_text()
                    .replace("SIP/2.0 486 Failed", f"SIP/2.0 {code} Failed"))
    srv, target = serve(sipp, str(peer), AUTH)
    r = sipp.run("uac_expect_code", remote=target, keys={"ext": "1001"}, service="1002",
                 user="1001", password="pw1001", sets={"expect": expect}, check=False,
                 timeout=4)
    r.check(ok)
    srv.wait()


def test_uac_cancel_against_pbx(sipp):
    srv, target = serve(sipp, "peers/pbx_ring", AUTH)
    sipp.run("uac_cancel", remote=target, keys={"ext": "1001"}, service="1002",
             user="1001", password="pw1001")
    srv.wait()


def test_uas_busy(sipp):
    srv, target = serve(sipp, "uas_busy", {"ext": "1002"})
    sipp.run("peers/plain_expect_code", remote=target, keys={"ext": "1001"}, service="1002",
             sets={"expect": "486"})
    srv.wait()


def test_uas_ring_forever_cancelled(sipp):
    srv, target = serve(sipp, "uas_ring_forever", {"ext": "1002"})
    sipp.run("peers/plain_cancel", remote=target, keys={"ext": "1001"}, service="1002")
    srv.wait()


def test_uas_bye(sipp):
    srv, target = serve(sipp, "uas_bye", {"ext": "1002"})
    sipp.run("peers/plain_wait_bye", remote=target, keys={"ext": "1001"}, service="1002")
    srv.wait()


@pytest.mark.parametrize("dialled,ok", [("0123456", True), ("0999", False)])
def test_uas_trunk_checks_request_uri(sipp, dialled, ok):
    port = free_port()
    srv = sipp.start("uas_trunk", port=port, keys={"ext": "prov"}, sets={"number": "0123456"},
                     remote="", timeout=4)
    srv.wait_bound()
    uac = sipp.start("uac_trunk_in", remote=f"{HOST}:{port}", keys={"ext": "1001"},
                     service=dialled, hold_ms=100, timeout=4)
    srv.wait(check=False).check(ok)
    uac.wait(check=False)
