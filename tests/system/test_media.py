"""Media a caller hears and sends: prompts (Playback, Background, Say*),
tones, music on hold, DTMF into Read() by RFC 4733 and SIP INFO and in-band,
MixMonitor recordings, TTS. The caller is SIPp for signalling plus a Python
RTP endpoint on the SDP port that decodes what tamasd sends."""

import audioop
import math
import struct
import time
import wave
from pathlib import Path

import pytest

from harness import HOST, RtpEndpoint, call, read_media_file, start_callee, wait_until

SOUNDS = Path("/usr/share/asterisk/sounds/en")
MOH = Path("/usr/share/asterisk/moh")
pytestmark = pytest.mark.skipif(not (SOUNDS / "hello-world.wav").exists(),
                                reason="asterisk-core-sounds-en-wav not installed")


def plan(body, ctx_extra=""):
    return ("extensions = {\n\tmain_routing = {\n" + body +
            "\n\t\t[\"_1XXX\"] = function(c, e) app.dial(\"SIP/\" .. e, 5) app.hangup() end,\n"
            "\t},\n" + ctx_extra + "}\n")


def pcm_of(packets, pt=0):
    """Decoded 16-bit samples of the received payloads (PCMU by default)."""
    out = bytearray()
    for payload, _ in packets:
        out += audioop.ulaw2lin(payload, 2) if pt == 0 else audioop.alaw2lin(payload, 2)
    return struct.unpack(f"<{len(out) // 2}h", bytes(out))


def goertzel(samples, freq, rate=8000):
    w = 2 * math.pi * freq / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + c * s1 - s2, s1
    return math.sqrt(max(s1 * s1 + s2 * s2 - c * s1 * s2, 0)) / max(len(samples), 1)


def snr_db(ref, got):
    """Signal-to-noise of got against ref, best over 20 ms frame shifts."""
    best = -99.0
    for shift in range(-320, 321, 160):
        a = ref[max(0, -shift):]
        b = got[max(0, shift):]
        n = min(len(a), len(b))
        if n < 800:
            continue
        sig = sum(x * x for x in a[:n])
        noise = sum((x - y) ** 2 for x, y in zip(a[:n], b[:n])) or 1
        best = max(best, 10 * math.log10(sig / noise))
    return best


def rms(samples):
    return math.sqrt(sum(x * x for x in samples) / max(len(samples), 1))


class Listener(RtpEndpoint):
    """An RTP endpoint that keeps full packets (header included)."""

    def drain(self):
        while True:
            try:
                data, src = self.sock.recvfrom(4096)
            except (BlockingIOError, InterruptedError):
                return
            if len(data) >= 12:
                self.received.append((data[12:], src))
                self.headers.append(data[:12])

    def __init__(self):
        super().__init__()
        self.headers = []

    def listen(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.drain()
            time.sleep(0.01)

    def audio(self):
        return [(p, s) for (p, s), h in zip(self.received, self.headers) if h[1] & 0x7F == 0]

    def events(self):
        return [(p, h) for (p, s), h in zip(self.received, self.headers) if h[1] & 0x7F == 101]

    def send_dtmf(self, dest, digit, pt=101):
        ev = "0123456789*#ABCD".index(digit)
        ts = self.ts
        for i in range(1, 6):
            self.sock.sendto(struct.pack("!BBHII", 0x80, pt | (0x80 if i == 1 else 0),
                                         self.seq & 0xFFFF, ts, self.ssrc) +
                             struct.pack("!BBH", ev, 10, 160 * i), dest)
            self.seq += 1
            time.sleep(0.02)
        for _ in range(3):
            self.sock.sendto(struct.pack("!BBHII", 0x80, pt, self.seq & 0xFFFF, ts, self.ssrc) +
                             struct.pack("!BBH", ev, 0x80 | 10, 800), dest)
            self.seq += 1
        self.ts += 1600

    def send_pcm(self, dest, samples):
        """16-bit samples as PCMU packets in real time."""
        for i in range(0, len(samples) - 159, 160):
            frame = struct.pack("<160h", *samples[i:i + 160])
            self.sock.sendto(struct.pack("!BBHII", 0x80, 0, self.seq & 0xFFFF, self.ts,
                                         self.ssrc) + audioop.lin2ulaw(frame, 2), dest)
            self.seq += 1
            self.ts += 160
            time.sleep(0.02)
            self.drain()


def wav_samples(path):
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2
        data = w.readframes(w.getnframes())
        return w.getframerate(), w.getnchannels(), struct.unpack(f"<{len(data) // 2}h", data)


def dial_and_listen(tamas, sipp, exten, seconds, scenario="uac_call_wait_bye", **kw):
    rtp = Listener()
    caller = call(sipp, tamas, "1001", exten, scenario=scenario, background=True,
                  keys={"rtp_port": rtp.port}, **kw)
    dest = read_media_file(caller.files["media"])
    rtp.send(dest, b"LATCH")            # symmetric RTP: show tamasd where we are
    rtp.listen(seconds)
    return rtp, caller, dest


@pytest.mark.tamas(dialplan=plan('\t\t["5001"] = function() app.playback("hello-world") '
                                 'app.hangup() end,'))
def test_playback_prompt_arrives_bit_exact(tamas, sipp):
    rtp, caller, _ = dial_and_listen(tamas, sipp, "5001", 3.0)
    caller.wait()                        # tamasd hung up after the prompt: BYE
    rate, ch, src = wav_samples(SOUNDS / "hello-world.wav")
    assert rate == 8000 and ch == 1
    got = pcm_of(rtp.audio())
    # the prompt arrives whole and in order: G.711 of the file's samples
    assert abs(len(got) - len(src)) <= 320, (len(got), len(src))
    assert snr_db(src, got) >= 25, f"prompt SNR {snr_db(src, got):.1f} dB"
    seqs = [struct.unpack("!H", h[2:4])[0] for h in rtp.headers if h[1] & 0x7F == 0]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:])), "RTP sequence gaps"


