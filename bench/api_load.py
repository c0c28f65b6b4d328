#!/usr/bin/env python3
"""api_load.py: the tamas_api phase of bench/run.sh (issue 6).

Drives POST /api/v4/call/originate/act at a ramp of target rates against a
running tamasd, with a local webhook receiver, and writes results.md and
summary.env into --out. Standard library only.

Per rate step (T seconds at R requests/s, R*T requests on a fixed schedule):
- N worker threads, each with one keep-alive http.client connection, send
  request i at t0 + i/R; latency is from send to the whole response read;
  "lag" is how late the driver sent a request against its schedule.
- a request is ok when HTTP 200 and {"success":1} with an originated_call_id;
- calls completed: CDR rows written after the step started (sqlite3,
  read-only) with that originated_call_id and disposition ANSWERED;
- webhooks: every delivery the receiver got during the step and its drain,
  per event name, per second; the outbox (tamasd's table of events not yet
  acknowledged) is sampled for its backlog and the time it took to empty.
A step is sustained only when every request succeeded, every originated
call completed ANSWERED and the driver kept to its schedule; the ramp stops
at the first step that is not.
Every wait is bounded; the receiver and workers are threads of this process.
"""
import argparse
import base64
import collections
import http.client
import http.server
import itertools
import json
import os
import sqlite3
import sys
import threading
import time

from procstat import HZ, other_pct, rss_kib, sysbusy, ticks


def log(msg):
    print("[api_load %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


# ------------------------------------------------------------ /proc sampling
def own_ticks():
    t = os.times()
    return (t.user + t.system) * HZ


def wait_quiet(a):
    """Until other processes take < --quiet-pct of a core (bounded by --quiet-max s):
    the box is shared, and a step measured under foreign load says little."""
    waited, other = 0.0, 0
    while True:
        other = other_pct(lambda: ticks(a.pid) + ticks(a.uas_pid) + own_ticks())
        waited += 2
        if other < a.quiet_pct or waited >= a.quiet_max:
            if other >= a.quiet_pct:
                log("box still busy (other processes %.0f%% of a core); going on" % other)
            return other


def uas_stats(path):
    """Cumulative counters from the last line of SIPp's -trace_stat CSV."""
    if not path:
        return {}
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    if len(lines) < 2:
        return {}
    head, last = lines[0].split(";"), lines[-1].split(";")
    out = {}
    for k, v in zip(head, last):
        if k in ("SuccessfulCall(C)", "FailedCall(C)") or k.startswith("ResponseTimeRepartition1_"):
            try:
                out[k] = int(v)
            except ValueError:
                pass
    return out


class Sampler(threading.Thread):
    """Every 0.5 s: tamasd's RSS and the outbox backlog, kept with times."""

    def __init__(self, pid, db):
        super().__init__(daemon=True)
        self.pid, self.db = pid, db
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.samples = []          # (t, rss KiB, outbox rows or None)

    def run(self):
        while not self.stop.wait(0.5):
            s = (time.monotonic(), rss_kib(self.pid), outbox_pending(self.db))
            with self.lock:
                self.samples.append(s)

    def window(self, t0, t1):
        with self.lock:
            return [s for s in self.samples if t0 <= s[0] <= t1]


# ------------------------------------------------------------ SQLite (read-only)
def db_connect(path):
    # mode=ro: never writes; WAL lets this read beside tamasd's writer.
    c = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=2)
    return c


def db_query(path, sql, args=()):
    try:
        c = db_connect(path)
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()
    except sqlite3.Error as e:
        log("sqlite: %s (%s)" % (e, sql[:40]))
        return None


def outbox_pending(path):
    r = db_query(path, "SELECT count(*) FROM outbox")
    return r[0][0] if r else None


def cdr_max_id(path):
    r = db_query(path, "SELECT coalesce(max(id), 0) FROM cdr")
    return r[0][0] if r else 0


def cdr_rows(path, after_id):
    """{originated_call_id: [disposition, ...]} of CDR rows after after_id."""
    rows = db_query(path, "SELECT originated_call_id, disposition FROM cdr"
                    " WHERE id > ? AND originated_call_id IS NOT NULL"
                    " AND originated_call_id != ''", (after_id,))
    out = {}
    for oid, disp in rows or []:
        out.setdefault(oid, []).append(disp)
    return out


# ------------------------------------------------------------ webhook receiver
class Hooks:
    def __init__(self):
        self.lock = threading.Lock()
        self.events = []           # (t, event_name, originated_call_id)

    def add(self, name, oid):
        with self.lock:
            self.events.append((time.monotonic(), name, oid))

    def window(self, t0, t1=None):
        with self.lock:
            return [e for e in self.events if e[0] >= t0 and (t1 is None or e[0] <= t1)]


