"""System-test harness for tamas: ports, the daemon, tamasctl, SIPp, RTP,
raw SIP and baresip.  Standard library only (Debian python3 + pytest).

Everything here is bounded in time: every wait has a deadline and every
process we start is tracked and killed by its PID at teardown.
"""

import base64
import json
import os
import random
import re
import signal
import socket
import sqlite3
import ssl
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
SIPP = os.environ.get("SIPP", "/usr/bin/sipp")
BARESIP = os.environ.get("BARESIP", "/usr/bin/baresip")
BARESIP_MODULES = "/usr/lib/baresip/modules"
HOST = "127.0.0.1"
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def build_dir():
    return Path(os.environ.get("TAMAS_BUILD", "/work/main/build")).resolve()


def wait_until(pred, timeout, interval=0.05, what="condition"):
    """Poll pred() until it returns a truthy value; return it, or raise
    AssertionError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def tail(text, n=60):
    lines = text.splitlines()
    return "\n".join(lines[-n:])


def read_text(path):
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


# ---------------------------------------------------------------- ports

# Ports below the kernel's ephemeral range (32768+) are not handed out to
# other processes' outgoing sockets, so a probed port stays free for us.
_PORT_LO, _PORT_HI = 20000, 32000
_taken = set()


def _bindable(port, udp=True, tcp=True):
    kinds = ([socket.SOCK_DGRAM] if udp else []) + ([socket.SOCK_STREAM] if tcp else [])
    socks = []
    try:
        for k in kinds:
            s = socket.socket(socket.AF_INET, k)
            socks.append(s)
            s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def free_port(udp=True, tcp=True, span=1):
    """A port p such that p..p+span-1 are bindable (UDP and/or TCP) on
    127.0.0.1 and were not handed out before in this session."""
    for _ in range(2000):
        p = random.randrange(_PORT_LO, _PORT_HI - span)
        rng = range(p, p + span)
        if any(q in _taken for q in rng):
            continue
        if all(_bindable(q, udp, tcp) for q in rng):
            _taken.update(rng)
            return p
    raise RuntimeError("no free port found")


# RTP ranges come from their own region, apart from the single ports above,
# so that a long session's scattered single ports never fragment it; a range
# goes back to the pool when its daemon stops (release_port_range).
_RANGE_LO, _RANGE_HI = 33000, 39000
_ranges_held = {}          # base -> length, of ranges in use
_range_cursor = [_RANGE_LO]


def free_port_range(n):
    """An even base port b with b..b+n-1 all free (UDP); for RTP ranges."""
    slots = (_RANGE_HI - _RANGE_LO) // n
    for _ in range(slots):
        b = _range_cursor[0]
        _range_cursor[0] = b + n if b + 2 * n <= _RANGE_HI else _RANGE_LO
        if any(b < hb + hn and hb < b + n for hb, hn in _ranges_held.items()):
            continue
        if all(_bindable(q, True, False) for q in range(b, b + n)):
            _ranges_held[b] = n
            return b, b + n - 1
    raise RuntimeError("no free port range found")


def release_port_range(base):
    _ranges_held.pop(base, None)


def udp_port_bound(port):
    """True when somebody holds UDP port on 127.0.0.1 (used to see that a
    background SIPp has bound its socket)."""
    return not _bindable(port, udp=True, tcp=False)


# ---------------------------------------------------------------- tamasd

DEFAULT_USERS = {"1001": "pw1001", "1002": "pw1002", "1003": "pw1003"}

DEFAULT_DIALPLAN = """\
-- tamas system-test dialplan
local DIAL_TIMEOUT = 3

local function local_call(context, exten)
	app.dial("SIP/" .. exten, DIAL_TIMEOUT)
	app.hangup()
end

