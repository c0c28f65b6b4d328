"""DTMF features on a bridged call (features.conf): blind and attended
transfer (Dial t: # and *2 with *2 complete / *1 abort),
disconnect (h), one-touch MixMonitor (x), digits that are no feature reach
the peer, and seed 004's custom transfer bound to '#' through
[applicationmap] + DYNAMIC_FEATURES, with its three outcomes."""

import sqlite3
import struct
import time
from pathlib import Path

import pytest

from harness import call, read_media_file, start_callee, wait_until
from test_media import Listener

SEED004 = (Path(__file__).parent / "fixtures" / "seed004_extensions.lua").read_text()
APPMAP = {"applicationmap": {"customTransfer": "#,self,Gosub(customTransfer,#,1)"}}


def plan(opts):
    return ('extensions = {\n\tmain_routing = {\n'
            f'\t\t["_1XXX"] = function(c, e) app.dial("SIP/" .. e, 10, "{opts}") end,\n'
            '\t},\n}\n')


def digits_of(listener):
    out, last = [], None
    for payload, hdr in listener.events():
        ts = struct.unpack("!I", hdr[4:8])[0]
        if ts != last:
            out.append("0123456789*#ABCD"[payload[0]])
            last = ts
    return "".join(out)


class Call:
    """A (1001) calls B (1002) through tamasd; both have RTP endpoints."""

    def __init__(self, tamas, sipp, hold_ms, b_calls=1, a_scenario="uac_call"):
        self.a, self.b = Listener(), Listener()
        self.callee = start_callee(sipp, tamas, "1002", keys={"rtp_port": self.b.port},
                                   calls=b_calls)
        self.caller = call(sipp, tamas, "1001", "1002", scenario=a_scenario,
                           background=True, keys={"rtp_port": self.a.port}, hold_ms=hold_ms)
        self.a_dest = read_media_file(self.caller.files["media"])
        self.b_dest = read_media_file(self.callee.files["media"])
        self.a.send(self.a_dest, b"LATCH")
        self.b.send(self.b_dest, b"LATCH")
        time.sleep(0.3)

    def b_presses(self, keys, gap=0.15):
        for k in keys:
            self.b.send_dtmf(self.b_dest, k)
            time.sleep(gap)

    def close(self):
        self.a.close()
        self.b.close()


@pytest.mark.tamas(dialplan=plan("t"))
def test_blind_transfer_by_dtmf_connects_caller_to_target(tamas, sipp):
    c_rtp = Listener()
    target = start_callee(sipp, tamas, "1003", keys={"rtp_port": c_rtp.port})
    cl = Call(tamas, sipp, hold_ms=6000)
    try:
        cl.b_presses("#")
        time.sleep(0.5)                        # pbx-transfer plays to B
        cl.b_presses("1003#")
        cl.callee.wait()                       # B (the transferer) got its BYE
        c_dest = read_media_file(target.files["media"])
        c_rtp.send(c_dest, b"LATCH")
        time.sleep(0.5)
        for _ in range(40):
            cl.a.send(cl.a_dest, b"A-TO-C")
            time.sleep(0.02)
        c_rtp.listen(0.5)
        res = target.wait(timeout=20)          # C was called, answered, then A's BYE
        cl.caller.wait()
    finally:
        cl.close()
        c_rtp.close()
    [invite] = res.received(r"INVITE ")
    assert "sip:1001@" in next(l for l in invite.splitlines() if l.lower().startswith("from:"))
    assert c_rtp.count(b"A-TO-C") >= 25, f"C got {c_rtp.count(b'A-TO-C')}/40 of A's audio"
    [row] = tamas.wait_cdrs(1)
    assert row["dstchannel"].startswith("SIP/1003-"), row   # A's CDR ends with C
    assert "blind transfer" in tamas.stderr()


