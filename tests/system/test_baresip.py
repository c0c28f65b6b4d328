"""Real softphones: two baresip 1.0.0 instances (g711, aufile tone source,
sndfile recorder) register as 1001 and 1002, 1001 calls 1002 through tamasd,
1002 auto-answers; both recordings must carry the other side's 1 kHz tone."""

import os
import time

import pytest

from harness import HOST, BARESIP_MODULES, Baresip, dominant_frequency, make_tone_wav, wait_until

NEEDED = ("g711.so", "aufile.so", "sndfile.so", "account.so", "menu.so", "ctrl_tcp.so")
missing = [m for m in NEEDED if not os.path.exists(os.path.join(BARESIP_MODULES, m))]
pytestmark = pytest.mark.skipif(bool(missing),
                                reason=f"baresip modules missing: {missing}")


@pytest.fixture
def phones(tmp_path):
    made = []

    def make(name, account):
        tone = tmp_path / "tone-1k.wav"
        if not tone.exists():
            make_tone_wav(tone, 1000, seconds=30)
        p = Baresip(tmp_path / "baresip", name, account, tone)
        made.append(p)
        return p.start()
    yield make
    for p in made:
        p.stop()


def account(tamas, ext, extra=""):
    return (f"<sip:{ext}@{HOST}:{tamas.sip_port};transport=udp>;auth_pass={tamas.users[ext]}"
            f";regint=600;audio_codecs=PCMU{extra}")


def test_baresip_call_carries_1khz_tone_both_ways(tamas, phones):
    a = phones("a", account(tamas, "1001"))
    b = phones("b", account(tamas, "1002", ";answermode=auto"))
    wait_until(lambda: tamas.is_registered("1001") and tamas.is_registered("1002"), 10,
               interval=0.2, what="both baresips registered")
    a.command("dial", f"sip:1002@{HOST}:{tamas.sip_port}")
    a.wait_event("CALL_ESTABLISHED", 10)
    b.wait_event("CALL_ESTABLISHED", 5)
    assert len(tamas.channel_names()) == 2, tamas.channels()
    time.sleep(3)
    a.command("hangup")
    b.wait_event("CALL_CLOSED", 5)      # tamasd relayed the BYE
    a.stop()
    b.stop()                            # closes the recordings
    for phone, other in ((b, "1001"), (a, "1002")):
        recs = phone.recordings("dec")
        assert recs, f"{phone.name}: no decoded-audio recording:\n{phone.log()[-2000:]}"
        hz, secs = dominant_frequency(recs[-1])
        assert secs >= 1.5, f"{phone.name} heard only {secs:.1f} s of tone from {other}"
        assert 950 <= hz <= 1050, f"{phone.name} heard {hz:.0f} Hz, want ~1000"
    [row] = tamas.wait_cdrs(1)
    assert row["disposition"] == "ANSWERED" and str(row["src"]) == "1001", row
