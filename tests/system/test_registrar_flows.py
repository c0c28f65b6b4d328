"""Phones registering with digest authentication."""
import time

from phones import free_port, pbx, running, sipp  # noqa: F401 (fixtures)


def test_register_with_right_password_creates_binding(running, sipp):
    port = free_port()
    r = sipp.register("1001", "pw1001", port)
    assert r.returncode == 0, r.errors
    assert "WWW-Authenticate: Digest" in r.messages
    regs = running.ctl_json("registrations")
    assert [(x["aor"], x["source"]) for x in regs] == [("1001", f"127.0.0.1:{port}")]
    assert 250 <= regs[0]["expires_in"] <= 300


def test_register_with_wrong_password_is_forbidden(running, sipp):
    r = sipp.run(sipp.scenario("register.xml", final=403), free_port(), service="1001",
                 keys={"expires": 60}, extra=["-au", "1001", "-ap", "nope"])
    assert r.returncode == 0, r.errors
    assert running.ctl_json("registrations") == []
    # the daemon keeps serving: a right password still works
    assert sipp.register("1001", "pw1001", free_port()).returncode == 0


def test_unknown_user_is_forbidden(running, sipp):
    r = sipp.run(sipp.scenario("register.xml", final=403), free_port(), service="7777",
                 keys={"expires": 60}, extra=["-au", "7777", "-ap", "x"])
    assert r.returncode == 0, r.errors


def test_binding_expires_per_expires_header(running, sipp):
    r = sipp.register("1002", "pw1002", free_port(), expires=2)
    assert r.returncode == 0, r.errors
    assert len(running.ctl_json("registrations")) == 1
    deadline = time.time() + 10
    while time.time() < deadline and running.ctl_json("registrations"):
        time.sleep(0.2)
    assert running.ctl_json("registrations") == []
    running.wait_log(r"binding expired \(aor=1002")


def test_expires_zero_unregisters(running, sipp):
    port = free_port()
    assert sipp.register("1002", "pw1002", port).returncode == 0
    r = sipp.register("1002", "pw1002", port, expires=0)
    assert r.returncode == 0, r.errors
    assert running.ctl_json("registrations") == []
