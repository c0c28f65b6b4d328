"""The CDR reports of the REST API (simotel-api-v4.md §1.5, §1.6, §2.11)
over real HTTP: reports/quick/search (and its reports/cdr alias),
reports/cdr/search, reports/cdr/ordered/id, reports/quick/info and
reports/audio/download. Most tests read rows inserted with sqlite3 into a
running daemon's database (one daemon for the module); one makes a real
recorded call and downloads its recording."""

import os
import re
import sqlite3
import time

import pytest

from harness import SANITIZER_MARKERS, Tamasd, call, tail, wait_until

USER, PASSWORD = "rep", "rep-secret-1"
WIDE = {"from": "2024-01-01 00:00", "to": "2024-12-31 23:59"}

COLS = ("calldate", "start", "answer", "end", "clid", "src", "dst", "dcontext", "channel",
        "dstchannel", "lastapp", "lastdata", "duration", "billsec", "disposition",
        "uniqueid", "linkedid", "userfield", "accountcode", "recordingfile",
        "originated_call_id")


def cdr(start, src, dst, disp, *, answer=None, end=None, duration=10, billsec=0,
        channel=None, dstchannel=None, uniqueid=None, linkedid=None, rec=None, orig=None):
    uniqueid = uniqueid or f"u-{start}-{src}"
    return {"calldate": start, "start": start, "answer": answer, "end": end or start,
            "clid": f'"" <{src}>', "src": src, "dst": dst, "dcontext": "main_routing",
            "channel": channel or f"SIP/{src}-0000aaaa",
            "dstchannel": dstchannel if dstchannel is not None else f"SIP/{dst}-0000bbbb",
            "lastapp": "Dial", "lastdata": f"SIP/{dst},30", "duration": duration,
            "billsec": billsec, "disposition": disp, "uniqueid": uniqueid,
            "linkedid": linkedid or uniqueid, "userfield": "", "accountcode": "",
            "recordingfile": rec or "", "originated_call_id": orig}


def seed_rows(recdir):
    rows = [
        # 1: local, answered after 5 s, recorded
        cdr("2024-05-30 09:00:00", "1001", "1002", "ANSWERED", answer="2024-05-30 09:00:05",
            end="2024-05-30 09:01:05", duration=65, billsec=60, uniqueid="1717000000.1",
            rec=f"{recdir}/rec-1.wav"),
        # 2 and 3: one incoming call from trunk prov, two legs
        cdr("2024-05-30 10:00:00", "09120000000", "88001234", "NO ANSWER", duration=20,
            channel="SIP/prov-0000000a", dstchannel="SIP/1001-0000000b",
            uniqueid="1717000100.2"),
        cdr("2024-05-30 10:00:01", "09120000000", "1002", "ANSWERED",
            answer="2024-05-30 10:00:04", duration=30, billsec=27,
            channel="SIP/prov-0000000a", dstchannel="SIP/1002-0000000c",
            uniqueid="1717000100.3", linkedid="1717000100.2"),
        # 4: outgoing through prov, originated
        cdr("2024-05-30 11:00:00", "1002", "09351112233", "BUSY", duration=3,
            dstchannel="SIP/prov/09351112233-0000000d", uniqueid="1717000200.4",
            orig="orig-42"),
        # 5: a feature code
        cdr("2024-05-31 08:00:00", "1003", "*72", "ANSWERED", answer="2024-05-31 08:00:00",
            duration=2, billsec=2, dstchannel="", uniqueid="1717000300.5"),
        # 6: local, failed, LIKE's wildcards in the number
        cdr("2024-06-01 12:00:00", "10%_1", "1003", "FAILED", duration=0,
            uniqueid="1717000400.6"),
        # 7: recorded outside the recordings directory (MixMonitor with an
        # absolute name), under the same file name as row 1's recording
        cdr("2024-06-02 12:00:00", "1004", "1005", "ANSWERED", duration=1, billsec=1,
            uniqueid="1717000500.7", rec=f"{recdir.parent}/elsewhere/rec-1.wav"),
    ]
    # 8..32: 25 filler calls an hour apart for paging, durations 100..124
    for i in range(25):
        rows.append(cdr(f"2024-07-01 {i // 2:02d}:{(i % 2) * 30:02d}:00", "2000",
                        f"30{i:02d}", "ANSWERED", answer=f"2024-07-01 {i // 2:02d}:"
                        f"{(i % 2) * 30:02d}:01", duration=100 + (i * 7) % 25,
                        billsec=99 + (i * 7) % 25, uniqueid=f"1719000000.{i}"))
    return rows