@pytest.mark.tamas(dialplan=plan("t"), conf_update={"features": {"transferdigittimeout": "1"}})
def test_blind_transfer_to_unknown_number_keeps_the_call(tamas, sipp):
    cl = Call(tamas, sipp, hold_ms=12000)
    try:
        cl.b_presses("#")
        time.sleep(0.5)
        cl.b_presses("9999#")                  # no such extension: beeperr, retry
        time.sleep(7.0)                        # the tries run out; back to A
        for _ in range(25):
            cl.a.send(cl.a_dest, b"STILL-A")
            time.sleep(0.02)
        cl.b.listen(0.5)
        cl.caller.wait(timeout=20)
        cl.callee.wait(timeout=20)
    finally:
        cl.close()
    assert cl.b.count(b"STILL-A") >= 15, "A and B are no longer connected"
    assert "no extension 9999" in tamas.stderr()


@pytest.mark.tamas(dialplan=plan("t"))
def test_digits_that_are_no_feature_reach_the_peer(tamas, sipp):
    cl = Call(tamas, sipp, hold_ms=3000)
    try:
        cl.b_presses("42")
        cl.a.listen(1.0)
        cl.caller.wait()
        cl.callee.wait()
    finally:
        cl.close()
    assert digits_of(cl.a) == "42", digits_of(cl.a)


PREDIAL = plan("b(hdlr^s^1)").replace(
    "\t},\n}", '\t},\n\thdlr = { ["s"] = function(c, e) app["return"]() end },\n}')


@pytest.mark.tamas(dialplan=PREDIAL)
def test_option_arguments_turn_on_no_feature(tamas, sipp):
    """The h of b(hdlr^s^1)'s argument is no h option: * reaches A."""
    cl = Call(tamas, sipp, hold_ms=3000)
    try:
        cl.b_presses("*")
        cl.a.listen(1.0)
        cl.caller.wait()
        cl.callee.wait()
    finally:
        cl.close()
    assert digits_of(cl.a) == "*", digits_of(cl.a)


@pytest.mark.tamas(dialplan=plan("h"))
def test_disconnect_code_hangs_up_the_callee(tamas, sipp):
    cl = Call(tamas, sipp, hold_ms=8000, a_scenario="uac_call_wait_bye")
    try:
        t0 = time.monotonic()
        cl.b_presses("*")
        cl.callee.wait()                       # B got BYE at once
        cl.caller.wait()                       # and A, whose Dial had no g
        assert time.monotonic() - t0 < 5
    finally:
        cl.close()


@pytest.mark.tamas(dialplan=plan("x"))
def test_automixmon_toggles_recording(tamas, sipp):
    cl = Call(tamas, sipp, hold_ms=4000)
    try:
        cl.b_presses("*3")
        time.sleep(1.5)
        cl.b_presses("*3")
        cl.caller.wait()
        cl.callee.wait()
    finally:
        cl.close()
    recs = wait_until(lambda: list((tamas.workdir / "recordings").glob("auto-*.wav")), 5,
                      what="one-touch recording")
    time.sleep(0.3)
    import wave
    with wave.open(str(recs[0])) as w:
        secs = w.getnframes() / 8000
    assert 0.8 < secs < 2.6, f"recorded {secs:.1f} s between the two *3"


# ---- seed 004 ----------------------------------------------------------------

def seed_tamas(tamas_factory, **kw):
    d = tamas_factory(dialplan=SEED004, conf_update=APPMAP, **kw)
    return d


def kv_count(d, family):
    db = sqlite3.connect(f"file:{d.db_path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM kv WHERE family=?", (family,)).fetchone()[0]
    finally:
        db.close()