@pytest.mark.tamas(dialplan=plan('\t\t["5002"] = function() app.answer() '
                                 'app.playback("no-such-prompt&beep") '
                                 'app.set("CDR(userfield)=" .. channel.PLAYBACKSTATUS:get()) '
                                 'app.hangup() end,'))
def test_missing_prompt_warns_and_continues(tamas, sipp):
    rtp, caller, _ = dial_and_listen(tamas, sipp, "5002", 1.5)
    caller.wait()
    assert "no-such-prompt" in tamas.stderr() and "not found" in tamas.stderr()
    [row] = tamas.wait_cdrs(1)
    assert row["userfield"] == "FAILED", row
    assert len(rtp.audio()) >= 10, "the beep after the missing prompt was not played"


@pytest.mark.tamas(dialplan=plan('\t\t["5003"] = function() app.answer() '
                                 'app.playtones("425/1000,0/4000") app.wait(2.5) '
                                 'app.hangup() end,'))
def test_playtones_cadence_and_frequency(tamas, sipp):
    rtp, caller, _ = dial_and_listen(tamas, sipp, "5003", 3.2)
    caller.wait()
    pcm = pcm_of(rtp.audio())
    assert len(pcm) >= 8000 * 2, f"only {len(pcm) / 8000:.1f} s of tone"
    on, off = pcm[800:7200], pcm[8800:14400]
    assert goertzel(on, 425) > 5 * goertzel(on, 1000), "no 425 Hz tone in the on-part"
    assert rms(on) > 1000 and rms(off) < 50, (rms(on), rms(off))


@pytest.mark.tamas(dialplan=plan(
    '\t\t["5004"] = function() app.read("NUM", "beep", 4, "", 1, 3) '
    'app.set("CDR(userfield)=" .. channel.NUM:get() .. ":" .. channel.READSTATUS:get()) '
    'app.hangup() end,'))
def test_read_collects_rfc4733_digits(tamas, sipp):
    rtp, caller, dest = dial_and_listen(tamas, sipp, "5004", 0.6)
    for d in "42":
        rtp.send_dtmf(dest, d)
        time.sleep(0.1)
    rtp.send_dtmf(dest, "#")
    caller.wait()
    [row] = tamas.wait_cdrs(1)
    assert row["userfield"] == "42:OK", row


