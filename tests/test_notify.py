"""The day's notices: who hears of what, sent once over a real SMTP server and HTTP receiver, escalation, calendars."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections import Counter
from datetime import date, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pandas as pd
import pytest
from aiosmtpd.controller import Controller

from closeloop import metrics, notify, store
from closeloop.filters import Filters
from closeloop.identity import local_administrator
from closeloop.refusal import Refused
from tests.conftest import REPO, SHARED

BOTH_BACKENDS = True  # the tests on literal rows (store_from_rows) run on DuckDB and on PostgreSQL
T = date(2026, 6, 30)
SAMPLES = Path("/tmp/notify-samples")
DIGESTS = REPO / "tests" / "artifacts" / "digests"  # git-ignored


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closeloop(*args, **env) -> subprocess.CompletedProcess:
    """`python -m closeloop ARGS` in a fresh process, in English, with extra environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CLOSELOOP_")} | {"CLOSELOOP_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "closeloop", *map(str, args)], cwd=REPO, env=base | env,
                          capture_output=True, text=True, timeout=120)


class Inbox:
    """A real SMTP server on 127.0.0.1 that keeps every message it is given."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.env = {"CLOSELOOP_SMTP_HOST": "127.0.0.1", "CLOSELOOP_SMTP_PORT": str(controller.port),
                 "CLOSELOOP_SMTP_FROM": "closeloop@example.org", "CLOSELOOP_BASE_URL": "https://closeloop.example"}
    yield inbox
    controller.stop()


@pytest.fixture
def receiver():
    """An HTTP server on 127.0.0.1 keeping each JSON body posted to it, answering as the robots do."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            answer = b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/robot", bodies
    server.shutdown()


# ---------------------------------------------------------------------------------------------
# The golden ledger: every open overdue action and every action due within 7 days, to its owner


