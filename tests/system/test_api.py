"""The REST API (Simotel API v4) over real HTTP: API accounts made with
tamasctl, the three auth modes, allowed networks, permissions, the error
table (401/403/404/405/413/415/400/501/429), the /api/ alias, and PBX users
added through the API registering over SIP until they are removed."""

import re
import shutil
import socket
import subprocess

import pytest

from harness import HOST, free_port, http_call, register

KEY = "k3y-0123456789abcdefghijklmnop"
KEY2 = "k3y-zyxwvutsrqponmlkjihgfedcba"
PING_MSG = ("If the 'Ping' event is enabled in the settings menu, you'll receive it "
            "when it's sent")

# Every test's daemon forgives many failed logins, so that refusals in one
# test never turn into 429s; the brake has its own test.
LENIENT = pytest.mark.tamas(overrides=["http.auth_fail_limit=1000"])


def add_apiuser(tamas, name, *args):
    return tamas.ctl("apiuser", "add", name, *args)


def basic_user(tamas, name="alice", password="alice-secret", *extra):
    add_apiuser(tamas, name, "--auth", "basic", "--password", password, *extra)
    return {"user": name, "password": password}


def ok(r, data=None):
    assert r.status == 200 and r.json and r.json["success"] == 1, r
    if data is not None:
        assert r.json["data"] == data, r
    return r.json


def refused(r, status, message_re):
    assert r.status == status, r
    assert r.json is not None and r.json["success"] == 0, r
    assert re.search(message_re, r.json["message"] or ""), r
    return r.json


def failed(r, message_re):
    """A business error: HTTP 200 with success 0 (spec §1.4)."""
    return refused(r, 200, message_re)


# ------------------------------------------------------------------ transport

@LENIENT
def test_ping_status_line_says_200_ok(tamas):
    basic_user(tamas)
    r = tamas.api("setting/ping/act", {}, user="alice", password="alice-secret")
    ok(r, None)
    assert r.json["message"] == PING_MSG
    assert r.headers["content-type"].startswith("application/json")
    # The raw status line, as a client sees it.
    req = (f"PUT /api/v4/setting/ping/act HTTP/1.1\r\nHost: {HOST}\r\n"
           "Authorization: Basic YWxpY2U6YWxpY2Utc2VjcmV0\r\n"
           "Content-Length: 0\r\nConnection: close\r\n\r\n")
    with socket.create_connection((HOST, tamas.http_port), timeout=5) as s:
        s.sendall(req.encode())
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.split(b"\r\n", 1)[0] == b"HTTP/1.1 200 OK", data[:200]
    assert b'"success":1' in data


@LENIENT
def test_api_alias_serves_the_same_routes(tamas):
    basic_user(tamas)
    r = tamas.api("setting/ping/act", {}, prefix="/api/", user="alice",
                  password="alice-secret")
    assert ok(r)["message"] == PING_MSG
    r = tamas.api("setting/ping/act", None, prefix="/api/", method="PUT", user="alice",
                  password="alice-secret")
    ok(r)


@LENIENT
def test_unknown_paths_404_and_501(tamas):
    basic_user(tamas)
    r = http_call(tamas.api_url + "/index.html", method="GET")
    assert r.status == 404 and r.json is None, r
    r = tamas.api("no/such/service", {}, user="alice", password="alice-secret")
    refused(r, 501, "^Requested service does not exist$")


@LENIENT
def test_wrong_method_is_405_with_allow(tamas):
    basic_user(tamas)
    r = tamas.api("pbx/users/add", None, method="GET", user="alice", password="alice-secret")
    refused(r, 405, "^Method not allowed$")
    assert r.headers.get("allow") == "POST", r.headers


