"""Fixtures for the tamas system tests.

    tamas          a started tamasd (per test) with free ports, a temp
                   tamas.conf + extensions.lua, users 1001-1003 (pw<ext>),
                   a trunk "prov" at 127.0.0.1:<tamas.prov_port>.
                   Customise with @pytest.mark.tamas(dialplan=..., overrides=[...],
                   conf_update={...}, users={...}, trunks={...}).
    tamas_factory  build (and start yourself) extra/special daemons.
    sipp           a harness.Sipp aimed at the daemon (when the test uses one).

Every daemon is stopped (SIGTERM, SIGKILL after 5 s) at teardown, even on
failure; its stderr is attached to failing reports; sanitizer output in it
or a non-zero exit status after our SIGTERM fails the test.
"""

import pytest

from harness import Sipp, Tamasd, tail


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "tamas(**kw): options for the tamas fixture (see conftest.py)")


def _daemons(item):
    return getattr(item, "_tamas_daemons", [])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for i, d in enumerate(_daemons(item)):
            rep.sections.append((f"tamasd #{i} stderr ({d.stderr_path})", tail(d.stderr(), 300)))


def _finish(daemons):
    problems = []
    for d in daemons:
        if d.proc is None:
            continue
        was_running = d.alive()
        code = d.stop()
        report = d.sanitizer_report()
        if report:
            problems.append(f"sanitizer report in tamasd stderr ({d.stderr_path}):\n"
                            + tail(report, 120))
        elif was_running and code != 0:
            problems.append(f"tamasd exited {code} after SIGTERM (want 0):\n"
                            + tail(d.stderr(), 40))
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def tamas_factory(request, tmp_path):
    made = []
    request.node._tamas_daemons = made

    def make(name=None, **kw):
        d = Tamasd(tmp_path / (name or f"tamas{len(made)}"), **kw)
        made.append(d)
        return d

    yield make
    _finish(made)


@pytest.fixture
def tamas(request, tamas_factory):
    marker = request.node.get_closest_marker("tamas")
    opts = dict(marker.kwargs) if marker else {}
    d = tamas_factory("tamas", **opts)
    d.start()
    return d


@pytest.fixture
def sipp(request, tmp_path):
    target = None
    if "tamas" in request.fixturenames:
        target = request.getfixturevalue("tamas").target
    s = Sipp(tmp_path / "sipp", target=target)
    yield s
    s.kill_all()