def insert(db_path, rows):
    con = sqlite3.connect(str(db_path), timeout=5)
    try:
        for r in rows:
            con.execute(f"INSERT INTO cdr({','.join(COLS)}) VALUES({','.join('?' * len(COLS))})",
                        [r[c] for c in COLS])
        con.commit()
        return [i for (i,) in con.execute("SELECT id FROM cdr ORDER BY id")]
    finally:
        con.close()


@pytest.fixture(scope="module")
def rep(tmp_path_factory):
    """One daemon with the seeded rows, its recording and an API account."""
    d = Tamasd(tmp_path_factory.mktemp("reports") / "tamas",
               overrides=["http.auth_fail_limit=1000"])
    d.start()
    try:
        d.ctl("apiuser", "add", USER, "--auth", "basic", "--password", PASSWORD)
        recdir = d.workdir / "recordings"
        recdir.mkdir(exist_ok=True)
        (recdir / "rec-1.wav").write_bytes(b"RIFF" + bytes(range(256)) * 40)
        (recdir / "sub").mkdir(exist_ok=True)
        (recdir / "sub" / "b.mp3").write_bytes(b"ID3-not-really-mp3")
        (d.workdir / "secret.txt").write_text("outside the recordings directory\n")
        (recdir / "escape.wav").symlink_to(d.workdir / "secret.txt")
        os.mkfifo(recdir / "pipe.wav")
        (d.workdir / "elsewhere").mkdir()
        (d.workdir / "elsewhere" / "rec-1.wav").write_bytes(b"RIFF-elsewhere")
        d.rows = seed_rows(recdir)
        d.ids = insert(d.db_path, d.rows)
        yield d
    finally:
        alive = d.alive()
        code = d.stop()
        text = d.stderr()
        assert not any(m in text for m in SANITIZER_MARKERS), tail(text, 120)
        assert not alive or code == 0, tail(text, 40)


def api(d, path, body, **kw):
    kw.setdefault("user", USER)
    kw.setdefault("password", PASSWORD)
    return d.api(path, body, **kw)


def ok(r):
    assert r.status == 200 and r.json and r.json["success"] == 1, r
    return r.json["data"]


def failed(r, message_re):
    assert r.status == 200 and r.json and r.json["success"] == 0, r
    assert re.search(message_re, r.json["message"] or ""), r
    assert r.json.get("data") is None, r


def search(d, conditions=None, date_range=WIDE, pagination=None, alike=False,
           path="reports/quick/search"):
    body = {"alike": alike, "conditions": conditions or {}, "date_range": date_range}
    if pagination is not None:
        body["pagination"] = pagination
    return api(d, path, body)


def cuids(data):
    return [row["uniqueid"] for row in data["data"]]


def expect(d, pred):
    """uniqueids of the seeded rows matching pred, newest first (the default)."""
    rows = [r for r in d.rows if pred(r)]
    rows.sort(key=lambda r: (r["calldate"], d.ids[d.rows.index(r)]), reverse=True)
    return [r["uniqueid"] for r in rows]


# ------------------------------------------------------------------ search

def test_quick_search_defaults_to_20_newest_first_with_totals(rep):
    data = ok(search(rep))
    assert data["pagination"] == {"start": 0, "count": 20, "sorting": {"starttime": -1},
                                  "total": len(rep.rows)}
    assert data["target"] == "cdr" and data["useGroupBy"] is False
    assert cuids(data) == expect(rep, lambda r: True)[:20]