@LENIENT
def test_wrong_content_type_is_415(tamas):
    basic_user(tamas)
    r = tamas.api("pbx/users/add", b"name=x&number=1", user="alice", password="alice-secret",
                  content_type="application/x-www-form-urlencoded")
    refused(r, 415, "^Unsupported Media Type$")
    r = tamas.api("pbx/users/add", b'{"name":"x"}', user="alice", password="alice-secret",
                  content_type=None)
    refused(r, 415, "Unsupported")
    # application/json with parameters is JSON.
    r = tamas.api("setting/ping/act", b"{}", user="alice", password="alice-secret",
                  content_type="application/json; charset=utf-8")
    ok(r)


@LENIENT
def test_bad_json_is_400_with_a_message(tamas):
    basic_user(tamas)
    r = tamas.api("pbx/users/add", b'{"name": "x", ', user="alice", password="alice-secret")
    refused(r, 400, r"^Unable to parse content: .*line 1")
    r = tamas.api("pbx/users/add", b'["an", "array"]', user="alice", password="alice-secret")
    refused(r, 400, "^Unable to parse content: the body must be a JSON object")
    r = tamas.api("pbx/users/add", b'{"name":"a","name":"b"}', user="alice",
                  password="alice-secret")
    refused(r, 400, "duplicate")
    tamas.assert_alive()


@pytest.mark.tamas(overrides=["http.max_body=2048", "http.auth_fail_limit=1000"])
def test_oversized_body_is_413(tamas):
    import http.client
    basic_user(tamas)
    big = {"name": "x" * 4096, "number": "2001", "secret": "s"}
    refused(tamas.api("pbx/users/add", big, user="alice", password="alice-secret"),
            413, "too large")
    # Chunked: no Content-Length to refuse early; the body is read and refused.
    conn = http.client.HTTPConnection(HOST, tamas.http_port, timeout=5)
    conn.request("POST", "/api/v4/pbx/users/add", body=iter([b'{"name":"', b"y" * 3000,
                                                              b'"}']),
                 headers={"Content-Type": "application/json",
                          "Authorization": "Basic YWxpY2U6YWxpY2Utc2VjcmV0"},
                 encode_chunked=True)
    resp = conn.getresponse()
    assert resp.status == 413, resp.read()
    conn.close()
    # Just under the limit is fine (and then a business error, not 413).
    r = tamas.api("pbx/users/add", {"pad": "z" * 1800}, user="alice", password="alice-secret")
    failed(r, "Field 'name'")


# ------------------------------------------------------------------ authentication

@LENIENT
def test_basic_mode(tamas):
    basic_user(tamas)
    ok(tamas.api("setting/ping/act", {}, user="alice", password="alice-secret"))
    refused(tamas.api("setting/ping/act", {}, user="alice", password="wrong-secret"),
            401, "^BasicAuth or ApiKey is invalid$")
    refused(tamas.api("setting/ping/act", {}, user="mallory", password="alice-secret"),
            401, "invalid")
    r = tamas.api("setting/ping/act", {})
    refused(r, 401, "^BasicAuth or ApiKey is missing$")
    assert r.headers.get("www-authenticate", "").startswith("Basic"), r.headers
    refused(tamas.api("setting/ping/act", {}, key=KEY), 401, "invalid")


@LENIENT
def test_token_mode(tamas):
    add_apiuser(tamas, "bot", "--auth", "token", "--key", KEY)
    ok(tamas.api("setting/ping/act", {}, key=KEY))
    refused(tamas.api("setting/ping/act", {}, key=KEY2), 401, "invalid")
    refused(tamas.api("setting/ping/act", {}, key=KEY[:-1]), 401, "invalid")
    # A token account's name and any password, without the key: missing key.
    refused(tamas.api("setting/ping/act", {}, user="bot", password="anything1"), 401,
            "invalid")


@LENIENT
def test_both_mode_needs_password_and_key(tamas):
    add_apiuser(tamas, "strict", "--auth", "both", "--password", "strict-secret", "--key", KEY)
    ok(tamas.api("setting/ping/act", {}, user="strict", password="strict-secret", key=KEY))
    refused(tamas.api("setting/ping/act", {}, user="strict", password="strict-secret"),
            401, "invalid")
    refused(tamas.api("setting/ping/act", {}, key=KEY), 401, "invalid")
    refused(tamas.api("setting/ping/act", {}, user="strict", password="wrong-secret", key=KEY),
            401, "invalid")
    refused(tamas.api("setting/ping/act", {}, user="strict", password="strict-secret",
                      key=KEY2), 401, "invalid")


