"""Media features driven by SIP signalling inside a call: DTMF by SIP INFO
(RFC 6086, application/dtmf-relay and application/dtmf) into Read(), and
hold / resume by re-INVITE (RFC 3264 §8.4) with music on hold for the held
party. SIPp does the signalling, Python RTP endpoints on the SDP ports send
and decode the media."""

import threading
import time

import pytest

from harness import call, read_media_file, start_callee
from test_media import MOH, SOUNDS, Listener, pcm_of, plan, rms, snr_db, wav_samples

pytestmark = pytest.mark.skipif(not (SOUNDS / "hello-world.wav").exists(),
                                reason="asterisk-core-sounds-en-wav not installed")

READ_PLAN = plan(
    '\t\t["6001"] = function() app.read("NUM", "", 4, "", 1, 5) '
    'app.set("CDR(userfield)=" .. channel.NUM:get() .. ":" .. channel.READSTATUS:get()) '
    'app.hangup() end,')


def info_call(tamas, sipp, ctype, bodies):
    """Call 6001 with uac_info_dtmf: a text/plain INFO (415), then one INFO
    per body of Content-Type ctype (200 each), then tamasd's BYE."""
    rtp = Listener()
    try:
        keys = {"rtp_port": rtp.port, "ctype": ctype}
        keys.update({f"d{i + 1}": b for i, b in enumerate(bodies)})
        return call(sipp, tamas, "1001", "6001", scenario="uac_info_dtmf", keys=keys,
                    sets={"pause_ms": 500})
    finally:
        rtp.close()


def check_info_exchange(res, n_digits):
    ok = res.received(r"SIP/2\.0 200 .*\n(?s:.*)CSeq: *\d+ INFO")
    refused = res.received(r"SIP/2\.0 415 .*\n(?s:.*)CSeq: *3 INFO")
    assert len(refused) >= 1, "the text/plain INFO was not refused with 415\n" + res.report()
    assert len(ok) >= n_digits, res.report()


@pytest.mark.tamas(dialplan=READ_PLAN)
def test_info_dtmf_relay_digits_reach_read_and_text_plain_gets_415(tamas, sipp):
    bodies = [f"Signal={d}\r\nDuration=160" for d in "42#"]
    res = info_call(tamas, sipp, "application/dtmf-relay", bodies)
    check_info_exchange(res, 3)
    [row] = tamas.wait_cdrs(1)
    assert row["userfield"] == "42:OK", row


@pytest.mark.tamas(dialplan=READ_PLAN)
def test_info_application_dtmf_digits_reach_read(tamas, sipp):
    res = info_call(tamas, sipp, "application/dtmf", list("42#"))
    check_info_exchange(res, 3)
    [row] = tamas.wait_cdrs(1)
    assert row["userfield"] == "42:OK", row


class TimedListener(Listener):
    """A Listener that also notes when each packet arrived."""

    def __init__(self):
        super().__init__()
        self.times = []

    def drain(self):
        before = len(self.received)
        super().drain()
        now = time.monotonic()
        self.times += [now] * (len(self.received) - before)


PAUSE_MS, HOLD_MS, AFTER_MS = 1500, 3000, 1500


@pytest.mark.skipif(not any(MOH.glob("*.wav")), reason="asterisk-moh-opsound-wav missing")
@pytest.mark.parametrize("hold_dir,answer_dir", [("sendonly", "recvonly"),
                                                 ("inactive", "inactive")])
def test_hold_plays_moh_to_the_held_party_and_resume_restores_the_relay(tamas, sipp, hold_dir,
                                                                        answer_dir):
    a, b = Listener(), TimedListener()
    stop = threading.Event()
    try:
        callee = start_callee(sipp, tamas, "1002", keys={"rtp_port": b.port})
        caller = call(sipp, tamas, "1001", "1002", scenario="uac_hold", background=True,
                      keys={"rtp_port": a.port, "hold_dir": hold_dir},
                      sets={"pause_ms": PAUSE_MS, "hold_ms": HOLD_MS, "after_ms": AFTER_MS})
        a_dest = read_media_file(caller.files["media"])
        b_dest = read_media_file(callee.files["media"])
        t_answer = time.monotonic()

        def talk():
            # both parties talk all through the call (symmetric RTP latching)
            while not stop.is_set():
                a.send(a_dest, b"FROM-A")
                b.send(b_dest, b"FROM-B")
                time.sleep(0.02)
        sender = threading.Thread(target=talk, daemon=True)
        sender.start()
        end = t_answer + (PAUSE_MS + HOLD_MS + AFTER_MS) / 1000 + 3
        while caller.proc.poll() is None and time.monotonic() < end:
            b.drain()
            a.drain()
            time.sleep(0.01)
        stop.set()
        sender.join(2)
        b.drain()
        res = caller.wait()
        callee.wait()
    finally:
        stop.set()
        a.close()
        b.close()

    [hold_ok] = res.received(r"SIP/2\.0 200 .*\n(?s:.*)CSeq: *3 INVITE")
    assert f"a={answer_dir}" in hold_ok, hold_ok
    [resume_ok] = res.received(r"SIP/2\.0 200 .*\n(?s:.*)CSeq: *4 INVITE")
    assert "a=sendrecv" in resume_ok, resume_ok

    # what the callee got from tamasd, in order: the caller's packets relayed
    # ("A") or something tamasd made itself ("M", the music)
    kinds = ["A" if b"FROM-A" in p else "M" for p, _ in b.received]
    seq = "".join(kinds)
    assert "M" in seq, f"the held callee got no music on hold ({len(seq)} packets, all relayed)"
    first_m, last_m = seq.index("M"), seq.rindex("M")
    before, during, after = seq[:first_m], seq[first_m:last_m + 1], seq[last_m + 1:]
    assert before.count("A") >= 20, f"no relay before the hold: {before.count('A')} packets"
    assert "A" not in during, (
        f"the caller's audio reached the callee during the hold "
        f"({during.count('A')} of {len(during)} packets)")
    moh_secs = b.times[last_m] - b.times[first_m]
    assert HOLD_MS / 1000 - 0.6 <= moh_secs <= HOLD_MS / 1000 + 0.6, \
        f"music lasted {moh_secs:.2f} s for a {HOLD_MS / 1000:.1f} s hold"
    hold_start = b.times[first_m] - t_answer
    assert PAUSE_MS / 1000 - 0.5 <= hold_start <= PAUSE_MS / 1000 + 0.8, \
        f"music began {hold_start:.2f} s after the answer, the hold at {PAUSE_MS / 1000} s"
    assert after.count("A") >= 20, \
        f"the relay did not come back after the resume: {after.count('A')} packets"

    moh = [b.received[i] for i in range(first_m, last_m + 1)]
    pcm = pcm_of(moh)
    assert rms(pcm) > 300, f"the music on hold is silent (rms {rms(pcm):.0f})"
    first = sorted(MOH.glob("*.wav"))[0]
    _, _, src = wav_samples(first)
    snr = snr_db(src[:16000], pcm[:16000])
    assert snr >= 25, f"the held party's music is not {first.name} from its start: " \
                      f"SNR {snr:.1f} dB"