@pytest.mark.tamas(dialplan=plan(
    '\t\t["5005"] = function() app.read("NUM", "", 3, "", 1, 1.5) '
    'app.set("CDR(userfield)=" .. channel.NUM:get() .. ":" .. channel.READSTATUS:get()) '
    'app.hangup() end,'))
def test_read_timeout_keeps_digits(tamas, sipp):
    rtp, caller, dest = dial_and_listen(tamas, sipp, "5005", 0.3)
    rtp.send_dtmf(dest, "7")
    caller.wait()
    [row] = tamas.wait_cdrs(1)
    assert row["userfield"] == "7:TIMEOUT", row


@pytest.mark.tamas(dialplan=plan(
    '\t\t["5006"] = function() app.read("NUM", "", 2, "", 1, 3) '
    'app.set("CDR(userfield)=" .. channel.NUM:get() .. ":" .. channel.READSTATUS:get()) '
    'app.hangup() end,'), overrides=["sip.dtmfmode=inband"])
def test_read_detects_inband_dtmf(tamas, sipp):
    rtp, caller, dest = dial_and_listen(tamas, sipp, "5006", 0.3)
    # DTMF "5" (770 + 1336 Hz) then "9" (852 + 1477 Hz), 120 ms each with gaps
    def tone(f1, f2, ms):
        return [int(6000 * (math.sin(2 * math.pi * f1 * i / 8000) +
                            math.sin(2 * math.pi * f2 * i / 8000))) for i in range(8 * ms)]
    silence = [0] * 800
    rtp.send_pcm(dest, silence + tone(770, 1336, 120) + silence + tone(852, 1477, 120) +
                 silence)
    caller.wait()
    [row] = tamas.wait_cdrs(1)
    assert row["userfield"] == "59:OK", row


@pytest.mark.tamas(dialplan=plan(
    '\t\t["5007"] = function() app.answer() app.senddtmf("19#", 100, 100) app.wait(0.5) '
    'app.hangup() end,'))
def test_senddtmf_sends_rfc4733_events(tamas, sipp):
    rtp, caller, _ = dial_and_listen(tamas, sipp, "5007", 2.5)
    caller.wait()
    events = rtp.events()
    digits, last_ts = [], None
    for payload, hdr in events:
        ts = struct.unpack("!I", hdr[4:8])[0]
        if ts != last_ts:
            digits.append("0123456789*#ABCD"[payload[0]])
            last_ts = ts
            assert hdr[1] & 0x80, "first packet of an event must carry the marker"
    assert "".join(digits) == "19#", digits
    ends = [p for p, _ in events if p[1] & 0x80]
    assert len(ends) == 9, f"want 3 end packets per digit, got {len(ends)}"


@pytest.mark.skipif(not any(MOH.glob("*.wav")), reason="asterisk-moh-opsound-wav missing")
@pytest.mark.tamas(dialplan=plan('\t\t["5008"] = function() app.answer() '
                                 'app.musiconhold("", 2) app.hangup() end,'))
def test_musiconhold_plays_default_class(tamas, sipp):
    rtp, caller, _ = dial_and_listen(tamas, sipp, "5008", 2.6)
    caller.wait()
    pcm = pcm_of(rtp.audio())
    assert len(pcm) >= 8000 * 1.8, f"{len(pcm) / 8000:.1f} s of music"
    # the first file in alphabetical order, from its start
    first = sorted(MOH.glob("*.wav"))[0]
    _, _, src = wav_samples(first)
    snr = snr_db(src[:16000], pcm[:16000])
    assert snr >= 25, f"MOH is not {first.name} from its start: SNR {snr:.1f} dB"


@pytest.mark.tamas(dialplan=plan('\t\t["5009"] = function() app.answer() '
                                 'app.saynumber("115") app.hangup() end,'))
def test_saynumber_plays_english_number_prompts(tamas, sipp):
    rtp, caller, _ = dial_and_listen(tamas, sipp, "5009", 3.5)
    caller.wait()
    total = 0
    for name in ("digits/1", "digits/hundred", "digits/15"):
        with wave.open(str(SOUNDS / f"{name}.wav")) as w:
            total += w.getnframes()
    got = len(pcm_of(rtp.audio()))
    assert abs(got - total) <= 3 * 160, f"heard {got} samples, prompts hold {total}"