def test_row_shape_of_an_answered_recorded_local_call(rep):
    data = ok(search(rep, {"cuid": "1717000000.1"}, date_range={}))
    [row] = data["data"]
    assert re.fullmatch(r"[0-9a-f]{24}", row["_id"]) and int(row["_id"], 16) == rep.ids[0]
    want = {"type": "local", "cuid": "1717000000.1", "uniqueid": "1717000000.1",
            "src": "1001", "dst": "1002", "clid": '"" <1001>', "disposition": "ANSWERED",
            "start": "2024-05-30 09:00:00", "starttime": "2024-05-30 09:00:00",
            "answer": "2024-05-30 09:00:05", "endtime": "2024-05-30 09:01:05",
            "duration": 65, "billsec": 60, "wait": 5, "amaflags": "DOCUMENTATION",
            "record": "rec-1.wav", "ANSWERED": 1, "local": 1, "v": 2,
            "dcontext": "main_routing", "channel": "SIP/1001-0000aaaa",
            "dstchannel": "SIP/1002-0000bbbb", "lastapp": "Dial", "sequence": "0",
            "billsec_hhmmss": "00:01:00", "wait_hhmmss": "00:00:05",
            "duration_hhmmss": "00:01:05", "route": [], "details": []}
    assert {k: row.get(k) for k in want} == want
    assert "entry_point" not in row and "outgoing_point" not in row
    assert "originated_call_id" not in row


def test_row_types_and_trunk_names(rep):
    def one(cuid):
        rows = ok(search(rep, {"cuid": cuid}, date_range={}))["data"]
        [row] = [r for r in rows if r["uniqueid"] == cuid]
        return row
    inc = one("1717000100.2")
    assert inc["type"] == "incoming" and inc["incoming"] == 1
    assert inc["entry_point"] == "prov" and inc["did"] == "88001234"
    assert inc["answer"] is None and inc["wait"] == 20 and inc["NO ANSWER"] == 1
    out = one("1717000200.4")
    assert out["type"] == "outgoing" and out["outgoing_point"] == "prov"
    assert out["originated_call_id"] == "orig-42" and out["BUSY"] == 1
    assert one("1717000300.5")["type"] == "feature"


def test_pagination_walks_every_row_once(rep):
    seen, total = [], None
    for start in range(0, 40, 7):
        data = ok(search(rep, pagination={"start": start, "count": 7,
                                           "sorting": {"starttime": 1}}))
        assert data["pagination"] == {"start": start, "count": 7,
                                      "sorting": {"starttime": 1}, "total": len(rep.rows)}
        seen += cuids(data)
    assert seen == list(reversed(expect(rep, lambda r: True)))
    # strings are numbers too (spec §1.7); past the end is empty, total kept
    data = ok(search(rep, pagination={"start": "100", "count": "5"}))
    assert data["data"] == [] and data["pagination"]["total"] == len(rep.rows)


def test_sorting_by_each_field(rep):
    def order(field, d):
        return ok(search(rep, pagination={"count": 100, "sorting": {field: d}}))["data"]
    rows = order("duration", 1)
    assert [r["duration"] for r in rows] == sorted(r["duration"] for r in rep.rows)
    rows = order("duration", -1)
    assert [r["duration"] for r in rows] == sorted((r["duration"] for r in rep.rows),
                                                   reverse=True)
    rows = order("src", 1)
    assert [r["src"] for r in rows] == sorted(r["src"] for r in rep.rows)
    rows = order("_id", -1)
    assert [int(r["_id"], 16) for r in rows] == sorted(rep.ids, reverse=True)
    rows = order("billsec", "-1")
    assert [r["billsec"] for r in rows] == sorted((r["billsec"] for r in rep.rows),
                                                  reverse=True)
    for field in ("endtime", "answer", "dst", "disposition", "cuid", "date"):
        assert len(order(field, 1)) == len(rep.rows)
    # ties are broken by id, so equal keys never swap between pages
    a = ok(search(rep, pagination={"count": 100, "sorting": {"disposition": 1}}))["data"]
    b = []
    for start in range(0, 35, 5):
        b += ok(search(rep, pagination={"start": start, "count": 5,
                                        "sorting": {"disposition": 1}}))["data"]
    assert [r["_id"] for r in a] == [r["_id"] for r in b]