@LENIENT
def test_ip_not_allowed_is_403(tamas):
    basic_user(tamas, "lan", "lan-secret1", "--allow-ip", "10.0.0.0/8")
    basic_user(tamas, "local", "local-secret", "--allow-ip", "10.0.0.0/8",
               "--allow-ip", "127.0.0.0/8,::1")
    refused(tamas.api("setting/ping/act", {}, user="lan", password="lan-secret1"), 403,
            "^IP is not permitted$")
    ok(tamas.api("setting/ping/act", {}, user="local", password="local-secret"))


@pytest.mark.tamas(overrides=["http.allow_ips=192.0.2.0/24", "http.auth_fail_limit=1000"])
def test_global_allow_list_refuses_other_addresses(tamas):
    basic_user(tamas)
    refused(tamas.api("setting/ping/act", {}, user="alice", password="alice-secret"), 403,
            "IP is not permitted")


@LENIENT
def test_permission_denied_is_403(tamas):
    basic_user(tamas, "pinger", "pinger-secret", "--perm", "setting/ping/act")
    basic_user(tamas, "pbx", "pbx-secret1", "--perm", "/pbx/users/search,pbx/users/add")
    ok(tamas.api("setting/ping/act", {}, user="pinger", password="pinger-secret"))
    refused(tamas.api("pbx/users/search", {"alike": False}, user="pinger",
                      password="pinger-secret"), 403, "^/pbx/users/search;Access denied$")
    ok(tamas.api("pbx/users/search", {"alike": False}, user="pbx", password="pbx-secret1"))
    refused(tamas.api("pbx/users/remove", {"_id": "x"}, user="pbx", password="pbx-secret1"),
            403, "Access denied")
    refused(tamas.api("setting/ping/act", {}, user="pbx", password="pbx-secret1"), 403,
            "Access denied")


@pytest.mark.tamas(overrides=["http.auth_fail_limit=3", "http.auth_block=300"])
def test_failed_logins_block_the_address(tamas):
    basic_user(tamas)
    for _ in range(3):
        refused(tamas.api("setting/ping/act", {}, user="alice", password="guess-guess"),
                401, "invalid")
    # Now even the right password is not checked.
    refused(tamas.api("setting/ping/act", {}, user="alice", password="alice-secret"), 429,
            "Too many failed logins")
    refused(tamas.api("setting/ping/act", {}), 429, "Too many")
    assert "too many failed logins" in tamas.stderr()
    assert tamas.stderr().count("too many failed logins") == 1


# ------------------------------------------------------------------ tamasctl apiuser

def test_apiuser_cli_add_list_del(tamas):
    add_apiuser(tamas, "both1", "--auth", "both", "--password", "both-secret", "--key", KEY,
                "--allow-ip", "10.0.0.0/8", "--perm", "pbx/*")
    add_apiuser(tamas, "plain", "--password", "plain-secret")
    users = {u["name"]: u for u in tamas.ctl_json("apiuser", "list")}
    assert set(users) == {"both1", "plain"}, users
    b = users["both1"]
    assert b["auth"] == "both" and b["password"] is True
    assert b["allow_ips"] == ["10.0.0.0/8"] and b["perms"] == ["pbx/*"]
    assert users["plain"]["auth"] == "basic" and users["plain"]["perms"] == ["*"]
    out = tamas.ctl("apiuser", "list").stdout
    assert KEY not in out and "both-secret" not in out and "$6$" not in out, out
    tamas.ctl("apiuser", "del", "both1")
    assert [u["name"] for u in tamas.ctl_json("apiuser", "list")] == ["plain"]
    # The account is gone for the API at once.
    refused(tamas.api("setting/ping/act", {}, user="both1", password="both-secret", key=KEY),
            401, "invalid")