def test_seed004_custom_transfer_reaches_the_target(tamas_factory, sipp):
    d = seed_tamas(tamas_factory)
    d.start()
    sipp.target = d.target
    c_rtp = Listener()
    target = start_callee(sipp, d, "1003", keys={"rtp_port": c_rtp.port})
    cl = Call(d, sipp, hold_ms=7000)
    try:
        cl.b_presses("#")
        cl.b_presses("1003#")
        cl.callee.wait()                       # the agent who transferred is released
        c_dest = read_media_file(target.files["media"])
        c_rtp.send(c_dest, b"LATCH")
        for _ in range(40):                    # A now talks to C
            cl.a.send(cl.a_dest, b"A-TO-C")
            time.sleep(0.02)
        c_rtp.listen(0.5)
        cl.caller.wait()
        target.wait()
    finally:
        cl.close()
        c_rtp.close()
    assert c_rtp.count(b"A-TO-C") >= 25, f"C got {c_rtp.count(b'A-TO-C')}/40 of A's packets"
    assert kv_count(d, "transferedBy") == 0, "redirectSetup did not DB_DELETE its key"
    assert "trying to redirect to 1003" in d.stderr()


def test_seed004_unavailable_target_keeps_the_call(tamas_factory, sipp):
    d = seed_tamas(tamas_factory)
    d.start()
    sipp.target = d.target
    cl = Call(d, sipp, hold_ms=9000)
    try:
        cl.b_presses("#")
        cl.b_presses("1003#")                  # 1003 is not registered
        time.sleep(5.0)                        # pbx-invalid (4.4 s) plays to B
        for _ in range(25):
            cl.a.send(cl.a_dest, b"STILL-A")
            time.sleep(0.02)
        cl.b.listen(0.5)
        cl.caller.wait()
        cl.callee.wait()
    finally:
        cl.close()
    assert cl.b.count(b"STILL-A") >= 15, \
        f"A and B are no longer connected: B got {len(cl.b.received)} packets"
    assert "redirect" not in d.stderr().split("customTransfer")[-1].lower() or \
        "trying to redirect" not in d.stderr()


def test_seed004_no_answer_returns_the_call_to_the_transferer(tamas_factory, sipp):
    d = seed_tamas(tamas_factory, overrides=["sip.dial_timeout=3"])
    d.start()
    sipp.target = d.target
    start_callee(sipp, d, "1003", scenario="uas_ring_forever")
    cl = Call(d, sipp, hold_ms=12000, b_calls=2)
    try:
        cl.b_presses("#")
        cl.b_presses("1003#")
        res = cl.callee.wait(timeout=25)       # B: the first call ended, the second came back
        cl.caller.wait(timeout=25)
    finally:
        cl.close()
    invites = res.received(r"INVITE ")
    assert len(invites) == 2, f"B got {len(invites)} INVITEs (want the call back)"
    assert "olala" in d.stderr()               # the seed's missing prompt: warned, skipped


SHIPPED = Path(__file__).resolve().parents[2] / "etc"


def shipped_tamas(tamas_factory):
    d = tamas_factory(dialplan=(SHIPPED / "extensions.lua").read_text(),
                      conf_update={"applicationmap":
                                   {"smartTransfer": "#,self,Gosub(smart_transfer,#,1)"}})
    return d


def test_shipped_smart_transfer_reaches_the_target(tamas_factory, sipp):
    d = shipped_tamas(tamas_factory)
    d.start()
    sipp.target = d.target
    target = start_callee(sipp, d, "1003")
    cl = Call(d, sipp, hold_ms=8000)
    try:
        cl.b_presses("#")
        time.sleep(1.2)                        # "transfer" prompt
        cl.b_presses("1003#")
        cl.callee.wait()                       # the agent is released
        res = target.wait(timeout=20)          # 1003 answered, then the caller's BYE
        cl.caller.wait()
    finally:
        cl.close()
    [invite] = res.received(r"INVITE ")
    assert "sip:1001@" in next(l for l in invite.splitlines() if l.lower().startswith("from:"))


