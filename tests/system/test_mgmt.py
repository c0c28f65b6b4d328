"""PBX management over the REST API (Simotel API v4 §2.6, §2.7, §2.9), over
real HTTP and real calls: blacklisted callers refused with 403 by tamasd
(SIPp as the provider), the whitelist's labels reaching the dialplan,
announcements uploaded (WAV, MP3) or spoken (TTS) then heard by a SIPp
caller through app.playback('<name>'), music-on-hold classes listed, and
bad input refused with nothing half-created."""

import base64
import ctypes
import ctypes.util
import io
import math
import os
import selectors
import signal
import socket
import struct
import time
import uuid
import wave

import pytest

from harness import HOST, call, wait_until
from test_api import basic_user, failed, ok, refused
from test_media import Listener, pcm_of, rms, snr_db
from harness import read_media_file

CRED = {"user": "alice", "password": "alice-secret"}
LENIENT = ["http.auth_fail_limit=1000"]


def api(tamas, path, body=None, **kw):
    return tamas.api(path, body, **dict(CRED, **kw))


def plan(main="", trunk=""):
    return ("extensions = {\n\tmain_routing = {\n" + main +
            '\n\t\t["_1XXX"] = function(c, e) app.dial("SIP/" .. e, 5) app.hangup() end,\n'
            "\t},\n\tfrom_trunk = {\n" + trunk + "\n\t},\n}\n")


# ------------------------------------------------------------------ helpers

def tone(freq=440, seconds=1.0, rate=8000, amp=8000):
    return [int(amp * math.sin(2 * math.pi * freq * i / rate)) for i in range(int(rate * seconds))]


def wav_bytes(samples, rate=8000, channels=1):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buf.getvalue()


class _SfInfo(ctypes.Structure):
    _fields_ = [("frames", ctypes.c_int64), ("samplerate", ctypes.c_int),
                ("channels", ctypes.c_int), ("format", ctypes.c_int),
                ("sections", ctypes.c_int), ("seekable", ctypes.c_int)]


def mp3_file(path, samples, rate=8000):
    """Encode samples as MP3 with the machine's libsndfile (the same library
    tamasd decodes with); None when it cannot write MP3."""
    name = ctypes.util.find_library("sndfile")
    if not name:
        return None
    sf = ctypes.CDLL(name)
    sf.sf_open.restype = ctypes.c_void_p
    sf.sf_write_short.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    sf.sf_close.argtypes = [ctypes.c_void_p]
    info = _SfInfo(0, rate, 1, 0x230000 | 0x0082, 0, 0)    # SF_FORMAT_MPEG | LAYER_III
    h = sf.sf_open(str(path).encode(), 0x20, ctypes.byref(info))
    if not h:
        return None
    buf = (ctypes.c_short * len(samples))(*samples)
    sf.sf_write_short(h, buf, len(samples))
    sf.sf_close(h)
    return path.read_bytes()


def multipart(parts):
    """parts: [(field name, file name or None, content type or None, bytes)]."""
    boundary = "----tamas" + uuid.uuid4().hex
    out = b""
    for field, fname, ctype, data in parts:
        disp = f'form-data; name="{field}"' + (f'; filename="{fname}"' if fname else "")
        out += f"--{boundary}\r\nContent-Disposition: {disp}\r\n".encode()
        if ctype:
            out += f"Content-Type: {ctype}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def upload(tamas, data, fname="welcome.wav", ctype="audio/wav"):
    body, ct = multipart([("file", fname, ctype, data)])
    return api(tamas, "pbx/announcements/upload", body, content_type=ct)


def search(tamas, what, **cond):
    r = api(tamas, f"pbx/{what}/search", {"alike": False, "conditions": cond})
    return ok(r)["data"]


def ann_dir(tamas):
    return tamas.workdir / "var" / "announcements"


def uploads(tamas):
    return sorted(p.name for p in (ann_dir(tamas) / "uploads").iterdir())


def start(tamas_factory, **kw):
    kw.setdefault("overrides", LENIENT)
    d = tamas_factory(**kw)
    d.start()
    basic_user(d)
    return d


