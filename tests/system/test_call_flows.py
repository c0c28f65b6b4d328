"""Extension to extension calls through tamasd, as the phones see them."""
import re
import socket
import struct
import time

from phones import free_port, pbx, running, sipp  # noqa: F401 (fixtures)


def register_callee(sipp, ext="1002", pw="pw1002"):
    port = free_port()
    r = sipp.register(ext, pw, port)
    assert r.returncode == 0, r.errors
    return port


def call(sipp, dest="1002", hold=500, extra=("-au", "1001", "-ap", "pw1001"), **kw):
    return sipp.run("uac_call.xml", free_port(), service="1001",
                    keys={"dest": dest, "hold": hold, "mport": free_port(False, 2)},
                    extra=list(extra), **kw)


def expect(sipp, code, dest, timeout=30):
    return sipp.run(sipp.scenario("uac_expect.xml", code=code), free_port(),
                    service="1001", keys={"dest": dest, "mport": free_port(False, 2)},
                    extra=["-au", "1001", "-ap", "pw1001"], timeout=timeout)


def rtp_packet(seq, ssrc=0x1234ABCD):
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + b"\xff" * 160


def test_answered_call_relays_rtp_both_ways_and_writes_cdr(running, sipp):
    uas_port = register_callee(sipp)
    phone_b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b_media = free_port(False, 2)
    phone_b.bind(("127.0.0.1", b_media))
    phone_b.setblocking(False)
    uas = sipp.start("uas_answer.xml", uas_port, keys={"mport": b_media})
    phone_a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a_media = free_port(False, 2)
    phone_a.bind(("127.0.0.1", a_media))
    phone_a.settimeout(0.01)
    uac = sipp.start("uac_call.xml", free_port(), service="1001", remote=True,
                     keys={"dest": "1002", "hold": 6000, "mport": a_media},
                     extra=["-au", "1001", "-ap", "pw1001"])
    # The 200 OK's SDP tells phone A where tamasd wants its RTP.
    deadline = time.time() + 10
    pbx_port = None
    while time.time() < deadline and pbx_port is None:
        msgs = sipp.read(uac.tag, "msg")
        m = re.search(r"SIP/2.0 200 OK.*?m=audio (\d+)", msgs, re.S)
        if m:
            pbx_port = int(m.group(1))
        time.sleep(0.05)
    assert pbx_port, "no SDP answer seen by the caller"
    assert running.rtp_min <= pbx_port <= running.rtp_max
    chans = running.ctl_json("channels")
    assert {c["state"] for c in chans} == {"Up"}
    assert len(chans) == 2
    # Phone B echoes every packet back to where it came from (tamasd's B leg),
    # so a packet A sends crosses tamasd twice.
    at_b = at_a = 0
    first_b = None
    for seq in range(50):
        phone_a.sendto(rtp_packet(seq), ("127.0.0.1", pbx_port))
        time.sleep(0.02)
        try:
            while True:
                data, src = phone_b.recvfrom(2048)
                at_b += 1
                first_b = first_b if first_b is not None else seq
                phone_b.sendto(data, src)
        except BlockingIOError:
            pass
        try:
            while True:
                data, _ = phone_a.recvfrom(2048)
                assert data[12:] == b"\xff" * 160
                at_a += 1
        except socket.timeout:
            pass
    assert sipp.wait(uac) == 0, uac.errors
    assert sipp.wait(uas) == 0, uas.errors
    assert at_b >= 45, f"only {at_b}/50 RTP packets from A reached B (first at {first_b})"
    assert at_a >= 40, f"only {at_a}/50 RTP packets from B reached A"
    (row,) = running.wait_cdrs(1)
    assert row["disposition"] == "ANSWERED"
    assert row["src"] == "1001" and row["dst"] == "1002"
    assert row["dcontext"] == "main_routing"
    assert row["channel"].startswith("SIP/1001-")
    assert row["dstchannel"].startswith("SIP/1002-")
    assert row["answer"] and row["billsec"] >= 2
    assert row["lastapp"] == "Dial"
    assert row["uniqueid"] == row["linkedid"]


