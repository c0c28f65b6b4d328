#!/usr/bin/env python3
"""queue_load.py: the queue phases of bench/run.sh (issue 7).

Two modes, each against a running tamasd whose dialplan is
bench/extensions-bench-queue.lua, writing results.md and summary.env into
--out. Standard library only; SIPp does the calling.

rate: a ramp of call rates into one queue of agents (bench/uac-queue.xml
  callers; the agents are a SIPp UAS started by run.sh). Per step, R x T
  calls at R calls/s; the step passes when SIPp counted every call ok and
  the queue_log table has, for the step's rows, one ENTERQUEUE and one
  CONNECT per call: every caller reached an agent. The ramp stops at the
  first step that does not pass. Per step: tamasd CPU (% of a core over the
  step), its RSS peak, the most callers and agent legs tamasd held at once
  (tamasctl channels, sampled each second), the mean wait and ring time of
  the CONNECT rows, RINGNOANSWER rows (legs rung that another agent beat or
  that timed out) and the distinct agents that answered.

wait: N callers (SIPp's stock uac, music on hold, nobody answers) join a
  queue without members at --rate calls/s and each hangs up itself
  --plateau s after the last one joined. Once all are in, tamasd's RSS,
  the callers it holds, the ENTERQUEUE rows so far and its CPU over
  --sample s are taken (and the box's UDP datagrams sent: the music). At
  the end every caller must have one ENTERQUEUE and one ABANDON row.

Every wait is bounded (SIPp's -timeout, subprocess timeouts, loop counts).
"""
import argparse
import os
import sqlite3
import subprocess
import sys
import threading
import time

from procstat import HZ, other_pct, rss_kib, sysbusy, ticks