# ------------------------------------------------------------------ blacklist / whitelist

def test_blacklisted_caller_is_refused_with_403_and_removal_lets_it_in(tamas_factory, sipp):
    d = start(tamas_factory, dialplan=plan(trunk=(
        '\t\t["5551234"] = function() app.answer() '
        'app.set("CDR(userfield)=" .. channel.WHITELIST:get()) app.wait(10) end,')))
    sipp.target = d.target
    r = api(d, "pbx/blacklists/add", {"number": "0912555", "comment": "spam"})
    bid = ok(r)["data"]["_id"]
    assert len(bid) == 24

    res = sipp.run("uac_trunk_in_refused", port=d.prov_port, keys={"ext": "0912555"},
                   service="5551234")
    assert res.received(r"SIP/2\.0 403 ") and not res.received(r"SIP/2\.0 407 ")
    assert "callscreen: blacklisted caller rejected" in d.stderr()
    assert "caller=0912555" in d.stderr()
    # nothing of the refused call reached the dialplan
    assert all(r.get("userfield") in (None, "") for r in d.cdr_rows()), d.cdr_rows()

    # another number is not affected, and a removed entry lets the caller in
    sipp.run("uac_trunk_in", port=d.prov_port, keys={"ext": "0912666"}, service="5551234",
             hold_ms=300)
    ok(api(d, "pbx/blacklists/remove", {"_id": bid}), "")
    sipp.run("uac_trunk_in", port=d.prov_port, keys={"ext": "0912555"}, service="5551234",
             hold_ms=300)
    rows = d.wait_cdrs(3)                     # the refused call has its CDR too
    assert [r["src"] for r in rows if r["userfield"] == "no"] == ["0912666", "0912555"], rows
    assert rows[0]["src"] == "0912555" and rows[0]["answer"] is None, rows[0]


def test_whitelist_labels_reach_the_dialplan_and_override_the_blacklist(tamas_factory, sipp):
    d = start(tamas_factory, dialplan=plan(trunk=(
        '\t\t["5551234"] = function() app.answer() '
        'app.set("CDR(userfield)=" .. channel.WHITELIST:get() .. ":" .. '
        'channel.WHITELIST_LABELS:get()) app.wait(10) end,')))
    sipp.target = d.target
    ok(api(d, "pbx/blacklists/add", {"number": "0912777"}))
    r = api(d, "pbx/whitelists/add", {"number": "0912777", "labels": ["vip", "gold"],
                                      "comment": "boss"})
    wid = ok(r)["data"]["_id"]
    [row] = search(d, "whitelists", number="0912777")
    assert row["_id"] == wid and row["labels"] == ["vip", "gold"] and row["comment"] == "boss"
    assert set(row) >= {"_id", "number", "labels", "comment", "date"}

    sipp.run("uac_trunk_in", port=d.prov_port, keys={"ext": "0912777"}, service="5551234",
             hold_ms=300)
    ok(api(d, "pbx/whitelists/update", {"_id": wid, "labels": ["silver"]}), "")
    sipp.run("uac_trunk_in", port=d.prov_port, keys={"ext": "0912777"}, service="5551234",
             hold_ms=300)
    rows = d.wait_cdrs(2)
    assert [r["userfield"] for r in rows] == ["yes:vip,gold", "yes:silver"], rows
    # without the whitelist entry, the blacklist applies again
    ok(api(d, "pbx/whitelists/remove", {"_id": wid}), "")
    res = sipp.run("uac_trunk_in_refused", port=d.prov_port, keys={"ext": "0912777"},
                   service="5551234")
    assert res.received(r"SIP/2\.0 403 ")


