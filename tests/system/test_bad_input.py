"""Bad input: malformed SIP, RFC 4475 torture messages, bad configuration.

Each kind gets a clear answer (or a silent drop where no answer can be
formed) and the daemon keeps serving afterwards."""
import re
import socket
import subprocess
from pathlib import Path

import pytest

from phones import TAMASD, free_port, pbx, running, sipp  # noqa: F401 (fixtures)
from test_call_flows import register_callee

TORTURE = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "rfc4475"
if not TORTURE.exists():
    TORTURE = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "rfc4475"

# Messages where tamas answers differently from the RFC's preferred outcome,
# and what it does instead (checked, so a change is noticed).
DEVIATIONS = {
    # libre's parser rejects these outright, so nothing can be answered.
    "badinv01": None, "quotbal": None, "ltgtruri": None, "lwsruri": None,
    "lwsstart": None, "escruri": None, "regbadct": None, "badaspec": None,
    "baddn": None, "ncl": None,
    "badvers": None,   # the Via "SIP/7.0/UDP" fails to parse: no Via, nothing to answer
    "trws": None, "unksm2": None, "inv2543": None, "longreq": None,  # dropped by libre's decoder
}


# Folded LWS (CRLF + blanks) is allowed between the tokens, as in wsinv.
VIA_HOST = re.compile(rb"^((?:Via|v)\s*:\s*SIP\s*/\s*[0-9.]+\s*/\s*)(\w+)(\s+)"
                      rb"([^;,\s]+)", re.M | re.I)


