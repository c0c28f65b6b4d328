"""Transfers from phones (RFC 3515 REFER, RFC 3891 Replaces): B, who
answered A, transfers A to C blindly or after calling C itself; REFER to a
foreign domain is refused. What each side sees: B's 202 and NOTIFY sipfrag
(100 Trying, then 200), C's INVITE from A, A's audio reaching C, A's CDR."""

import time

from harness import call, read_media_file, start_callee
from test_media import Listener


def test_blind_refer_moves_the_caller_to_the_target(tamas, sipp):
    c_rtp = Listener()
    a = Listener()
    target = start_callee(sipp, tamas, "1003", keys={"rtp_port": c_rtp.port})
    b = start_callee(sipp, tamas, "1002", scenario="uas_answer_refer",
                     keys={"target": "1003"}, sets={"pause_ms": 800})
    try:
        caller = call(sipp, tamas, "1001", "1002", background=True,
                      keys={"rtp_port": a.port}, hold_ms=5000)
        a_dest = read_media_file(caller.files["media"])
        b.wait()                                   # 202, NOTIFY 100 and 200, BYE
        c_dest = read_media_file(target.files["media"])
        c_rtp.send(c_dest, b"LATCH")
        for _ in range(40):
            a.send(a_dest, b"A-TO-C")
            time.sleep(0.02)
        c_rtp.listen(0.5)
        caller.wait()
        res = target.wait()
    finally:
        a.close()
        c_rtp.close()
    [invite] = res.received(r"INVITE ")
    assert "sip:1001@" in next(l for l in invite.splitlines() if l.lower().startswith("from:"))
    assert c_rtp.count(b"A-TO-C") >= 25, f"C got {c_rtp.count(b'A-TO-C')}/40 of A's audio"
    [row] = tamas.wait_cdrs(1)
    assert row["dstchannel"].startswith("SIP/1003-"), row


def test_refer_to_a_foreign_domain_is_refused(tamas, sipp):
    b = start_callee(sipp, tamas, "1002", scenario="uas_answer_refer_foreign",
                     sets={"pause_ms": 300})
    call(sipp, tamas, "1001", "1002", hold_ms=2500)
    b.wait()                                       # got its 403, then A's BYE
    assert "foreign domain example.com refused" in tamas.stderr()


def test_attended_refer_with_replaces_joins_caller_and_target(tamas, sipp):
    a, c_rtp = Listener(), Listener()
    target = start_callee(sipp, tamas, "1003", keys={"rtp_port": c_rtp.port})
    call2 = "xfer-call2-%u@127.0.0.1"          # SIPp -cid_str: call number 1
    replaces = "xfer-call2-1%40127.0.0.1%3Bto-tag%3Dx%3Bfrom-tag%3Dy"
    b_uas = start_callee(sipp, tamas, "1002", scenario="uas_answer_refer_replaces",
                         keys={"target": "1003", "replaces": replaces},
                         sets={"pause_ms": 2500})
    try:
        caller = call(sipp, tamas, "1001", "1002", background=True,
                      keys={"rtp_port": a.port}, hold_ms=7000)
        a_dest = read_media_file(caller.files["media"])
        # B consults C on a second call of its own
        b_uac = call(sipp, tamas, "1002", "1003", scenario="uac_call_wait_bye",
                     background=True, extra=["-cid_str", call2])
        c_dest = read_media_file(target.files["media"])
        b_uas.wait(timeout=20)                     # REFER 202, NOTIFY 100/200, BYE
        b_uac.wait(timeout=20)                     # its consultation call was released
        c_rtp.send(c_dest, b"LATCH")
        for _ in range(40):
            a.send(a_dest, b"A-TO-C")
            time.sleep(0.02)
        c_rtp.listen(0.5)
        caller.wait(timeout=20)
        target.wait(timeout=20)
    finally:
        a.close()
        c_rtp.close()
    assert c_rtp.count(b"A-TO-C") >= 25, f"C got {c_rtp.count(b'A-TO-C')}/40 of A's audio"
    assert "attended transfer joins" in tamas.stderr()
    rows = tamas.wait_cdrs(2)
    a_row = next(r for r in rows if str(r["src"]) == "1001")
    b_row = next(r for r in rows if str(r["src"]) == "1002")
    assert a_row["dstchannel"].startswith("SIP/1003-"), a_row
    assert b_row["dstchannel"].startswith("SIP/1003-"), b_row   # B's consultation
    # one call in the CDRs: the consultation's linkedid was B's own before the
    # join; C now carries A's (the oldest), as Asterisk's linkedid does
    assert a_row["linkedid"] == a_row["uniqueid"], a_row
