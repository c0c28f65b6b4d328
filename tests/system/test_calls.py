"""Calls between registered users through tamasd: answered with anchored
RTP both ways, BYE from either side, CANCEL, busy, no answer, unknown
number, unregistered user; a CDR row for each."""

import time

from harness import (HOST, RtpEndpoint, call, check_cdr, exchange_rtp, read_media_file,
                     start_callee)


def assert_anchored(tamas, addr, not_port):
    ip, port = addr
    assert ip == HOST, f"SDP c= {ip} is not tamasd's rtp.bind"
    assert tamas.rtp_min <= port <= tamas.rtp_max, \
        f"SDP port {port} outside rtp range {tamas.rtp_min}-{tamas.rtp_max}"
    assert port != not_port, "media not anchored: SDP points at the other party"


def test_answered_call_relays_rtp_both_ways(tamas, sipp):
    a, b = RtpEndpoint(), RtpEndpoint()
    try:
        callee = start_callee(sipp, tamas, "1002", keys={"rtp_port": b.port})
        caller = call(sipp, tamas, "1001", "1002", background=True,
                      keys={"rtp_port": a.port}, hold_ms=4000)
        a_dest = read_media_file(caller.files["media"])   # from the 200 OK
        b_dest = read_media_file(callee.files["media"])   # from tamasd's INVITE
        assert_anchored(tamas, a_dest, b.port)
        assert_anchored(tamas, b_dest, a.port)
        exchange_rtp(a, a_dest, b, b_dest, n=50)
        got_b, got_a = b.count(b"TAMAS-FROM-A"), a.count(b"TAMAS-FROM-B")
        assert got_b >= 40, f"callee got {got_b}/50 RTP packets from the caller"
        assert got_a >= 40, f"caller got {got_a}/50 RTP packets from the callee"
        # media comes from tamasd's relay ports, not from the other party
        assert all(src[1] != a.port for _, src in b.received)
        assert all(src[1] != b.port for _, src in a.received)
        caller.wait()          # caller's BYE answered 200
        callee.wait()          # callee got the BYE
    finally:
        a.close()
        b.close()
    [row] = tamas.wait_cdrs(1)
    check_cdr(row, src="1001", dst="1002", disposition="ANSWERED", caller="1001",
              callee="1002")
    assert int(row["billsec"]) >= 2, row


def test_rtp_echoed_by_callee_returns_to_caller(tamas, sipp):
    # the callee SIPp echoes what it receives (-rtp_echo on its SDP port)
    a = RtpEndpoint()
    try:
        callee = start_callee(sipp, tamas, "1002", rtp_echo=True)
        caller = call(sipp, tamas, "1001", "1002", background=True,
                      keys={"rtp_port": a.port}, hold_ms=2500)
        dest = read_media_file(caller.files["media"])
        for _ in range(25):
            a.send(dest, b"TAMAS-ECHO")
            time.sleep(0.02)
            a.drain()
        time.sleep(0.5)
        a.drain()
        assert a.count(b"TAMAS-ECHO") >= 20, f"{a.count(b'TAMAS-ECHO')}/25 echoed back"
        caller.wait()
        callee.wait()
    finally:
        a.close()
    check_cdr(tamas.wait_cdrs(1)[0], src="1001", dst="1002", disposition="ANSWERED",
              caller="1001", callee="1002")


def test_callee_hangs_up_first(tamas, sipp):
    callee = start_callee(sipp, tamas, "1002", scenario="uas_bye", hold_ms=1000)
    call(sipp, tamas, "1001", "1002", scenario="uac_call_wait_bye")   # gets the BYE
    callee.wait()                                                      # its BYE got 200
    check_cdr(tamas.wait_cdrs(1)[0], src="1001", dst="1002", disposition="ANSWERED",
              caller="1001", callee="1002")


def test_caller_cancel_while_ringing(tamas, sipp):
    callee = start_callee(sipp, tamas, "1002", scenario="uas_ring_forever")
    call(sipp, tamas, "1001", "1002", scenario="uac_cancel")   # 200 for CANCEL + 487
    callee.wait()                                              # got CANCEL, sent 487
    check_cdr(tamas.wait_cdrs(1)[0], src="1001", dst="1002", disposition="NO ANSWER",
              caller="1001")


def test_busy_callee_gives_486_and_busy_cdr(tamas, sipp):
    callee = start_callee(sipp, tamas, "1002", scenario="uas_busy")
    call(sipp, tamas, "1001", "1002", scenario="uac_expect_code", sets={"expect": 486})
    callee.wait()
    check_cdr(tamas.wait_cdrs(1)[0], src="1001", dst="1002", disposition="BUSY",
              caller="1001")


def test_no_answer_times_out_cancels_callee_and_gives_480(tamas, sipp):
    # the test dialplan dials with a 3 s timeout
    callee = start_callee(sipp, tamas, "1002", scenario="uas_ring_forever")
    t0 = time.monotonic()
    call(sipp, tamas, "1001", "1002", scenario="uac_expect_code", sets={"expect": 480})
    elapsed = time.monotonic() - t0
    callee.wait()                       # the callee was CANCELled
    assert 2.5 <= elapsed <= 8, f"dial timeout of 3 s took {elapsed:.1f} s"
    check_cdr(tamas.wait_cdrs(1)[0], src="1001", dst="1002", disposition="NO ANSWER",
              caller="1001")


def test_unknown_extension_gives_404(tamas, sipp):
    call(sipp, tamas, "1001", "7777", scenario="uac_expect_code", sets={"expect": 404})
    # asterisk-semantics.md 8.3: no Dial ran, cause 1 (UNALLOCATED) leaves the
    # disposition unset, which posts as NO ANSWER
    row = check_cdr(tamas.wait_cdrs(1)[0], src="1001", dst="7777", disposition="NO ANSWER",
                    caller="1001")
    assert not row["dstchannel"], row


def test_unregistered_user_gives_480(tamas, sipp):
    call(sipp, tamas, "1001", "1003", scenario="uac_expect_code", sets={"expect": 480})
    check_cdr(tamas.wait_cdrs(1)[0], src="1001", dst="1003", disposition="FAILED",
              caller="1001")


def test_invite_with_wrong_password_is_forbidden(tamas, sipp):
    call(sipp, tamas, "1001", "1002", scenario="uac_expect_code", sets={"expect": 403},
         password="wrong")
    tamas.assert_alive()


def test_calls_in_a_row_each_get_a_cdr(tamas, sipp):
    for i in range(3):
        callee = start_callee(sipp, tamas, "1002")
        call(sipp, tamas, "1001", "1002", hold_ms=200)
        callee.wait()
    rows = tamas.wait_cdrs(3)
    assert len(rows) == 3
    assert len({r["uniqueid"] for r in rows}) == 3, rows
    chans = [r["channel"] for r in rows]
    assert len(set(chans)) == 3, f"channel names must be unique per call: {chans}"