extensions = {
	main_routing = {
		["_1XXX"] = local_call,
		-- outbound through the trunk "prov"
		["_0X."] = function(context, exten)
			app.dial("SIP/prov/" .. exten, DIAL_TIMEOUT)
			app.hangup()
		end,
		-- a dialplan bug: Lua runtime error
		["3000"] = function(context, exten)
			local t = nil
			return t.field
		end,
	},
	from_trunk = {
		["5551234"] = function(context, exten)
			app.dial("SIP/1002", DIAL_TIMEOUT)
			app.hangup()
		end,
	},
}
"""


def render_conf(sections):
    """sections: list of (section name, {key: value}); values None are
    left out. Returns the INI text."""
    out = ["; written by tests/system/harness.py"]
    for name, keys in sections:
        out.append(f"[{name}]")
        for k, v in keys.items():
            if v is not None:
                out.append(f"{k} = {v}")
        out.append("")
    return "\n".join(out) + "\n"


class Tamasd:
    """One tamasd under test: its files, ports and process."""

    def __init__(self, workdir, *, users=None, dialplan=None, overrides=None,
                 conf_update=None, trunks=None, sip_port=None, http_port=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.build = build_dir()
        self.tamasd_bin = self.build / "tamasd"
        self.tamasctl_bin = self.build / "tamasctl"
        self.sip_port = sip_port or free_port(udp=True, tcp=True)
        self.rtp_min, self.rtp_max = free_port_range(64)
        self.prov_port = free_port(udp=True, tcp=True)   # trunk "prov"
        self.http_port = http_port or free_port(udp=False, tcp=True)   # REST API
        self.users = dict(DEFAULT_USERS if users is None else users)
        self.realm = "tamas"
        self.db_path = self.workdir / "db" / "tamas.db"
        # AF_UNIX paths are limited to 108 bytes; pytest tmp paths can be long.
        sockdir = self.workdir
        if len(str(sockdir / "tamasd.ctl")) > 100:
            sockdir = Path(tempfile.mkdtemp(prefix="tms"))
        self.ctl_sock = sockdir / "tamasd.ctl"
        self.conf_path = self.workdir / "tamas.conf"
        self.dialplan_path = self.workdir / "extensions.lua"
        self.stderr_path = self.workdir / "tamasd.stderr"
        self.overrides = list(overrides or [])       # ["sip.x=y", ...] for -s
        self.trunks = trunks if trunks is not None else {
            "prov": {"host": HOST, "port": self.prov_port, "context": "from_trunk"},
        }
        self.user_opts = {}                          # {ext: {key: value}} extra user keys
        self.proc = None
        self.exit_code = None
        self.stopped_by_us = False
        self.conf = self.default_conf()
        for section, keys in (conf_update or {}).items():
            self.conf.setdefault(section, {}).update(keys)
        self.write_dialplan(DEFAULT_DIALPLAN if dialplan is None else dialplan)

    # -- configuration
    def default_conf(self):
        return {
            "general": {"log_level": "debug"},
            "sip": {"bind": HOST, "port": self.sip_port, "realm": self.realm,
                    "dial_timeout": 10, "min_expires": 1, "max_expires": 3600},
            "rtp": {"bind": HOST, "port_min": self.rtp_min, "port_max": self.rtp_max},
            "store": {"path": self.db_path},
            "control": {"socket": self.ctl_sock},
            "dialplan": {"file": self.dialplan_path},
            "media": {"recordings_dir": self.workdir / "recordings",
                      "tts_cache": self.workdir / "tts"},
            "http": {"bind": HOST, "port": self.http_port},
        }

    def conf_text(self):
        sections = list(self.conf.items())
        for ext, pw in self.users.items():
            sections.append((f"user {ext}", dict({"password": pw, "context": "main_routing"},
                                                 **self.user_opts.get(ext, {}))))
        for name, keys in self.trunks.items():
            sections.append((f"trunk {name}", keys))
        return render_conf(sections)

    def write_conf(self, text=None):
        self.conf_path.write_text(self.conf_text() if text is None else text)

    def write_dialplan(self, text):
        self.dialplan_path.write_text(text)

    @property
    def target(self):
        return f"{HOST}:{self.sip_port}"

    # -- process
    def argv(self, extra=()):
        argv = [str(self.tamasd_bin), "-c", str(self.conf_path)]
        for o in self.overrides:
            argv += ["-s", o]
        return argv + list(extra)

    def spawn(self, extra=(), write_conf=True):
        """Start the process without waiting for readiness."""
        assert self.proc is None, "tamasd already started"
        if not self.tamasd_bin.exists():
            raise AssertionError(f"{self.tamasd_bin} not built (set TAMAS_BUILD)")
        if write_conf and not self.conf_path.exists():
            self.write_conf()
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self._stderr_f = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self.argv(extra), cwd=self.workdir,
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._stderr_f, stderr=self._stderr_f,
                                     start_new_session=True)
        return self.proc

    def start(self, timeout=10, extra=()):
        self.spawn(extra)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.exit_code = self.proc.returncode
                raise AssertionError(
                    f"tamasd exited with {self.exit_code} during startup:\n"
                    + tail(self.stderr()))
            r = self.ctl("registrations", check=False, timeout=2)
            if r.returncode == 0:
                return
            time.sleep(0.05)
        raise AssertionError(f"tamasd not ready after {timeout}s:\n" + tail(self.stderr()))

    def wait_exit(self, timeout):
        """For daemons expected to fail: wait for exit, return the code."""
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"tamasd still running after {timeout}s:\n"
                                 + tail(self.stderr()))
        return self.exit_code

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def assert_alive(self):
        if not self.alive():
            raise AssertionError(f"tamasd died (exit {self.proc.returncode}):\n"
                                 + tail(self.stderr()))

    def stop(self, timeout=5):
        """SIGTERM, then SIGKILL after timeout. Returns the exit code (or
        None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.stopped_by_us = True
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.exit_code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.exit_code = None
        else:
            self.exit_code = self.proc.returncode
        if not self._stderr_f.closed:
            self._stderr_f.close()
        release_port_range(self.rtp_min)
        return self.exit_code

    def stderr(self):
        return read_text(self.stderr_path)

    def sanitizer_report(self):
        text = self.stderr()
        if any(m in text for m in SANITIZER_MARKERS):
            return text
        return None

    # -- tamasctl
    def ctl(self, *args, check=True, timeout=5):
        argv = [str(self.tamasctl_bin), "-S", str(self.ctl_sock)] + [str(a) for a in args]
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"tamasctl {' '.join(map(str, args))} hung for {timeout}s")
        if check and r.returncode != 0:
            raise AssertionError(f"tamasctl {' '.join(map(str, args))} -> {r.returncode}: "
                                 f"{r.stdout}{r.stderr}")
        return r

    def ctl_json(self, *args):
        """Run a tamasctl command and parse its output as JSON lines."""
        r = self.ctl(*args)
        return parse_json_lines(r.stdout)

    # -- REST API
    @property
    def api_url(self):
        scheme = "https" if self.conf.get("http", {}).get("tls_cert") else "http"
        return f"{scheme}://{HOST}:{self.http_port}"

    def api(self, path, body=None, **kw):
        """POST path (e.g. "pbx/users/add") under /api/v4/ to this daemon's
        REST API; see http_call for the keywords."""
        prefix = kw.pop("prefix", "/api/v4/")
        return http_call(self.api_url + prefix + path, body, **kw)

    def registrations(self):
        return self.ctl_json("registrations")

    def is_registered(self, ext):
        return any(mentions_ext(o, ext) for o in self.registrations())

    def channels(self):
        return self.ctl_json("channels")

    def channel_names(self):
        """Names of the live channels (the "channel"/"name" field of each
        JSON line of `tamasctl channels`)."""
        names = []
        for o in self.channels():
            cands = [o.get(k) for k in ("channel", "name")] if isinstance(o, dict) else []
            cands = [c for c in cands if isinstance(c, str)] or list(iter_strings(o))[:1]
            for v in cands:
                if re.fullmatch(r"SIP/[^\s]+-[0-9a-fA-F]{8}", v):
                    names.append(v)
                    break
        return names

    # -- CDRs
    def cdr_rows(self):
        if not self.db_path.exists():
            return []
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=2)
        try:
            con.row_factory = sqlite3.Row
            try:
                return [dict(r) for r in con.execute("SELECT * FROM cdr ORDER BY rowid")]
            except sqlite3.OperationalError as e:
                if "no such table" in str(e) or "locked" in str(e):
                    return []
                raise
        finally:
            con.close()

    def wait_cdrs(self, count, timeout=5):
        """Wait until at least count CDR rows exist; return all rows."""
        def enough():
            rows = self.cdr_rows()
            return rows if len(rows) >= count else None
        try:
            return wait_until(enough, timeout, interval=0.1, what=f"{count} CDR row(s)")
        except AssertionError:
            raise AssertionError(f"expected {count} CDR row(s), have {self.cdr_rows()}")