@pytest.mark.tamas(dialplan=plan(
    '\t\t["5010"] = function() app.answer() app.mixmonitor("call-${UNIQUEID}.wav") '
    'app.playtones("1000") app.wait(2) app.hangup() end,'))
def test_mixmonitor_records_both_directions(tamas, sipp):
    rtp, caller, dest = dial_and_listen(tamas, sipp, "5010", 0.0)
    tone = [int(8000 * math.sin(2 * math.pi * 400 * i / 8000)) for i in range(8000 * 2)]
    rtp.send_pcm(dest, tone)               # the caller says 400 Hz, hears 1 kHz
    caller.wait()
    recs = wait_until(lambda: list((tamas.workdir / "recordings").glob("call-*.wav")), 5,
                      what="recording file")
    time.sleep(0.5)                          # the writer thread closes the file
    rate, ch, pcm = wav_samples(recs[0])
    assert rate == 8000 and ch == 1
    secs = len(pcm) / 8000
    assert 1.6 <= secs <= 2.6, f"recording lasts {secs:.2f} s, the call ~2 s"
    mid = pcm[len(pcm) // 4: 3 * len(pcm) // 4]
    assert goertzel(mid, 400) > 300 and goertzel(mid, 1000) > 300, \
        (goertzel(mid, 400), goertzel(mid, 1000))
    [row] = tamas.wait_cdrs(1)
    assert row.get("recordingfile", "").endswith(recs[0].name), row


@pytest.mark.tamas(dialplan=plan(
    '\t\t["5011"] = function() app.tts("hello from tamas", "en") '
    'app.set("CDR(userfield)=" .. channel.TTSSTATUS:get()) app.hangup() end,'
    '\n\t\t["5012"] = function() app.tts("سلام از تماس", "fa") '
    'app.set("CDR(userfield)=" .. channel.TTSSTATUS:get()) app.hangup() end,'))
def test_tts_speaks_english_and_persian(tamas, sipp):
    for exten in ("5011", "5012"):
        rtp, caller, _ = dial_and_listen(tamas, sipp, exten, 4.0)
        caller.wait()
        pcm = pcm_of(rtp.audio())
        assert len(pcm) > 8000 * 0.5 and rms(pcm) > 300, (exten, len(pcm), rms(pcm))
    rows = tamas.wait_cdrs(2)
    assert [r["userfield"] for r in rows] == ["SUCCESS", "SUCCESS"], rows
    assert len(list((tamas.workdir / "tts").glob("fa-*.wav"))) == 1


def ring_and_listen(tamas, sipp, exten, seconds):
    """Call exten whose callee rings for ever; listen to the early media."""
    start_callee(sipp, tamas, "1002", scenario="uas_ring_forever")
    rtp = Listener()
    caller = call(sipp, tamas, "1001", exten, scenario="uac_expect_code", background=True,
                  keys={"rtp_port": rtp.port}, sets={"expect": "any"})
    rtp.listen(seconds)
    return rtp, caller


@pytest.mark.skipif(not any(MOH.glob("*.wav")), reason="asterisk-moh-opsound-wav missing")
@pytest.mark.tamas(dialplan=plan('\t\t["5020"] = function() app.dial("SIP/1002", 3, "m") '
                                 'app.hangup() end,'))
def test_dial_m_plays_music_on_hold_while_ringing(tamas, sipp):
    rtp, caller = ring_and_listen(tamas, sipp, "5020", 3.5)
    caller.wait()                          # NOANSWER → 480 after 3 s of music
    pcm = pcm_of(rtp.audio())
    assert len(pcm) >= 8000 * 2.5, f"caller heard {len(pcm) / 8000:.1f} s before the end"
    _, _, src = wav_samples(sorted(MOH.glob("*.wav"))[0])
    assert snr_db(src[:16000], pcm[:16000]) >= 25, "what the caller heard is not the MOH"


@pytest.mark.tamas(dialplan=plan('\t\t["5021"] = function() app.dial("SIP/1002", 3, "r") '
                                 'app.hangup() end,'))
def test_dial_r_generates_ringback_tone(tamas, sipp):
    rtp, caller = ring_and_listen(tamas, sipp, "5021", 3.5)
    caller.wait()
    pcm = pcm_of(rtp.audio())
    assert len(pcm) >= 8000 * 2.5
    on = pcm[800:8000 * 2 - 800]           # us ring: 440+480 Hz, 2 s on, 4 s off
    assert goertzel(on, 440) > 300 and goertzel(on, 480) > 300, \
        (goertzel(on, 440), goertzel(on, 480))
    assert goertzel(on, 1000) < goertzel(on, 440) / 10
    assert rms(pcm[8000 * 2 + 800:8000 * 2 + 4000]) < 50, "ring cadence has no pause"


@pytest.mark.tamas(dialplan=plan(
    '\t\t["5030"] = function() app.background("hello-world") app.wait(3) '
    'app.set("CDR(userfield)=no-digit") app.hangup() end,\n'
    '\t\t["7"] = function() app.set("CDR(userfield)=jumped-7") app.hangup() end,'))
def test_background_digit_jumps_to_extension(tamas, sipp):
    rtp, caller, dest = dial_and_listen(tamas, sipp, "5030", 0.5)
    rtp.send_dtmf(dest, "7")
    caller.wait()
    [row] = tamas.wait_cdrs(1)
    assert row["userfield"] == "jumped-7", row
    heard = len(pcm_of(rtp.audio())) / 8000
    assert heard < 1.2, f"the prompt went on after the digit ({heard:.1f} s)"


def test_rfc4733_dtmf_is_relayed_across_the_bridge(tamas, sipp):
    b = Listener()
    a = Listener()
    try:
        callee = start_callee(sipp, tamas, "1002", keys={"rtp_port": b.port})
        caller = call(sipp, tamas, "1001", "1002", background=True,
                      keys={"rtp_port": a.port}, hold_ms=3000)
        a_dest = read_media_file(caller.files["media"])
        b_dest = read_media_file(callee.files["media"])
        b.send(b_dest, b"LATCH")
        a.send(a_dest, b"LATCH")
        time.sleep(0.3)
        for d in "3*":
            a.send_dtmf(a_dest, d)
        b.listen(0.8)
        caller.wait()
        callee.wait()
    finally:
        a.close()
        b.close()
    digits, last = [], None
    for payload, hdr in b.events():
        ts = struct.unpack("!I", hdr[4:8])[0]
        if ts != last:
            digits.append("0123456789*#"[payload[0]])
            last = ts
    assert digits == ["3", "*"], digits


@pytest.mark.tamas(dialplan=plan(
    '\t\t["5040"] = function() app.answer() app.mixmonitor("stereo.wav", "D") '
    'app.playtones("1000") app.wait(2) app.hangup() end,'))
def test_mixmonitor_stereo_puts_each_party_on_its_own_channel(tamas, sipp):
    rtp, caller, dest = dial_and_listen(tamas, sipp, "5040", 0.0)
    tone = [int(8000 * math.sin(2 * math.pi * 400 * i / 8000)) for i in range(8000 * 2)]
    rtp.send_pcm(dest, tone)
    caller.wait()
    path = tamas.workdir / "recordings" / "stereo.wav"
    wait_until(path.exists, 5, what="stereo recording")
    time.sleep(0.5)
    rate, ch, pcm = wav_samples(path)
    assert rate == 8000 and ch == 2
    left, right = pcm[0::2], pcm[1::2]
    mid = slice(len(left) // 4, 3 * len(left) // 4)
    assert goertzel(left[mid], 400) > 10 * goertzel(left[mid], 1000), "left is the caller"
    assert goertzel(right[mid], 1000) > 10 * goertzel(right[mid], 400), "right is what it hears"


def dtmf_tone(digit_freqs, ms=120):
    f1, f2 = digit_freqs
    return [int(6000 * (math.sin(2 * math.pi * f1 * i / 8000) +
                        math.sin(2 * math.pi * f2 * i / 8000))) for i in range(8 * ms)]


def test_trunk_dtmfmode_inband_overrides_the_global_mode(tamas_factory, sipp):
    d = tamas_factory(dialplan=plan("", ctx_extra=(
        '\tfrom_trunk = {\n\t\t["5551234"] = function() app.read("NUM", "", 2, "", 1, 3) '
        'app.set("CDR(userfield)=" .. channel.NUM:get() .. ":" .. channel.READSTATUS:get()) '
        'app.wait(10) end,\n\t},\n')))
    d.trunks["prov"]["dtmfmode"] = "inband"      # sip.dtmfmode stays rfc4733
    d.start()
    sipp.target = d.target
    rtp = Listener()
    try:
        caller = sipp.start("uac_trunk_in", port=d.prov_port,
                            keys={"ext": "0611223344", "rtp_port": rtp.port},
                            service="5551234", hold_ms=3000)
        dest = read_media_file(caller.files["media"])
        silence = [0] * 800
        rtp.send_pcm(dest, silence + dtmf_tone((697, 1209)) + silence +
                     dtmf_tone((941, 1336)) + silence)       # "1" then "0"
        caller.wait()
    finally:
        rtp.close()
    [row] = d.wait_cdrs(1)
    assert row["userfield"] == "10:OK", row


def test_unknown_dtmfmode_refuses_start_with_file_and_line(tamas_factory):
    d = tamas_factory()
    d.trunks["prov"]["dtmfmode"] = "smoke-signals"
    text = d.conf_text()
    line = next(i + 1 for i, l in enumerate(text.splitlines()) if "smoke-signals" in l)
    d.write_conf(text)
    d.spawn()
    assert d.wait_exit(5) != 0, "tamasd accepted dtmfmode = smoke-signals"
    assert f"tamas.conf:{line}:" in d.stderr() and "dtmfmode" in d.stderr(), d.stderr()[-500:]


@pytest.mark.tamas(dialplan=plan(
    '\t\t["5050"] = function() app.answer() app.set("CHANNEL(language)=fa") '
    'app.saynumber("25") app.playback("hello-world") '
    'app.set("CDR(userfield)=" .. channel.PLAYBACKSTATUS:get()) app.hangup() end,'))
def test_persian_number_by_tts_and_prompt_falls_back_to_english(tamas, sipp):
    rtp, caller, _ = dial_and_listen(tamas, sipp, "5050", 5.0)
    caller.wait()
    [row] = tamas.wait_cdrs(1)
    assert row["userfield"] == "SUCCESS", row       # hello-world found via en/
    assert len(list((tamas.workdir / "tts").glob("fa-*.wav"))) == 1, "25 not spoken in fa"
    _, _, hello = wav_samples(SOUNDS / "hello-world.wav")
    pcm = pcm_of(rtp.audio())
    assert len(pcm) > len(hello) + 8000 * 0.5, "the number and the prompt were not both heard"
    # prompts start on a 20 ms frame boundary: find hello-world among them
    best = max(snr_db(hello, pcm[off:off + len(hello)])
               for off in range(0, len(pcm) - len(hello) + 1, 160))
    assert best >= 25, f"the English fallback prompt is not what arrived ({best:.1f} dB)"


def can_mount_tmpfs():
    import os
    import subprocess
    if os.geteuid() != 0:
        return False
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        "mount -t tmpfs -o size=16k tmpfs /mnt"], capture_output=True)
    return r.returncode == 0


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs root and unshare -m for a small tmpfs")
def test_full_disk_stops_recording_keeps_call_and_a_valid_wav(tamas_factory, sipp):
    d = tamas_factory(dialplan=plan(
        '\t\t["5060"] = function() app.answer() app.mixmonitor("full.wav") '
        'app.playtones("1000") app.wait(5) app.hangup() end,'))
    recdir = d.workdir / "recordings"
    recdir.mkdir()
    plain_argv = d.argv
    # tamasd in its own mount namespace whose recordings dir is a 40 KiB tmpfs
    # (16 KB/s of WAV fills it in about 2.5 s of a 5 s call)
    d.argv = lambda extra=(): ["unshare", "-m", "--propagation", "private", "sh", "-c",
                               f"mount -t tmpfs -o size=40k tmpfs {recdir} && exec \"$@\"",
                               "sh"] + plain_argv(extra)
    d.start()
    sipp.target = d.target
    rtp, caller, _ = dial_and_listen(d, sipp, "5060", 0.0)
    caller.wait()                                   # the call lasted its 5 s
    inside = Path(f"/proc/{d.proc.pid}/root") / str(recdir).lstrip("/") / "full.wav"
    err = d.stderr()
    assert "recording stopped" in err and "the call goes on" in err, err[-3000:]
    size = inside.stat().st_size
    with wave.open(str(inside)) as w:               # the header is valid
        frames = w.getnframes()
        assert w.getframerate() == 8000 and frames > 8000
    assert 44 + 2 * frames <= size <= 46 + 2 * frames, (size, frames)
    [row] = d.wait_cdrs(1)
    assert row["disposition"] == "ANSWERED" and int(row["billsec"]) >= 4, row