def send_and_collect(port, data, wait=0.4, local_port=0):
    """Sends one datagram and returns the status codes answered to it.
    The top Via is pointed at our socket so that no answer ever leaves
    loopback (the torture messages name hosts like 192.0.2.x)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", local_port))
    me = f"127.0.0.1:{s.getsockname()[1]}".encode()
    data = data.replace(b"{PORT}", me)
    # ... and over UDP, so that the answer comes back to this socket.
    data, n = VIA_HOST.subn(lambda m: m.group(1) + b"UDP" + m.group(3) + me, data, count=1)
    assert n == 1 or b"\nVia" not in data, "could not point Via at loopback; not sending"
    s.settimeout(wait)
    s.sendto(data, ("127.0.0.1", port))
    codes = []
    try:
        while True:
            pkt, _ = s.recvfrom(65535)
            m = re.match(rb"SIP/2.0 (\d{3})", pkt)
            if m:
                codes.append(int(m.group(1)))
    except socket.timeout:
        pass
    s.close()
    return codes


def options(port, branch="z9hG4bKopt1"):
    msg = ("OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP {{PORT}};branch={branch}\r\n"
           "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
           f"Call-ID: {branch}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
           "Content-Length: 0\r\n\r\n")
    return send_and_collect(port, msg.encode())


def base_request(drop=None, extra="", cl=None, body=""):
    hdrs = [
        "Via: SIP/2.0/UDP {PORT};branch=z9hG4bKbad",
        "From: <sip:x@127.0.0.1>;tag=1",
        "To: <sip:y@127.0.0.1>",
        "Call-ID: bad-1",
        "CSeq: 1 OPTIONS",
        "Max-Forwards: 70",
    ]
    hdrs = [h for h in hdrs if not (drop and h.startswith(drop))]
    hdrs.append(f"Content-Length: {len(body) if cl is None else cl}")
    return ("OPTIONS sip:127.0.0.1 SIP/2.0\r\n" + "\r\n".join(hdrs) + "\r\n" + extra +
            "\r\n" + body).encode()


@pytest.mark.parametrize("drop", ["Call-ID", "CSeq", "From"])
def test_missing_mandatory_header_gets_400(running, drop):
    assert send_and_collect(running.port, base_request(drop=drop)) == [400]
    assert options(running.port) == [200]


def test_missing_via_is_dropped_and_counted(running):
    assert send_and_collect(running.port, base_request(drop="Via")) == []
    status = running.ctl_json("status")[0]
    assert status["malformed"] >= 1
    running.wait_log(r"malformed request .*missing Via")


def test_content_length_larger_than_body_gets_400(running):
    assert send_and_collect(running.port, base_request(cl=500, body="hello")) == [400]


def test_garbage_bytes_are_dropped(running):
    for junk in (b"\x00\x01\x02garbage\xff" * 20, b"NOT SIP AT ALL\r\n\r\n", b"\r\n\r\n",
                 b"INVITE\r\n\r\n", bytes(range(256)) * 4):
        assert send_and_collect(running.port, junk, wait=0.1) == []
    assert options(running.port) == [200]


def test_rfc4475_torture_messages(running):
    rows = [l.split("\t") for l in (TORTURE / "expected.tsv").read_text().splitlines()
            if l and not l.startswith("#")]
    assert len(rows) == 49
    report, bad = [], []
    for name, _sec, kind, want, also, *_ in rows:
        data = (TORTURE / f"{name}.sip").read_bytes()
        codes = send_and_collect(running.port, data, wait=0.25)
        final = [c for c in codes if c >= 200]
        if kind == "response":
            assert codes == [], f"{name}: a stray response must get no answer, got {codes}"
            continue
        if name in DEVIATIONS:
            report.append((name, final))
            continue

        def ok(rule, final=final):
            if rule == "none":
                return final == []
            if rule == "-":
                return False
            for alt in rule.split(","):
                if alt.startswith("!"):
                    if final and all(c != int(alt[1:]) for c in final):
                        return True
                elif alt.endswith("xx"):
                    if final and all(str(c)[0] == alt[0] for c in final):
                        return True
                elif int(alt) in final:
                    return True
            return False
        if not (ok(want) or ok(also)):
            bad.append(f"{name}: expected {want} (or {also}), got {codes}")
    assert not bad, "\n".join(bad)
    assert options(running.port) == [200], "server stopped answering after the torture set"
    print("deviations (name, final codes):", report)


def test_normal_call_works_after_malformed_input(running, sipp):
    for drop in ("Call-ID", "CSeq", "Via"):
        send_and_collect(running.port, base_request(drop=drop), wait=0.05)
    send_and_collect(running.port, b"\xde\xad\xbe\xef" * 100, wait=0.05)
    uas = sipp.start("uas_answer.xml", register_callee(sipp))
    r = sipp.run("uac_call.xml", free_port(), service="1001",
                 keys={"dest": "1002", "hold": 200}, extra=["-au", "1001", "-ap", "pw1001"])
    assert r.returncode == 0, r.errors
    assert sipp.wait(uas) == 0, uas.errors


def test_sdp_without_audio_codec_we_support_gets_488(pbx):
    trunk_port = free_port()
    pbx.write_config(extra=f"[trunk t]\nhost = 127.0.0.1\nport = {trunk_port}\ncontext = from_trunk\n")
    pbx.start()
    body = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n")
    msg = ("INVITE sip:1002@127.0.0.1 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP {PORT};branch=z9hG4bKsdp1\r\n"
           "From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:1002@127.0.0.1>\r\n"
           "Call-ID: sdp-1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
           "Contact: <sip:x@127.0.0.1:9>\r\nContent-Type: application/sdp\r\n"
           f"Content-Length: {len(body)}\r\n\r\n{body}")
    # From a trunk's address there is no challenge, so the SDP itself is judged.
    assert 488 in send_and_collect(pbx.port, msg.encode(), local_port=trunk_port)


def run_tamasd_expect_fail(tmp_path, conf_text, *args):
    conf = tmp_path / "bad.conf"
    conf.write_text(conf_text)
    r = subprocess.run([str(TAMASD), "-c", str(conf), *args], capture_output=True,
                       text=True, timeout=20, cwd=tmp_path)
    return conf, r


def test_bad_config_value_names_file_and_line(tmp_path):
    conf, r = run_tamasd_expect_fail(tmp_path, "[sip]\nbind = 127.0.0.1\nport = lots\n")
    assert r.returncode != 0
    assert f"{conf}:3:" in r.stderr and "sip.port" in r.stderr


def test_bad_config_syntax_names_file_and_line(tmp_path):
    conf, r = run_tamasd_expect_fail(tmp_path, "[sip]\nthis line has no equals\n")
    assert r.returncode != 0
    assert f"{conf}:2:" in r.stderr


def test_bad_override_is_reported(tmp_path):
    _, r = run_tamasd_expect_fail(tmp_path, "[sip]\n", "-s", "nodot")
    assert r.returncode != 0 and "-s nodot" in r.stderr


def test_unwritable_store_is_a_clear_startup_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    _, r = run_tamasd_expect_fail(tmp_path, f"""
[sip]
port = {free_port()}
[store]
path = {blocker}/sub/tamas.db
[control]
socket = {tmp_path}/ctl
[dialplan]
file = {tmp_path}/none.lua
""")
    assert r.returncode != 0
    assert "store.path" in r.stderr and str(blocker) in r.stderr


def test_missing_store_directory_is_created(pbx):
    pbx.write_config()
    pbx.start()
    assert pbx.db.exists() and pbx.db.parent.is_dir()


def test_dialplan_syntax_error_refuses_start(tmp_path):
    lua = tmp_path / "x.lua"
    lua.write_text("extensions = {\n  broken = \n")
    _, r = run_tamasd_expect_fail(tmp_path, f"""
[sip]
port = {free_port()}
[store]
path = {tmp_path}/db/t.db
[control]
socket = {tmp_path}/ctl
[dialplan]
file = {lua}
""")
    assert r.returncode != 0
    assert "x.lua:3:" in r.stderr
