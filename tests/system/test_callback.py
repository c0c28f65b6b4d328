"""Callback-request module (seed 001): 1001 calls a dial code whose
dialplan runs app.callback(name); it enters a number then # (# alone keeps
its own) by RFC 4733 DTMF, hears it read back and confirms it with 1 (2
enters another). A valid number becomes a pending callback_requests row (a
second request from the same caller is merged); a bad one (too short, too
long) is refused with CALLBACKSTATUS=INVALID and nothing stored. With
auto_call, tamasd calls the first free target (extension or queue agent),
then the customer, and marks the request done once they were bridged; an
agent who calls the customer himself handles the request too.

The prompts are mostly names no sounds directory has: tamasd's warning for
each shows which prompt was asked for, in order. The sounds directory is a
temporary one with 50 ms digits, so read-backs are quick."""

import re
import sqlite3
import time
import wave

import pytest

from harness import call, free_port, read_media_file, register, start_callee, wait_until
from test_config import start_expecting_failure
from test_media import Listener

PLAN = ('extensions = {\n\tmain_routing = {\n'
        '\t\t["500"] = function(c, e)\n'
        '\t\t\tapp.callback("sales")\n'
        '\t\t\tapp.hangup()\n'
        '\t\tend,\n'
        '\t\t["501"] = function(c, e)\n'
        '\t\t\tapp.callback("auto")\n'
        '\t\t\tapp.hangup()\n'
        '\t\tend,\n'
        '\t\t["_1XXX"] = function(c, e)\n'
        '\t\t\tapp.dial("SIP/" .. e, 10)\n'
        '\t\tend,\n'
        '\t},\n}\n')

PROMPTS = ["intro", "enter", "wrong", "entered", "is", "check", "before", "after"]

CALLBACKS = {
    "callback sales": dict({"code": "500", "target": "1002", "auto_call": "no"},
                           **{k: f"cb-{k}" for k in PROMPTS}),
    # The older key names: confirm = check, registered = after.
    "callback auto": {"code": "501", "target": "1002", "auto_call": "yes", "min_wait": 0,
                      "retries": 2, "retry_wait": 0, "intro": "beep", "enter": "beep",
                      "confirm": "beep", "registered": "beep"},
}


def wav(path, ms=50):
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * (8 * ms))


def media_dirs(tmp_path):
    """Short digits and beep; cb-before is an uploaded announcement."""
    sounds, ann = tmp_path / "sounds", tmp_path / "announcements"
    for d in "0123456789":
        wav(sounds / "en" / "digits" / f"{d}.wav")
    wav(sounds / "en" / "beep.wav")
    wav(ann / "cb-before.wav")
    return {"media": {"sounds_dir": str(sounds), "announcements_dir": str(ann)}}


USERS = {f"100{i}": f"pw100{i}" for i in range(1, 6)}


def make(tamas_factory, tmp_path, conf=None, plan=PLAN):
    c = dict(CALLBACKS, **media_dirs(tmp_path))
    c.update(conf or {})
    return tamas_factory(dialplan=plan, conf_update=c, users=USERS)


@pytest.fixture
def tamas(tamas_factory, tmp_path):
    return make(tamas_factory, tmp_path).start()


class Caller:
    """1001 (RTP at a Python listener, so the test can press keys) calls
    code; the dialplan hangs up once the Callback app is done."""

    def __init__(self, d, sipp, code):
        sipp.target = d.target
        self.d = d
        self.mark = len(d.stderr())      # this call's log lines only
        self.a = Listener()
        self.proc = call(sipp, d, "1001", code, scenario="uac_call_wait_bye",
                         background=True, keys={"rtp_port": self.a.port}, timeout=40)
        self.dest = read_media_file(self.proc.files["media"])
        self.a.send(self.dest, b"LATCH")

    def wait_try(self, n):
        pat = rf"callback: asking for the number, try {n} of"
        wait_until(lambda: re.search(pat, self.d.stderr()[self.mark:]), 15, what=pat)

    def wait_check(self, n, number):
        pat = rf"callback: checking the number, {n} of 2 .*number={number}\)"
        wait_until(lambda: re.search(pat, self.d.stderr()[self.mark:]), 15, what=pat)

    def log(self):
        return self.d.stderr()[self.mark:]

    def press(self, keys):
        for k in keys:
            self.a.send_dtmf(self.dest, k)
            time.sleep(0.1)

    def finish(self):
        self.proc.wait(timeout=40)
        self.a.close()