class HttpResult:
    """status, headers (lower-case names), raw body bytes, and json (the
    parsed body, or None when it is not JSON)."""

    def __init__(self, status, reason, headers, raw):
        self.status, self.reason, self.headers, self.raw = status, reason, headers, raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<HTTP {self.status} {self.reason} {self.raw[:300]!r}>"


def http_call(url, body=None, *, method="POST", user=None, password=None, key=None,
              content_type="application/json", headers=None, timeout=5):
    """One HTTP request with urllib. body: dict/list (sent as JSON), bytes,
    or None (no body). user/password: HTTP Basic; key: X-APIKEY. HTTPS is
    not verified (tests use self-signed certificates)."""
    hdrs = dict(headers or {})
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    if data is not None and content_type:
        hdrs.setdefault("Content-Type", content_type)
    if user is not None:
        cred = base64.b64encode(f"{user}:{password}".encode()).decode()
        hdrs["Authorization"] = f"Basic {cred}"
    if key is not None:
        hdrs["X-APIKEY"] = key
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    ctx = ssl._create_unverified_context() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
            return HttpResult(r.status, r.reason, {k.lower(): v for k, v in r.headers.items()},
                              r.read())
    except urllib.error.HTTPError as e:
        return HttpResult(e.code, e.reason, {k.lower(): v for k, v in e.headers.items()},
                          e.read())


