"""REGISTER with digest auth (401, realm from sip.realm, qop=auth), wrong
passwords, binding expiry and removal."""

import time

import pytest

from harness import free_port, iter_strings, mentions_ext, register, wait_until


def contacts(tamas, ext):
    """The strings of the registrations that belong to ext."""
    return [s for o in tamas.registrations() if mentions_ext(o, ext) for s in iter_strings(o)]


def test_register_with_digest_auth_creates_binding(tamas, sipp):
    port = free_port()
    r = register(sipp, tamas, "1001", port)
    challenge = r.text("log")
    assert 'realm="tamas"' in challenge, challenge
    assert "qop" in challenge and "auth" in challenge, challenge
    assert tamas.is_registered("1001"), tamas.registrations()
    assert not tamas.is_registered("1002")
    assert any(f"127.0.0.1:{port}" in s for s in contacts(tamas, "1001")), \
        tamas.registrations()


@pytest.mark.tamas(overrides=["sip.realm=callcenter"])
def test_challenge_uses_configured_realm(tamas, sipp):
    r = register(sipp, tamas, "1002", free_port())
    assert 'realm="callcenter"' in r.text("log"), r.text("log")


def test_wrong_password_is_challenged_then_forbidden(tamas, sipp):
    # register_wrong_password expects exactly 401 then 403
    register(sipp, tamas, "1001", free_port(), password="not-the-password",
             scenario="register_wrong_password")
    assert not tamas.is_registered("1001")


@pytest.mark.tamas(overrides=["sip.min_expires=1"])
def test_binding_lapses_after_expires(tamas, sipp):
    register(sipp, tamas, "1001", free_port(), expires=2)
    t0 = time.monotonic()
    assert tamas.is_registered("1001")
    wait_until(lambda: not tamas.is_registered("1001"), 8, interval=0.2,
               what="the 2 s binding of 1001 to lapse")
    assert time.monotonic() - t0 >= 1.0, "binding vanished long before its Expires"
    tamas.assert_alive()


def test_register_expires_zero_removes_binding(tamas, sipp):
    port = free_port()
    register(sipp, tamas, "1002", port)
    assert tamas.is_registered("1002")
    register(sipp, tamas, "1002", port, expires=0)
    wait_until(lambda: not tamas.is_registered("1002"), 3, what="binding removal")