def log_wait(d, pattern, timeout=10):
    return wait_until(lambda: re.search(pattern, d.stderr()), timeout, what=pattern)


def statuses(d):
    return re.findall(r"callback: done \(.*status=(\w+)", d.stderr())


def rows(d):
    con = sqlite3.connect(f"file:{d.db_path}?mode=ro", uri=True, timeout=2)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM callback_requests ORDER BY rowid")]
    finally:
        con.close()


API_USER, API_PW = "crm", "crm-secret-1"


def api(d, path, body):
    r = d.api(path, body, user=API_USER, password=API_PW)
    assert r.status == 200, r
    return r.json


def search(d, body):
    return api(d, "callback/requests/search", body)


def register_number(d, sipp, code, keys, number):
    """Enters keys, then confirms the number read back with 1."""
    c = Caller(d, sipp, code)
    c.wait_try(1)
    c.press(keys)
    c.wait_check(1, number)
    c.press("1")
    c.finish()
    return c


def prompts_asked(log):
    return re.findall(r"media: prompt 'cb-(\w+)' not found", log)


def test_eight_prompts_in_order_with_read_back(tamas, sipp):
    c = register_number(tamas, sipp, "500", "0912345#", "0912345")
    log = c.log()
    # cb-before is an uploaded announcement: found, so not in the list.
    assert prompts_asked(log) == ["intro", "enter", "entered", "is", "check", "after"], log
    assert "prompt 'cb-before'" not in log
    back = log.index("callback: reading the number back")
    assert "number=0912345)" in log[back:back + 200]
    assert log.index("'cb-entered'") < log.index("'cb-is'") < log.index("'cb-check'")
    assert "Say" not in log[back:log.index("'cb-is'")], "SayDigits failed"
    assert statuses(tamas) == ["REGISTERED"]
    assert [(r["number"], r["status"]) for r in rows(tamas)] == [("0912345", "pending")]


def test_two_enters_another_number_and_check_is_asked_twice(tamas, sipp):
    c = Caller(tamas, sipp, "500")
    c.wait_try(1)
    c.press("5551#")
    c.wait_check(1, "5551")
    c.press("2")                      # another number: the second try
    c.wait_try(2)
    c.press("5552#")
    c.wait_check(1, "5552")
    c.press("9")                      # neither 1 nor 2: asked once more
    c.wait_check(2, "5552")
    c.press("1")
    c.finish()
    assert statuses(tamas) == ["REGISTERED"]
    assert [r["number"] for r in rows(tamas)] == ["5552"]
    assert prompts_asked(c.log()).count("check") == 3


def test_check_unanswered_twice_is_invalid(tamas, sipp):
    c = Caller(tamas, sipp, "500")
    c.wait_try(1)
    c.press("5551#")
    c.wait_check(1, "5551")
    c.press("#")
    c.wait_check(2, "5551")
    c.press("7")
    c.finish()
    assert statuses(tamas) == ["INVALID"]
    assert rows(tamas) == []


def test_tts_prompt_is_spoken_then_digits_are_read(tamas_factory, tmp_path, sipp):
    conf = {"callback sales": dict(CALLBACKS["callback sales"],
                                   enter="tts:Enter the number, then press hash",
                                   check="tts:Press 1 to confirm")}
    d = make(tamas_factory, tmp_path, conf).start()
    c = register_number(d, sipp, "500", "5551#", "5551")
    assert statuses(d) == ["REGISTERED"]
    assert [r["number"] for r in rows(d)] == ["5551"]
    assert prompts_asked(c.log()) == ["intro", "entered", "is", "after"]
    assert "TTS" not in c.log()                       # no TTS failure or refusal
    assert len(list((d.workdir / "tts").glob("en-*.wav"))) == 2