def test_list_crud_search_and_pagination(tamas_factory):
    d = start(tamas_factory)
    ids = {}
    for n in ("0912111", "0912222", "0935333"):
        ids[n] = ok(api(d, "pbx/blacklists/add", {"number": n, "comment": f"c{n}"}))["data"]["_id"]
    # a number is once per list; the whitelist is a list of its own
    failed(api(d, "pbx/blacklists/add", {"number": "0912111"}), "already exists")
    ok(api(d, "pbx/whitelists/add", {"number": "0912111"}))

    r = api(d, "pbx/blacklists/search", {"alike": True, "conditions": {"number": "0912",
                                                                       "name": "ignored"}})
    rows = ok(r)["data"]
    assert [x["number"] for x in rows] == ["0912111", "0912222"]
    assert "labels" not in rows[0] and rows[0]["comment"] == "c0912111"
    assert [x["number"] for x in search(d, "blacklists", number="0912")] == []
    assert len(search(d, "blacklists")) == 3
    r = api(d, "pbx/blacklists/search", {"alike": "true", "pagination": {
        "start": 1, "count": 1, "sorting": {"number": -1}}})
    page = ok(r)["data"]
    assert page["pagination"]["total"] == 3 and [x["number"] for x in page["data"]] == ["0912222"]
    r = api(d, "pbx/blacklists/search", {"alike": True, "pagination": {"start": 10}})
    assert ok(r)["data"]["pagination"]["total"] == 3 and ok(r)["data"]["data"] == []

    ok(api(d, "pbx/blacklists/update", {"_id": ids["0935333"], "number": "0935444"}), "")
    [row] = search(d, "blacklists", number="0935444")
    assert row["comment"] == "c0935333"            # unspecified fields unchanged
    failed(api(d, "pbx/blacklists/update", {"_id": ids["0935333"], "number": "0912111"}),
           "already exists")
    # an id of the other list is unknown here
    wid = search(d, "whitelists")[0]["_id"]
    failed(api(d, "pbx/blacklists/remove", {"_id": wid}), "No blacklist entry")
    ok(api(d, "pbx/blacklists/remove", {"id_": ids["0912111"]}), "")
    assert len(search(d, "blacklists")) == 2 and len(search(d, "whitelists")) == 1


def test_list_bad_input_is_refused_and_changes_nothing(tamas_factory):
    d = start(tamas_factory)
    wid = ok(api(d, "pbx/whitelists/add", {"number": "100", "labels": ["a"]}))["data"]["_id"]
    for path in ("pbx/blacklists/add", "pbx/whitelists/add", "pbx/whitelists/search",
                 "pbx/blacklists/update"):
        refused(api(d, path, b'{"number": "1",'), 400, "Unable to parse content")
        refused(api(d, path, b'["x"]'), 400, "Unable to parse content")
    refused(api(d, "pbx/blacklists/add", b'{"number":"1"}', content_type="text/plain"),
            415, "Unsupported Media Type")
    failed(api(d, "pbx/blacklists/add", {}), r"Field 'number':value is missing")
    failed(api(d, "pbx/blacklists/add", {"number": ""}), r"Field 'number':value is missing")
    failed(api(d, "pbx/blacklists/add", {"number": {"a": 1}}), "Field 'number'")
    failed(api(d, "pbx/blacklists/add", {"number": "09 12"}), "Field 'number'")
    failed(api(d, "pbx/blacklists/add", {"number": "1" * 65}), "Field 'number'")
    failed(api(d, "pbx/blacklists/add", {"number": "1", "comment": ["x"]}), "Field 'comment'")
    failed(api(d, "pbx/whitelists/add", {"number": "2", "labels": {"a": 1}}), "Field 'labels'")
    failed(api(d, "pbx/whitelists/add", {"number": "2", "labels": [1]}), "Field 'labels'")
    failed(api(d, "pbx/whitelists/add", {"number": "2", "labels": ["a,b"]}), "Field 'labels'")
    failed(api(d, "pbx/whitelists/search", {"conditions": {}}), r"Field 'alike':value is missing")
    failed(api(d, "pbx/whitelists/search", {"alike": "maybe"}), "Field 'alike'")
    failed(api(d, "pbx/whitelists/search", {"alike": True, "conditions": "x"}),
           "Field 'conditions'")
    failed(api(d, "pbx/whitelists/search", {"alike": True, "pagination": {"count": 0}}),
           "pagination.count")
    failed(api(d, "pbx/whitelists/search", {"alike": True, "pagination": {
        "sorting": {"secret": 1}}}), "cannot sort by 'secret'")
    failed(api(d, "pbx/whitelists/update", {"number": "3"}), r"Field '_id':value is missing")
    failed(api(d, "pbx/whitelists/update", {"_id": "0" * 24, "number": "3"}), "No whitelist")
    failed(api(d, "pbx/whitelists/update", {"_id": wid, "number": "4", "labels": "x,y"}),
           "Field 'labels'")
    failed(api(d, "pbx/whitelists/remove", {"_id": "0" * 24}), "No whitelist")
    failed(api(d, "pbx/whitelists/remove", {"_id": {"x": 1}}), "Field '_id'")
    # a refused update changed nothing, a refused add added nothing
    [row] = search(d, "whitelists")
    assert row["number"] == "100" and row["labels"] == ["a"], row
    assert search(d, "blacklists") == []
    d.assert_alive()


