"""tamasctl against a running daemon: users, channels, hangup, CDR tail,
and a clear error when the daemon is down."""

import re
import time

from harness import (call, free_port, parse_json_lines, register, start_callee, wait_until,
                     mentions_ext)


def test_user_add_list_del(tamas, sipp):
    tamas.ctl("user", "add", "1050", "s3cret-1050", "--context", "main_routing")
    assert any(mentions_ext(u, "1050") for u in tamas.ctl_json("user", "list"))
    register(sipp, tamas, "1050", free_port(), password="s3cret-1050")
    assert tamas.is_registered("1050")
    tamas.ctl("user", "del", "1050")
    assert not any(mentions_ext(u, "1050") for u in tamas.ctl_json("user", "list"))
    r = register(sipp, tamas, "1050", free_port(), password="s3cret-1050", check=False)
    assert r.rc != 0, "a deleted user could still register"


def test_user_list_shows_seeded_users(tamas):
    users = tamas.ctl_json("user", "list")
    for ext in ("1001", "1002", "1003"):
        assert any(mentions_ext(u, ext) for u in users), users


def test_user_del_unknown_fails_with_one_line(tamas):
    r = tamas.ctl("user", "del", "9999", check=False)
    out = (r.stdout + r.stderr).strip()
    assert r.returncode != 0
    assert out and len(out.splitlines()) == 1, repr(out)


def test_channels_and_hangup_channel_ends_call(tamas, sipp):
    callee = start_callee(sipp, tamas, "1002")            # waits for a BYE
    caller = call(sipp, tamas, "1001", "1002", scenario="uac_call_wait_bye",
                  background=True)
    names = wait_until(lambda: (lambda n: n if len(n) >= 2 else None)(tamas.channel_names()),
                       5, what="two channels in `tamasctl channels`")
    a = [n for n in names if n.startswith("SIP/1001-")]
    b = [n for n in names if n.startswith("SIP/1002-")]
    assert a and b, names
    tamas.ctl("hangup", a[0])
    caller.wait(timeout=10)       # got BYE from tamasd
    callee.wait(timeout=10)       # got BYE from tamasd
    wait_until(lambda: not tamas.channel_names(), 5, what="channels to be gone")
    rows = tamas.wait_cdrs(1)
    assert rows[0]["disposition"] == "ANSWERED"
    tail = parse_json_lines(tamas.ctl("cdr", "tail", "5").stdout)
    assert any(t.get("disposition") == "ANSWERED" and str(t.get("src")) == "1001"
               for t in tail), tail


def test_hangup_unknown_channel_fails(tamas):
    r = tamas.ctl("hangup", "SIP/1001-deadbeef", check=False)
    assert r.returncode != 0
    assert (r.stdout + r.stderr).strip()


def test_tamasctl_against_stopped_daemon_errors_clearly(tamas):
    assert tamas.stop() == 0
    t0 = time.monotonic()
    r = tamas.ctl("registrations", check=False)
    assert time.monotonic() - t0 < 3
    out = (r.stdout + r.stderr).strip()
    assert r.returncode != 0
    assert len(out.splitlines()) == 1, f"want one line: {out!r}"
    assert str(tamas.ctl_sock) in out or re.search(
        r"connect|running|refused|no such file|not found", out, re.I), out
    assert "Traceback" not in out
