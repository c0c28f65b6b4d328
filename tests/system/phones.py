"""System-test fixtures (import them into a test module): a real tamasd process, SIPp phones and trunks on 127.0.0.1.

Every process a test starts is tracked by PID and stopped at teardown, even on
failure. Every wait is bounded.
"""
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCEN = HERE / "sipp"
BUILD = Path(os.environ.get("TAMAS_BUILD", REPO / "build"))
TAMASD = BUILD / "tamasd"
TAMASCTL = BUILD / "tamasctl"

_used_ports = set()


def free_port(udp_and_tcp=True, step=1):
    """A port free for UDP and TCP on 127.0.0.1 (and port+1 when step=2)."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port in _used_ports or port > 60000:
            continue
        ok = True
        for p in range(port, port + step):
            for kind in ((socket.SOCK_DGRAM, socket.SOCK_STREAM) if udp_and_tcp
                         else (socket.SOCK_DGRAM,)):
                t = socket.socket(socket.AF_INET, kind)
                try:
                    t.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                finally:
                    t.close()
        if ok:
            _used_ports.update(range(port, port + step))
            return port
    raise RuntimeError("no free port")


DEFAULT_DIALPLAN = """
extensions = {
  main_routing = {
    ["_1XXX"] = function(c, e)
      app.dial("SIP/" .. e, 4)
      app.hangup()
    end,
    ["_0X."] = function(c, e)
      app.dial("SIP/prov/" .. e, 5)
      app.hangup()
    end,
  },
  from_trunk = {
    ["_X."] = function(c, e)
      app.dial("SIP/1002", 5)
      app.hangup()
    end,
  },
}
"""


class Tamas:
    """One tamasd under test, with its own ports, database and control socket."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = free_port()
        rtp = free_port(step=1)
        self.rtp_min = 40000 + (rtp % 100) * 200
        self.rtp_max = self.rtp_min + 199
        self.db = tmp / "db" / "tamas.db"
        self.sock = tmp / "ctl.sock"
        self.dialplan = tmp / "extensions.lua"
        self.conf = tmp / "tamas.conf"
        self.log = tmp / "tamasd.log"
        self.proc = None
        self.extra_conf = ""

    def write_config(self, dialplan=DEFAULT_DIALPLAN, extra="", overrides=None):
        self.dialplan.write_text(dialplan)
        self.conf.write_text(f"""
[general]
log_level = debug

[sip]
bind = 127.0.0.1
port = {self.port}
realm = tamas
dial_timeout = 20
min_expires = 1

[rtp]
bind = 127.0.0.1
port_min = {self.rtp_min}
port_max = {self.rtp_max}

[store]
path = {self.db}

[control]
socket = {self.sock}

[http]
enabled = no

[dialplan]
file = {self.dialplan}
{extra}
""")

    def start(self, args=(), wait=True):
        self.logf = open(self.log, "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self.proc = subprocess.Popen([str(TAMASD), "-c", str(self.conf), *args],
                                     stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=env, cwd=self.tmp)
        if wait:
            deadline = time.time() + 15
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"tamasd exited {self.proc.returncode}:\n{self.logtext()}")
                if self.ctl("status", check=False).returncode == 0:
                    return self
                time.sleep(0.05)
            raise AssertionError("tamasd did not become ready\n" + self.logtext())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            self.logf.close()
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc

    def logtext(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def ctl(self, *args, check=True, timeout=10):
        r = subprocess.run([str(TAMASCTL), "-S", str(self.sock), *args],
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"tamasctl {' '.join(args)} failed: {r.stderr}")
        return r

    def ctl_json(self, *args):
        out = self.ctl(*args).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def add_user(self, ext, pw, context=None):
        args = ["user", "add", ext, pw] + (["--context", context] if context else [])
        self.ctl(*args)

    def cdrs(self):
        con = sqlite3.connect(str(self.db), timeout=5)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute("SELECT * FROM cdr ORDER BY id")]
        finally:
            con.close()

    def wait_cdrs(self, n, timeout=10):
        deadline = time.time() + timeout
        rows = []
        while time.time() < deadline:
            rows = self.cdrs()
            if len(rows) >= n:
                return rows
            time.sleep(0.1)
        raise AssertionError(f"expected {n} CDR rows, got {rows}")

    def wait_log(self, pattern, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if re.search(pattern, self.logtext()):
                return True
            time.sleep(0.1)
        raise AssertionError(f"log never matched {pattern!r}:\n{self.logtext()[-3000:]}")


class Sipp:
    """Runs SIPp scenarios against tamasd; background ones are tracked."""

    def __init__(self, tmp: Path, target_port: int):
        self.tmp = tmp
        self.target = f"127.0.0.1:{target_port}"
        self.bg = []
        self.n = 0

    def scenario(self, name, **subst):
        src = SCEN / name
        if not src.exists():
            src = SCEN / (name + ".in")
            text = src.read_text()
            for k, v in subst.items():
                text = text.replace(f"@{k.upper()}@", str(v))
            dst = self.tmp / f"{name}.{'_'.join(str(v) for v in subst.values())}.xml"
            dst.write_text(text)
            return dst
        return src

    def _cmd(self, scen, port, service, keys, extra, media_port, remote=True):
        self.n += 1
        if not isinstance(scen, Path):
            scen = self.scenario(scen)
        tag = f"{Path(scen).stem}.{self.n}"
        cmd = ["sipp"] + ([self.target] if remote else []) + [
            "-sf", str(scen), "-i", "127.0.0.1", "-p", str(port), "-m", "1",
            "-s", service, "-nostdin", "-timeout_error",
            "-trace_err", "-error_file", str(self.tmp / f"{tag}.err"),
            "-trace_msg", "-message_file", str(self.tmp / f"{tag}.msg"),
            "-mi", "127.0.0.1", "-mp", str(media_port or free_port(False, 2)),
        ]
        keys = dict(keys)
        keys.setdefault("mport", free_port(False, 2))
        if "hold" in keys:   # <pause/> takes -d; keys can't set a pause
            cmd += ["-d", str(keys.pop("hold"))]
        for k, v in keys.items():
            cmd += ["-key", k, str(v)]
        return cmd + list(extra), tag

    def run(self, scen, port, service="1001", keys=None, extra=(), timeout=30,
            media_port=None, remote=True):
        keys = dict(keys or {})
        cmd, tag = self._cmd(scen, port, service, keys, extra, media_port, remote)
        cmd += ["-timeout", f"{timeout}s"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10)
        r.tag = tag
        r.errors = self.read(tag, "err")
        r.messages = self.read(tag, "msg")
        return r

    def start(self, scen, port, service="1002", keys=None, extra=(), timeout=30,
              media_port=None, remote=False):
        cmd, tag = self._cmd(scen, port, service, dict(keys or {}), extra, media_port,
                             remote=remote)
        cmd += ["-timeout", f"{timeout}s"]
        out = open(self.tmp / f"{tag}.out", "w")
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        p.tag = tag
        p.outfile = out
        self.bg.append(p)
        time.sleep(0.3)
        return p

    def wait(self, p, timeout=40):
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
            rc = -9
        p.outfile.close()
        p.errors = self.read(p.tag, "err")
        p.output = self.read(p.tag, "out")
        return rc

    def read(self, tag, kind):
        f = self.tmp / f"{tag}.{kind}"
        return f.read_text(errors="replace") if f.exists() else ""

    def register(self, ext, pw, port, expires=300, final=200):
        scen = self.scenario("register.xml", final=final)
        return self.run(scen, port, service=ext, keys={"expires": expires},
                        extra=["-au", ext, "-ap", pw], timeout=15)

    def stop_all(self):
        for p in self.bg:
            if p.poll() is None:
                p.kill()
                p.wait(5)
            if not p.outfile.closed:
                p.outfile.close()


SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:")


@pytest.fixture
def pbx(tmp_path, request):
    t = Tamas(tmp_path)
    yield t
    rc = t.stop()
    text = t.logtext()
    if SANITIZER.search(text):
        pytest.fail("sanitizer report in tamasd output:\n" + text[-6000:])
    if not getattr(t, "expect_exit", False) and rc not in (0, None):
        pytest.fail(f"tamasd exited with {rc}:\n" + text[-4000:])


@pytest.fixture
def sipp(tmp_path, pbx):
    s = Sipp(tmp_path, pbx.port)
    yield s
    s.stop_all()


@pytest.fixture
def running(pbx):
    """tamasd with the default test dialplan and users 1001/1002."""
    pbx.write_config()
    pbx.start()
    pbx.add_user("1001", "pw1001")
    pbx.add_user("1002", "pw1002")
    return pbx