def parse_json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"tamasctl printed a non-JSON line: {line!r}")
    return out


def iter_strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from iter_strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from iter_strings(v)


def mentions_ext(obj, ext):
    """Does a JSON object (a registration, a user) refer to extension ext?"""
    ext = str(ext)
    if isinstance(obj, dict):
        for k, v in obj.items():
            if "port" in k.lower():
                continue
            if v == ext or (isinstance(v, int) and str(v) == ext):
                return True
            if isinstance(v, (dict, list)) and mentions_ext(v, ext):
                return True
            if isinstance(v, str) and re.search(rf"\bsips?:{re.escape(ext)}@", v):
                return True
        return False
    if isinstance(obj, list):
        return any(mentions_ext(v, ext) for v in obj)
    return obj == ext


# ---------------------------------------------------------------- SIPp

class SippResult:
    def __init__(self, name, argv, rc, files):
        self.name, self.argv, self.rc, self.files = name, argv, rc, files

    def text(self, which):
        return read_text(self.files[which])

    @property
    def messages(self):
        return self.text("msg")

    def received(self, first_line_re):
        """The SIP messages in the message log whose first line matches."""
        return [m for m in split_sipp_messages(self.messages, "received")
                if re.match(first_line_re, m)]

    def report(self):
        return (f"sipp {self.name} exited {self.rc}\n"
                f"command: {' '.join(self.argv)}\n"
                f"--- errors ---\n{tail(self.text('err'), 40)}\n"
                f"--- logs ---\n{tail(self.text('log'), 20)}\n"
                f"--- stdout ---\n{tail(self.text('out'), 15)}\n"
                f"--- messages ---\n{tail(self.messages, 80)}")

    def check(self, ok=True):
        if ok and self.rc != 0:
            raise AssertionError(self.report())
        if not ok and self.rc == 0:
            raise AssertionError("scenario unexpectedly succeeded\n" + self.report())
        return self


def split_sipp_messages(log, direction):
    """Parse SIPp's -trace_msg log into the texts of the messages that were
    'received' or 'sent'."""
    out = []
    for block in re.split(r"^-{20,} [^\n]*\n", log, flags=re.M)[1:]:
        first, _, rest = block.partition("\n")
        if direction in first:
            out.append(rest.lstrip("\r\n"))
    return out