def test_shipped_smart_transfer_no_answer_comes_back(tamas_factory, sipp):
    d = shipped_tamas(tamas_factory)
    d.overrides.append("sip.dial_timeout=3")
    d.start()
    sipp.target = d.target
    start_callee(sipp, d, "1003", scenario="uas_ring_forever")
    cl = Call(d, sipp, hold_ms=14000, b_calls=2)
    try:
        cl.b_presses("#")
        time.sleep(1.2)
        cl.b_presses("1003#")
        res = cl.callee.wait(timeout=30)
        cl.caller.wait(timeout=30)
    finally:
        cl.close()
    assert len(res.received(r"INVITE ")) == 2, "the call did not come back to the agent"


@pytest.mark.tamas(dialplan=(
    'extensions = {\n\tmain_routing = {\n'
    '\t\t["_1XXX"] = function(c, e) '
    'channel.CONNECTED_LINE_SEND_SUB:set("cl,s,1") app.dial("SIP/" .. e, 10, "t") end,\n'
    '\t},\n\tcl = {\n\t\t["s"] = function() '
    'app.set("CONNECTEDLINE(name)=Transferred to " .. channel.CONNECTEDLINE("num"):get()) '
    'app.Return() end,\n\t},\n}\n'))
def test_connected_line_update_after_transfer_goes_through_interception(tamas, sipp):
    target = start_callee(sipp, tamas, "1003")
    cl = Call(tamas, sipp, hold_ms=3000, a_scenario="uac_call_update")
    try:
        cl.b_presses("#")
        time.sleep(0.5)
        cl.b_presses("1003#")
        cl.callee.wait()
        res = cl.caller.wait(timeout=25)       # A got the UPDATE, then sent BYE
        target.wait()
    finally:
        cl.close()
    log = res.text("log")
    assert '"Transferred to 1003" <sip:1003@' in log and "UPDATE PAI" in log, log[-800:]


@pytest.mark.tamas(dialplan=plan("t"))
def test_attended_transfer_by_dtmf_consults_then_joins(tamas, sipp):
    c_rtp = Listener()
    target = start_callee(sipp, tamas, "1003", keys={"rtp_port": c_rtp.port})
    cl = Call(tamas, sipp, hold_ms=9000)
    try:
        cl.b_presses("*2")
        time.sleep(0.5)                        # pbx-transfer
        cl.b_presses("1003#")
        c_dest = read_media_file(target.files["media"])
        c_rtp.send(c_dest, b"LATCH")
        time.sleep(1.0)                        # B and C talk; A hears MOH
        for _ in range(20):
            cl.b.send(cl.b_dest, b"B-TO-C")
            time.sleep(0.02)
        c_rtp.listen(0.3)
        consult = c_rtp.count(b"B-TO-C")
        cl.b_presses("*2")                     # complete
        cl.callee.wait()                       # B is released
        for _ in range(40):
            cl.a.send(cl.a_dest, b"A-TO-C")
            time.sleep(0.02)
        c_rtp.listen(0.5)
        cl.caller.wait(timeout=20)
        target.wait(timeout=20)
    finally:
        cl.close()
        c_rtp.close()
    assert consult >= 10, f"C heard {consult}/20 of B during the consultation"
    assert c_rtp.count(b"A-TO-C") >= 25, f"C got {c_rtp.count(b'A-TO-C')}/40 of A's audio"
    [row] = tamas.wait_cdrs(1)
    assert row["dstchannel"].startswith("SIP/1003-"), row


@pytest.mark.tamas(dialplan=plan("t"))
def test_attended_transfer_abort_returns_to_the_transferee(tamas, sipp):
    target = start_callee(sipp, tamas, "1003")
    cl = Call(tamas, sipp, hold_ms=8000)
    try:
        cl.b_presses("*2")
        time.sleep(0.5)
        cl.b_presses("1003#")
        time.sleep(1.0)
        cl.b_presses("*1")                     # abort: C released, back to A
        target.wait(timeout=10)
        time.sleep(0.3)
        for _ in range(25):
            cl.a.send(cl.a_dest, b"A-AGAIN")
            time.sleep(0.02)
        cl.b.listen(0.5)
        cl.caller.wait(timeout=20)
        cl.callee.wait(timeout=20)
    finally:
        cl.close()
    assert cl.b.count(b"A-AGAIN") >= 15, "A and B are not talking again after the abort"