def test_filter_src_dst_exact_and_alike(rep):
    assert cuids(ok(search(rep, {"from": "1001"}))) == expect(rep, lambda r: r["src"] == "1001")
    assert cuids(ok(search(rep, {"src": "1001"}))) == expect(rep, lambda r: r["src"] == "1001")
    assert cuids(ok(search(rep, {"to": "1002"}))) == expect(rep, lambda r: r["dst"] == "1002")
    assert cuids(ok(search(rep, {"to": "100"}))) == []
    assert cuids(ok(search(rep, {"to": "100"}, alike=True, pagination={"count": 100}))) == \
        expect(rep, lambda r: "100" in r["dst"])
    assert cuids(ok(search(rep, {"from": "0912"}, alike="true"))) == \
        expect(rep, lambda r: r["src"].startswith("0912"))
    # empty strings mean "no filter" (spec §1.5)
    assert ok(search(rep, {"from": "", "to": ""}))["pagination"]["total"] == len(rep.rows)
    # numbers may come as JSON numbers
    assert cuids(ok(search(rep, {"from": 1001}))) == expect(rep, lambda r: r["src"] == "1001")


def test_filter_number_matches_either_side(rep):
    want = expect(rep, lambda r: "1002" in (r["src"], r["dst"]))
    assert cuids(ok(search(rep, {"number": "1002"}))) == want and len(want) == 3


def test_like_wildcards_and_quotes_are_literal(rep):
    assert cuids(ok(search(rep, {"from": "%_"}, alike=True))) == ["1717000400.6"]
    assert cuids(ok(search(rep, {"from": "10%_1"}))) == ["1717000400.6"]
    assert cuids(ok(search(rep, {"from": "1001' OR '1'='1"}))) == []
    assert cuids(ok(search(rep, {"from": "1001' OR '1'='1"}, alike=True))) == []


def test_filter_cuid_covers_every_leg_without_a_date_range(rep):
    assert cuids(ok(search(rep, {"cuid": "1717000100.2"}, date_range={}))) == \
        ["1717000100.3", "1717000100.2"]
    assert cuids(ok(search(rep, {"cuid": "1717000100.3"}, date_range=None))) == \
        ["1717000100.3"]
    # a date range given with cuid still applies
    assert cuids(ok(search(rep, {"cuid": "1717000100.2"},
                           date_range={"from": "2024-06-01 00:00",
                                       "to": "2024-06-02 00:00"}))) == []
    assert cuids(ok(search(rep, {"cuid": "no-such-call"}, date_range={}))) == []


def test_filter_disposition_and_type(rep):
    for disp in ("ANSWERED", "NO ANSWER", "BUSY", "FAILED"):
        data = ok(search(rep, {"disposition": disp.lower()}, pagination={"count": 100}))
        assert cuids(data) == expect(rep, lambda r: r["disposition"] == disp), disp
        assert all(r[disp] == 1 for r in data["data"])
    assert ok(search(rep, {"disposition": "CONGESTION"}))["data"] == []
    types = {"incoming": ["1717000100.3", "1717000100.2"], "outgoing": ["1717000200.4"],
             "feature": ["1717000300.5"]}
    for t, want in types.items():
        assert cuids(ok(search(rep, {"type": t}))) == want, t
    local = ok(search(rep, {"type": "Local"}, pagination={"count": 100}))
    assert local["pagination"]["total"] == len(rep.rows) - 4
    assert all(r["type"] == "local" for r in local["data"])
    # filters combine
    assert cuids(ok(search(rep, {"type": "incoming", "disposition": "ANSWERED"}))) == \
        ["1717000100.3"]


def test_date_range_bounds_are_inclusive(rep):
    def between(a, b):
        return cuids(ok(search(rep, date_range={"from": a, "to": b},
                               pagination={"count": 100})))
    assert between("2024-05-30 10:00", "2024-05-30 10:00") == ["1717000100.3", "1717000100.2"]
    assert between("2024-05-30 10:00:01", "2024-05-30 11:00:00") == \
        ["1717000200.4", "1717000100.3"]
    assert between("2024-05-31", "2024-05-31") == ["1717000300.5"]
    assert between("2024-05-30 09:00", "2024-05-30 09:59") == ["1717000000.1"]
    assert between("2023-01-01 00:00", "2023-12-31 23:59") == []
    assert len(between("2024-07-01T00:00", "2024-07-01T23:59")) == 25