class SippProc:
    """A SIPp run in the background."""

    def __init__(self, runner, name, argv, files, port):
        self.runner, self.name, self.argv, self.files, self.port = runner, name, argv, files, port
        self._out = open(files["out"], "wb")
        self.proc = subprocess.Popen(argv, cwd=runner.workdir, stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.result = None

    def wait_bound(self, timeout=5):
        """Wait until this SIPp holds its SIP port (it is listening)."""
        def bound():
            if self.proc.poll() is not None:
                raise AssertionError(f"sipp {self.name} exited early:\n"
                                     + SippResult(self.name, self.argv, self.proc.returncode,
                                                  self.files).report())
            return udp_port_bound(self.port)
        wait_until(bound, timeout, what=f"sipp {self.name} to bind {self.port}")
        return self

    def wait(self, timeout=None, check=True):
        if self.result is None:
            t = timeout if timeout is not None else self.runner.default_timeout + 5
            try:
                rc = self.proc.wait(t)
            except subprocess.TimeoutExpired:
                self.kill()
                rc = "killed (hung)"
            self._out.close()
            self.result = SippResult(self.name, self.argv, rc, self.files)
        if check:
            self.result.check(True)
        return self.result

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if not self._out.closed:
            self._out.close()


class Sipp:
    """Runs SIPp scenarios from tests/system/scenarios against a target."""

    def __init__(self, workdir, target=None, default_timeout=15):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.target = target
        self.default_timeout = default_timeout
        self.procs = []
        self._n = 0

    def argv(self, scenario, *, port, keys=None, sets=None, user=None, password=None,
             service=None, timeout=None, calls=1, hold_ms=None, remote=None,
             rtp_echo=False, extra=(), media_port=None):
        self._n += 1
        name = f"{self._n:02d}-{Path(scenario).stem}"
        files = {k: self.workdir / f"{name}.{k}" for k in ("err", "msg", "log", "out")}
        media_port = media_port or free_port(udp=True, tcp=False, span=4)
        keys = dict(keys or {})
        keys.setdefault("rtp_port", media_port)
        keys.setdefault("media_file", self.workdir / f"{name}.media")
        files["media"] = Path(keys["media_file"])
        t = timeout or self.default_timeout
        path = Path(scenario)
        if not path.is_absolute():
            path = SCENARIOS / (scenario if scenario.endswith(".xml") else scenario + ".xml")
        argv = [SIPP, "-sf", str(path), "-m", str(calls), "-i", HOST, "-p", str(port),
                "-cp", str(free_port(udp=True, tcp=True)),
                "-mi", HOST, "-mp", str(media_port),
                "-nostdin", "-aa",
                "-timeout", f"{t}s", "-timeout_error",
                "-trace_err", "-error_file", str(files["err"]),
                "-trace_msg", "-message_file", str(files["msg"]),
                "-trace_logs", "-log_file", str(files["log"])]
        for k, v in keys.items():
            argv += ["-key", k, str(v)]
        for k, v in (sets or {}).items():
            argv += ["-set", k, str(v)]
        if user is not None:
            argv += ["-au", str(user)]
        if password is not None:
            argv += ["-ap", str(password)]
        remote = remote if remote is not None else self.target
        if service is not None:
            argv += ["-s", str(service)]
            if user is not None and remote:
                # SIPp puts "sip:<remote>" in the digest uri by default; make
                # it the Request-URI of our INVITEs (sip:service@remote).
                argv += ["-auth_uri", f"{service}@{remote}"]
        if hold_ms is not None:
            argv += ["-d", str(hold_ms)]
        if rtp_echo:
            argv += ["-rtp_echo"]
        argv += list(extra)
        if remote:
            argv.append(remote)
        return name, argv, files

    def run(self, scenario, *, port=None, check=True, **kw):
        """Run a scenario to completion (foreground)."""
        port = port or free_port(udp=True, tcp=True)
        p = self.start(scenario, port=port, **kw)
        return p.wait(check=check)

    def start(self, scenario, *, port=None, **kw):
        """Start a scenario in the background; returns a SippProc."""
        port = port or free_port(udp=True, tcp=True)
        name, argv, files = self.argv(scenario, port=port, **kw)
        p = SippProc(self, name, argv, files, port)
        self.procs.append(p)
        return p

    def kill_all(self):
        for p in self.procs:
            p.kill()


def read_media_file(path, timeout=8):
    """Wait for the "IP PORT" line a scenario writes when it learns the
    remote media address from SDP."""
    path = Path(path)

    def ready():
        if path.exists():
            parts = path.read_text().split()
            if len(parts) >= 2:
                return parts[0], int(parts[1])
        return None
    return wait_until(ready, timeout, what=f"media address in {path.name}")


# ---------------------------------------------------------------- RTP

def rtp_packet(seq, ts, ssrc, payload, pt=0):
    return struct.pack("!BBHII", 0x80, pt & 0x7F, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


class RtpEndpoint:
    """A UDP socket playing one side's media."""

    def __init__(self, port=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if port is None:
            port = free_port(udp=True, tcp=False, span=2)
        self.sock.bind((HOST, port))
        self.port = port
        self.sock.setblocking(False)
        self.received = []     # (payload, src)
        self.seq = random.randrange(0, 30000)
        self.ts = random.randrange(0, 1 << 30)
        self.ssrc = random.randrange(1, 1 << 31)

    def send(self, dest, marker, pt=0):
        payload = marker + bytes([0xFF]) * (160 - len(marker))
        self.sock.sendto(rtp_packet(self.seq, self.ts, self.ssrc, payload, pt), dest)
        self.seq += 1
        self.ts += 160

    def drain(self):
        while True:
            try:
                data, src = self.sock.recvfrom(4096)
            except (BlockingIOError, InterruptedError):
                return
            if len(data) >= 12:
                self.received.append((data[12:], src))

    def count(self, marker):
        return sum(1 for p, _ in self.received if marker in p)

    def close(self):
        self.sock.close()


def exchange_rtp(a, a_dest, b, b_dest, n=50, interval=0.02):
    """Send n packets each way at the same time (so latching relays see both
    sides), then give stragglers a moment. Markers identify the sender."""
    for _ in range(n):
        a.send(a_dest, b"TAMAS-FROM-A")
        b.send(b_dest, b"TAMAS-FROM-B")
        time.sleep(interval)
        a.drain()
        b.drain()
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        a.drain()
        b.drain()
        time.sleep(0.02)


# ---------------------------------------------------------------- raw SIP

class RawSip:
    """A UDP socket that speaks SIP by hand (for malformed input)."""

    def __init__(self, target_port, port=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, port or 0))
        self.port = self.sock.getsockname()[1]
        self.dest = (HOST, target_port)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendto(data, self.dest)

    def responses(self, wait=1.0, until_final=True):
        """Collect responses for up to wait seconds; with until_final stop at
        the first final (>= 200) response."""
        out = []
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                return out
            r = parse_response(data)
            if r is None:
                out.append({"code": None, "raw": data})
                continue
            out.append(r)
            if until_final and r["code"] >= 200:
                return out

    def close(self):
        self.sock.close()


def parse_response(data):
    """Parse a SIP response into {code, reason, headers(lowercase name ->
    [values]), raw}; None if it is not a response."""
    text = data.decode("utf-8", errors="replace")
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
    if not m:
        return None
    headers = {}
    compact = {"v": "via", "i": "call-id", "f": "from", "t": "to", "l": "content-length",
               "m": "contact", "c": "content-type"}
    for line in lines[1:]:
        if ":" not in line:
            continue
        k, v = line.split(":", 1)
        k = k.strip().lower()
        k = compact.get(k, k)
        headers.setdefault(k, []).append(v.strip())
    return {"code": int(m.group(1)), "reason": m.group(2), "headers": headers, "raw": data}


def sip_request(method, ruri, port, *, call_id=None, cseq=None, branch=None,
                extra_headers=(), body="", omit=(), content_length=None,
                from_user="probe", to_user="probe"):
    """Build a request whose Via points back at 127.0.0.1:port. omit: header
    names to leave out ("Via", "Call-ID", "CSeq", ...)."""
    call_id = call_id or f"{random.getrandbits(64):x}@systest"
    branch = branch or f"z9hG4bK{random.getrandbits(48):x}"
    cseq = cseq or f"1 {method}"
    hdrs = [
        ("Via", f"SIP/2.0/UDP {HOST}:{port};branch={branch};rport"),
        ("Max-Forwards", "70"),
        ("From", f"<sip:{from_user}@{HOST}:{port}>;tag={random.getrandbits(32):x}"),
        ("To", f"<sip:{to_user}@{HOST}>"),
        ("Call-ID", call_id),
        ("CSeq", cseq),
        ("Contact", f"<sip:{from_user}@{HOST}:{port}>"),
    ]
    hdrs = [(k, v) for k, v in hdrs if k not in omit]
    hdrs += list(extra_headers)
    if body and not any(k.lower() == "content-type" for k, _ in hdrs):
        hdrs.append(("Content-Type", "application/sdp"))
    if "Content-Length" not in omit:
        cl = len(body.encode()) if content_length is None else content_length
        hdrs.append(("Content-Length", str(cl)))
    text = f"{method} {ruri} SIP/2.0\r\n"
    text += "".join(f"{k}: {v}\r\n" for k, v in hdrs)
    return (text + "\r\n" + body).encode()


def options_alive(target_port, timeout=2.0):
    """Send OPTIONS; return the response code (any SIP answer means alive)."""
    raw = RawSip(target_port)
    try:
        raw.send(sip_request("OPTIONS", f"sip:{HOST}:{target_port}", raw.port))
        rs = [r for r in raw.responses(timeout) if r.get("code")]
        return rs[-1]["code"] if rs else None
    finally:
        raw.close()


# ---------------------------------------------------------------- audio

def make_tone_wav(path, freq=1000, seconds=20, rate=8000):
    """1 kHz 16-bit mono WAV with sox (as baresip's aufile wants)."""
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", "1", "-b", "16",
                    "-e", "signed-integer", str(path), "synth", str(seconds),
                    "sine", str(freq), "vol", "0.5"], check=True, timeout=20,
                   capture_output=True)
    return path