# ------------------------------------------------------------------ announcements

PLAY = plan(main=(
    '\t\t["5001"] = function() app.playback("welcome") '
    'app.set("CDR(userfield)=" .. channel.PLAYBACKSTATUS:get()) app.hangup() end,'))


def hear(d, sipp, exten, seconds):
    """Call exten as 1001 and return the decoded audio tamasd sent."""
    rtp = Listener()
    try:
        caller = call(sipp, d, "1001", exten, scenario="uac_call_wait_bye", background=True,
                      keys={"rtp_port": rtp.port})
        dest = read_media_file(caller.files["media"])
        rtp.send(dest, b"LATCH")
        rtp.listen(seconds)
        caller.wait()
        return pcm_of(rtp.audio())
    finally:
        rtp.close()


def test_uploaded_wav_plays_by_name_then_update_and_remove(tamas_factory, sipp):
    d = start(tamas_factory, dialplan=PLAY)
    sipp.target = d.target
    src = tone(440, 1.0)
    r = upload(d, wav_bytes(src), fname="My Welcome!.wav")
    assert r.json["message"] == "1 file(s) uploaded successfully", r
    fname = ok(r)["data"]["filename"]
    assert fname.startswith("file-") and fname.endswith("-mywelcome_.wav"), fname
    aid = ok(api(d, "pbx/announcements/add", {"name": "welcome", "filename": fname,
                                              "comment": "greeting"}))["data"]["_id"]
    [row] = search(d, "announcements", name="welcome")
    assert row["_id"] == aid and row["filename"] == fname and row["comment"] == "greeting"
    assert row["status"] == "ready" and row["date"]

    got = hear(d, sipp, "5001", 2.0)
    assert abs(len(got) - len(src)) <= 320, (len(got), len(src))
    assert snr_db(src, got) >= 25, "what the caller heard is not the uploaded prompt"

    # by id too (PlayAnnouncement('id:<_id>'), spec §2.7)
    d.write_dialplan(PLAY.replace('["5001"]', f'["5002"] = function() app.playback("id:{aid}") '
                                  'app.hangup() end,\n\t\t["5001"]'))
    os.kill(d.proc.pid, signal.SIGHUP)
    wait_until(lambda: "dialplan: reloaded on SIGHUP" in d.stderr(), 5, what="reload")
    got = hear(d, sipp, "5002", 2.0)
    assert snr_db(src, got) >= 25, "the announcement did not play by its id"

    # a new file under the same name applies to the next call, no restart
    src2 = tone(1000, 0.6)
    f2 = ok(upload(d, wav_bytes(tone(1000, 0.6, rate=16000), rate=16000), "b.wav"))["data"]["filename"]
    ok(api(d, "pbx/announcements/update", {"_id": aid, "filename": f2}), "")
    got = hear(d, sipp, "5001", 1.5)
    assert abs(len(got) - len(src2)) <= 480 and snr_db(src2, got) >= 15, (len(got),)
    assert fname not in uploads(d), "the replaced upload was kept"

    # renamed: the old name no longer plays
    ok(api(d, "pbx/announcements/update", {"_id": aid, "name": "hello2"}), "")
    assert not (ann_dir(d) / "welcome.wav").exists() and (ann_dir(d) / "hello2.wav").exists()
    ok(api(d, "pbx/announcements/remove", {"_id": aid}), "")
    assert search(d, "announcements") == []
    assert not (ann_dir(d) / "hello2.wav").exists() and uploads(d) == []
    got = hear(d, sipp, "5001", 0.5)
    assert not (ann_dir(d) / f"id:{aid}.wav").exists()
    rows = d.wait_cdrs(4)
    assert [r["userfield"] for r in rows] == ["SUCCESS", "", "SUCCESS", "FAILED"], rows