def log(msg):
    print("[queue_load %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def udp_out():
    """The box's UDP datagrams sent (/proc/net/snmp OutDatagrams)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return int(rows[1][rows[0].index("OutDatagrams")])


def pct(t0, t1, secs):
    return (t1 - t0) * 100.0 / HZ / secs if secs > 0 else 0.0


def wait_quiet(a, pids):
    """Until other processes take < 15 % of a core (bounded by --quiet-max s)."""
    waited, other = 0, 0.0
    while True:
        other = other_pct(lambda: sum(ticks(p) for p in pids))
        waited += 2
        if other < 15 or waited >= a.quiet_max:
            return other


def channels(a, service):
    """(callers of service, other channels) tamasd holds now; (-1, -1) on error."""
    try:
        out = subprocess.run([a.tamasctl, "-S", a.sock, "channels"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return -1, -1
    lines = [x for x in out.splitlines() if x.startswith("{")]
    callers = sum('"exten":"%s"' % service in x for x in lines)
    return callers, len(lines) - callers


class Sampler(threading.Thread):
    """RSS peak every 0.5 s and channel counts every second, until stopped."""

    def __init__(self, a, service):
        super().__init__(daemon=True)
        self.a, self.service = a, service
        self.stop = threading.Event()
        self.rss_peak = self.callers_peak = self.others_peak = 0
        self.uac_pid, self.uac_ticks = 0, 0   # SIPp UAC's CPU, read while it lives

    def run(self):
        n = 0
        while not self.stop.is_set():
            self.rss_peak = max(self.rss_peak, rss_kib(self.a.pid))
            self.uac_ticks = max(self.uac_ticks, ticks(self.uac_pid))
            if n % 2 == 0:
                c, o = channels(self.a, self.service)
                self.callers_peak = max(self.callers_peak, c)
                self.others_peak = max(self.others_peak, o)
            n += 1
            self.stop.wait(0.5)


def db(a):
    return sqlite3.connect("file:%s?mode=ro" % a.db, uri=True, timeout=10)


def qlog_max_id(a):
    with db(a) as c:
        return c.execute("SELECT COALESCE(MAX(id), 0) FROM queue_log").fetchone()[0]


def qlog_counts(a, since, queue):
    """event -> rows of queue after id since."""
    with db(a) as c:
        return dict(c.execute("SELECT event, COUNT(*) FROM queue_log WHERE id > ? AND "
                              "queuename = ? GROUP BY event", (since, queue)).fetchall())


def csvcol(path, name):
    """A column of the last line of a SIPp statistics CSV, or None."""
    try:
        with open(path) as f:
            lines = [x for x in f.read().splitlines() if x.strip()]
        head = lines[0].split(";")
        return lines[-1].split(";")[head.index(name)]
    except (OSError, IndexError, ValueError):
        return None


def sipp(a, name, rate, calls, extra, tmo):
    csv = os.path.join(a.out, name + ".csv")
    if os.path.exists(csv):
        os.unlink(csv)
    cmd = ["sipp", a.target, "-s", a.service, "-i", "127.0.0.1", "-p", str(a.uac_port),
           "-mi", "127.0.0.1", "-mp", str(a.media + 100), "-r", str(rate), "-m", str(calls),
           "-l", str(calls), "-timeout", "%ds" % tmo, "-nostdin", "-buff_size", "8388608",
           "-trace_stat", "-stf", csv, "-fd", "1", "-trace_err",
           "-error_file", os.path.join(a.out, name + ".err")] + extra
    out = open(os.path.join(a.out, name + ".out"), "w")
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=a.out), csv


def finish(p, tmo):
    try:
        return p.wait(timeout=tmo)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def to_int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


# ----------------------------------------------------------------- rate
def mode_rate(a):
    rows, best, fail = [], None, None
    phase_since = qlog_max_id(a)
    pids = [a.pid, a.uas_pid]
    for step, rate in enumerate(int(x) for x in a.rates.split()):
        other_q = wait_quiet(a, pids)
        calls = rate * a.secs
        since = qlog_max_id(a)
        log("%s: %d calls/s x %d calls into queue %s" % (a.name, rate, calls, a.queue))
        smp = Sampler(a, a.service)
        t0, c0, u0, b0 = time.time(), ticks(a.pid), ticks(a.uas_pid), sysbusy()
        smp.start()
        p, csv = sipp(a, "rate_%d_%d" % (step + 1, rate), rate, calls,
                      ["-sf", a.scenario], a.secs + 60)
        smp.uac_pid = p.pid
        rc = finish(p, a.secs + 90)
        t1, c1, u1, b1 = time.time(), ticks(a.pid), ticks(a.uas_pid), sysbusy()
        smp.stop.set()
        smp.join(5)
        wall = t1 - t0
        ok, failed = to_int(csvcol(csv, "SuccessfulCall(C)")), to_int(csvcol(csv, "FailedCall(C)"))
        retr = csvcol(csv, "Retransmissions(C)") or "NA"
        time.sleep(1)               # the last calls' rows
        ev = qlog_counts(a, since, a.queue)
        with db(a) as c:
            agents, hold, ring = c.execute(
                "SELECT COUNT(DISTINCT agent), AVG(CAST(data1 AS REAL)), "
                "AVG(CAST(data3 AS REAL)) FROM queue_log WHERE id > ? AND queuename = ? AND "
                "event = 'CONNECT'", (since, a.queue)).fetchone()
        enter, conn = ev.get("ENTERQUEUE", 0), ev.get("CONNECT", 0)
        cpu = pct(c0, c1, wall)
        uac = pct(0, smp.uac_ticks, wall)
        other = max(0.0, pct(b0, b1, wall) - cpu - pct(u0, u1, wall) - uac)
        passed = ok == calls and failed == 0 and enter == calls and conn == calls
        rows.append("| %d | %d | %d | %d | %s | %d | %d | %d | %d | %d | %.2f | %.2f | %d | %d | "
                    "%.1f | %.0f | %.0f | %.0f | %.0f (%.0f) | %.1f | %s |" % (
                        rate, calls, ok, failed, retr, enter, conn,
                        ev.get("ABANDON", 0) + ev.get("EXITWITHTIMEOUT", 0),
                        ev.get("RINGNOANSWER", 0), agents or 0, hold or 0, ring or 0,
                        smp.callers_peak, smp.others_peak, wall, cpu,
                        pct(u0, u1, wall), uac, other, other_q, smp.rss_peak / 1024.0,
                        "**pass**" if passed else "FAIL"))
        log("  %d ok, %d failed, %d entered, %d connected, %d agents, tamasd %.0f%% CPU" %
            (ok, failed, enter, conn, agents or 0, cpu))
        if passed:
            best = dict(rate=rate, cpu="%.0f" % cpu, callers=smp.callers_peak,
                        legs=smp.others_peak, rss="%.1f" % (smp.rss_peak / 1024.0),
                        other="%.0f" % other, ms="%.2f" % (cpu / rate * 10))
        else:
            fail = "%d calls/s: %d of %d calls ok, %d connected" % (rate, ok, calls, conn)
            break
        del rc
    with db(a) as c:
        per_agent = c.execute("SELECT agent, COUNT(*) FROM queue_log WHERE id > ? AND "
                              "queuename = ? AND event = 'CONNECT' GROUP BY agent ORDER BY agent",
                              (phase_since, a.queue)).fetchall()
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write("# %s: calls/s into queue %s (%s)\n\n" % (a.name, a.queue, a.strategy))
        f.write("%s UTC; %d s of calls per step; callers wait for tamasd's BYE; %d agents "
                "(one SIPp UAS) ring 20-200 ms, talk %d ms, hang up: they can take about "
                "%d calls/s at most (agents / (mean ring 0.11 s + talk)). Wait and ring "
                "times are queue_log's whole seconds.\n\n" % (
                    time.strftime("%FT%T", time.gmtime()), a.secs, a.agents, a.talk,
                    a.agents / (0.11 + a.talk / 1000.0)))
        f.write("| target cps | calls | ok | failed | retrans | ENTERQUEUE | CONNECT | "
                "ABANDON+EXITWITHTIMEOUT | RINGNOANSWER | distinct agents | mean wait s | "
                "mean ring s | callers held (peak) | agent legs (peak) | wall s | "
                "tamasd CPU % | agents' SIPp CPU % | callers' SIPp CPU % | other CPU % (before) | "
                "tamasd RSS peak MiB | verdict |\n")
        f.write("|---" * 21 + "|\n")
        f.write("\n".join(rows) + "\n\n")
        f.write("Calls connected per agent over the phase (%d distinct agents): %s\n" % (
            len(per_agent), ", ".join("%s %d" % (ag.rsplit("/", 1)[-1], n)
                                      for ag, n in per_agent)))
    with open(os.path.join(a.out, "summary.env"), "w") as f:
        if best:
            for k, v in best.items():
                f.write("Q_%s=%s\n" % (k.upper(), v))
        f.write("Q_ALLPASS=%s\n" % ("" if fail else "1"))
        f.write("Q_FAIL='%s'\n" % (fail or ""))
        f.write("Q_AGENTS=%d\n" % len(per_agent))
        f.write("Q_STEPS=%d\n" % len(rows))
    return 0


# ----------------------------------------------------------------- wait
def mode_wait(a):
    n = a.callers
    setup = (n + a.rate - 1) // a.rate
    hold_ms = (setup + a.plateau) * 1000
    if a.plateau < a.sample + 4:
        log("--plateau must be >= --sample + 4 s: the sample must end before anyone leaves")
        return 2
    other_q = wait_quiet(a, [a.pid])
    since = qlog_max_id(a)
    rss0 = rss_kib(a.pid)
    log("%s: %d callers at %d/s into queue %s, each held %d ms" % (a.name, n, a.rate, a.queue,
                                                                    hold_ms))
    smp = Sampler(a, a.service)
    t0, c0, b0 = time.time(), ticks(a.pid), sysbusy()
    smp.start()
    p, csv = sipp(a, "wait_%d" % n, a.rate, n, ["-sn", "uac", "-d", str(hold_ms)],
                  setup + a.plateau + 60)
    smp.uac_pid = p.pid
    time.sleep(setup + 2)
    # the plateau: every caller joined, none has left yet
    t1, c1 = time.time(), ticks(a.pid)
    rss_plat = rss_kib(a.pid)
    held, others = channels(a, a.service)
    entered_plat = qlog_counts(a, since, a.queue).get("ENTERQUEUE", 0)
    s0, c2, b2, u2, p2 = time.time(), ticks(a.pid), sysbusy(), udp_out(), ticks(p.pid)
    time.sleep(a.sample)
    s1, c3, b3, u3, p3 = time.time(), ticks(a.pid), sysbusy(), udp_out(), ticks(p.pid)
    rc = finish(p, setup + a.plateau + 90)
    smp.stop.set()
    smp.join(5)
    time.sleep(1)
    ok, failed = to_int(csvcol(csv, "SuccessfulCall(C)")), to_int(csvcol(csv, "FailedCall(C)"))
    ev = qlog_counts(a, since, a.queue)
    cpu_setup = pct(c0, c1, t1 - t0)
    cpu = pct(c2, c3, s1 - s0)
    uac = pct(p2, p3, s1 - s0)
    other = max(0.0, pct(b2, b3, s1 - s0) - cpu - uac)
    kib = (rss_plat - rss0) / n
    pkts = (u3 - u2) / (s1 - s0) / max(held, 1)
    passed = ok == n and failed == 0 and entered_plat == n and held == n and \
        ev.get("ENTERQUEUE", 0) == n and ev.get("ABANDON", 0) == n
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write("# %s: callers waiting in queue %s on music on hold, nobody answers\n\n" % (
            a.name, a.queue))
        f.write("%s UTC; %d callers at %d/s, each hangs up %d ms after tamasd answered it "
                "(the last %d s after it joined); plateau sampled %d s after the first call, "
                "CPU over %d s.\n\n" % (time.strftime("%FT%T", time.gmtime()), n, a.rate,
                                         hold_ms, a.plateau, setup + 2, a.sample))
        f.write("| waiting callers | ok | failed | ENTERQUEUE at plateau | callers held at "
                "plateau | ENTERQUEUE / ABANDON (end) | RSS before MiB | RSS at plateau MiB | "
                "RSS peak MiB | KiB per waiting caller | tamasd CPU % at plateau | "
                "CPU % while joining | box UDP sent per caller /s | callers' SIPp CPU % | "
                "other CPU % (before) | sipp rc | verdict |\n")
        f.write("|---" * 17 + "|\n")
        f.write("| %d | %d | %d | %d | %d | %d / %d | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | "
                "%.0f | %.0f | %.0f (%.0f) | %d | %s |\n" % (
                    n, ok, failed, entered_plat, held, ev.get("ENTERQUEUE", 0),
                    ev.get("ABANDON", 0), rss0 / 1024.0, rss_plat / 1024.0,
                    smp.rss_peak / 1024.0, kib, cpu, cpu_setup, pkts, uac, other, other_q, rc,
                    "**pass**" if passed else "FAIL"))
    log("  %d ok, %d failed, %d in queue at plateau (%d held), tamasd %.0f%% CPU, %.1f KiB "
        "per caller" % (ok, failed, entered_plat, held, cpu, kib))
    with open(os.path.join(a.out, "summary.env"), "w") as f:
        f.write("W_N=%d\nW_OK=%d\nW_FAILED=%d\nW_ENTERED=%d\nW_HELD=%d\nW_ABANDON=%d\n" % (
            n, ok, failed, entered_plat, held, ev.get("ABANDON", 0)))
        f.write("W_CPU=%.0f\nW_CPU_SETUP=%.0f\nW_KIB=%.1f\nW_PASS=%s\nW_PKTS=%.0f\n" % (
            cpu, cpu_setup, kib, "1" if passed else "", pkts))
        f.write("W_IDLE=%.1f\nW_OTHER=%.0f\n" % (rss0 / 1024.0, other))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("rate", "wait"))
    ap.add_argument("--name", required=True)
    ap.add_argument("--target", required=True, help="tamasd HOST:PORT")
    ap.add_argument("--service", required=True, help="the number SIPp calls")
    ap.add_argument("--queue", required=True)
    ap.add_argument("--strategy", default="")
    ap.add_argument("--pid", type=int, required=True, help="tamasd")
    ap.add_argument("--uas-pid", type=int, default=0, help="the agents' SIPp")
    ap.add_argument("--db", required=True)
    ap.add_argument("--tamasctl", required=True)
    ap.add_argument("--sock", required=True)
    ap.add_argument("--uac-port", type=int, default=5261)
    ap.add_argument("--media", type=int, default=26000)
    ap.add_argument("--scenario", help="rate: the callers' SIPp scenario")
    ap.add_argument("--rates", default="10 20 40")
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--talk", type=int, default=0, help="the agents' talk time, ms (report)")
    ap.add_argument("--agents", type=int, default=50, help="members of the queue (report)")
    ap.add_argument("--callers", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--plateau", type=int, default=10)
    ap.add_argument("--sample", type=int, default=5)
    ap.add_argument("--quiet-max", type=int, default=30)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    return mode_rate(a) if a.mode == "rate" else mode_wait(a)


if __name__ == "__main__":
    sys.exit(main())