def test_own_number_confirmed_then_merged_with_another(tamas, sipp):
    sipp.target = tamas.target
    register(sipp, tamas, "1002", free_port())     # an idle target, yet auto_call is off
    register_number(tamas, sipp, "500", "#", "1001")     # # alone: the own number
    assert statuses(tamas) == ["REGISTERED"]
    r = rows(tamas)
    assert len(r) == 1, r
    row = r[0]
    assert (row["callback"], row["caller"], row["number"], row["target"], row["status"],
            row["attempts"]) == ("sales", "1001", "1001", "1002", "pending", 0)
    assert re.fullmatch(r"[0-9a-f]{24}", row["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row["registered_at"])

    # The same caller again, with another number: one request, updated.
    register_number(tamas, sipp, "500", "09121234567#", "09121234567")
    assert statuses(tamas) == ["REGISTERED", "REGISTERED"]
    r = rows(tamas)
    assert [(x["id"], x["number"], x["status"]) for x in r] == \
        [(row["id"], "09121234567", "pending")], r
    assert "callback: request merged" in tamas.stderr()
    # auto_call is off: nobody was called (the timer ticked meanwhile); the
    # API lists the request for operators.
    assert "callback: calling back" not in tamas.stderr()
    tamas.ctl("apiuser", "add", API_USER, "--auth", "basic", "--password", API_PW)
    res = search(tamas, {"conditions": {"callback": "sales", "status": "pending"}})
    assert res["success"] == 1, res
    assert res["data"]["pagination"]["total"] == 1
    got = res["data"]["data"][0]
    assert (got["_id"], got["caller"], got["number"], got["status"], got["target"]) == \
        (row["id"], "1001", "09121234567", "pending", "1002"), got
    day = row["registered_at"][:10]
    assert search(tamas, {"date_range": {"from": "2000-01-01", "to": "2000-01-02"}}
                  )["data"]["pagination"]["total"] == 0
    assert search(tamas, {"date_range": {"from": day, "to": day}, "alike": True,
                          "conditions": {"number": "1234"}})["data"]["pagination"]["total"] == 1

    # An operator handled it.
    r = api(tamas, "callback/requests/done", {"_id": row["id"], "operator": "1002"})
    assert r["success"] == 1, r
    (after,) = rows(tamas)
    assert (after["status"], after["operator"]) == ("done", "1002") and after["handled_at"]
    assert search(tamas, {"conditions": {"status": "pending"}})["data"]["pagination"]["total"] == 0
    # Bad input: a handled or unknown id, an unknown status, no _id.
    for body, msg in [({"_id": row["id"]}, "No pending or failed"),
                      ({"_id": "nosuch"}, "No pending or failed"),
                      ({}, "_id")]:
        r = api(tamas, "callback/requests/done", body)
        assert r["success"] == 0 and msg in r["message"], (body, r)
    r = search(tamas, {"conditions": {"status": "maybe"}})
    assert r["success"] == 0 and "status" in r["message"], r


def test_bad_numbers_are_refused_and_nothing_stored(tamas, sipp):
    c = Caller(tamas, sipp, "500")
    c.wait_try(1)
    c.press("12#")                    # too short
    c.wait_try(2)
    c.press("1234567890123456")       # too long: Read stops at 16
    c.wait_try(3)
    c.press("5*#")                    # not digits only
    c.finish()
    assert statuses(tamas) == ["INVALID"]
    assert len(re.findall(r"callback: invalid number", tamas.stderr())) == 3
    assert prompts_asked(c.log()) == ["intro", "enter", "wrong", "enter", "wrong", "enter"]
    assert rows(tamas) == []


def test_unknown_callback_is_an_error(tamas_factory, tmp_path, sipp):
    plan = PLAN.replace('app.callback("sales")', 'app.answer()\n\t\t\tapp.callback("nosuch")')
    d = make(tamas_factory, tmp_path, plan=plan).start()
    Caller(d, sipp, "500").finish()
    assert re.search(r"callback: no such callback 'nosuch'", d.stderr())
    assert rows(d) == []


def test_auto_call_rings_target_then_customer_and_marks_done(tamas, sipp):
    sipp.target = tamas.target
    agent = start_callee(sipp, tamas, "1002")                      # waits for BYE
    customer = start_callee(sipp, tamas, "1003", scenario="uas_bye", hold_ms=1500)
    register_number(tamas, sipp, "501", "1003#", "1003")
    log_wait(tamas, r"callback: calling back \(id=\w+ callback=auto target=1002 "
             r"number=1003 attempt=1")
    log_wait(tamas, r"callback: customer called back", timeout=15)
    customer.wait(timeout=15)
    agent.wait(timeout=15)
    r = rows(tamas)
    assert len(r) == 1, r
    assert (r[0]["status"], r[0]["attempts"], r[0]["number"]) == ("done", 1, "1003"), r
    assert r[0]["handled_at"] and r[0]["call_id"].startswith("orig.call.")
    cdrs = tamas.wait_cdrs(2)
    linked = [c for c in cdrs if c.get("originated_call_id") == r[0]["call_id"]]
    assert linked and any(c["channel"].startswith("SIP/1002-") for c in linked), cdrs
    assert any((c["dstchannel"] or "").startswith("SIP/1003-") for c in linked), cdrs
    tamas.ctl("apiuser", "add", API_USER, "--auth", "basic", "--password", API_PW)
    res = search(tamas, {"conditions": {"callback": "auto"}})
    assert [(x["status"], x["originated_call_id"], x["attempts"]) for x in res["data"]["data"]] \
        == [("done", r[0]["call_id"], 1)], res


def multi_target(tamas_factory, tmp_path, target, queue=None):
    conf = {"callback multi": {"code": "502", "target": target, "auto_call": "yes",
                               "min_wait": 0, "retries": 1}}
    if queue:
        conf["queue support"] = queue
    plan = PLAN.replace('["501"]', '["502"] = function(c, e) app.callback("multi") '
                        'app.hangup() end,\n\t\t["501"]')
    return make(tamas_factory, tmp_path, conf, plan).start()


def wait_bridged(d, first, then, timeout=15):
    """The automatic call: `first` answered, then bridged to customer `then`."""
    log_wait(d, rf"callback: calling back \(id=\w+ callback=multi target={first} "
             rf"number={then} attempt=1", timeout)
    log_wait(d, r"callback: customer called back", timeout)
    (row,) = rows(d)
    assert (row["status"], row["attempts"]) == ("done", 1), row
    linked = [c for c in d.wait_cdrs(1) if c.get("originated_call_id") == row["call_id"]]
    assert any(c["channel"].startswith(f"SIP/{first}-") for c in linked), linked
    assert any((c["dstchannel"] or "").startswith(f"SIP/{then}-") for c in linked), linked


def test_first_free_target_is_called_the_busy_one_skipped(tamas_factory, tmp_path, sipp):
    # 1002 talks to 1004; queue support's member 1003 is not registered, 1005
    # is free: 1005 calls the customer 1001 back.
    d = multi_target(tamas_factory, tmp_path, "1002 , queue:support",
                     {"member": "SIP/1003", "member2": "SIP/1005"})
    sipp.target = d.target
    assert "target=1002,queue:support auto_call=yes" in d.stderr()   # without blanks
    busy = start_callee(sipp, d, "1002")
    talk = call(sipp, d, "1004", "1002", hold_ms=5000, background=True)
    log_wait(d, r"dial: bridged \(caller=SIP/1004-\w+ callee=SIP/1002-")
    agent = start_callee(sipp, d, "1005")
    customer = start_callee(sipp, d, "1001", scenario="uas_bye", hold_ms=1000)
    register_number(d, sipp, "502", "#", "1001")          # # alone: the caller's number
    assert rows(d)[0]["target"] == "1002,queue:support"
    wait_bridged(d, "1005", "1001")
    assert not re.search(r"calling back .*target=100[23] ", d.stderr())
    for p in (customer, agent, talk, busy):
        p.wait(timeout=15)


def test_agent_calling_the_customer_handles_the_request(tamas, sipp):
    sipp.target = tamas.target
    register_number(tamas, sipp, "500", "1003#", "1003")
    customer = start_callee(sipp, tamas, "1003")
    call(sipp, tamas, "1002", "1003", hold_ms=300)          # agent 1002 dials the customer
    customer.wait(timeout=15)
    log_wait(tamas, r"callback: customer called back by an agent \(id=\w+ callback=sales "
             r"number=1003 operator=1002\)")
    (row,) = rows(tamas)
    assert (row["status"], row["operator"], row["attempts"]) == ("done", "1002", 0), row
    assert row["handled_at"]
    # A second call to the number finds nothing left to handle.
    customer = start_callee(sipp, tamas, "1003")
    call(sipp, tamas, "1002", "1003", hold_ms=100)
    customer.wait(timeout=15)
    tamas.wait_cdrs(3)
    assert len(re.findall(r"called back by an agent", tamas.stderr())) == 1


def test_bad_config_is_refused(tamas_factory):
    for conf, msg in [
        ({"callback a": {"code": "500", "target": "1002"},
          "callback b": {"code": "500", "target": "1003"}}, "code: 500 is already"),
        ({"callback a": {"code": "x5", "target": "1002"}}, "code: expected"),
        ({"callback a": {"code": "500", "target": "sales"}}, "target: expected"),
        ({"callback a": {"code": "500", "target": "1002,,1003"}}, "target: an empty entry"),
        ({"callback a": {"code": "500", "target": "1002, queue:nosuch"}},
         "target: no queue 'nosuch'"),
        ({"callback a": {"code": "500", "target": ",".join(["1002"] * 9)}},
         "target: more than 8"),
        ({"callback a": {"code": "500", "target": "1002", "colour": "red"}},
         "unknown key 'colour'"),
        ({"callback a": {"target": "1002"}}, "code: is required"),
        ({"callback a": {"code": "500", "target": "1002", "auto_call": "perhaps"}},
         "auto_call"),
        ({"callback a": {"code": "500", "target": "1002", "check": "tts:  "}},
         "check: tts: needs a text"),
        ({"callback a": {"code": "500", "target": "1002", "confirm": "a,b"}},
         "confirm: expected a prompt name or tts:TEXT"),
        ({"callback a": {"code": "500", "target": "1002", "after": "x", "registered": "y"}},
         "registered: an older name of after"),
    ]:
        err = start_expecting_failure(tamas_factory(conf_update=conf))
        assert msg in err and "tamas.conf:" in err, (conf, err)


def test_pending_request_survives_restart_then_retries_until_failed(tamas, sipp):
    register_number(tamas, sipp, "501", "1003#", "1003")
    # The target 1002 is not registered: the request waits.
    time.sleep(2.5)
    assert "callback: calling back" not in tamas.stderr()
    assert [(x["status"], x["attempts"]) for x in rows(tamas)] == [("pending", 0)]
    assert tamas.stop() == 0
    tamas.proc = None
    tamas.start()
    assert [(x["status"], x["number"]) for x in rows(tamas)] == [("pending", "1003")]
    sipp.target = tamas.target
    agent = start_callee(sipp, tamas, "1002", calls=2)
    customer = start_callee(sipp, tamas, "1003", scenario="uas_busy", calls=2)
    log_wait(tamas, r"callback: request failed after 2 attempts", timeout=20)
    assert len(re.findall(r"callback: calling back .*number=1003 attempt=", tamas.stderr())) == 2
    customer.wait(timeout=15)
    agent.wait(timeout=15)
    (row,) = rows(tamas)
    assert (row["status"], row["attempts"]) == ("failed", 2), row
    assert "callback: customer called back" not in tamas.stderr()


def test_caller_hanging_up_while_asked_stores_nothing(tamas, sipp):
    sipp.target = tamas.target
    call(sipp, tamas, "1001", "500", scenario="uac_call", hold_ms=1500)
    log_wait(tamas, r"callback: done \(.*status=HANGUP")
    assert statuses(tamas) == ["HANGUP"]
    assert rows(tamas) == []