def test_cdr_search_and_reports_cdr_alias_answer_like_quick_search(rep):
    body = dict(conditions={"number": "1002"}, pagination={"count": 2, "start": 1})
    a = ok(search(rep, **body))
    assert ok(search(rep, path="reports/cdr/search", **body)) == a
    assert ok(search(rep, path="reports/cdr", **body)) == a
    assert len(a["data"]) == 2 and a["pagination"]["total"] == 3


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("body,message", [
    ({"conditions": {}, "date_range": WIDE}, r"Field 'alike':value is missing"),
    ({"alike": "maybe", "date_range": WIDE}, r"Field 'alike'"),
    ({"alike": False}, r"Field 'date_range.from':value is missing"),
    ({"alike": False, "date_range": {}}, r"Field 'date_range.from':value is missing"),
    ({"alike": False, "date_range": {"from": "2024-01-01 00:00"}},
     r"Field 'date_range.to':value is missing"),
    ({"alike": False, "date_range": "2024"}, r"Field 'date_range': expected an object"),
    ({"alike": False, "date_range": {"from": "yesterday", "to": "2024-01-01 00:00"}},
     r"Field 'date_range.from': expected a date"),
    ({"alike": False, "date_range": {"from": "2024-01-01 00:00", "to": "2024-02-30 00:00"}},
     r"Field 'date_range.to': expected a date"),
    ({"alike": False, "date_range": {"from": "1403-03-10 09:00", "to": "1403-13-01 00:00"}},
     r"Field 'date_range.to': expected a date"),
    ({"alike": False, "date_range": {"from": 20240101, "to": "2024-02-01 00:00"}},
     r"Field 'date_range.from': expected a date"),
    ({"alike": False, "date_range": {"from": "2024-02-01 00:00", "to": "2024-01-01 00:00"}},
     r"from is after to"),
    ({"alike": False, "date_range": WIDE, "conditions": ["1001"]},
     r"Field 'conditions': expected an object"),
    ({"alike": False, "date_range": WIDE, "conditions": {"from": {"x": 1}}},
     r"Field 'from'"),
    ({"alike": False, "date_range": WIDE, "conditions": {"to": "9" * 100}}, r"Field 'to'"),
    ({"alike": False, "date_range": WIDE, "conditions": {"disposition": "HAPPY"}},
     r"Field 'disposition': expected ANSWERED"),
    ({"alike": False, "date_range": WIDE, "conditions": {"type": "inbound"}},
     r"Field 'type': expected incoming"),
    ({"alike": False, "date_range": WIDE, "pagination": {"count": 0}},
     r"Field 'pagination.count'"),
    ({"alike": False, "date_range": WIDE, "pagination": {"count": "ten"}},
     r"Field 'pagination.count'"),
    ({"alike": False, "date_range": WIDE, "pagination": {"start": -1}},
     r"Field 'pagination.start'"),
    ({"alike": False, "date_range": WIDE, "pagination": {"start": [0]}},
     r"Field 'pagination.start'"),
    ({"alike": False, "date_range": WIDE, "pagination": []}, r"Field 'pagination'"),
    ({"alike": False, "date_range": WIDE, "pagination": {"sorting": {"starttime": 2}}},
     r"Field 'pagination.sorting'"),
    ({"alike": False, "date_range": WIDE, "pagination": {"sorting": {"a": 1, "b": 1}}},
     r"Field 'pagination.sorting'"),
    ({"alike": False, "date_range": WIDE, "pagination": {"sorting": {"password": 1}}},
     r"cannot sort by 'password'"),
])
def test_search_refuses_bad_input(rep, body, message):
    for path in ("reports/quick/search", "reports/cdr/search"):
        failed(api(rep, path, body), message)


def test_unparsable_bodies_get_400(rep):
    for raw in (b'{"alike": true,', b"[1, 2]", b"alike=true", b'{"alike": true}}'):
        r = api(rep, "reports/quick/search", raw)
        assert r.status == 400 and r.json["success"] == 0, r
        assert r.json["message"].startswith("Unable to parse content"), r
    r = api(rep, "reports/quick/search", b"{}", content_type="text/plain")
    assert r.status == 415, r
    r = api(rep, "reports/quick/search", None, method="GET")
    assert r.status == 405, r


# ------------------------------------------------------------------ info, ordered

