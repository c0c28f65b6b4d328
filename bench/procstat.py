"""/proc sampling shared by the bench drivers (api_load.py, queue_load.py):
a process's CPU ticks and RSS, the box's busy jiffies, and how much of a
core other processes take."""

import os
import time

HZ = os.sysconf("SC_CLK_TCK")


def ticks(pid):
    """utime+stime of pid in clock ticks, 0 when it is gone."""
    if not pid:
        return 0
    try:
        with open("/proc/%d/stat" % pid) as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return int(rest[11]) + int(rest[12])
    except (OSError, IndexError, ValueError):
        return 0


def rss_kib(pid):
    """VmRSS of pid in KiB, 0 when it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def sysbusy():
    """All busy jiffies of the box (user+nice+system+irq+softirq+steal)."""
    with open("/proc/stat") as f:
        v = f.readline().split()
    return sum(int(v[i]) for i in (1, 2, 3, 6, 7, 8))


def other_pct(mine, secs=2):
    """% of a core the box spent over secs outside the ticks mine() counts."""
    b0, m0 = sysbusy(), mine()
    time.sleep(secs)
    b1, m1 = sysbusy(), mine()
    return max(0.0, ((b1 - b0) - (m1 - m0)) * 100.0 / (secs * HZ))