@pytest.mark.parametrize("args,reason", [
    (["--auth", "basic"], "needs --password"),
    (["--auth", "token", "--key", "short"], "--key"),
    (["--auth", "magic", "--password", "long-enough"], "basic, token or both"),
    (["--password", "long-enough", "--allow-ip", "10.0.0.0/40"], "10.0.0.0/40"),
    (["--password", "long-enough", "--perm", "pbx/us*"], "pbx/us\\*"),
    (["--password", "short"], "--password"),
])
def test_apiuser_cli_refuses_bad_input_with_one_line(tamas, args, reason):
    r = tamas.ctl("apiuser", "add", "eve", *args, check=False)
    out = (r.stdout + r.stderr).strip()
    assert r.returncode != 0
    assert len(out.splitlines()) == 1 and re.search(reason, out), out
    assert tamas.ctl_json("apiuser", "list") == []


def test_apiuser_cli_duplicate_and_unknown(tamas):
    add_apiuser(tamas, "dup", "--password", "dup-secret1")
    r = tamas.ctl("apiuser", "add", "dup", "--password", "dup-secret2", check=False)
    assert r.returncode != 0 and "exists" in r.stderr
    r = tamas.ctl("apiuser", "del", "ghost", check=False)
    assert r.returncode != 0 and "no such API user" in r.stderr


# ------------------------------------------------------------------ PBX users

def user_body(number, **kw):
    body = {"name": f"User {number}", "number": number, "secret": f"pw-{number}-x"}
    body.update(kw)
    return body


def search(tamas, auth, body=None):
    r = tamas.api("pbx/users/search", body if body is not None else {"alike": False}, **auth)
    return ok(r)["data"]


@LENIENT
def test_user_added_by_api_registers_until_removed(tamas, sipp):
    auth = basic_user(tamas)
    r = tamas.api("pbx/users/add", user_body("2050", call_record="yes",
                                             forward_policy={"Busy": "2051"}), **auth)
    body = ok(r)
    assert body["message"] == "Requested operation is done successfully"
    uid = body["data"]["_id"]
    assert re.fullmatch(r"[0-9a-f]{24}", uid), uid

    rows = search(tamas, auth, {"alike": False, "conditions": {"number": "2050"}})
    assert len(rows) == 1, rows
    u = rows[0]
    assert u["_id"] == uid and u["name"] == "User 2050" and u["number"] == "2050"
    assert u["secret"] == "******" and u["active"] == "yes" and u["call_record"] == "yes"
    assert u["context"] == "main_routing" and u["queues"] == [] and u["date"]
    assert u["forward_policy"] == {"Busy": "2051", "No Answer": "", "UnAvailable": "",
                                   "All": ""}
    assert "pw-2050-x" not in r.raw.decode() + str(rows)

    # No restart: the registrar reads the new user at once.
    register(sipp, tamas, "2050", free_port(), password="pw-2050-x")
    assert tamas.is_registered("2050")

    # New secret: the old one stops working, the new one works.
    ok(tamas.api("pbx/users/update", {"_id": uid, "secret": "new-secret-2050"}, **auth), "")
    r = register(sipp, tamas, "2050", free_port(), password="pw-2050-x", check=False)
    assert r.rc != 0, "the old secret still registers"
    register(sipp, tamas, "2050", free_port(), password="new-secret-2050")
    u = search(tamas, auth, {"alike": False, "conditions": {"number": "2050"}})[0]
    assert u["name"] == "User 2050" and u["call_record"] == "yes"   # partial update

    # Disabled users cannot register.
    ok(tamas.api("pbx/users/update", {"_id": uid, "active": "no"}, **auth))
    r = register(sipp, tamas, "2050", free_port(), password="new-secret-2050", check=False)
    assert r.rc != 0, "a disabled user registered"
    ok(tamas.api("pbx/users/update", {"_id": uid, "active": "yes"}, **auth))

    ok(tamas.api("pbx/users/remove", {"_id": uid}, **auth), "")
    assert search(tamas, auth, {"alike": False, "conditions": {"number": "2050"}}) == []
    r = register(sipp, tamas, "2050", free_port(), password="new-secret-2050", check=False)
    assert r.rc != 0, "a removed user could still register"
    failed(tamas.api("pbx/users/remove", {"_id": uid}, **auth), "No user with this _id")
    failed(tamas.api("pbx/users/update", {"_id": uid, "name": "x"}, **auth), "No user")