def dominant_frequency(path, threshold=1000):
    """Estimate the frequency of a tone in a 16-bit mono WAV by counting
    zero crossings over the loud part. Returns (hz, loud_seconds)."""
    import wave
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        rate = w.getframerate()
        n = w.getnframes()
        data = w.readframes(n)
    samples = struct.unpack(f"<{n}h", data)
    loud = [i for i, s in enumerate(samples) if abs(s) > threshold]
    if len(loud) < rate // 2:
        return 0.0, len(loud) / rate
    seg = samples[loud[0]:loud[-1] + 1]
    zc = sum(1 for x, y in zip(seg, seg[1:]) if (x < 0) != (y < 0))
    return zc / 2 / (len(seg) / rate), len(seg) / rate


# ---------------------------------------------------------------- baresip

def netstring(obj):
    b = json.dumps(obj).encode()
    return str(len(b)).encode() + b":" + b + b","


class Baresip:
    """A baresip 1.0.0 instance with its own config dir, driven through the
    ctrl_tcp module (netstring JSON commands and events)."""

    def __init__(self, workdir, name, account, tone_wav):
        self.dir = Path(workdir) / name
        self.rec = self.dir / "rec"
        self.rec.mkdir(parents=True, exist_ok=True)
        self.name = name
        # baresip also binds TLS on sip port + 1
        self.sip_port = free_port(udp=True, tcp=True, span=2)
        self.ctrl_port = free_port(udp=False, tcp=True)
        rtp_lo, rtp_hi = free_port_range(20)
        (self.dir / "config").write_text(f"""\
poll_method epoll
sip_listen {HOST}:{self.sip_port}
audio_source aufile,{tone_wav}
audio_buffer 20-160
rtp_ports {rtp_lo}-{rtp_hi}
module_path {BARESIP_MODULES}
module g711.so
module aufile.so
module sndfile.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen {HOST}:{self.ctrl_port}
snd_path {self.rec}
""")
        (self.dir / "accounts").write_text(account + "\n")
        (self.dir / "contacts").write_text("")
        self.log_path = self.dir / "baresip.log"
        self.proc = None
        self.conn = None
        self.buf = b""
        self.events = []

    def start(self, timeout=5):
        self._log = open(self.log_path, "wb")
        # -n with an IP makes baresip use 127.0.0.1 in SDP/Contact
        self.proc = subprocess.Popen([BARESIP, "-n", HOST, "-f", str(self.dir)],
                                     cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

        def connect():
            if self.proc.poll() is not None:
                raise AssertionError(f"baresip {self.name} exited:\n{self.log()}")
            try:
                return socket.create_connection((HOST, self.ctrl_port), timeout=1)
            except OSError:
                return None
        self.conn = wait_until(connect, timeout, what=f"baresip {self.name} ctrl_tcp")
        self.conn.setblocking(False)
        return self

    def command(self, command, params=None):
        msg = {"command": command, "token": f"t{len(self.events)}"}
        if params is not None:
            msg["params"] = params
        self.conn.sendall(netstring(msg))

    def _pump(self):
        while True:
            try:
                data = self.conn.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            if not data:
                break
            self.buf += data
        while True:
            m = re.match(rb"(\d+):", self.buf)
            if not m:
                break
            n = int(m.group(1))
            start = m.end()
            if len(self.buf) < start + n + 1:
                break
            try:
                self.events.append(json.loads(self.buf[start:start + n]))
            except ValueError:
                pass
            self.buf = self.buf[start + n + 1:]

    def wait_event(self, type_, timeout):
        def seen():
            self._pump()
            return next((e for e in self.events if e.get("type") == type_), None)
        try:
            return wait_until(seen, timeout, what=f"baresip {self.name} event {type_}")
        except AssertionError:
            raise AssertionError(f"baresip {self.name}: no {type_} within {timeout}s; "
                                 f"events {[e.get('type') for e in self.events]}\n"
                                 + tail(self.log(), 40))

    def log(self):
        return read_text(self.log_path)

    def recordings(self, kind="dec"):
        return sorted(self.rec.glob(f"dump-*-{kind}.wav"))

    def stop(self, timeout=5):
        if self.conn:
            self.conn.close()
            self.conn = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc and not self._log.closed:
            self._log.close()


# ---------------------------------------------------------------- scenario shortcuts

def register(sipp, tamas, ext, port, *, expires=3600, password=None,
             scenario="register", check=True, **kw):
    """REGISTER ext from local port `port` (so its contact is that port)."""
    return sipp.run(scenario, port=port, keys={"ext": ext, "expires": expires},
                    user=ext, password=password if password is not None else tamas.users[ext],
                    check=check, **kw)


def start_callee(sipp, tamas, ext, scenario="uas_answer", *, keys=None, **kw):
    """Register ext from a fresh port, then start a UAS scenario on that same
    port in the background (so tamasd's INVITE reaches it)."""
    port = free_port()
    register(sipp, tamas, ext, port)
    p = sipp.start(scenario, port=port, keys=dict({"ext": ext}, **(keys or {})),
                   remote="", **kw)
    p.wait_bound()
    return p


def call(sipp, tamas, caller, dialled, scenario="uac_call", *, background=False,
         keys=None, password=None, **kw):
    """Call `dialled` as user `caller` (digest credentials from tamas.users)."""
    run = sipp.start if background else sipp.run
    return run(scenario, keys=dict({"ext": caller}, **(keys or {})), service=dialled,
               user=caller, password=password if password is not None else tamas.users[caller],
               **kw)


CHANNEL_RE = r"SIP/{}-[0-9a-fA-F]{{8}}"


def check_cdr(row, *, src, dst, disposition, dcontext="main_routing",
              caller=None, callee=None):
    """Assert the Asterisk-shaped CDR columns of one row. caller/callee:
    the endpoint names expected in channel/dstchannel (callee=None: do not
    check dstchannel)."""
    cols = ("calldate", "start", "answer", "end", "clid", "src", "dst", "dcontext",
            "channel", "dstchannel", "lastapp", "lastdata", "duration", "billsec",
            "disposition", "uniqueid", "linkedid", "userfield", "accountcode")
    missing = [c for c in cols if c not in row]
    assert not missing, f"cdr table lacks columns {missing}: {row}"
    assert str(row["src"]) == str(src), row
    assert str(row["dst"]) == str(dst), row
    assert row["dcontext"] == dcontext, row
    assert row["disposition"] == disposition, row
    if caller:
        assert re.fullmatch(CHANNEL_RE.format(re.escape(caller)), row["channel"] or ""), row
    if callee:
        assert re.fullmatch(CHANNEL_RE.format(re.escape(callee)), row["dstchannel"] or ""), row
    assert row["uniqueid"], row
    assert row["linkedid"], row
    duration, billsec = int(row["duration"]), int(row["billsec"])
    assert 0 <= billsec <= duration, row
    if disposition != "ANSWERED":
        assert billsec == 0, row
    return row