def test_quick_info_by_cuid_and_id(rep):
    rows = ok(api(rep, "reports/quick/info", {"cuid": "1717000100.2"}))
    assert [r["uniqueid"] for r in rows] == ["1717000100.2", "1717000100.3"]
    rid = f"{rep.ids[3]:024x}"
    [row] = ok(api(rep, "reports/quick/info", {"_id": rid}))
    assert row["uniqueid"] == "1717000200.4" and row["_id"] == rid
    [row] = ok(api(rep, "reports/quick/info", {"id_": rid.upper()}))
    assert row["_id"] == rid


def test_quick_info_refusals(rep):
    failed(api(rep, "reports/quick/info", {}), r"Field 'cuid':value is missing")
    failed(api(rep, "reports/quick/info", {"cuid": ""}), r"Field 'cuid':value is missing")
    failed(api(rep, "reports/quick/info", {"cuid": "nope"}), r"No call with this cuid")
    failed(api(rep, "reports/quick/info", {"_id": f"{10**9:024x}"}), r"No call with this _id")
    failed(api(rep, "reports/quick/info", {"_id": "12"}), r"Field '_id': expected an id")
    failed(api(rep, "reports/quick/info", {"cuid": ["x"]}), r"Field 'cuid'")


def test_ordered_cursor_pages_by_id(rep):
    seen, last = [], ""
    pages = []
    while True:
        data = ok(api(rep, "reports/cdr/ordered/id", {"_id": last}))
        if not data["data"]:
            assert data["last_id"] == last
            break
        pages.append(len(data["data"]))
        assert data["last_id"] == data["data"][-1]["_id"]
        seen += [int(r["_id"], 16) for r in data["data"]]
        last = data["last_id"]
    assert pages == [20, len(rep.rows) - 20]
    assert seen == rep.ids
    # no _id at all is the first page too
    first = ok(api(rep, "reports/cdr/ordered/id", {}))
    assert [int(r["_id"], 16) for r in first["data"]] == rep.ids[:20]
    assert first["data"][0]["uniqueid"] == "1717000000.1"


def test_ordered_refuses_bad_ids(rep):
    for bad in ("zz", "0" * 23 + "g", "-1", {"$oid": "x"}, "f" * 24):
        failed(api(rep, "reports/cdr/ordered/id", {"_id": bad}), r"Field '_id'")


# ------------------------------------------------------------------ download

def download(d, body, **kw):
    return api(d, "reports/audio/download", body, **kw)


def test_download_by_file_name_and_by_id(rep):
    path = rep.workdir / "recordings" / "rec-1.wav"
    for body in ({"file": "rec-1.wav"}, {"_id": f"{rep.ids[0]:024x}"}):
        r = download(rep, body)
        assert r.status == 200, r
        assert r.raw == path.read_bytes()
        assert r.headers["content-type"] == "audio/wav"
        assert r.headers["content-disposition"] == 'attachment; filename="rec-1.wav"'
        assert r.headers["content-length"] == str(path.stat().st_size)
    r = download(rep, {"file": "sub/b.mp3"})
    assert r.status == 200 and r.raw == b"ID3-not-really-mp3", r
    assert r.headers["content-type"] == "audio/mpeg"
    assert r.headers["content-disposition"] == 'attachment; filename="b.mp3"'


def test_download_unknown_is_a_plain_404(rep):
    for body in ({"file": "nope.wav"}, {"file": "sub"}, {"file": "sub/nope.mp3"},
                 {"_id": f"{rep.ids[1]:024x}"},          # a call without a recording
                 {"_id": f"{10**9:024x}"}):              # no such call
        r = download(rep, body)
        assert r.status == 404 and r.json is None, (body, r)
        assert b"Not Found" in r.raw