@pytest.mark.tamas(dialplan=plan(
    '\t\t["5070"] = function() app.answer() app.mixmonitor("short.wav") '
    'app.playtones("1000") app.wait(1) app.stopmixmonitor() app.wait(1.5) '
    'app.hangup() end,'))
def test_stopmixmonitor_closes_the_recording_early(tamas, sipp):
    rtp, caller, _ = dial_and_listen(tamas, sipp, "5070", 0.0)
    caller.wait()
    path = tamas.workdir / "recordings" / "short.wav"
    wait_until(path.exists, 5, what="recording")
    time.sleep(0.3)
    _, _, pcm = wav_samples(path)
    assert 0.8 <= len(pcm) / 8000 <= 1.3, f"recorded {len(pcm) / 8000:.2f} s of a 1 s window"


@pytest.mark.tamas(dialplan=plan(
    '\t\t["5071"] = function() app.read("N", "beep", 1, "", 2, 1) '
    'app.set("CDR(userfield)=[" .. channel.N:get() .. "]" .. channel.READSTATUS:get()) '
    'app.hangup() end,'))
def test_read_reprompts_until_attempts_run_out(tamas, sipp):
    rtp, caller, _ = dial_and_listen(tamas, sipp, "5071", 3.5)
    caller.wait()
    [row] = tamas.wait_cdrs(1)
    assert row["userfield"] == "[]TIMEOUT", row
    # each start of a prompt opens a talkspurt: the RTP marker bit
    starts = sum(1 for h in rtp.headers if h[1] == 0x80)
    assert starts == 2, f"the beep prompt was played {starts} times, want 2 (attempts)"
    beep = wav_samples(SOUNDS / "beep.wav")[2]
    assert abs(len(pcm_of(rtp.audio())) - 2 * len(beep)) <= 2 * 160


