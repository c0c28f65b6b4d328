"""Startup configuration: bad values are reported as file:line and stop the
daemon, store directory problems are clear, a missing DB directory is
created, users are seeded on first start only, -s overrides."""

import re
import time

import pytest

from harness import free_port, register


def start_expecting_failure(d, timeout=5):
    d.write_conf()
    t0 = time.monotonic()
    d.spawn()
    code = d.wait_exit(timeout)
    assert code != 0, "tamasd accepted a bad configuration"
    assert time.monotonic() - t0 < timeout
    return d.stderr()


@pytest.mark.parametrize("section,key,value", [
    ("sip", "port", "banana"),
    ("rtp", "port_max", "70000"),
    ("api", "call_limit_warning_beeper_enabled", "perhaps"),
    ("api", "call_limit_warning_beeper_time_to_end_sec", "0"),
    ("api", "call_limit_warning_beeper_repeat_time_sec", "soon"),
])
def test_bad_value_reports_file_and_line(tamas_factory, section, key, value):
    d = tamas_factory()
    d.conf.setdefault(section, {})[key] = value
    text = d.conf_text()
    lines = text.splitlines()
    line = next(i + 1 for i, l in enumerate(lines)
                if l.startswith(f"{key} = {value}"))
    d.write_conf(text)
    err = start_expecting_failure(d)
    assert re.search(rf"tamas\.conf:{line}:", err), \
        f"want 'tamas.conf:{line}:' in stderr:\n{err[-2000:]}"


def test_bad_override_value_is_rejected(tamas_factory):
    d = tamas_factory()
    d.overrides.append("sip.port=banana")
    err = start_expecting_failure(d)
    assert "sip.port" in err or "port" in err, err[-2000:]


def test_unwritable_store_directory_is_a_clear_error(tamas_factory, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be\n")
    d = tamas_factory()
    d.db_path = blocker / "sub" / "tamas.db"
    d.conf["store"]["path"] = d.db_path
    err = start_expecting_failure(d)
    assert "not-a-dir" in err, f"the error should name the store path:\n{err[-2000:]}"


def test_missing_database_directory_is_created(tamas_factory, tmp_path):
    d = tamas_factory()
    d.db_path = tmp_path / "fresh" / "deeper" / "tamas.db"
    d.conf["store"]["path"] = d.db_path
    d.start()
    assert d.db_path.exists()
    assert d.cdr_rows() == []          # the cdr table exists and is empty


def test_users_are_seeded_on_first_start_only(tamas_factory, sipp):
    d = tamas_factory()
    d.start()
    d.stop()
    d.users["1001"] = "changed-in-config"
    d.write_conf()
    d.proc = None
    d.start()
    sipp.target = d.target
    # the database keeps the first password
    register(sipp, d, "1001", free_port(), password="pw1001")
    r = register(sipp, d, "1001", free_port(), password="changed-in-config", check=False)
    assert r.rc != 0, "config users were re-seeded over the database"