def test_download_never_leaves_the_recordings_directory(rep):
    for name in ("../secret.txt", "sub/../../secret.txt", "..", str(rep.workdir / "secret.txt"),
                 "/etc/passwd", "./rec-1.wav", "sub//b.mp3", "..\\secret.txt", "sub/"):
        r = download(rep, {"file": name})
        failed(r, r"Field 'file': expected a file name inside the recordings directory")
        assert b"outside the recordings" not in r.raw
    # a symbolic link inside pointing outside is as good as missing
    r = download(rep, {"file": "escape.wav"})
    assert r.status == 404 and b"outside" not in r.raw, r
    assert "leads outside" in rep.stderr()
    # a FIFO is no recording (and opening it must not hang the daemon)
    r = download(rep, {"file": "pipe.wav"})
    assert r.status == 404, r
    # a call recorded outside: its bare name shows, but by _id it is not
    # served, neither the outside file nor the other rec-1.wav inside
    rows = ok(api(rep, "reports/quick/info", {"cuid": "1717000500.7"}))
    assert rows[0]["record"] == "rec-1.wav"
    r = download(rep, {"_id": rows[0]["_id"]})
    assert r.status == 404 and r.json is None, r


def test_download_refusals(rep):
    failed(download(rep, {}), r"Field 'file':value is missing")
    failed(download(rep, {"file": ""}), r"Field 'file':value is missing")
    failed(download(rep, {"file": ["rec-1.wav"]}), r"Field 'file'")
    failed(download(rep, {"_id": "rec-1.wav"}), r"Field '_id'")
    r = download(rep, b'{"file": "rec-1.wav"')
    assert r.status == 400 and r.json["message"].startswith("Unable to parse content"), r


# ------------------------------------------------------------------ permissions

def test_each_endpoint_is_its_own_permission(rep):
    rep.ctl("apiuser", "add", "quick", "--auth", "basic", "--password", "quick-secret",
            "--perm", "reports/quick/search")
    who = {"user": "quick", "password": "quick-secret"}
    body = {"alike": False, "date_range": WIDE}
    assert api(rep, "reports/quick/search", body, **who).status == 200
    assert api(rep, "reports/cdr", body, **who).status == 200        # the alias
    for path, b in (("reports/cdr/search", body), ("reports/cdr/ordered/id", {}),
                    ("reports/quick/info", {"cuid": "1717000000.1"}),
                    ("reports/audio/download", {"file": "rec-1.wav"})):
        r = api(rep, path, b, **who)
        assert r.status == 403 and r.json["message"] == f"/{path};Access denied", r
    r = api(rep, "reports/audio/download", {"file": "rec-1.wav"}, user=None)
    assert r.status == 401, r


# ------------------------------------------------------------------ a real call

PLAN = ('extensions = {\n\tmain_routing = {\n'
        '\t\t["5010"] = function() app.answer() app.mixmonitor("call-${UNIQUEID}.wav") '
        'app.playtones("1000") app.wait(1) app.hangup() end,\n'
        '\t},\n}\n')


@pytest.mark.tamas(dialplan=PLAN)
def test_recorded_call_is_found_and_its_recording_downloaded(tamas, sipp):
    tamas.ctl("apiuser", "add", USER, "--auth", "basic", "--password", PASSWORD)
    call(sipp, tamas, "1001", "5010", scenario="uac_call_wait_bye")
    [row] = tamas.wait_cdrs(1)
    recs = wait_until(lambda: list((tamas.workdir / "recordings").glob("call-*.wav")), 5,
                      what="recording file")
    # the writer thread finishes the file after the CDR; wait until it stops growing
    sizes = []
    wait_until(lambda: sizes.append(recs[0].stat().st_size) or
               (len(sizes) > 3 and sizes[-1] == sizes[-4] and sizes[-1] > 44),
               5, interval=0.1, what="recording complete")
    day = row["calldate"][:10]
    data = ok(api(tamas, "reports/quick/search",
                  {"alike": False, "conditions": {"from": "1001", "to": "5010"},
                   "date_range": {"from": f"{day} 00:00", "to": f"{day} 23:59"}}))
    [rec] = data["data"]
    assert rec["cuid"] == row["linkedid"] and rec["uniqueid"] == row["uniqueid"]
    assert rec["record"] == recs[0].name and rec["type"] == "local"
    assert rec["disposition"] == "ANSWERED" and rec["ANSWERED"] == 1
    for body in ({"file": rec["record"]}, {"_id": rec["_id"]}):
        r = api(tamas, "reports/audio/download", body)
        assert r.status == 200, r
        assert r.headers["content-type"] == "audio/wav"
        assert r.raw == recs[0].read_bytes() and r.raw[:4] == b"RIFF"