@LENIENT
def test_user_validation_names_the_field_and_creates_nothing(tamas):
    auth = basic_user(tamas)
    before = search(tamas, auth)
    cases = [
        ({"number": "2060", "secret": "s3cret-2060"}, r"^Field 'name':value is missing$"),
        ({"name": "N", "secret": "s3cret-2060"}, r"^Field 'number':value is missing$"),
        ({"name": "N", "number": "2060"}, r"^Field 'secret':value is missing$"),
        (user_body("2060", name=""), r"Field 'name':value is missing"),
        (user_body("2060", name={"a": 1}), r"Field 'name'"),
        (user_body("20 60"), r"Field 'number'"),
        (user_body("2060", active="maybe"), r"Field 'active'"),
        (user_body("2060", call_record="sometimes"), r"Field 'call_record'"),
        (user_body("2060", dtmfmode="morse"), r"Field 'dtmfmode'"),
        (user_body("2060", user_type="IAX2"), r"Field 'user_type'"),
        (user_body("2060", port="50a"), r"Field 'port'"),
        (user_body("2060", forward_policy={"Sometimes": "1"}), r"Field 'forward_policy'"),
        (user_body("2060", forward_policy="2061"), r"Field 'forward_policy'"),
        (user_body("2060", context="bad context"), r"Field 'context'"),
    ]
    for body, msg in cases:
        failed(tamas.api("pbx/users/add", body, **auth), msg)
    assert search(tamas, auth) == before
    # Numbers given as JSON numbers are accepted (spec §1.7).
    uid = ok(tamas.api("pbx/users/add", {"name": "Num", "number": 2061, "secret": "s3cret-2061",
                                         "port": 5060}, **auth))["data"]["_id"]
    failed(tamas.api("pbx/users/add", user_body("2061"), **auth), "^This number already exists$")
    failed(tamas.api("pbx/users/update", {"name": "x"}, **auth), "Field '_id':value is missing")
    # A refused update changes nothing.
    failed(tamas.api("pbx/users/update", {"_id": uid, "name": "Changed", "active": "perhaps"},
                     **auth), "Field 'active'")
    ok(tamas.api("pbx/users/add", user_body("2062"), **auth))
    failed(tamas.api("pbx/users/update", {"_id": uid, "number": "2062"}, **auth),
           "already exists")
    u = search(tamas, auth, {"alike": False, "conditions": {"number": "2061"}})
    assert len(u) == 1 and u[0]["name"] == "Num" and u[0]["port"] == "5060", u
    failed(tamas.api("pbx/users/search", {}, **auth), "^Field 'alike':value is missing$")