def make_receiver(port, hooks):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"     # keep-alive: libcurl reuses connections
        # One write per response and no Nagle: with the stock unbuffered
        # writer, headers and body go out as two segments and each request
        # stalls ~40 ms on the client's delayed ACK (~22 requests/s per
        # connection), which would cap the deliveries measured here.
        wbufsize = 65536
        disable_nagle_algorithm = True

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n > 0 else b""
            name, oid = "?", None
            try:
                d = json.loads(body)
                name = d.get("event_name") or self.path.rsplit("/", 1)[-1] or "?"
                oid = d.get("originated_call_id")
            except (ValueError, AttributeError):
                name = self.path.rsplit("/", 1)[-1] or "?"
            hooks.add(name, oid)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *a):
            pass

    class S(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    srv = S(("127.0.0.1", port), H)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    return srv


# ------------------------------------------------------------ load
def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def run_step(a, step, rate, secs, headers):
    n = max(1, int(round(rate * secs)))
    res = [None] * n
    idx = itertools.count()
    t0 = time.monotonic() + 0.3
    hard = t0 + secs + 30.0          # nothing is sent after this
    workers = min(a.workers, n)

    def worker():
        conn = None
        while True:
            i = next(idx)
            if i >= n:
                break
            due = t0 + i / rate
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
            ts = time.monotonic()
            if ts > hard:
                res[i] = (ts - due, None, "not sent (driver behind schedule)", None)
                continue
            body = json.dumps({"caller": "7%02d%06d" % (step, i), "callee": "8%02d%06d" % (step, i),
                               "context": a.context, "trunk_name": a.trunk})
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(a.host, a.port, timeout=10)
                conn.request("POST", a.path, body, headers)
                r = conn.getresponse()
                data = r.read()
                te = time.monotonic()
                err, oid = None, None
                if r.status != 200:
                    err = "HTTP %d" % r.status
                else:
                    try:
                        j = json.loads(data)
                        oid = (j.get("data") or {}).get("originated_call_id")
                        if j.get("success") != 1 or not oid:
                            err = "success=%s %s" % (j.get("success"), str(j.get("message"))[:60])
                    except ValueError:
                        err = "bad JSON"
                if r.will_close:
                    conn.close()
                    conn = None
                res[i] = (ts - due, te - ts, err, oid)
            except (OSError, http.client.HTTPException) as e:
                if conn:
                    conn.close()
                conn = None
                res[i] = (ts - due, time.monotonic() - ts, "%s: %s" % (type(e).__name__, e), None)
        if conn:
            conn.close()

    th = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in th:
        t.start()
    for t in th:
        t.join(timeout=max(0.1, hard + 15 - time.monotonic()))
    t_end = time.monotonic()
    if any(t.is_alive() for t in th):
        log("workers still busy 15 s past the step's hard end: counting what finished")
    return t0, t_end, res


def step_once(a, step, rate, hooks, sampler, headers):
    secs = a.secs
    quiet = wait_quiet(a)
    cdr0 = cdr_max_id(a.db)
    time.sleep(1.2)                      # SIPp writes its CSV each second
    us0 = uas_stats(a.uas_csv)
    tk0, uk0, me0, bz0 = ticks(a.pid), ticks(a.uas_pid), os.times(), sysbusy()
    t0, t_sent, res = run_step(a, step, rate, secs, headers)
    tk1, uk1, me1, bz1 = ticks(a.pid), ticks(a.uas_pid), os.times(), sysbusy()
    send_wall = max(1e-6, t_sent - t0)
    done = [r for r in res if r is not None]
    # achieved send rate: requests over the span of their send times
    sends = [t0 + i / rate + r[0] for i, r in enumerate(res) if r is not None]
    span = max(sends) - min(sends) if len(sends) > 1 else 0
    ok_ids = [r[3] for r in done if r[2] is None]
    errors = {}
    for r in res:
        e = "no answer from driver" if r is None else r[2]
        if e:
            errors[e] = errors.get(e, 0) + 1
    lat = sorted(r[1] * 1000 for r in done if r[1] is not None and r[2] is None)
    lag_max = max((r[0] for r in done), default=0) * 1000

    # Calls: every originate the API accepted should leave an ANSWERED CDR
    # once its 1 s call ended; wait until each has a row, bounded.
    want = set(ok_ids)
    t_calls = None
    deadline = time.monotonic() + a.call_wait
    rows = {}
    while True:
        rows = cdr_rows(a.db, cdr0)
        if all(oid in rows for oid in want):
            t_calls = time.monotonic()
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    cnt = collections.Counter(ok_ids)
    answered_ids = {oid for oid in want if "ANSWERED" in rows.get(oid, [])}
    answered = sum(min(cnt[oid], rows[oid].count("ANSWERED")) for oid in answered_ids)
    missing = sum(1 for oid in want if oid not in rows)
    other_disp = {}
    for oid in want:
        for d in rows.get(oid, []):
            if d != "ANSWERED":
                other_disp[d] = other_disp.get(d, 0) + 1

    # Webhooks: the outbox empties and every completed call's Cdr arrived.
    t_drained = None
    deadline = time.monotonic() + a.drain_wait
    while True:
        p = outbox_pending(a.db)
        cdr_hooks = {e[2] for e in hooks.window(t0) if e[1] == "Cdr" and e[2] in want}
        if p == 0 and len(cdr_hooks) >= len(answered_ids):
            t_drained = time.monotonic()
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
    t_fin = time.monotonic()
    tk2 = ticks(a.pid)
    time.sleep(1.2)
    us1 = uas_stats(a.uas_csv)
    ud = {k: us1.get(k, 0) - us0.get(k, 0) for k in us1}
    slow = sum(v for k, v in ud.items() if k.startswith("ResponseTimeRepartition1_")
               and k.split("_", 1)[1] in ("<500", "<1000", ">=1000"))
    vslow = ud.get("ResponseTimeRepartition1_>=1000", 0)
    fast = ud.get("ResponseTimeRepartition1_<10", 0)
    rtd_n = sum(v for k, v in ud.items() if k.startswith("ResponseTimeRepartition1_"))
    ev = hooks.window(t0, t_fin)
    by_name = {}
    for e in ev:
        by_name[e[1]] = by_name.get(e[1], 0) + 1
    cdr_hook_ids = [e[2] for e in ev if e[1] == "Cdr" and e[2] in want]
    if len(ev) >= 2 and ev[-1][0] > ev[0][0]:
        hook_rate = len(ev) / (ev[-1][0] - ev[0][0])
    else:
        hook_rate = float(len(ev))
    bins = {}
    for e in ev:
        b = int(e[0] - t0)
        bins[b] = bins.get(b, 0) + 1
    samples = sampler.window(t0, t_fin)
    backlog = max((s[2] for s in samples if s[2] is not None), default=0)
    rss_peak = max((s[1] for s in samples), default=rss_kib(a.pid))

    st = {
        "rate": rate, "requests": len(res), "ok": len(ok_ids), "errors": errors,
        "sent_rate": (len(sends) - 1) / span if span > 0 else float(len(sends)), "send_wall": send_wall,
        "p50": pct(lat, 50), "p99": pct(lat, 99), "max": lat[-1] if lat else float("nan"),
        "lag_max": lag_max, "dup_ids": len(ok_ids) - len(want),
        "answered": answered, "missing_cdr": missing, "other_disp": other_disp,
        "calls_s": (t_calls - t_sent) if t_calls else None,
        "hooks": len(ev), "hooks_by_name": by_name, "hook_rate": hook_rate,
        "hook_peak": max(bins.values(), default=0),
        "cdr_hooks": len(set(cdr_hook_ids)), "cdr_hooks_dup": len(cdr_hook_ids) - len(set(cdr_hook_ids)),
        "backlog": backlog, "drain_s": (t_drained - t_sent) if t_drained else None,
        "cpu_load": (tk1 - tk0) / HZ / send_wall * 100,
        "cpu_all": (tk2 - tk0) / HZ / max(1e-6, t_fin - t0) * 100,
        "uas_cpu": (uk1 - uk0) / HZ / send_wall * 100 if a.uas_pid else None,
        "drv_cpu": ((me1.user + me1.system) - (me0.user + me0.system)) / send_wall * 100,
        "other_cpu": max(0, ((bz1 - bz0) - (tk1 - tk0) - (uk1 - uk0)) / HZ / send_wall * 100
                         - ((me1.user + me1.system) - (me0.user + me0.system)) / send_wall * 100),
        "quiet": quiet,
        "uas_ok": ud.get("SuccessfulCall(C)"), "uas_fail": ud.get("FailedCall(C)"),
        "ack_fast": fast, "ack_slow": slow, "ack_vslow": vslow, "ack_n": rtd_n,
        "rss_peak": rss_peak / 1024.0,
    }
    on_time = send_wall <= secs * 1.1 + 0.5
    st["on_time"] = on_time
    st["sustained"] = (not errors and st["ok"] == st["requests"] and answered == len(ok_ids)
                       and on_time)
    return st


def fmt(v, f="%.1f"):
    return "n/a" if v is None or v != v else f % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--api", required=True, help="host:port of tamasd's REST API")
    ap.add_argument("--path", default="/api/v4/call/originate/act")
    ap.add_argument("--auth", choices=("basic", "token"), default="basic")
    ap.add_argument("--user", default="bench")
    ap.add_argument("--password", default="")
    ap.add_argument("--key", default="")
    ap.add_argument("--db", required=True, help="tamasd's SQLite store (read-only)")
    ap.add_argument("--pid", type=int, required=True, help="tamasd's PID (CPU, RSS)")
    ap.add_argument("--uas-pid", type=int, default=0, help="SIPp UAS's PID (CPU)")
    ap.add_argument("--uas-csv", default="", help="SIPp UAS's -trace_stat file (-fd 1)")
    ap.add_argument("--quiet-pct", type=float, default=15,
                    help="wait before a step until other processes take less (%% of a core)")
    ap.add_argument("--quiet-max", type=float, default=30, help="longest such wait, s")
    ap.add_argument("--hook-port", type=int, required=True)
    ap.add_argument("--rates", required=True, help='"20 50 100": requests/s per step')
    ap.add_argument("--secs", type=float, default=10)
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--context", default="bench")
    ap.add_argument("--trunk", default="uas")
    ap.add_argument("--call-wait", type=float, default=45, help="max s for the CDRs after a step")
    ap.add_argument("--drain-wait", type=float, default=60, help="max s for the outbox to empty")
    ap.add_argument("--out", required=True)
    ap.add_argument("--serve-only", type=float, default=0,
                    help="only run the webhook receiver this many seconds (debugging)")
    a = ap.parse_args()
    a.host, a.port = a.api.rsplit(":", 1)
    a.port = int(a.port)
    os.makedirs(a.out, exist_ok=True)

    hooks = Hooks()
    srv = make_receiver(a.hook_port, hooks)
    if a.serve_only:
        time.sleep(min(a.serve_only, 3600))
        srv.shutdown()
        return 0
    headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
    if a.auth == "basic":
        headers["Authorization"] = "Basic " + base64.b64encode(
            ("%s:%s" % (a.user, a.password)).encode()).decode()
    else:
        headers["X-APIKEY"] = a.key
    sampler = Sampler(a.pid, a.db)
    sampler.start()

    # The receiver must be reachable before the first step: tamasd's own
    # startup events (if any) arrive here too and are not counted in a step.
    rates = [float(r) for r in a.rates.split()]
    steps = []
    for k, r in enumerate(rates, 1):
        if ticks(a.pid) == 0 and not os.path.exists("/proc/%d" % a.pid):
            log("tamasd (pid %d) is gone: stopping" % a.pid)
            break
        log("step %d: %g originates/s for %g s (%d workers, auth %s)" % (k, r, a.secs, a.workers, a.auth))
        st = step_once(a, k, r, hooks, sampler, headers)
        steps.append(st)
        log("step %g/s: %d/%d ok, p50 %s ms p99 %s ms, %d answered, hooks %d (%s/s), drain %s s, "
            "CPU %s%%, %s" % (r, st["ok"], st["requests"], fmt(st["p50"]), fmt(st["p99"]),
                              st["answered"], st["hooks"], fmt(st["hook_rate"]), fmt(st["drain_s"]),
                              fmt(st["cpu_load"], "%.0f"), "sustained" if st["sustained"] else "NOT sustained"))
        if not st["sustained"]:
            break
        time.sleep(2)    # the box settles; the last step's calls are all gone
    sampler.stop.set()
    srv.shutdown()
    write_out(a, steps)
    return 0


def write_out(a, steps):
    best = None
    fail = ""
    for st in steps:
        if st["sustained"]:
            best = st
        elif not fail:
            why = []
            if st["errors"]:
                why.append("%d of %d requests failed (%s)" % (
                    st["requests"] - st["ok"], st["requests"],
                    ", ".join("%s x%d" % kv for kv in sorted(st["errors"].items(), key=lambda kv: -kv[1])[:3])))
            if st["answered"] != st["ok"]:
                why.append("%d of %d accepted calls not ANSWERED (%s)" % (
                    st["ok"] - st["answered"], st["ok"],
                    ", ".join("%s x%d" % kv for kv in st["other_disp"].items()) or
                    "%d without a CDR" % st["missing_cdr"]))
            if not st["on_time"]:
                why.append("driver sent at %.0f/s, behind schedule" % st["sent_rate"])
            fail = "%g/s: %s" % (st["rate"], "; ".join(why))
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write("# tamas_api: call/originate/act under load (auth %s, %d workers, %g s per step)\n\n"
                % (a.auth, a.workers, a.secs))
        f.write("Each originate: first leg SIP/%s/<caller> (SIPp UAS answers, hangs up after 1 s), "
                "second leg dialled by context %s. Latency = send to whole response; "
                "CPU %% of one core while the requests were sent (all = until the outbox drained).\n\n"
                % (a.trunk, a.context))
        f.write("| target req/s | requests | ok | sent req/s | p50 ms | p99 ms | max ms | max lag ms "
                "| calls ANSWERED | webhooks | by event | deliveries/s | peak/s | Cdr hooks for these calls "
                "| outbox peak | outbox empty after s | tamasd CPU % (all) | UAS CPU % | driver CPU % "
                "| other CPU % (before) | UAS legs ok/failed | answer->ACK <10 ms / >=200 ms / >=1 s "
                "| tamasd RSS peak MiB | sustained |\n")
        f.write("|" + "---|" * 24 + "\n")
        for st in steps:
            f.write("| %g | %d | %d | %.1f | %s | %s | %s | %.0f | %d | %d | %s | %s | %d | %d%s | %d | %s "
                    "| %s (%s) | %s | %s | %s (%s) | %s/%s | %s / %s / %s | %.1f | %s |\n" % (
                        st["rate"], st["requests"], st["ok"], st["sent_rate"], fmt(st["p50"]),
                        fmt(st["p99"]), fmt(st["max"]), st["lag_max"], st["answered"], st["hooks"],
                        " ".join("%s=%d" % kv for kv in sorted(st["hooks_by_name"].items())) or "-",
                        fmt(st["hook_rate"]), st["hook_peak"], st["cdr_hooks"],
                        " (+%d dup)" % st["cdr_hooks_dup"] if st["cdr_hooks_dup"] else "",
                        st["backlog"], fmt(st["drain_s"]), fmt(st["cpu_load"], "%.0f"),
                        fmt(st["cpu_all"], "%.0f"), fmt(st["uas_cpu"], "%.0f"), fmt(st["drv_cpu"], "%.0f"),
                        fmt(st["other_cpu"], "%.0f"), fmt(st["quiet"], "%.0f"),
                        st["uas_ok"], st["uas_fail"], st["ack_fast"], st["ack_slow"], st["ack_vslow"],
                        st["rss_peak"], "yes" if st["sustained"] else "**no**"))
        for st in steps:
            if st["errors"]:
                f.write("\n%g/s errors: %s\n" % (st["rate"], ", ".join(
                    "%s x%d" % kv for kv in sorted(st["errors"].items(), key=lambda kv: -kv[1]))))
            if st["dup_ids"]:
                f.write("\n%g/s: %d originated_call_id values were handed out twice\n"
                        % (st["rate"], st["dup_ids"]))
        if fail:
            f.write("\n**First step not sustained:** %s\n" % fail)
    with open(os.path.join(a.out, "summary.env"), "w") as f:
        def kv(k, v):
            f.write("API_%s='%s'\n" % (k, str(v).replace("'", "")))
        kv("STEPS", " ".join("%g" % s["rate"] for s in steps))
        kv("BEST", "%g" % best["rate"] if best else "")
        kv("ALLPASS", "1" if best and not fail and len(steps) == len(a.rates.split()) else "")
        kv("FAIL", fail)
        if best:
            kv("P50", fmt(best["p50"]))
            kv("P99", fmt(best["p99"]))
            kv("MAX", fmt(best["max"]))
            kv("HOOKS", fmt(best["hook_rate"]))
            kv("HOOKPEAK", best["hook_peak"])
            kv("HOOKN", best["hooks"])
            kv("HOOKNAMES", " ".join("%s=%d" % x for x in sorted(best["hooks_by_name"].items())))
            kv("DRAIN", fmt(best["drain_s"]))
            kv("BACKLOG", best["backlog"])
            kv("CPU", fmt(best["cpu_load"], "%.0f"))
            kv("RSS", "%.1f" % best["rss_peak"])
            kv("CALLS", best["answered"])
            kv("OTHER", fmt(best["other_cpu"], "%.0f"))
        # the step after the best: what it looked like when it broke
        if fail:
            st = next(s for s in steps if not s["sustained"])
            kv("FP50", fmt(st["p50"]))
            kv("FP99", fmt(st["p99"]))


if __name__ == "__main__":
    sys.exit(main())