def test_callee_hangs_up_first(running, sipp):
    uas_port = register_callee(sipp)
    uas = sipp.start("uas_bye.xml", uas_port, keys={"hold": 500})
    r = sipp.run("uac_wait_bye.xml", free_port(), service="1001",
                 keys={"dest": "1002", "mport": free_port(False, 2)},
                 extra=["-au", "1001", "-ap", "pw1001"])
    assert r.returncode == 0, r.errors
    assert sipp.wait(uas) == 0, uas.errors
    (row,) = running.wait_cdrs(1)
    assert row["disposition"] == "ANSWERED"


def test_busy_callee_gives_486_and_busy_cdr(running, sipp):
    uas_port = register_callee(sipp)
    uas = sipp.start("uas_busy.xml", uas_port)
    r = expect(sipp, 486, "1002")
    assert r.returncode == 0, r.errors
    assert sipp.wait(uas) == 0, uas.errors
    (row,) = running.wait_cdrs(1)
    assert row["disposition"] == "BUSY"


def test_no_answer_times_out_cancels_callee_and_gives_480(running, sipp):
    uas_port = register_callee(sipp)
    uas = sipp.start("uas_ring_forever.xml", uas_port)
    r = expect(sipp, 480, "1002")
    assert r.returncode == 0, r.errors
    assert sipp.wait(uas) == 0, uas.errors  # it saw the CANCEL
    (row,) = running.wait_cdrs(1)
    assert row["disposition"] == "NO ANSWER"


def test_caller_cancel_reaches_callee(running, sipp):
    uas_port = register_callee(sipp)
    uas = sipp.start("uas_ring_forever.xml", uas_port)
    r = sipp.run("uac_cancel.xml", free_port(), service="1001",
                 keys={"dest": "1002", "mport": free_port(False, 2)},
                 extra=["-au", "1001", "-ap", "pw1001"])
    assert r.returncode == 0, r.errors
    assert sipp.wait(uas) == 0, uas.errors
    (row,) = running.wait_cdrs(1)
    assert row["disposition"] == "NO ANSWER"
    running.wait_log(r"DIALSTATUS|dial")


def test_unknown_number_is_404(running, sipp):
    r = expect(sipp, 404, "555")
    assert r.returncode == 0, r.errors
    (row,) = running.wait_cdrs(1)
    # Asterisk's rule (asterisk-semantics.md 8.3): cause 1 leaves the
    # disposition unset, which posts as NO ANSWER.
    assert row["disposition"] == "NO ANSWER"
    assert row["dst"] == "555" and row["dstchannel"] == ""


def test_unregistered_user_is_480(running, sipp):
    r = expect(sipp, 480, "1002")
    assert r.returncode == 0, r.errors
    (row,) = running.wait_cdrs(1)
    assert row["disposition"] == "FAILED"


def test_calls_without_credentials_are_challenged(running, sipp):
    # wrong password: the second INVITE is refused with 403
    r = sipp.run(sipp.scenario("uac_expect.xml", code=403), free_port(), service="1001",
                 keys={"dest": "1002", "mport": free_port(False, 2)},
                 extra=["-au", "1001", "-ap", "wrong"])
    assert r.returncode == 0, r.errors
    assert running.cdrs() == []


def test_register_and_call_over_tcp(running, sipp):
    uas_port = free_port()
    r = sipp.run(sipp.scenario("register.xml", final=200), uas_port, service="1002",
                 keys={"expires": 300}, extra=["-au", "1002", "-ap", "pw1002", "-t", "t1"])
    assert r.returncode == 0, r.errors
    (reg,) = running.ctl_json("registrations")
    assert reg["transport"] == "TCP"
    uas = sipp.start("uas_answer.xml", uas_port, extra=["-t", "t1"])
    r = call(sipp, extra=["-au", "1001", "-ap", "pw1001", "-t", "t1"])
    assert r.returncode == 0, r.errors
    assert sipp.wait(uas) == 0, uas.errors
    (row,) = running.wait_cdrs(1)
    assert row["disposition"] == "ANSWERED"