def golden_rows(name: str) -> list[dict]:
    with open(SHARED / "golden" / f"{name}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def day_or_none(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def open_golden_actions(as_of: date) -> list[dict]:
    """The golden CSVs' actions open at as_of by DESIGN.md's words (their finding found by then, not cancelled,
    not done by then), each with its due date and unit: plain Python, apart from Closeloop's code."""
    findings = {r["ref"]: r for r in golden_rows("nonconformities")}
    rows = []
    for a in golden_rows("actions"):
        finding = findings[a["nc_ref"]]
        done = day_or_none(a["done_on"])
        if date.fromisoformat(finding["found_on"]) <= as_of and a["status"] != "cancelled" and not (done and done <= as_of):
            assert a["due_on"]  # every golden action has its own due date: no deadline by severity comes in
            rows.append(a | {"due": date.fromisoformat(a["due_on"]), "unit": finding["unit"]})
    return rows


def expected_owner_items(as_of: date) -> set[tuple[str, str, str]]:
    """(owner, level, action ref): overdue if due before as_of, due soon if due from as_of to 7 days after."""
    expected = set()
    for a in open_golden_actions(as_of):
        if a["due"] < as_of:
            expected.add((a["owner"], "overdue", a["ref"]))
        elif a["due"] <= as_of + timedelta(days=7):
            expected.add((a["owner"], "due_soon", a["ref"]))
    return expected


@pytest.fixture
def golden_db(golden_store_at):
    return golden_store_at("golden")


def owner_items(notices: list[dict]) -> set[tuple[str, str, str]]:
    return {(n["to"], n["level"], i["ref"]) for n in notices if n["level"] in ("due_soon", "overdue")
            for i in n["items"]}


# T has no action due soon (27 overdue); 2026-05-09 has four due soon, 2025-03-03 one
@pytest.mark.parametrize("as_of", [T, date(2026, 5, 9), date(2025, 3, 3), date(2024, 6, 10)])
def test_a_dry_run_addresses_every_open_overdue_and_due_soon_action_to_its_owner_and_nothing_else(golden_db, as_of):
    expected = expected_owner_items(as_of)
    assert expected  # each day has something to say
    done = closeloop("notify", "--db", golden_db, "--as-of", as_of, "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    assert owner_items(json.loads(done.stdout)["notices"]) == expected


def test_the_golden_day_has_27_overdue_actions_as_the_contract_counts_them(golden_db):
    con = store.connect(golden_db, create=False)
    try:
        counted = metrics.contract(con, Filters.default(T))["actions_overdue"]
        listed = notify.notices(con, T)
    finally:
        con.close()
    assert counted == 27
    assert sum(len(n.items) for n in listed if n.level == "overdue") == 27


OWNERS = {  # the user rows: names spelled in Simplified where the ledger writes Traditional (李華, 陳靜, 張偉)
    "李华": ("lihua@example.org", "zh-Hans"),
    "陈静": ("chenjing@example.org", "en"),
    "张伟": ("zhangwei@example.org", "zh-Hant"),
    "王明": ("wangming@example.org", "en"),
}


def add_owners(db):
    for name, (email, lang) in OWNERS.items():
        done = closeloop("user", email, "--role", "viewer", "--name", name, "--lang", lang, "--db", db)
        assert done.returncode == 0, done.stderr


_owned_masters: dict[str, object] = {}  # backend → a golden store given OWNERS by add_owners, once per session


@pytest.fixture
def owned_golden_db(backend, golden_store_at, tmp_path):
    """A test's own copy of the golden store after add_owners (four `user` commands, run once per backend)."""
    if backend not in _owned_masters:
        master = golden_store_at("owned-master")
        add_owners(master)
        _owned_masters[backend] = master
    master = _owned_masters[backend]
    if backend == "postgresql":
        from conftest import copy_database

        return copy_database(master)
    db = tmp_path / "golden.duckdb"
    shutil.copy(master, db)
    if Path(f"{master}.anchors").exists():
        shutil.copy(f"{master}.anchors", f"{db}.anchors")
    return db


@pytest.mark.slow  # several command-line processes and a real send
def test_a_real_send_delivers_one_digest_per_owner_with_their_items_and_a_second_run_sends_nothing(owned_golden_db, smtp):
    expected = expected_owner_items(T)
    dry = closeloop("notify", "--db", owned_golden_db, "--as-of", T, "--dry-run", "--json", **smtp.env)
    first = closeloop("notify", "--db", owned_golden_db, "--as-of", T, "--json", **smtp.env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == json.loads(dry.stdout)  # the real send delivers what the dry run said
    assert owner_items(json.loads(first.stdout)["notices"]) == expected

    by_person = {}
    for owner, _, ref in expected:
        email = OWNERS[{"李華": "李华", "陳靜": "陈静", "張偉": "张伟", "王明": "王明"}[owner]][0]
        by_person.setdefault(email, set()).add(ref)
    received = {m["To"]: m for m in smtp.messages}
    assert len(smtp.messages) == len(by_person) == 4
    for email, refs in by_person.items():
        body = received[email].get_content()
        assert set(re.findall(r"CA-\d{4}-\d", body.split("\n- ", 1)[1])) == refs
        assert f"https://closeloop.example/rectification?ref={sorted(refs)[0]}" in body
    DIGESTS.mkdir(parents=True, exist_ok=True)  # the closing note's digests, as received, one per language
    for email, lang in (("lihua@example.org", "zh-Hans"), ("zhangwei@example.org", "zh-Hant"),
                        ("chenjing@example.org", "en")):
        message = received[email]
        (DIGESTS / f"{lang}.txt").write_text(
            f"To: {message['To']}\nSubject: {message['Subject']}\n\n{message.get_content()}", encoding="utf-8")
    assert received["lihua@example.org"]["Subject"] == f"整改提醒 2026-06-30：{len(by_person['lihua@example.org'])} 项待办"
    assert received["zhangwei@example.org"]["Subject"] == \
        f"整改提醒 2026-06-30：{len(by_person['zhangwei@example.org'])} 項待辦"
    assert received["chenjing@example.org"]["Subject"] == \
        f"Rectification reminder 2026-06-30: {len(by_person['chenjing@example.org'])} items"

    again = closeloop("notify", "--db", owned_golden_db, "--as-of", T, "--json", **smtp.env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"notices": []}
    assert len(smtp.messages) == 4
    assert closeloop("trail", "verify", "--db", owned_golden_db).returncode == 0


@pytest.mark.slow  # several command-line processes and a real send
def test_a_failed_send_is_recorded_reported_one_line_each_and_retried_next_run(owned_golden_db, smtp):
    down = smtp.env | {"CLOSELOOP_SMTP_PORT": str(free_port())}  # nothing listens there
    failed = closeloop("notify", "--db", owned_golden_db, "--as-of", T, **down)
    assert failed.returncode == 1
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("Not sent (email) to ") for line in lines)
    assert all("the next run retries" in line for line in lines)
    con = store.connect(owned_golden_db, create=False)
    reasons = [r for (r,) in con.execute("select reason from events where entity = 'notice' order by id").fetchall()]
    con.close()
    # each notice (person, level, unit) recorded pending before its digest's send, then failed
    units = {a["ref"]: a["unit"] for a in open_golden_actions(T)}
    notices = len({(owner, level, units[ref]) for owner, level, ref in expected_owner_items(T)})
    assert notices == 15
    assert Counter("failed" if r.startswith("failed: ConnectionRefusedError") else r for r in reasons) == \
        {"pending": notices, "failed": notices}

    retried = closeloop("notify", "--db", owned_golden_db, "--as-of", T, **smtp.env)
    assert retried.returncode == 0, retried.stderr
    assert len(smtp.messages) == 4


def test_an_owner_nobody_can_reach_is_reported_and_not_recorded_as_sent(golden_db, smtp):
    done = closeloop("notify", "--db", golden_db, "--as-of", T, **smtp.env)
    assert done.returncode == 1
    assert sorted(done.stderr.strip().splitlines()) == sorted(
        f"{name} has no email address: {n} items not sent (give one with the user or unit head command)."
        for name, n in pd.Series([o for o, _, _ in expected_owner_items(T)]).value_counts().items()
    )
    assert smtp.messages == []


# ---------------------------------------------------------------------------------------------
# Escalation: the unit's head past 14 days overdue, the head above past 30 (literal rows)

UNITS_WITH_HEADS = [
    {"code": "HQ", "name": "舟山港務管理局", "parent": None, "負責人": "王局", "郵箱": "wang@hq.example", "語言": "en"},
    {"code": "DH", "name": "定海分局", "parent": "HQ", "負責人": "周强", "郵箱": "zhou@dh.example", "語言": "zh-Hans"},
    {"code": "DH-01", "name": "定海分局機關支部", "parent": "DH", "負責人": "李明", "郵箱": "li@dh01.example",
     "語言": "zh-Hant"},
    {"code": "DH-02", "name": "定海分局港航支部", "parent": "DH", "負責人": None, "郵箱": None, "語言": None},  # no head
    {"code": "DS", "name": "岱山分局", "parent": "HQ", "負責人": None, "郵箱": None, "語言": None},  # no head: HQ's is next
]
CRITERIA = [{"code": "1.1", "title": "三會一課按期召開", "category": "組織建設"}]


def finding(ref, unit, found_on="2026-01-05", due_on="2026-12-31", severity="minor"):
    return {"ref": ref, "unit": unit, "criterion": "1.1", "source": "internal_audit", "severity": severity,
            "title": f"問題 {ref}", "found_on": found_on, "due_on": due_on, "closed_on": None}


def act(ref, nc_ref, owner, due_on, done_on=None, status=None):
    return {"ref": ref, "nc_ref": nc_ref, "kind": "corrective", "description": f"措施 {ref}", "owner": owner,
            "due_on": due_on, "done_on": done_on, "status": status or ("done" if done_on else "planned")}


ESCALATION_ROWS = (
    [finding(f"N-{s}", u) for s, u in (("SOON", "DH-01"), ("LATER", "DH-01"), ("TODAY", "DH-01"), ("1", "DH-01"),
                                       ("14", "DH-01"), ("15", "DH-01"), ("30", "DH-01"), ("31", "DH-01"),
                                       ("DONE", "DH-01"), ("DONE-AFTER", "DH-01"), ("CANCELLED", "DH-01"),
                                       ("DS31", "DS"), ("DH02-31", "DH-02"))]
    + [finding("N-BARE-40", "DH-01", due_on="2026-05-21"),  # no action: nobody works on it, 40 days overdue
       finding("N-BARE-DEFAULT", "DH-01", found_on="2026-06-05", due_on=None, severity="major")],  # no due date: 30 days → 07-05
    [
        act("A-SOON", "N-SOON", "陳靜", "2026-07-07"),  # due in 7 days: due soon
        act("A-LATER", "N-LATER", "陳靜", "2026-07-08"),  # due in 8 days: nothing yet
        act("A-TODAY", "N-TODAY", "陈静", "2026-06-30"),  # due today: due soon, not overdue (Simplified spelling)
        act("A-1", "N-1", "陳靜", "2026-06-29"),  # 1 day overdue: the owner
        act("A-14", "N-14", "陳靜", "2026-06-16"),  # 14 days: the owner only
        act("A-15", "N-15", "陳靜", "2026-06-15"),  # 15 days: and the unit's head
        act("A-30", "N-30", "陳靜", "2026-05-31"),  # 30 days: and the unit's head, not the one above
        act("A-31", "N-31", "陳靜", "2026-05-30"),  # 31 days: and the head of the unit above
        act("A-DONE", "N-DONE", "陳靜", "2026-05-01", done_on="2026-06-20"),  # done by T: nothing
        act("A-DONE-AFTER", "N-DONE-AFTER", "陳靜", "2026-06-01", done_on="2026-07-02"),  # done after T: 29 days
        act("A-CANCELLED", "N-CANCELLED", "陳靜", "2026-05-01", status="cancelled"),  # cancelled: nothing
        act("A-DS31", "N-DS31", "張偉", "2026-05-30"),  # DS has no head: HQ's head, as the head above
        act("A-DH02-31", "N-DH02-31", "張偉", "2026-05-30"),  # DH-02 has no head: only DH's, as the head above
    ],
)


@pytest.fixture(scope="module")
def escalation_master(tmp_path_factory):
    """The escalation rows imported by the command line, once for the module (escalation_db copies it)."""
    from tests.conftest import csv_text

    folder = tmp_path_factory.mktemp("escalation") / "ledger"
    folder.mkdir()
    for name, rows in (("units", UNITS_WITH_HEADS), ("criteria", CRITERIA), ("nonconformities", ESCALATION_ROWS[0]),
                       ("actions", ESCALATION_ROWS[1])):
        (folder / f"{name}.csv").write_text(csv_text(rows), encoding="utf-8")
    db = folder.parent / "escalation.duckdb"
    done = closeloop("import", folder, "--db", db)
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture
def escalation_db(escalation_master, tmp_path):
    """A test's own copy of the imported escalation store (with its trail's anchors): what it writes stays its own."""
    db = tmp_path / "escalation.duckdb"
    shutil.copy(escalation_master, db)
    if Path(f"{escalation_master}.anchors").exists():
        shutil.copy(f"{escalation_master}.anchors", f"{db}.anchors")
    return db


def test_escalation_reaches_the_units_head_past_14_days_and_the_head_above_past_30(escalation_db):
    done = closeloop("notify", "--db", escalation_db, "--as-of", T, "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    got = {(n["to"], n["email"], n["unit"], n["level"]): [(i["ref"], i["kind"], i["due_on"], i["days_overdue"])
                                                          for i in n["items"]]
           for n in json.loads(done.stdout)["notices"]}
    assert got == {
        ("陳靜", None, "DH-01", "due_soon"): [("A-TODAY", "action", "2026-06-30", 0),
                                             ("A-SOON", "action", "2026-07-07", 0)],
        ("陳靜", None, "DH-01", "overdue"): [("A-31", "action", "2026-05-30", 31), ("A-30", "action", "2026-05-31", 30),
                                            ("A-DONE-AFTER", "action", "2026-06-01", 29),
                                            ("A-15", "action", "2026-06-15", 15), ("A-14", "action", "2026-06-16", 14),
                                            ("A-1", "action", "2026-06-29", 1)],
        ("張偉", None, "DH-02", "overdue"): [("A-DH02-31", "action", "2026-05-30", 31)],
        ("張偉", None, "DS", "overdue"): [("A-DS31", "action", "2026-05-30", 31)],
        ("李明", "li@dh01.example", "DH-01", "due_soon"): [("N-BARE-DEFAULT", "nonconformity", "2026-07-05", 0)],
        ("李明", "li@dh01.example", "DH-01", "overdue"): [("N-BARE-40", "nonconformity", "2026-05-21", 40)],
        ("李明", "li@dh01.example", "DH-01", "escalated"): [("A-31", "action", "2026-05-30", 31),
                                                          ("A-30", "action", "2026-05-31", 30),
                                                          ("A-DONE-AFTER", "action", "2026-06-01", 29),
                                                          ("A-15", "action", "2026-06-15", 15)],
        ("周强", "zhou@dh.example", "DH-01", "escalated"): [("N-BARE-40", "nonconformity", "2026-05-21", 40),
                                                          ("A-31", "action", "2026-05-30", 31)],
        ("周强", "zhou@dh.example", "DH-02", "escalated"): [("A-DH02-31", "action", "2026-05-30", 31)],
        ("王局", "wang@hq.example", "DS", "escalated"): [("A-DS31", "action", "2026-05-30", 31)],
    }


def test_the_thresholds_and_deadlines_are_an_administrators_settings_each_change_in_the_trail(escalation_db):
    assert closeloop("setting", "head_after_days", "29", "--db", escalation_db).returncode == 0
    assert closeloop("deadlines", "set", "major", "20", "--actions", "10", "--db", escalation_db).returncode == 0
    bad = closeloop("setting", "head_after_days", "soon", "--db", escalation_db)
    assert (bad.returncode, bad.stderr) == (2, "head_after_days takes a number of days (0 or more), not “soon”.\n")
    done = closeloop("notify", "--db", escalation_db, "--as-of", T, "--dry-run", "--json")
    got = {(n["to"], n["level"]): [(i["ref"], i["due_on"]) for i in n["items"]] for n in json.loads(done.stdout)["notices"]}
    assert got[("李明", "escalated")] == [("A-31", "2026-05-30"), ("A-30", "2026-05-31")]  # past 29 days only
    assert ("李明", "due_soon") not in got  # the major finding without a due date: 06-05 + 20 = 06-25, overdue
    assert got[("李明", "overdue")] == [("N-BARE-40", "2026-05-21"), ("N-BARE-DEFAULT", "2026-06-25")]
    con = store.connect(escalation_db, create=False)
    events = con.execute("select entity, ref, field, old, new from events where reason = 'administer' order by id").fetchall()
    con.close()
    assert events == [("setting", "head_after_days", "value", "14", "29"),
                      ("deadline", "major/any", "finding_days", "30", "20"),
                      ("deadline", "major/any", "action_days", "30", "10")]
    assert closeloop("trail", "verify", "--db", escalation_db).returncode == 0


def test_a_defaulted_due_date_leaves_the_contract_as_it_was(escalation_db):
    con = store.connect(escalation_db, create=False)
    numbers = metrics.contract(con, Filters.default(T))
    con.close()
    assert numbers["no_due_date_open"] == 1  # N-BARE-DEFAULT: still a data gap, never overdue


def test_a_units_head_is_set_by_an_administrator_with_events(escalation_db):
    done = closeloop("unit", "head", "DH-02", "--name", "趙敏", "--email", "zhao@dh02.example", "--lang", "en",
                     "--db", escalation_db)
    assert (done.returncode, done.stdout) == (0, "Saved: 3 changes recorded.\n")
    notices = json.loads(closeloop("notify", "--db", escalation_db, "--as-of", T, "--dry-run", "--json").stdout)
    assert [(n["to"], n["email"], n["level"], [i["ref"] for i in n["items"]]) for n in notices["notices"]
            if n["unit"] == "DH-02" and n["to"] == "趙敏"] == [("趙敏", "zhao@dh02.example", "escalated", ["A-DH02-31"])]
    unknown = closeloop("unit", "head", "NOPE", "--name", "x", "--db", escalation_db)
    assert (unknown.returncode, unknown.stderr) == (2, "No unit with code NOPE.\n")


def test_heads_are_sent_in_their_language_with_escalation_to_the_head_above(escalation_db, smtp):
    done = closeloop("notify", "--db", escalation_db, "--as-of", T, **smtp.env)
    assert done.returncode == 1  # 陳靜 and 張偉 have no email: said, one line each
    assert sorted(done.stderr.splitlines()) == [
        "張偉 has no email address: 2 items not sent (give one with the user or unit head command).",
        "陳靜 has no email address: 8 items not sent (give one with the user or unit head command).",
    ]
    received = {m["To"]: m for m in smtp.messages}
    assert sorted(received) == ["li@dh01.example", "wang@hq.example", "zhou@dh.example"]
    assert received["wang@hq.example"]["Subject"] == "Rectification reminder 2026-06-30: 1 items"
    zhou = received["zhou@dh.example"].get_content()
    assert zhou.startswith("周强，您好：截至 2026-06-30，以下整改事项需要您关注。\n\n逾期督办（上报） (3)\n")
    assert "- A-31 · 問題 N-31 (N-31) · 定海分局機關支部 · 期限 2026-05-30 · 逾期 31 天\n" in zhou
    li = received["li@dh01.example"].get_content()
    assert li.startswith("李明，您好：截至 2026-06-30，以下整改事項需要您關注。\n\n即將到期 (1)\n")  # zh-Hant
    assert "- N-BARE-DEFAULT · 問題 N-BARE-DEFAULT · 定海分局機關支部 · 期限 2026-07-05 （按嚴重程度默認）\n" in li
    SAMPLES.mkdir(exist_ok=True)
    message = received["li@dh01.example"]
    (SAMPLES / "digest-zh-Hant.txt").write_text(
        f"To: {message['To']}\nSubject: {message['Subject']}\n\n{li}", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# The robots' webhooks and the calendar


@pytest.mark.parametrize("kind", ["wecom", "dingtalk"])
def test_the_robots_get_their_markdown_message_once(escalation_db, receiver, kind):
    url, bodies = receiver
    env = {"CLOSELOOP_WEBHOOK_URL": url, "CLOSELOOP_WEBHOOK_KIND": kind, "CLOSELOOP_BASE_URL": "https://c.example"}
    done = closeloop("notify", "--db", escalation_db, "--as-of", T, **env)
    assert done.returncode == 0, done.stderr
    assert len(bodies) == 5  # 陳靜, 張偉, 李明, 周强, 王局
    assert {b["msgtype"] for b in bodies} == {"markdown"}
    wang = [b["markdown"] for b in bodies if "王局" in json.dumps(b, ensure_ascii=False)][0]
    text = "**Dear 王局, as of 2026\\-06\\-30 these rectification items need your attention\\.**\n" \
           "### Escalated: overdue in your units (1)\n" \
           "- [A\\-DS31](https://c.example/rectification?ref=A-DS31) 問題 N\\-DS31 \\(N\\-DS31\\) · 岱山分局 · " \
           "due 2026\\-05\\-30 · 31 days overdue"
    if kind == "wecom":
        assert wang == {"content": text}
    else:
        assert wang == {"title": "Rectification reminder 2026-06-30: 1 items", "text": text}
    assert closeloop("notify", "--db", escalation_db, "--as-of", T, **env).returncode == 0
    assert len(bodies) == 5


def test_an_owners_calendar_is_rfc_5545_with_crlf_and_folded_lines(escalation_db, tmp_path):
    out = tmp_path / "chen.ics"
    done = closeloop("calendar", "陈静", "--out", out, "--as-of", T, "--db", escalation_db)
    assert done.returncode == 0, done.stderr
    raw = out.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    unfolded = raw.decode("utf-8").replace("\r\n ", "")
    uids = re.findall(r"UID:(\S+)@closeloop", unfolded)
    assert uids == ["A-31", "A-30", "A-DONE-AFTER", "A-15", "A-14", "A-1", "A-TODAY", "A-SOON", "A-LATER"]
    assert "DTSTART;VALUE=DATE:20260707\r\nDTEND;VALUE=DATE:20260708\r\n" in unfolded
    assert "SUMMARY:A-SOON · 問題 N-SOON\r\n" in unfolded
    assert ("BEGIN:VEVENT\r\nUID:A-SOON@closeloop\r\nDTSTAMP:20260630T000000Z\r\nDTSTART;VALUE=DATE:20260707\r\n"
            "DTEND;VALUE=DATE:20260708\r\nSUMMARY:A-SOON · 問題 N-SOON\r\nDESCRIPTION:措施 A-SOON\r\n"
            "URL:http://localhost:8501/rectification?ref=A-SOON\r\nEND:VEVENT\r\n") in unfolded
    assert unfolded.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and unfolded.endswith("END:VCALENDAR\r\n")


def test_an_owner_written_in_both_scripts_gets_one_digest_under_the_spelling_written_most(tmp_path, smtp):
    """李華 twice and 李华 once in the ledger, 李华 in the users table: one person as owner_key (terms.sql) says,
    the same the pages group by, so one email holding all three actions."""
    from tests.conftest import csv_text

    folder = tmp_path / "ledger"
    folder.mkdir()
    findings = [finding(f"N-LI-{n}", "DH-01") for n in (1, 2, 3)]
    actions = [act("A-LI-1", "N-LI-1", "李華", "2026-06-29"),  # 1 day overdue
               act("A-LI-2", "N-LI-2", "李華", "2026-07-03"),  # due soon
               act("A-LI-3", "N-LI-3", " 李华", "2026-06-28")]  # 2 days overdue, Simplified, a space before
    for name, rows in (("units", UNITS_WITH_HEADS), ("criteria", CRITERIA), ("nonconformities", findings),
                       ("actions", actions)):
        (folder / f"{name}.csv").write_text(csv_text(rows), encoding="utf-8")
    db = tmp_path / "owners.duckdb"
    assert closeloop("import", folder, "--db", db).returncode == 0
    assert closeloop("user", "lihua@example.org", "--role", "viewer", "--name", "李华", "--lang", "en",
                     "--db", db).returncode == 0

    done = closeloop("notify", "--db", db, "--as-of", T, "--json", **smtp.env)
    assert done.returncode == 0, done.stderr
    assert [(n["to"], n["email"], n["level"], [i["ref"] for i in n["items"]])
            for n in json.loads(done.stdout)["notices"]] == [
        ("李華", "lihua@example.org", "due_soon", ["A-LI-2"]),
        ("李華", "lihua@example.org", "overdue", ["A-LI-3", "A-LI-1"]),
    ]
    assert [m["To"] for m in smtp.messages] == ["lihua@example.org"]
    assert set(re.findall(r"A-LI-\d", smtp.messages[0].get_content())) == {"A-LI-1", "A-LI-2", "A-LI-3"}


def test_a_long_line_folds_at_75_octets_without_splitting_a_character():
    folded = notify._fold("SUMMARY:" + "整改" * 40)
    parts = folded.split("\r\n ")
    assert [len(p.encode()) for p in parts] == [74, 72, 72, 30]  # 8 + 240 bytes: 22, 24, 24 and 10 characters
    assert "".join(parts) == "SUMMARY:" + "整改" * 40


def test_language_codes_map_to_the_catalogs_languages():
    assert [notify.catalog_language(c) for c in ("zh-Hans", "zh-Hant", "en", "zh_TW.UTF-8", "zh-CN")] == \
        ["zh-Hans", "zh-Hant", "en", "zh-Hant", "zh-Hans"]


@pytest.mark.slow  # several command-line processes and a real send
def test_the_pack_goes_by_email_with_a_summary(golden_db, smtp, tmp_path):
    out = tmp_path / "pack.pdf"
    done = closeloop("report", "--out", out, "--as-of", T, "--db", golden_db, "--mail-to", "a@x.example,b@x.example",
                     **smtp.env)
    assert done.returncode == 0, done.stderr
    (message,) = smtp.messages
    assert message["To"] == "a@x.example, b@x.example"
    assert message["Subject"] == "Management review pack as of 2026-06-30"
    body, attachment = list(message.iter_parts())
    expected = json.loads((SHARED / "golden" / "expected.json").read_text(encoding="utf-8"))["all"]
    assert body.get_content().replace("\r\n", "\n") == (  # SMTP carries CRLF
        "Attached: the management review pack pack.pdf.\nScope: Whole organisation; as of 2026-06-30; "
        f"period 2025-07-01 to 2026-06-30.\nOpen findings: {expected['open']}, of which overdue: "
        f"{expected['overdue']}; overdue actions: {expected['actions_overdue']}.\n"
    )
    assert (attachment.get_filename(), attachment.get_content_type()) == ("pack.pdf", "application/pdf")
    assert attachment.get_content() == out.read_bytes() and out.read_bytes().startswith(b"%PDF-")


# ---------------------------------------------------------------------------------------------
# 三色督办 on the Rectification lists and in exports; units' heads from the units sheet


def test_the_rectification_lists_colour_each_open_item_and_mark_a_defaulted_due_date(escalation_db):
    con = store.connect(escalation_db, create=False)
    params = Filters.default(T).params() | {"view": "open", "me": [], "limit": 100}
    actions = store.run(con, "rectification_actions", params).set_index("ref")
    findings = store.run(con, "rectification_nonconformities", params).set_index("ref")
    con.close()
    assert actions["due_status"].to_dict() == {
        "A-31": "overdue", "A-30": "overdue", "A-DONE-AFTER": "overdue", "A-15": "overdue", "A-14": "overdue",
        "A-1": "overdue", "A-DS31": "overdue", "A-DH02-31": "overdue", "A-TODAY": "due_soon", "A-SOON": "due_soon",
        "A-LATER": "on_track",
    }
    assert actions["default_due_on"].isna().all()
    assert findings.loc["N-BARE-DEFAULT", "due_status"] == "due_soon"
    assert str(findings.loc["N-BARE-DEFAULT", "default_due_on"].date()) == "2026-07-05"
    assert pd.isna(findings.loc["N-BARE-DEFAULT", "due_on"])  # the ledger's own column stays empty
    assert (findings.loc["N-BARE-40", "due_status"], findings.loc["N-SOON", "due_status"]) == ("overdue", "on_track")


def test_an_export_carries_the_colour_in_words_and_the_defaulted_due_date(escalation_db, tmp_path):
    out = tmp_path / "ledger.csv"
    done = closeloop("export", "--out", out, "--as-of", T, "--db", escalation_db, "--lang", "en")
    assert done.returncode == 0, done.stderr
    rows = pd.read_csv(out, encoding="utf-8-sig").set_index("问题编号\nref")
    assert rows.loc["N-BARE-DEFAULT", "督办状态\ndue_status"] == "Due soon (yellow)"
    assert rows.loc["N-BARE-DEFAULT", "默认期限\ndefault_due_on"] == "2026-07-05"
    assert rows.loc["N-BARE-40", "督办状态\ndue_status"] == "Overdue (red)"
    assert rows.loc["N-SOON", "督办状态\ndue_status"] == "On track (green)"


def test_a_units_sheet_gives_each_unit_its_head_under_chinese_headers(escalation_db):
    con = store.connect(escalation_db, create=False)
    heads = con.execute("select code, head_name, head_email, head_language from units order by code").fetchall()
    con.close()
    assert heads == [("DH", "周强", "zhou@dh.example", "zh-Hans"), ("DH-01", "李明", "li@dh01.example", "zh-Hant"),
                     ("DH-02", None, None, None), ("DS", None, None, None), ("HQ", "王局", "wang@hq.example", "en")]


@pytest.mark.slow  # several command-line processes and a real send
def test_on_postgresql_two_processes_sending_at_once_send_each_digest_once(request, golden_dir, smtp, tmp_path):
    from conftest import new_database

    url = new_database(request.getfixturevalue("postgres"))
    caches = {"CLOSELOOP_CACHE": str(tmp_path / "cache-a")}
    assert closeloop("import", golden_dir, "--db", url, **caches).returncode == 0
    add_owners(url)
    base = {k: v for k, v in os.environ.items() if not k.startswith("CLOSELOOP_")} | {"CLOSELOOP_LANG": "en"}
    senders = [subprocess.Popen([sys.executable, "-m", "closeloop", "notify", "--db", url, "--as-of", str(T), "--json"],
                                cwd=REPO, env=base | smtp.env | {"CLOSELOOP_CACHE": str(tmp_path / f"cache-{n}")},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in "bc"]
    answers = [json.loads(s.communicate(timeout=300)[0]) for s in senders]
    assert [s.returncode for s in senders] == [0, 0]
    # one process sent the four digests; the other, once it had the lock, found them sent today
    assert sorted(len(a["notices"]) > 0 for a in answers) == [False, True]
    assert sorted(m["To"] for m in smtp.messages) == sorted(email for email, _ in OWNERS.values())
    assert closeloop("trail", "verify", "--db", url, **caches).returncode == 0


# ---------------------------------------------------------------------------------------------
# The golden day with a head on every unit: escalation at the thresholds, computed apart

# The defaults (deadlines by severity), written here rather than read from the store
DEFAULT_DAYS = {"major": 30, "minor": 60, "observation": 90}


def expected_golden_notices(as_of: date, heads: dict[str, str]) -> set[tuple[str, str, str]]:
    """(person, level, ref) of every notice of the day, by the issue's words: owners hear of their actions due
    within 7 days or overdue; past 14 days overdue the unit's head too, past 30 the head of the unit above; a
    finding no open action covers goes to its unit's head (due soon or overdue; past 30 days the head above)."""
    parent = {u["code"]: u["parent"] for u in golden_rows("units")}
    expected = expected_owner_items(as_of)
    covered = set()
    for a in open_golden_actions(as_of):
        covered.add(a["nc_ref"])
        late = (as_of - a["due"]).days
        if late > 14:
            expected.add((heads[a["unit"]], "escalated", a["ref"]))
        if late > 30 and parent[a["unit"]]:
            expected.add((heads[parent[a["unit"]]], "escalated", a["ref"]))
    for n in golden_rows("nonconformities"):
        closed = day_or_none(n["closed_on"])
        found = date.fromisoformat(n["found_on"])
        if n["ref"] in covered or found > as_of or (closed and closed <= as_of):
            continue
        due = day_or_none(n["due_on"]) or found + timedelta(days=DEFAULT_DAYS[n["severity"]])
        if due < as_of:
            expected.add((heads[n["unit"]], "overdue", n["ref"]))
            if (as_of - due).days > 30 and parent[n["unit"]]:
                expected.add((heads[parent[n["unit"]]], "escalated", n["ref"]))
        elif due <= as_of + timedelta(days=7):
            expected.add((heads[n["unit"]], "due_soon", n["ref"]))
    return expected


def test_on_the_golden_day_escalation_reaches_each_units_head_and_the_head_above(golden_db):
    heads = {u["code"]: f"{u['code']}負責人" for u in golden_rows("units")}
    con = store.connect(golden_db, create=False)
    for code, name in heads.items():
        notify.set_unit_head(con, local_administrator("test"), code, name=name, email=None, language="en")
    con.close()
    done = closeloop("notify", "--db", golden_db, "--as-of", T, "--dry-run", "--json")
    got = {(n["to"], n["level"], i["ref"]) for n in json.loads(done.stdout)["notices"] for i in n["items"]}
    expected = expected_golden_notices(T, heads)
    assert got == expected
    # (27 overdue actions to their owners, 15 findings nobody works on to their heads; 68 escalations, 11 of
    # them to the top unit's head: the expected set is not thin)
    assert Counter(level for _, level, _ in expected) == {"escalated": 68, "overdue": 42, "due_soon": 1}
    assert sum(1 for to, level, _ in expected if (to, level) == ("HQ負責人", "escalated")) == 11


# ---------------------------------------------------------------------------------------------
# The outbox: a run killed while the server takes a digest, and the next run


class KillingInbox(Inbox):
    """Takes the first message, then kills the sending process before it can record the send as done."""

    victim: subprocess.Popen | None = None

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        if len(self.messages) == 1:
            self.victim.kill()
            self.victim.wait()
        return "250 OK"


@pytest.mark.slow  # several command-line processes and a real send
def test_a_digest_sent_by_a_run_killed_before_recording_it_is_sent_again_with_its_message_id_and_said(owned_golden_db):
    inbox = KillingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSELOOP_")} | {
        "CLOSELOOP_LANG": "en", "CLOSELOOP_SMTP_HOST": "127.0.0.1", "CLOSELOOP_SMTP_PORT": str(controller.port)}
    try:
        inbox.victim = subprocess.Popen([sys.executable, "-m", "closeloop", "notify", "--db", str(owned_golden_db),
                                         "--as-of", str(T)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        inbox.victim.communicate(timeout=120)
        assert inbox.victim.returncode == -9 and len(inbox.messages) == 1
        (first,) = inbox.messages
        con = store.connect(owned_golden_db, create=False)
        reasons = {r for (r,) in con.execute("select reason from events where entity = 'notice'").fetchall()}
        con.close()
        assert reasons == {"pending"}  # recorded before the send, never marked sent

        again = subprocess.run([sys.executable, "-m", "closeloop", "notify", "--db", str(owned_golden_db), "--as-of",
                                str(T)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    finally:
        controller.stop()
    assert again.returncode == 0, again.stderr
    name = {"lihua@example.org": "李華", "chenjing@example.org": "陳靜", "zhangwei@example.org": "張偉",
            "wangming@example.org": "王明"}[first["To"]]
    assert again.stderr == (f"{name} (email): an earlier run stopped while sending this digest, so it may have "
                            "arrived; sent again (an email keeps its Message-ID).\n")
    assert len(inbox.messages) == 5  # the interrupted digest twice, the other three once
    copies = [m for m in inbox.messages if m["To"] == first["To"]]
    assert len(copies) == 2 and copies[0]["Message-ID"] == copies[1]["Message-ID"]
    assert copies[0].get_content() == copies[1].get_content()
    assert closeloop("trail", "verify", "--db", owned_golden_db).returncode == 0


# ---------------------------------------------------------------------------------------------
# 三色督办 by unit, the one "due soon", defaulted due dates counted (literal rows, both stores)

LIGHT_FINDINGS = [
    finding("L-RED", "DH-01", due_on="2026-06-29"),  # overdue: red
    finding("L-YELLOW", "DH-01-1", due_on="2026-07-07"),  # due in 7 days: yellow, under DH-01
    finding("L-GREEN", "DH-02", due_on="2026-07-08"),  # due in 8 days: green
    finding("L-DEFAULT", "DH-02", found_on="2026-06-05", due_on=None, severity="major"),  # 06-05 + 30 = 07-05: yellow
    finding("L-DS", "DS", due_on="2026-06-01"),  # red, outside DH
]
LIGHT_ACTIONS = [
    act("LA-GREEN", "L-RED", "李華", "2026-08-01"),  # green, DH-01
    act("LA-DONE", "L-YELLOW", "李華", "2026-06-01", done_on="2026-06-10"),  # done: not open, not counted
    act("LA-RED", "L-GREEN", "王明", "2026-06-20"),  # overdue: red, DH-02
    act("LA-EIGHT", "L-GREEN", "王明", "2026-07-08"),  # due in 8 days: green (yellow once due soon is 8 days)
    act("LA-DEFAULT", "L-DEFAULT", "王明", None),  # no due date: its finding's 06-05 + major's 30 = 07-05, yellow
]
COLOURS = ["findings_on_track", "findings_due_soon", "findings_overdue",
           "actions_on_track", "actions_due_soon", "actions_overdue"]


@pytest.fixture
def lights(store_from_rows):
    return store_from_rows(LIGHT_FINDINGS, LIGHT_ACTIONS)


def test_the_units_status_lights_count_open_findings_and_actions_per_unit_one_level_down(lights):
    by_dh = store.run(lights, "due_status_by_unit", Filters.default(T).replace(unit="DH").params(None) | {"lang": "en"})
    assert by_dh[["unit", *COLOURS]].values.tolist() == [["DH-01", 0, 1, 1, 1, 0, 0], ["DH-02", 1, 1, 0, 1, 1, 1]]
    whole = store.run(lights, "due_status_by_unit", Filters.default(T).params(None) | {"lang": "en"})
    assert whole[["unit", *COLOURS]].values.tolist() == [["DH", 1, 2, 1, 2, 1, 1], ["DS", 0, 0, 1, 0, 0, 0]]


def test_due_soon_is_one_setting_for_the_rectification_view_the_units_lights_and_the_notices(lights):
    def due_soon() -> tuple:
        params = Filters.default(T).params(None) | {"view": "due_soon", "me": [], "limit": 100}
        listed = (sorted(store.run(lights, "rectification_actions", params)["ref"]),
                  sorted(store.run(lights, "rectification_nonconformities", params)["ref"]))
        noticed = sorted(i["ref"] for n in notify.notices(lights, T) if n.level == "due_soon" for i in n.items)
        yellow = store.run(lights, "due_status_by_unit", Filters.default(T).params(None) | {"lang": "en"})
        return listed, noticed, int(yellow["findings_due_soon"].sum()), int(yellow["actions_due_soon"].sum())

    assert due_soon() == ((["LA-DEFAULT"], ["L-DEFAULT", "L-YELLOW"]), ["LA-DEFAULT"], 2, 1)
    notify.set_setting(lights, local_administrator("test"), "due_soon_days", "8")
    assert due_soon() == ((["LA-DEFAULT", "LA-EIGHT"], ["L-DEFAULT", "L-GREEN", "L-YELLOW"]),
                          ["LA-DEFAULT", "LA-EIGHT"], 3, 2)


def test_the_data_quality_panel_counts_findings_and_actions_given_a_due_date_by_severity(lights):
    params = Filters.default(T).params(None)
    counts = dict(store.run(lights, "data_quality", params).itertuples(index=False))
    assert (counts["finding_due_defaulted"], counts["action_due_defaulted"], counts["no_due_date"]) == (1, 1, 1)
    rows = {check: store.run(lights, "data_quality_rows", params | {"check": check, "limit": 100})
            for check in ("finding_due_defaulted", "action_due_defaulted")}
    assert rows["finding_due_defaulted"][["ref", "action_ref"]].values.tolist() == [["L-DEFAULT", None]]
    assert rows["action_due_defaulted"][["ref", "action_ref", "owner"]].values.tolist() == [
        ["L-DEFAULT", "LA-DEFAULT", "王明"]]


def test_the_units_status_table_names_each_colour_and_tints_only_the_cells_with_items():
    from closeloop import i18n, kpis

    rows = pd.DataFrame([{"unit": "DH-01", "name": "定海分局機關支部", "findings_on_track": 0, "findings_due_soon": 1,
                          "findings_overdue": 2, "actions_on_track": 3, "actions_due_soon": 0, "actions_overdue": 0}])
    styled = kpis.due_status_table(rows, "name", i18n.translator("en"))
    assert list(styled.data.columns) == [
        "Unit name", "Findings · On track (green)", "Findings · Due soon (yellow)", "Findings · Overdue (red)",
        "Actions · On track (green)", "Actions · Due soon (yellow)", "Actions · Overdue (red)"]
    styled._compute()  # the CSS each cell gets, as st.dataframe reads it
    assert {column: dict(styled.ctx[(0, column)]).get("background-color") for column in range(1, 7)} == {
        1: None, 2: "#fff59d", 3: "#ffcdd2", 4: "#c8e6c9", 5: None, 6: None}


def test_a_sources_own_deadline_comes_before_its_severitys_and_only_an_administrator_sets_one(lights):
    from closeloop.identity import Identity

    def defaulted() -> list:
        params = Filters.default(T).params(None) | {"view": "open", "me": [], "limit": 100}
        findings = store.run(lights, "rectification_nonconformities", params).set_index("ref")
        actions = store.run(lights, "rectification_actions", params).set_index("ref")
        return [str(findings.loc["L-DEFAULT", "default_due_on"].date()), findings.loc["L-DEFAULT", "due_status"],
                str(actions.loc["LA-DEFAULT", "default_due_on"].date()), actions.loc["LA-DEFAULT", "due_status"]]

    admin = local_administrator("test")
    notify.set_deadline(lights, admin, "major", 5, 3, source="inspection")  # L-DEFAULT is an internal audit's
    assert defaulted() == ["2026-07-05", "due_soon", "2026-07-05", "due_soon"]  # major's 30 days still
    notify.set_deadline(lights, admin, "major", 5, 3, source="internal_audit")
    assert defaulted() == ["2026-06-10", "overdue", "2026-06-08", "overdue"]  # 06-05 + 5 and + 3
    with pytest.raises(Refused) as refused:
        notify.set_unit_head(lights, Identity(actor="viewer@example.org", role="viewer"), "DH", name="某人",
                             email=None, language=None)
    assert (refused.value.key, refused.value.details) == ("refused_role", {"role": "viewer", "move": "administer"})
    assert lights.execute("select head_name from units where code = 'DH'").fetchall() == [(None,)]


# ---------------------------------------------------------------------------------------------
# SMTP with STARTTLS and a login, as a real relay asks for them


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key: the test's own authority, trusted through SSL_CERT_FILE."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_email_goes_over_starttls_with_a_login_and_a_refused_login_is_a_failed_send(escalation_db, tmp_path):
    import ssl

    from aiosmtpd.smtp import AuthResult

    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((mechanism, auth_data.login.decode(), session.ssl is not None))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)  # the server answers 235 or 535

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=tls, require_starttls=True,
                            authenticator=authenticator, auth_require_tls=True,
                            auth_exclude_mechanism=["LOGIN"])  # one mechanism: one login per attempt
    controller.start()
    env = {"CLOSELOOP_SMTP_HOST": "127.0.0.1", "CLOSELOOP_SMTP_PORT": str(controller.port),
           "CLOSELOOP_SMTP_STARTTLS": "1", "CLOSELOOP_SMTP_USER": "closeloop", "SSL_CERT_FILE": str(cert)}
    try:
        wrong = closeloop("notify", "--db", escalation_db, "--as-of", T, **env, CLOSELOOP_SMTP_PASSWORD="guess")
        assert inbox.messages == []
        right = closeloop("notify", "--db", escalation_db, "--as-of", T, **env, CLOSELOOP_SMTP_PASSWORD="s3cret")
    finally:
        controller.stop()
    heads = ["li@dh01.example", "wang@hq.example", "zhou@dh.example"]
    assert wrong.returncode == 1, wrong.stderr
    assert sorted(line.split(":", 1)[0] for line in wrong.stderr.splitlines() if "SMTPAuthenticationError" in line) \
        == ["Not sent (email) to 周强", "Not sent (email) to 李明", "Not sent (email) to 王局"]
    assert sorted(m["To"] for m in inbox.messages) == heads  # the next run, with the right password
    assert logins == [("PLAIN", "closeloop", True)] * 6  # the user's login, each over the TLS STARTTLS began