def test_unreadable_audio_file_is_rejected_with_its_path(tamas_factory, sipp):
    d = tamas_factory()
    junk = d.workdir / "junk.wav"
    junk.write_text("this is not audio\n")
    d.write_dialplan(plan(f'\t\t["5072"] = function() app.answer() '
                          f'app.playback("{junk.with_suffix("")}") '
                          'app.set("CDR(userfield)=" .. channel.PLAYBACKSTATUS:get()) '
                          'app.hangup() end,'))
    d.start()
    sipp.target = d.target
    rtp, caller, _ = dial_and_listen(d, sipp, "5072", 0.5)
    caller.wait()
    [row] = d.wait_cdrs(1)
    assert row["userfield"] == "FAILED", row
    assert str(junk) in d.stderr(), d.stderr()[-2000:]


def test_dtmf_reaches_an_info_mode_callee_as_sip_info(tamas_factory, sipp):
    d = tamas_factory()
    d.user_opts["1002"] = {"dtmfmode": "info"}
    d.start()
    sipp.target = d.target
    a = Listener()
    try:
        callee = start_callee(sipp, d, "1002", scenario="uas_answer_info")
        caller = call(sipp, d, "1001", "1002", background=True,
                      keys={"rtp_port": a.port}, hold_ms=2500)
        a_dest = read_media_file(caller.files["media"])
        time.sleep(0.3)
        for digit in "7#":
            a.send_dtmf(a_dest, digit)       # RFC 4733 from the caller
            time.sleep(0.2)
        caller.wait()
        res = callee.wait()                   # it got both INFOs, then the BYE
    finally:
        a.close()
    log = res.text("log")
    assert "INFO Signal=7" in log and "INFO Signal=#" in log, log[-1000:]