@LENIENT
def test_user_search_filters_and_pagination(tamas):
    auth = basic_user(tamas)
    for n, name in (("3001", "Sales Ali"), ("3002", "Sales Sara"), ("3010", "Support Reza"),
                    ("4001", "Boss")):
        ok(tamas.api("pbx/users/add", user_body(n, name=name), **auth))
    numbers = lambda rows: [r["number"] for r in rows]   # noqa: E731
    seeded = {"1001", "1002", "1003"}
    assert set(numbers(search(tamas, auth))) == seeded | {"3001", "3002", "3010", "4001"}
    assert numbers(search(tamas, auth, {"alike": True, "conditions": {"name": "sales"}})) \
        == ["3001", "3002"]
    assert numbers(search(tamas, auth, {"alike": "false", "conditions": {"name": "sales"}})) \
        == []
    assert numbers(search(tamas, auth, {"alike": False, "conditions":
                                        {"name": "Sales Sara"}})) == ["3002"]
    assert numbers(search(tamas, auth, {"alike": True, "conditions": {"number": "30"}})) \
        == ["3001", "3002", "3010"]
    # LIKE wildcards are literal.
    assert search(tamas, auth, {"alike": True, "conditions": {"number": "3_0"}}) == []
    assert numbers(search(tamas, auth, {"alike": True, "conditions": {"number": "30", "name": ""},
                                        "status": "all"})) == ["3001", "3002", "3010"]
    assert search(tamas, auth, {"alike": True, "status": "mapped"}) == []
    # Top-level filters, as the docs' table has them.
    assert numbers(search(tamas, auth, {"alike": False, "number": "4001"})) == ["4001"]

    page = search(tamas, auth, {"alike": True, "conditions": {"number": "0"},
                                "pagination": {"start": 1, "count": 2, "sorting": {"name": -1}}})
    assert page["pagination"] == {"start": 1, "count": 2, "sorting": {"name": -1},
                                  "total": 7}, page
    # names descending: Support Reza, Sales Sara, Sales Ali, Boss, then the
    # seeded users, whose name is empty
    assert numbers(page["data"]) == ["3002", "3001"], page
    failed(tamas.api("pbx/users/search", {"alike": True, "pagination": {"sorting": {"x": 1}}},
                     **auth), "Field 'pagination.sorting'")
    failed(tamas.api("pbx/users/search", {"alike": True, "pagination": {"count": -1}}, **auth),
           "Field 'pagination.count'")
    failed(tamas.api("pbx/users/search", {"alike": "perhaps"}, **auth), "Field 'alike'")
    failed(tamas.api("pbx/users/search", {"alike": True, "conditions": []}, **auth),
           "Field 'conditions'")


# ------------------------------------------------------------------ configuration

@pytest.mark.parametrize("key,value,reason", [
    ("port", "banana", "http.port"),
    ("bind", "not-an-ip", "http.bind"),
    ("allow_ips", "10.0.0.0/8,nowhere", "http.allow_ips: not an address or CIDR: 'nowhere'"),
    ("max_body", "10", "http.max_body"),
    ("enabled", "perhaps", "http.enabled"),
    ("tls_cert", "/nonexistent/cert.pem", "tls_key go together"),
])
def test_bad_http_config_names_file_and_line(tamas_factory, key, value, reason):
    d = tamas_factory()
    d.conf["http"][key] = value
    text = d.conf_text()
    line = next(i + 1 for i, l in enumerate(text.splitlines()) if l == f"{key} = {value}")
    d.write_conf(text)
    d.spawn()
    assert d.wait_exit(10) != 0
    err = d.stderr()
    assert f"tamas.conf:{line}:" in err and reason in err, err[-1500:]


def test_http_disabled_listens_nowhere(tamas_factory):
    d = tamas_factory()
    d.conf["http"]["enabled"] = "no"
    d.start()
    with pytest.raises(OSError):
        socket.create_connection((HOST, d.http_port), timeout=2).close()


def test_http_port_in_use_stops_startup(tamas_factory):
    blocker = socket.socket()
    blocker.bind((HOST, 0))
    blocker.listen(1)
    try:
        d = tamas_factory(http_port=blocker.getsockname()[1])
        d.spawn()
        assert d.wait_exit(10) != 0
        assert "http: cannot listen" in d.stderr(), d.stderr()[-1500:]
    finally:
        blocker.close()


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")
def test_https_with_configured_certificate(tamas_factory, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    d = tamas_factory()
    d.conf["http"].update({"tls_cert": cert, "tls_key": key})
    d.start()
    basic_user(d)
    r = d.api("setting/ping/act", {}, user="alice", password="alice-secret")
    assert d.api_url.startswith("https:") and ok(r)["message"] == PING_MSG
    # Plain HTTP to the TLS port gets no API answer.
    with pytest.raises(Exception):
        http_call(f"http://{HOST}:{d.http_port}/api/v4/setting/ping/act", {}, user="alice",
                  password="alice-secret", timeout=3)
