"""tamasctl as an operator uses it."""
import re
import subprocess
import time

from phones import TAMASCTL, free_port, pbx, running, sipp  # noqa: F401
from test_call_flows import call, register_callee


def test_user_add_list_del(running):
    running.add_user("2001", "secret", context="sales")
    users = {u["ext"]: u for u in running.ctl_json("user", "list")}
    assert users["2001"]["context"] == "sales"
    assert users["1001"]["context"] == "main_routing"
    running.ctl("user", "del", "2001")
    assert "2001" not in {u["ext"] for u in running.ctl_json("user", "list")}
    r = running.ctl("user", "del", "2001", check=False)
    assert r.returncode != 0 and "no such user" in r.stderr


def test_users_added_by_ctl_can_call_each_other_with_shipped_dialplan(pbx, sipp):
    from phones import REPO
    pbx.write_config(dialplan=(REPO / "etc" / "extensions.lua").read_text())
    pbx.start()
    pbx.add_user("1001", "pw1001")
    pbx.add_user("1002", "pw1002")
    uas = sipp.start("uas_answer.xml", register_callee(sipp))
    r = call(sipp, hold=200)
    assert r.returncode == 0, r.errors
    assert sipp.wait(uas) == 0, uas.errors


def test_channels_and_hangup(running, sipp):
    uas = sipp.start("uas_answer.xml", register_callee(sipp))
    uac = sipp.start("uac_wait_bye.xml", free_port(), service="1001", remote=True,
                     keys={"dest": "1002"}, extra=["-au", "1001", "-ap", "pw1001"])
    deadline = time.time() + 10
    chans = []
    while time.time() < deadline:
        chans = running.ctl_json("channels")
        if len(chans) == 2 and all(c["state"] == "Up" for c in chans):
            break
        time.sleep(0.1)
    assert len(chans) == 2, chans
    caller = next(c for c in chans if c["channel"].startswith("SIP/1001-"))
    assert caller["bridged_to"].startswith("SIP/1002-")
    assert caller["callerid"] == "1001"
    running.ctl("hangup", caller["channel"])
    # tamasd sends BYE to both phones
    assert sipp.wait(uac) == 0, uac.errors
    assert sipp.wait(uas) == 0, uas.errors
    assert running.ctl_json("channels") == []
    r = running.ctl("hangup", "SIP/nobody-00000000", check=False)
    assert r.returncode != 0 and "no such channel" in r.stderr


def test_cdr_tail_prints_json_lines(running, sipp):
    from test_call_flows import expect
    assert expect(sipp, 404, "555").returncode == 0
    running.wait_cdrs(1)
    (row,) = running.ctl_json("cdr", "tail", "5")
    assert row["dst"] == "555" and row["src"] == "1001"


def test_ctl_errors_clearly_when_daemon_is_down(tmp_path):
    r = subprocess.run([str(TAMASCTL), "-S", str(tmp_path / "none.sock"), "channels"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert "cannot reach tamasd" in r.stderr and "none.sock" in r.stderr


def test_ctl_usage_and_unknown_command(running):
    r = subprocess.run([str(TAMASCTL)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "usage" in r.stderr
    r = running.ctl("frobnicate", check=False)
    assert r.returncode == 1 and "unknown command" in r.stderr


def test_sigterm_hangs_up_calls_then_exits_cleanly(running, sipp):
    uas = sipp.start("uas_answer.xml", register_callee(sipp))
    uac = sipp.start("uac_wait_bye.xml", free_port(), service="1001", remote=True,
                     keys={"dest": "1002"}, extra=["-au", "1001", "-ap", "pw1001"])
    deadline = time.time() + 10
    while time.time() < deadline:
        chans = running.ctl_json("channels")
        if len(chans) == 2 and all(c["state"] == "Up" for c in chans):
            break
        time.sleep(0.1)
    assert running.stop() == 0
    # both phones were sent a BYE before tamasd went away
    assert sipp.wait(uac) == 0, uac.errors
    assert sipp.wait(uas) == 0, uas.errors
    # hanging up the caller ends its Dial, which hangs up the callee too
    assert re.search(r"hung up [12] channels before stopping", running.logtext())
    (row,) = running.cdrs()
    assert row["disposition"] == "ANSWERED"