def test_uploaded_mp3_is_converted_and_plays(tamas_factory, sipp, tmp_path):
    src = tone(600, 1.0)
    data = mp3_file(tmp_path / "in.mp3", src)
    if not data:
        pytest.skip("this libsndfile cannot write MP3")
    d = start(tamas_factory, dialplan=PLAY)
    sipp.target = d.target
    fname = ok(upload(d, data, "promo.mp3", "audio/mpeg"))["data"]["filename"]
    assert fname.endswith("-promo_.wav")
    with wave.open(str(ann_dir(d) / "uploads" / fname)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
    ok(api(d, "pbx/announcements/add", {"name": "welcome", "filename": fname}))
    got = hear(d, sipp, "5001", 2.0)
    assert len(got) >= 8000 * 0.8 and rms(got) > 1000, (len(got), rms(got))


def test_tts_announcement_renders_then_plays(tamas_factory, sipp):
    d = start(tamas_factory, dialplan=PLAY)
    sipp.target = d.target
    r = api(d, "pbx/announcements/add", {"name": "welcome", "text": "welcome to tamas",
                                         "lang": "en"})
    aid = ok(r)["data"]["_id"]
    [row] = search(d, "announcements", name="welcome")
    assert row["text"] == "welcome to tamas" and row["lang"] == "en"

    def ready():
        rows = search(d, "announcements", name="welcome")
        return rows and rows[0]["status"] == "ready"
    wait_until(ready, 15, interval=0.1, what="TTS announcement ready")
    got = hear(d, sipp, "5001", 3.0)
    assert len(got) > 8000 * 0.5 and rms(got) > 300, (len(got), rms(got))
    [cdr] = d.wait_cdrs(1)
    assert cdr["userfield"] == "SUCCESS", cdr

    # a voice espeak-ng does not have: the row goes away again
    ok(api(d, "pbx/announcements/add", {"name": "broken", "text": "x", "lang": "zz-nope"}))
    wait_until(lambda: not search(d, "announcements", name="broken"), 15, interval=0.1,
               what="failed TTS announcement removed")
    assert [x["_id"] for x in search(d, "announcements")] == [aid]
    assert "announcement TTS failed" in d.stderr()


def test_announcement_bad_input_leaves_nothing_behind(tamas_factory):
    d = start(tamas_factory, overrides=LENIENT + ["http.max_upload=20000"])
    good = ok(upload(d, wav_bytes(tone(440, 0.5))))["data"]["filename"]
    before = uploads(d)
    # uploads: wrong content type, not audio, empty, no file part, too big,
    # malformed multipart
    r = api(d, "pbx/announcements/upload", {"file": "x"})
    refused(r, 415, "multipart/form-data")
    refused(upload(d, b"this is not audio at all\n" * 100, "x.mp3", "audio/mpeg"), 415,
            "not audio")
    refused(upload(d, b"RIFF\x00\x00\x00\x00WAVEjunk", "x.wav"), 415, "not audio")
    failed(upload(d, b"", "x.wav"), "empty")
    body, ct = multipart([("other", None, None, b"v")])
    failed(api(d, "pbx/announcements/upload", body, content_type=ct),
           r"Field 'file':value is missing")
    refused(upload(d, wav_bytes(tone(440, 2.0))), 413, "too large")
    body, ct = multipart([("file", "a.wav", None, wav_bytes(tone(440, 0.1)))])
    refused(api(d, "pbx/announcements/upload", body[:-40], content_type=ct), 400,
            "Unable to parse content")
    refused(api(d, "pbx/announcements/upload", body, content_type="multipart/form-data"),
            415, "boundary")
    assert uploads(d) == before, "a refused upload left a file"

    # add/update/remove
    refused(api(d, "pbx/announcements/add", body, content_type=ct), 415, "Unsupported")
    refused(api(d, "pbx/announcements/add", b"{nope"), 400, "Unable to parse content")
    failed(api(d, "pbx/announcements/add", {"filename": good}), r"Field 'name':value is missing")
    failed(api(d, "pbx/announcements/add", {"name": "a"}), r"Field 'filename':value is missing")
    failed(api(d, "pbx/announcements/add", {"name": "../x", "filename": good}), "Field 'name'")
    failed(api(d, "pbx/announcements/add", {"name": ["a"], "filename": good}), "Field 'name'")
    failed(api(d, "pbx/announcements/add", {"name": "a", "filename": "nope.wav"}),
           "no uploaded file")
    failed(api(d, "pbx/announcements/add", {"name": "a", "filename": "../tamas.conf"}),
           "no uploaded file")
    failed(api(d, "pbx/announcements/add", {"name": "a", "filename": good, "text": "hi"}),
           "not both")
    failed(api(d, "pbx/announcements/add", {"name": "a", "text": "hi", "lang": "E N"}),
           "Field 'lang'")
    failed(api(d, "pbx/announcements/add", {"name": "a", "text": "x" * 2001}), "Field 'text'")
    aid = ok(api(d, "pbx/announcements/add", {"name": "a", "filename": good}))["data"]["_id"]
    failed(api(d, "pbx/announcements/add", {"name": "a", "filename": good}), "already exists")
    failed(api(d, "pbx/announcements/search", {}), r"Field 'alike':value is missing")
    failed(api(d, "pbx/announcements/search", {"alike": True, "conditions": [1]}),
           "Field 'conditions'")
    failed(api(d, "pbx/announcements/update", {"name": "b"}), r"Field '_id':value is missing")
    failed(api(d, "pbx/announcements/update", {"_id": "f" * 24, "name": "b"}),
           "No announcement")
    failed(api(d, "pbx/announcements/update", {"_id": aid, "name": "b", "filename": "x.wav"}),
           "no uploaded file")
    failed(api(d, "pbx/announcements/update", {"_id": aid, "text": "new"}), "only add")
    failed(api(d, "pbx/announcements/remove", {"_id": "f" * 24}), "No announcement")
    [row] = search(d, "announcements")
    assert row["name"] == "a" and row["filename"] == good, row
    files = sorted(p.name for p in ann_dir(d).iterdir())
    assert files == ["a.wav", f"id:{aid}.wav", "uploads"], files
    assert uploads(d) == before
    d.assert_alive()


def long_wav(seconds, rate=48000):
    """A stereo WAV of seconds (one second of tone, repeated)."""
    sec = struct.pack(f"<{2 * rate}h", *[int(6000 * math.sin(2 * math.pi * 440 * (i // 2) / rate))
                                         for i in range(2 * rate)])
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(sec * seconds)
    return buf.getvalue()


def raw_request(d, path, body, ctype):
    auth = base64.b64encode(f"{CRED['user']}:{CRED['password']}".encode()).decode()
    head = (f"POST /api/v4/{path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Basic {auth}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    s = socket.create_connection((HOST, d.http_port), timeout=30)
    s.sendall(head.encode() + body)
    return s


def test_long_upload_is_converted_without_stalling_other_requests(tamas_factory):
    d = start(tamas_factory, overrides=LENIENT + ["http.max_upload=30000000"])
    body, ct = multipart([("file", "long.wav", "audio/wav", long_wav(150))])
    sel = selectors.DefaultSelector()
    up = raw_request(d, "pbx/announcements/upload", body, ct)
    # tamasd is converting it; a ping now must not wait for the conversion
    wait_until(lambda: "announcement upload converting" in d.stderr(), 20, interval=0.01,
               what="conversion under way")
    ping = raw_request(d, "setting/ping/act", b"{}", "application/json")
    sel.register(up, selectors.EVENT_READ, "upload")
    sel.register(ping, selectors.EVENT_READ, "ping")
    order, answers = [], {}
    deadline = time.monotonic() + 60
    while len(order) < 2 and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            data = key.fileobj.recv(65536)
            answers[key.data] = answers.get(key.data, b"") + data
            if not data:
                sel.unregister(key.fileobj)
                order.append(key.data)
    up.close()
    ping.close()
    assert order == ["ping", "upload"], (order, answers)
    # tamasd answered the ping while the conversion was still going
    log = d.stderr()
    pinged = log.find("path=setting/ping/act")
    converted = log.find("api: announcement file uploaded")
    assert 0 <= pinged < converted, log[-3000:]
    assert answers["upload"].startswith(b"HTTP/1.1 200"), answers["upload"][:300]
    assert b"1 file(s) uploaded successfully" in answers["upload"]
    [fname] = uploads(d)
    with wave.open(str(ann_dir(d) / "uploads" / fname)) as w:
        assert (w.getframerate(), w.getnchannels()) == (8000, 1)
        assert abs(w.getnframes() - 150 * 8000) <= 800, w.getnframes()


def test_stop_during_a_conversion_leaves_no_file(tamas_factory):
    d = start(tamas_factory, overrides=LENIENT + ["http.max_upload=30000000"])
    body, ct = multipart([("file", "long.wav", "audio/wav", long_wav(150))])
    up = raw_request(d, "pbx/announcements/upload", body, ct)
    wait_until(lambda: "announcement upload converting" in d.stderr(), 20, interval=0.01,
               what="conversion under way")
    assert d.stop() == 0, d.stderr()[-2000:]
    up.close()
    assert uploads(d) == [], "a cancelled conversion left a file"


# ------------------------------------------------------------------ music on hold

def test_musiconholds_search_lists_classes_and_files(tamas_factory):
    d = tamas_factory(overrides=LENIENT)
    moh = d.workdir / "mohc"
    moh.mkdir()
    (moh / "b-song.wav").write_bytes(wav_bytes(tone(300, 0.5)))
    (moh / "a-song.wav").write_bytes(wav_bytes(tone(300, 1.0)))
    (moh / "notes.txt").write_text("not audio")
    d.conf["moh custom"] = {"mode": "files", "directory": moh, "sort": "random"}
    d.conf["media"]["moh_dir"] = moh            # the default class, same files
    d.start()
    basic_user(d)
    r = api(d, "pbx/musiconholds/search", {"alike": True, "conditions": {"name": "CUST"}})
    [cls] = ok(r)["data"]
    assert cls["name"] == "custom" and cls["path"] == str(moh) and cls["count"] == 2
    assert len(cls["_id"]) == 24 and cls["date"] and cls["sort"] == "random"
    assert [m["file"] for m in cls["musics"]] == ["a-song.wav", "b-song.wav"]
    size = (moh / "a-song.wav").stat().st_size
    assert cls["musics"][0]["size"] == f"{size / 1024:.2f} KB", cls
    assert cls["musics"][0]["type"] == "file" and len(cls["musics"][0]["date"]) == 16
    names = [c["name"] for c in search(d, "musiconholds")]
    assert sorted(names) == ["custom", "default"], names
    assert search(d, "musiconholds", name="cust") == []
    assert [c["_id"] for c in search(d, "musiconholds", name="custom")] == [cls["_id"]]
    failed(api(d, "pbx/musiconholds/search", {}), r"Field 'alike':value is missing")
    failed(api(d, "pbx/musiconholds/search", {"alike": 1, "conditions": {"name": {}}}),
           "Field 'name'")
    refused(api(d, "pbx/musiconholds/search", b"{"), 400, "Unable to parse content")


def test_store_survives_restart(tamas_factory):
    d = start(tamas_factory)
    ok(api(d, "pbx/blacklists/add", {"number": "777"}))
    fname = ok(upload(d, wav_bytes(tone(440, 0.3))))["data"]["filename"]
    ok(api(d, "pbx/announcements/add", {"name": "keep", "filename": fname}))
    d.stop()
    d.proc = None
    d.start()
    assert [x["number"] for x in search(d, "blacklists")] == ["777"]
    assert [x["name"] for x in search(d, "announcements")] == ["keep"]
