"""Trunks: calls out to a provider, calls in by DID, registration to a provider."""
from phones import free_port, pbx, sipp  # noqa: F401 (fixtures)
from test_call_flows import register_callee

import pytest


@pytest.fixture
def trunked(pbx):
    pbx.prov_port = free_port()
    pbx.write_config(extra=f"""
[trunk prov]
host = 127.0.0.1
port = {pbx.prov_port}
context = from_trunk
""")
    pbx.start()
    pbx.add_user("1001", "pw1001")
    pbx.add_user("1002", "pw1002")
    return pbx


def test_call_out_through_static_trunk(trunked, sipp):
    prov = sipp.start("uas_answer.xml", trunked.prov_port, service="prov")
    r = sipp.run("uac_call.xml", free_port(), service="1001",
                 keys={"dest": "09121234567", "hold": 300},
                 extra=["-au", "1001", "-ap", "pw1001"])
    assert r.returncode == 0, r.errors
    assert sipp.wait(prov) == 0, prov.errors
    assert "INVITE sip:09121234567@127.0.0.1:%d" % trunked.prov_port in sipp.read(prov.tag, "msg")
    (row,) = trunked.wait_cdrs(1)
    assert row["disposition"] == "ANSWERED"
    assert row["dstchannel"].startswith("SIP/prov/09121234567-")


def test_call_in_from_trunk_routes_by_did(trunked, sipp):
    uas_port = register_callee(sipp)
    uas = sipp.start("uas_answer.xml", uas_port)
    # the provider sends from its own host:port, no credentials
    r = sipp.run("uac_trunk_in.xml", trunked.prov_port, service="02155501234",
                 keys={"dest": "02188880000", "hold": 300})
    assert r.returncode == 0, r.errors
    assert sipp.wait(uas) == 0, uas.errors
    (row,) = trunked.wait_cdrs(1)
    assert row["dcontext"] == "from_trunk"
    assert row["dst"] == "02188880000"
    assert row["src"] == "02155501234"
    assert row["disposition"] == "ANSWERED"


def test_registering_trunk_authenticates_to_provider(pbx, sipp):
    prov_port = free_port()
    prov = sipp.start("uas_registrar.xml", prov_port, service="prov")
    pbx.write_config(extra=f"""
[trunk reg]
host = 127.0.0.1
port = {prov_port}
username = trunkuser
password = trunkpass
register = yes
expires = 300
""")
    pbx.start()
    assert sipp.wait(prov, timeout=20) == 0, prov.errors
    msgs = sipp.read(prov.tag, "msg")
    assert 'username="trunkuser"' in msgs and 'realm="provider"' in msgs
    pbx.wait_log(r"trunk: registration 200")
    (t,) = pbx.ctl_json("trunks")
    assert t["name"] == "reg" and t["registered"] is True