@pytest.mark.tamas(dialplan=plan("t"))
def test_attended_transfer_swap_goes_back_and_forth(tamas, sipp):
    c_rtp = Listener()
    target = start_callee(sipp, tamas, "1003", keys={"rtp_port": c_rtp.port})
    cl = Call(tamas, sipp, hold_ms=12000)

    def b_says(marker, n=20):
        for _ in range(n):
            cl.b.send(cl.b_dest, marker)
            time.sleep(0.02)
        time.sleep(0.3)
        cl.a.drain()
        c_rtp.drain()

    try:
        cl.b_presses("*2")
        time.sleep(0.5)
        cl.b_presses("1003#")
        c_dest = read_media_file(target.files["media"])
        c_rtp.send(c_dest, b"LATCH")
        time.sleep(1.0)
        b_says(b"TO-C-1")                      # consulting C
        cl.b_presses("*4")                     # back to A; C on hold
        time.sleep(0.3)
        b_says(b"TO-A")
        cl.b_presses("*4")                     # C again
        time.sleep(0.3)
        b_says(b"TO-C-2")
        cl.b_presses("*2")                     # complete: A and C
        cl.callee.wait(timeout=20)
        cl.caller.wait(timeout=20)
        target.wait(timeout=20)
    finally:
        cl.close()
        c_rtp.close()
    assert c_rtp.count(b"TO-C-1") >= 10 and c_rtp.count(b"TO-C-2") >= 10, \
        (c_rtp.count(b"TO-C-1"), c_rtp.count(b"TO-C-2"))
    assert c_rtp.count(b"TO-A") == 0, "C heard B while B talked to A"
    assert cl.a.count(b"TO-A") >= 10, f"A heard {cl.a.count(b'TO-A')}/20 after the swap"
    assert cl.a.count(b"TO-C-1") == 0 and cl.a.count(b"TO-C-2") == 0


@pytest.mark.tamas(dialplan=plan("t"))
def test_attended_transfer_threeway_mixes_all_three(tamas, sipp):
    import math
    from test_media import goertzel, pcm_of
    c_rtp = Listener()
    target = start_callee(sipp, tamas, "1003", keys={"rtp_port": c_rtp.port})
    cl = Call(tamas, sipp, hold_ms=9000)
    try:
        cl.b_presses("*2")
        time.sleep(0.5)
        cl.b_presses("1003#")
        c_dest = read_media_file(target.files["media"])
        c_rtp.send(c_dest, b"LATCH")
        time.sleep(1.0)
        cl.b_presses("*3")                     # three-way
        time.sleep(0.5)
        cl.b.drain()
        c_rtp.drain()
        cl.b.received.clear()
        cl.b.headers.clear()
        c_rtp.received.clear()
        c_rtp.headers.clear()
        tone = [int(8000 * math.sin(2 * math.pi * 400 * i / 8000)) for i in range(8000 * 2)]
        cl.a.send_pcm(cl.a_dest, tone)         # A speaks a 400 Hz tone
        cl.b.listen(0.3)
        c_rtp.listen(0.3)
        cl.caller.wait(timeout=20)
        cl.callee.wait(timeout=20)
        target.wait(timeout=20)
    finally:
        cl.close()
        c_rtp.close()
    for who, ep in (("B", cl.b), ("C", c_rtp)):
        pcm = pcm_of(ep.audio())
        assert len(pcm) >= 8000, f"{who} got {len(pcm)} samples in the three-way"
        mid = pcm[len(pcm) // 4: 3 * len(pcm) // 4]
        assert goertzel(mid, 400) > 300, f"{who} does not hear A: {goertzel(mid, 400):.0f}"
    assert "three-way call" in tamas.stderr()
