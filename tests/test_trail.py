"""The trail: sealed as written, verified from the command line, and a tampered copy caught by the row."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from conftest import LEDGER

from closeloop import (demo, identity, ledger, notify, plan_findings, plan_ledger, review, store, targets, trail,
                       value_maps, workflow)
from closeloop.filters import Filters
from closeloop.refusal import Refused

ROOT = Path(__file__).resolve().parents[1]
ADMIN = identity.local_administrator("admin")
# the command line's tests below run on both (golden_store_at); tampering with a copy is the embedded store's case
BOTH_BACKENDS = True


@pytest.fixture(scope="module")
def sealed_store(tmp_path_factory, cli, golden_imported) -> Path:
    """The golden ledger imported, then an action done, its finding verified and another reopened."""
    db = tmp_path_factory.mktemp("trail") / "closeloop.duckdb"
    golden_imported(db, "--as", "import")
    for args in (("action", "done", "CA-0006-1", "--evidence", "會議記錄已歸檔", "--as", "張三"),
                 ("nc", "verify", "NC-0006", "--effective", "yes", "--as", "審核員"),
                 ("nc", "reopen", "NC-0001", "--reason", "複查發現未落實", "--as", "審核員")):
        done = cli(*args, "--db", db)
        assert done.returncode == 0, done.stderr
    return db


@pytest.fixture(scope="module")
def sealed_head(cli, sealed_store) -> str:
    """The head `trail verify` prints for the sealed store, kept apart from it (asked once: verify only reads)."""
    done = cli("trail", "verify", "--db", sealed_store)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


@pytest.fixture
def tampered(tmp_path, sealed_store):
    """tampered(sql) → a copy of the sealed store changed behind the application's back with duckdb directly."""

    def change(*statements: str) -> Path:
        copy = tmp_path / f"copy-{len(list(tmp_path.iterdir()))}.duckdb"
        shutil.copy(sealed_store, copy)
        con = duckdb.connect(str(copy))
        for statement in statements:
            con.execute(statement)
        con.close()
        return copy

    return change


def test_the_sealed_store_verifies(cli, sealed_store):
    done = cli("trail", "verify", "--db", sealed_store)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"Trail verified: 330 events in 4 blocks; head [0-9a-f]{64}\n", done.stdout)


def test_an_event_changed_in_a_copy_is_named(cli, tampered):
    copy = tampered("update events set new = '2026-01-01' where id = 330")
    done = cli("trail", "verify", "--db", copy)
    assert (done.returncode, done.stderr) == (2, "Event 330 does not fit its seal: it was changed.\n")


def test_an_event_changed_together_with_its_kept_fingerprint_is_caught_by_its_block(cli, tampered):
    # The fingerprint is recomputed the way closeloop does it, so only the block digest can tell.
    copy = tampered(
        "update events set actor = '王明' where id = 323",
        "update event_hashes set fingerprint = (select ('0x' || left(hex(hash), 16))::ubigint "
        "from event_hashes_after(322) where id = 323) where event = 323",
    )
    done = cli("trail", "verify", "--db", copy)
    assert (done.returncode, done.stderr) == (
        2, "Block 2 (events 322–325) does not fit the events it covers.\n",
    )


def test_a_removed_event_is_named(cli, tampered):
    done = cli("trail", "verify", "--db", tampered("delete from events where id = 100"))
    assert (done.returncode, done.stderr) == (2, "Event 100 was sealed but is gone: it was removed.\n")


def test_an_inserted_event_is_named(cli, tampered):
    # Ids run without gaps here, so a forged row has to take one below the first.
    copy = tampered("insert into events (id, actor, entity, ref, field, old, new) "
                    "values (0, '王明', 'nonconformity', 'NC-0001', 'status', 'open', 'closed')")
    done = cli("trail", "verify", "--db", copy)
    assert (done.returncode, done.stderr) == (2, "Event 0 is not in its seal: it was inserted afterwards.\n")


def test_events_written_without_a_seal_are_named(cli, tampered):
    copy = tampered("insert into events (actor, entity, ref, field) values ('x', 'action', 'CA-0006-1', 'note')")
    done = cli("trail", "verify", "--db", copy)
    assert (done.returncode, done.stderr) == (2, "Event 331 and any after it were never sealed.\n")


def test_a_rewritten_block_hash_breaks_the_chain(cli, tampered):
    done = cli("trail", "verify", "--db", tampered("update trail_blocks set hash = repeat('0', 64) where id = 2"))
    assert (done.returncode, done.stderr) == (2, "Block 2 (events 322–325) has been altered.\n")


def test_a_chain_rewritten_from_scratch_is_caught_by_a_head_kept_elsewhere(cli, sealed_head, tampered):
    head = sealed_head
    rewritten = tampered("delete from trail_blocks", "delete from event_hashes", "delete from record_seals",
                         "delete from block_records", "update events set new = 'closed' where id = 330")
    assert cli("trail", "seal", "--db", rewritten).returncode == 0
    assert cli("trail", "verify", "--db", rewritten).returncode == 0  # self-consistent again
    done = cli("trail", "verify", "--db", rewritten, "--head", head)
    assert (done.returncode, done.stderr) == (2, f"No block in the chain has the hash {head}: the chain was rewritten.\n")


def test_verify_names_the_first_problem_first(tmp_path, sealed_store):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(sealed_store, copy)
    con = duckdb.connect(str(copy))
    con.execute("update events set reason = 'x' where id in (200, 12)")
    verdict = trail.verify(con)
    assert [(p.key, p.details) for p in verdict.problems] == [
        ("trail_event_changed", {"event": 12}),
        ("trail_event_changed", {"event": 200}),
        ("trail_block_does_not_fit", {"block": 1, "first": 1, "last": 321}),
    ]


def test_a_store_written_before_the_trail_is_sealed_once_and_then_verifies(tmp_path):
    con = store.connect(tmp_path / "old.duckdb")
    con.execute("insert into events (actor, entity, ref, field) values ('old', 'nonconformity', 'NC-1', 'created')")
    assert [p.key for p in trail.verify(con).problems] == ["trail_event_unsealed"]
    with store.transaction(con):
        assert trail.seal(con) == 1
    with store.transaction(con):
        assert trail.seal(con) is None
    assert trail.verify(con).ok


def test_no_code_path_updates_or_deletes_the_trail():
    # The trail is append-only: no update or delete of events, their seals or their blocks anywhere.
    pattern = re.compile(r"\b(update|delete\s+from|truncate|alter\s+table)\s+(events|event_hashes|trail_blocks|record_seals|block_records)\b",
                         re.IGNORECASE)
    files = [*(ROOT / "closeloop").rglob("*.py"), *(ROOT / "closeloop").rglob("*.sql"),
             *(ROOT / "pages").rglob("*.py"), *(ROOT / "queries").rglob("*.sql"), ROOT / "dashboard.py"]
    offending = [f"{f.relative_to(ROOT)}: {m.group(0)}" for f in files
                 for m in pattern.finditer(f.read_text(encoding="utf-8"))]
    assert len(files) > 20 and offending == []


def test_no_code_path_hard_deletes_a_record():
    pattern = re.compile(r"\bdelete\s+from\s+(units|criteria|audits|nonconformities|actions|users)\b", re.IGNORECASE)
    files = [*(ROOT / "closeloop").rglob("*.py"), *(ROOT / "pages").rglob("*.py"), *(ROOT / "queries").rglob("*.sql")]
    assert [str(f.relative_to(ROOT)) for f in files if pattern.search(f.read_text(encoding="utf-8"))] == []


# The command line for scripts


def test_action_done_then_nc_verify_then_history(cli, golden_store_at):
    db = golden_store_at("closeloop")
    done = cli("action", "done", "CA-0006-1", "--evidence", "會議記錄已歸檔", "--on", "2026-06-01", "--as", "張三",
               "--db", db)
    assert (done.returncode, done.stdout) == (0, "CA-0006-1: saved 4 changes (trail block 2).\n")
    done = cli("nc", "verify", "NC-0006", "--effective", "yes", "--on", "2026-06-02", "--as", "審核員", "--db", db)
    assert (done.returncode, done.stdout) == (0, "NC-0006: saved 3 changes (trail block 3).\n")
    done = cli("history", "NC-0006", "--db", db)
    lines = [re.sub(r"^\S+ \S+ [+-]\d\d:\d\d  ", "", line) for line in done.stdout.splitlines()]
    assert lines == [
        "import  nonconformity NC-0006  created:  →   (import)",
        "import  action CA-0006-1  created:  →   (import)",
        "張三  action CA-0006-1  done_on:  → 2026-06-01  (done)",
        "張三  action CA-0006-1  evidence:  → 會議記錄已歸檔  (done)",
        "張三  action CA-0006-1  status: planned → done  (done)",
        "張三  nonconformity NC-0006  status: in_progress → awaiting_verification  (done)",
        "審核員  nonconformity NC-0006  status: awaiting_verification → closed  (verified_effective)",
        "審核員  nonconformity NC-0006  closed_on:  → 2026-06-02  (verified_effective)",
        "審核員  nonconformity NC-0006  verified_by:  → 審核員  (verified_effective)",
    ]


@pytest.mark.parametrize("args,message", [
    (("action", "done", "CA-0006-1", "--evidence", ""), "Say what shows it was done (evidence).\n"),
    (("action", "done", "CA-NOPE", "--evidence", "x"), "No action CA-NOPE.\n"),
    (("nc", "verify", "NC-0006"), "Say whether it was effective: --effective yes or no.\n"),
    (("nc", "verify", "NC-0001", "--effective", "yes"), "NC-0001 is already verified and closed.\n"),
    (("history", "NC-NOPE"), "No history for NC-NOPE, or it is outside your scope.\n"),
])
def test_refused_commands_exit_2_with_one_line(cli, golden_store_at, args, message):
    db = golden_store_at("closeloop")
    done = cli(*args, "--db", db)
    assert (done.returncode, done.stderr) == (2, message)


def test_history_as_a_user_of_another_unit_shows_nothing(cli, golden_store_at):
    db = golden_store_at("closeloop")
    assert cli("user", "dh@example.org", "--role", "viewer", "--unit", "DH", "--db", db).returncode == 0
    assert cli("history", "NC-0006", "--as", "dh@example.org", "--db", db).returncode == 2  # NC-0006 is in PT
    assert cli("history", "NC-0006", "--db", db).returncode == 0


def test_history_exports_as_csv(cli, golden_store_at):
    db = golden_store_at("closeloop")
    done = cli("history", "CA-0006-1", "--format", "csv", "--db", db)
    assert done.stdout.splitlines()[0] == "id,at,actor,entity,ref,field,old,new,reason,batch"
    assert done.stdout.splitlines()[1].endswith(",import,action,CA-0006-1,created,,,import,1")


def test_a_move_on_a_seen_version_that_changed_is_refused(cli, golden_store_at):
    db = golden_store_at("closeloop")
    assert cli("action", "start", "CA-0006-1", "--version", "1", "--as", "甲", "--db", db).returncode == 0
    done = cli("action", "done", "CA-0006-1", "--evidence", "x", "--version", "1", "--as", "乙", "--db", db)
    assert done.returncode == 2
    assert re.fullmatch(r"Not saved: CA-0006-1 was changed by 甲 at \S+ \S+ [+-]\d\d:\d\d after you opened it\. "
                        r"Reload it and try again\.\n", done.stderr)


def test_the_workflow_refuses_what_the_command_line_does(tmp_path):
    # The same refusal through the module, for the page: a viewer cannot record anything.
    con = store.connect(tmp_path / "s.duckdb")
    with pytest.raises(Refused) as refused:
        workflow.start(con, identity.Identity("v@x", "viewer"), "CA-1")
    assert (refused.value.key, refused.value.details) == ("refused_role", {"role": "viewer", "move": "start"})


# Every public way the application writes, run on a store that holds a review and its decision: each one seals
# what it wrote in blocks of its own that verify, leaves every review row as it was, and a change behind the
# trail to what it wrote is caught. The modules that write events are found by reading the code, so a new
# writer has to join WRITES to pass.
WRITE_LEDGER = LEDGER | {
    "nonconformities.csv": LEDGER["nonconformities.csv"]
    + "NC-3,DH,1.1,inspection,minor,台賬未更新,2026-02-01,2026-03-01,,awaiting_verification\n",  # for verify
    "actions.csv": LEDGER["actions.csv"] + "CA-3,NC-3,corrective,更新台賬,李華,2026-02-20,2026-02-18,done\n",
}
REVIEW_TABLES = ("reviews", "review_snapshots", "review_open_items", "review_decisions", "audits")
VIEWER = identity.Identity("v@example.org", "viewer")


def write_ledger_folder(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def reimport(con, tmp_path):
    changed = WRITE_LEDGER | {"nonconformities.csv": WRITE_LEDGER["nonconformities.csv"].replace("學習記錄缺失", "學習記錄不全")}
    outcome = ledger.load(con, ledger.read([write_ledger_folder(tmp_path / "again", changed)]), actor="import")
    assert outcome.ok, outcome.problems


def plan_imported(con, tmp_path):
    folder = write_ledger_folder(tmp_path / "plan", {
        "inspections.csv": "ref,unit,kind,planned_on,performed_on,inspector\nI-1,DH,periodic,2026-03-01,2026-03-02,陳靜\n",
        "inspection_results.csv": ("inspection,criterion,points_possible,points_awarded,result,note,nonconformity\n"
                                   "I-1,1.1,10,4,fail,記錄不全,\n"),
    })
    outcome = plan_ledger.load(con, sorted(folder.iterdir()), "import")
    assert outcome.problems == []


def inspection_failed(con, tmp_path):
    plan_imported(con, tmp_path)
    assert plan_findings.raise_from_inspections(con, ADMIN) == ["NC-I-1-1.1"]


def actual_entered(con, tmp_path):
    folder = write_ledger_folder(tmp_path / "objectives", {
        "objectives.csv": "unit,year,code,name,kind,direction,target\nDH,2026,G1,整改按期完成率,level,higher,90\n"})
    assert plan_ledger.load(con, sorted(folder.iterdir()), "import").problems == []
    assert plan_ledger.enter_actual(con, ADMIN, "DH", 2026, "G1", 6, "88", "六月台賬") == 3


def notices_recorded(con, _):
    sent = notify.notices(con, date(2026, 6, 30))
    assert sent  # NC-2 and CA-2 are long overdue: there is something to record
    notify.record(con, "notify", date(2026, 6, 30), "email", sent, "sent",
                  notify.digest_key(sent, date(2026, 6, 30), "email"))


WRITES = {
    "ledger.load": ("closeloop/ledger/merge.py", reimport),
    "plan_ledger.load": ("closeloop/plan_ledger.py", plan_imported),
    "plan_findings.raise_from_inspections": ("closeloop/plan_findings.py", inspection_failed),
    "plan_ledger.enter_actual": ("closeloop/plan_ledger.py", actual_entered),
    "targets.set_target": ("closeloop/notify.py", lambda con, _: targets.set_target(
        con, ADMIN, "on_time_closure_rate", 0.9, "higher", 0.05)),
    "workflow.start": ("closeloop/workflow.py", lambda con, _: workflow.start(con, ADMIN, "CA-2")),
    "workflow.done": ("closeloop/workflow.py",
                      lambda con, _: workflow.done(con, ADMIN, "CA-2", evidence="已補錄", on=date(2026, 6, 1))),
    "workflow.extend": ("closeloop/workflow.py",
                        lambda con, _: workflow.extend(con, ADMIN, "CA-2", due_on=date(2026, 9, 30), reason="人手不足")),
    "workflow.cancel": ("closeloop/workflow.py", lambda con, _: workflow.cancel(con, ADMIN, "CA-2", reason="改由他案")),
    "workflow.add_action": ("closeloop/workflow.py", lambda con, _: workflow.add_action(
        con, ADMIN, "NC-2", kind="preventive", description="每月抽查", owner="王明", due_on=date(2026, 9, 30))),
    "workflow.verify": ("closeloop/workflow.py",
                        lambda con, _: workflow.verify(con, ADMIN, "NC-3", effective=True, on=date(2026, 6, 1))),
    "workflow.reopen": ("closeloop/workflow.py", lambda con, _: workflow.reopen(con, ADMIN, "NC-1", reason="複查未落實")),
    "workflow.set_user": ("closeloop/workflow.py",
                          lambda con, _: workflow.set_user(con, ADMIN, "li@example.org", role="viewer", unit="DH")),
    "workflow.log_refused": ("closeloop/workflow.py",
                             lambda con, _: workflow.log_refused(con, VIEWER, "nonconformity", "NC-9", "detail")),
    "review.record": ("closeloop/review.py", lambda con, _: review.record(
        con, ADMIN, Filters.default(date(2026, 6, 30)), held_on=date(2026, 7, 1), title="Q3", attendees=["chair"])),
    "review.decide": ("closeloop/review.py", lambda con, _: review.decide(
        con, ADMIN, 1, nonconformity="NC-2", description="加派人手", owner="李華", due_on=date(2026, 9, 30))),
    "value_maps.save_now": ("closeloop/value_maps.py", lambda con, _: value_maps.save_now(
        con, [value_maps.Mapping("severity", "一般", "minor")], "admin")),
    "notify.record": ("closeloop/notify.py", notices_recorded),
    "notify.set_deadline": ("closeloop/notify.py", lambda con, _: notify.set_deadline(con, ADMIN, "major", 45)),
    "notify.set_setting": ("closeloop/notify.py", lambda con, _: notify.set_setting(con, ADMIN, "due_soon_days", "5")),
    "notify.set_unit_head": ("closeloop/notify.py", lambda con, _: notify.set_unit_head(
        con, ADMIN, "DH", name="王明", email="wang@example.org", language="zh-Hans")),
    # the demo fills an empty store of its own (test_demo.py checks its one block on the full demo)
    "demo.build": ("closeloop/demo.py", None),
}


@pytest.fixture(scope="module")
def written_store(tmp_path_factory) -> Path:
    """WRITE_LEDGER imported, then a review recorded as of 2026-06-30 that decided one action on a new topic and
    concluded on the findings."""
    folder = tmp_path_factory.mktemp("writes")
    con = store.connect(folder / "base.duckdb")
    outcome = ledger.load(con, ledger.read([write_ledger_folder(folder / "ledger", WRITE_LEDGER)]), actor="import")
    assert outcome.ok, outcome.problems
    made = review.record(con, ADMIN, Filters.default(date(2026, 6, 30)), held_on=date(2026, 6, 30), title="Q2",
                         attendees=["chair"])
    review.decide(con, ADMIN, made, topic="逾期通報", description="每月通報", owner="王明", due_on=date(2026, 7, 31))
    review.conclude(con, ADMIN, made, section="findings", text="逾期過多，須每月通報")
    con.close()
    return folder / "base.duckdb"


def review_rows(con) -> dict[str, set[tuple]]:
    # the table names are this module's literals; a list (attendees) as a tuple, to be kept in a set
    return {table: {tuple(tuple(v) if isinstance(v, list) else v for v in row)
                    for row in con.execute(f"select * from {table}").fetchall()} for table in REVIEW_TABLES}


def one(con, sql: str, params: dict | None = None):
    return con.execute(sql, params or {}).fetchall()[0][0]


def test_every_module_that_writes_events_has_its_write_paths_run_below():
    writers = {str(f.relative_to(ROOT)) for f in (ROOT / "closeloop").rglob("*.py")
               if re.search(r"insert\s+into\s+events\b", f.read_text(encoding="utf-8"), re.IGNORECASE)}
    assert len(writers) >= 5 and writers - {module for module, _ in WRITES.values()} == set()


@pytest.mark.parametrize("name", [name for name, (_, write) in WRITES.items() if write is not None])
def test_each_write_path_seals_what_it_wrote_leaves_the_reviews_and_a_change_behind_it_is_caught(
        written_store, tmp_path, name):
    db = tmp_path / "store.duckdb"
    shutil.copy(written_store, db)
    con = store.connect(db)
    events, blocks, reviews = one(con, "select max(id) from events"), one(con, "select max(id) from trail_blocks"), \
        review_rows(con)
    WRITES[name][1](con, tmp_path)
    last = one(con, "select max(id) from events")
    assert last > events  # it wrote something
    # the blocks sealed since cover exactly the events written since (none sealed: (None, None, 0, 0))
    covered = con.execute("select min(first_event), max(last_event), coalesce(sum(events), 0), count(*) "
                          "from trail_blocks where id > $b", {"b": blocks}).fetchall()[0]
    written = one(con, "select count(*) from events where id > $e", {"e": events})
    assert covered[:3] == (events + 1, last, written) and covered[3] >= 1
    verdict = trail.verify(con)
    assert (verdict.problems, verdict.events, verdict.blocks) == ([], last, blocks + covered[3])
    after = review_rows(con)
    assert {table: reviews[table] - after[table] for table in REVIEW_TABLES} == dict.fromkeys(REVIEW_TABLES, set())
    con.execute("begin")
    con.execute("update events set new = concat(coalesce(new, ''), '!') where id = $id", {"id": last})
    last_block = one(con, "select max(id) from trail_blocks")
    first_of_it = one(con, "select first_event from trail_blocks where id = $b", {"b": last_block})
    assert [(p.key, p.details) for p in trail.verify(con).problems] == [
        ("trail_event_changed", {"event": last}),
        ("trail_block_does_not_fit", {"block": last_block, "first": first_of_it, "last": last}),
    ]
    con.execute("rollback")
    con.close()


def test_the_demo_seals_every_record_it_writes_and_a_change_behind_it_is_caught(tmp_path):
    con = store.connect(tmp_path / "demo.duckdb")
    demo.build(con, ncs=50)
    verdict = trail.verify(con)
    assert (verdict.problems, verdict.blocks, verdict.events) == ([], 1, one(con, "select count(*) from events"))
    con.execute("begin")
    ref = one(con, "select min(ref) from actions")
    con.execute("update actions set owner = concat(owner, '!') where ref = $ref", {"ref": ref})
    assert [(p.key, p.details) for p in trail.verify(con).problems] == [
        ("trail_record_changed", {"entity": "action", "ref": ref, "field": "owner"})]
    con.execute("rollback")
    con.close()


def test_a_review_deleted_behind_the_application_is_caught_by_the_trail(written_store, tmp_path):
    db = tmp_path / "store.duckdb"
    shutil.copy(written_store, db)
    con = store.connect(db)
    assert trail.verify(con).ok
    con.execute("delete from review_conclusions where review = 1")
    con.execute("delete from review_decisions where review = 1")
    con.execute("delete from review_open_items where review = 1")
    con.execute("delete from review_snapshots where review = 1")
    con.execute("delete from reviews where id = 1")
    assert [(p.key, p.details) for p in trail.verify(con).problems] == [
        ("trail_record_removed", {"entity": "review", "ref": "1"})]
    con.close()


# Each row a review froze or decided, changed behind the application: the review's seal names the part changed.
REVIEW_TAMPERS = {
    "update reviews set title = 'Q2 (amended)' where id = 1": "title",
    "update reviews set attendees = ['chair', 'guest'] where id = 1": "attendees",
    "update review_snapshots set contract = '{}' where review = 1": "contract",
    "update review_open_items set days_overdue = 0 where review = 1 and ref = 'NC-2'": "open_items",
    "delete from review_open_items where review = 1 and ref = 'NC-2'": "open_items",
    "delete from review_decisions where review = 1": "decisions",
    "insert into review_decisions values (1, 'CA-2', 'NC-2')": "decisions",
    "update review_conclusions set text = '無意見' where review = 1": "conclusions",
    "insert into review_conclusions values (1, 'objectives', 1, '已達成', 'chair', now())": "conclusions",
}


@pytest.mark.parametrize("statement", sorted(REVIEW_TAMPERS))
def test_a_review_row_changed_behind_the_application_is_named_by_the_trail(written_store, tmp_path, statement):
    db = tmp_path / "store.duckdb"
    shutil.copy(written_store, db)
    con = store.connect(db)
    con.execute(statement)
    assert [(p.key, p.details) for p in trail.verify(con).problems] == [
        ("trail_record_changed", {"entity": "review", "ref": "1", "field": REVIEW_TAMPERS[statement]})]
    con.close()


def test_the_conclusions_deleted_behind_the_application_are_caught_as_a_changed_review(written_store, tmp_path):
    db = tmp_path / "store.duckdb"
    shutil.copy(written_store, db)
    con = store.connect(db)
    con.execute("delete from review_conclusions where review = 1")
    # the seal's marks keep 4 bits a field: this change's bits happen to match, so no field can be named
    assert [(p.key, p.details["entity"], p.details["ref"]) for p in trail.verify(con).problems] == [
        ("trail_record_changed", "review", "1")]
    con.close()


def test_the_written_store_seals_its_review_as_it_stood_after_its_decision(written_store):
    # one seal when the review was recorded, another when its decision was linked, a third for its conclusion
    con = duckdb.connect(str(written_store), read_only=True)
    sealed = con.execute("select count(*), count(distinct digest) from record_seals "
                         "where entity = 'review' and ref = '1'").fetchall()
    con.close()
    assert sealed == [(3, 3)]


def test_reviews_a_store_held_before_they_were_sealed_are_sealed_once_as_it_migrates(backend, store_at, monkeypatch,
                                                                                      tmp_path):
    # The store as the code before migration 015 wrote it: that migration not applied, reviews not sealed.
    location = store_at("old")
    with monkeypatch.context() as old:
        old.setattr(store, "SEALED_FROM", {})
        old.setattr(trail, "FIELDS", {k: v for k, v in trail.FIELDS.items() if k != "review"})
        con = store.connect(location)
        workflow.set_user(con, ADMIN, "li@example.org", role="viewer", unit=None)
        assert ledger.load(con, ledger.read([write_ledger_folder(tmp_path / "ledger", WRITE_LEDGER)]), actor="import").ok
        review.record(con, ADMIN, Filters.default(date(2026, 6, 30)), held_on=date(2026, 6, 30), title="Q2",
                      attendees=["chair"])
        forget_migration(con, backend, 15)
        blocks = one(con, "select count(*) from trail_blocks")
        assert one(con, "select count(*) from record_seals where entity = 'review'") == 0
        con.close()
    con = store.connect(location)
    # a block of its own, with no events, sealing the one review; the store verifies
    assert con.execute("select count(*), sum(events) from trail_blocks where id > $b", {"b": blocks}).fetchall() \
        == [(1, 0)]
    assert con.execute("select entity, ref from record_seals where block = $b", {"b": blocks + 1}).fetchall() \
        == [("review", "1")]
    assert trail.verify(con).ok
    con.close()
    con = store.connect(location)  # once: connecting again seals nothing more
    assert one(con, "select count(*) from trail_blocks") == blocks + 1
    con.close()


def forget_migration(con, backend: str, version: int) -> None:
    """The store as if `version` had never been applied (it changes no table, so forgetting it is enough)."""
    if backend == "duckdb":
        con.execute("delete from schema_version where version = $v", {"v": version})
        return
    from closeloop import replica

    with replica._pg_transaction(replica.of(con).pg.cursor()) as cur:
        cur.execute("delete from schema_version where version = $1", parameters=(version,))


def test_no_command_removes_a_review():
    # `review` records and lists; no other command names reviews (each one's write path is run above)
    from closeloop import cli

    commands = next(a for a in cli.parser()._actions if a.choices and "review" in a.choices).choices
    tasks = next(a for a in commands["review"]._actions if a.dest == "task")
    assert sorted(tasks.choices) == ["list", "record"]


# Attacks on a copy of the golden store with file access (issue 13): each one changed behind the application's
# back, each caught by `trail verify --head H` with the head the untouched store printed, naming what changed.
FORGED_EVENT_HASHES = (
    # the old form kept in the store: the attacker keeps the hashes as they were, rewrites an event, and
    # redefines the stored macro to hand back the kept hashes
    "create table kept_hashes as select id, hash from event_hashes_after(-9223372036854775808)",
    "update events set new = 'open' where id = 330",
    "create or replace macro event_hashes_after(after) as table select id, hash from kept_hashes where id > after",
)
TAMPERS = {
    "close_a_finding": (
        ("update nonconformities set status = 'closed', closed_on = '2026-06-01', verified_by = '王明' "
         "where ref = 'NC-0017'",),
        "nonconformity NC-0017 does not fit its seal: status, closed_on, verified_by was changed outside the trail.\n",
    ),
    "move_a_due_date": (
        ("update actions set due_on = '2027-01-01' where ref = 'CA-0017-1'",),
        "action CA-0017-1 does not fit its seal: due_on was changed outside the trail.\n",
    ),
    "delete_a_finding_and_its_actions": (
        ("delete from actions where nonconformity = 'NC-0017'", "delete from nonconformities where ref = 'NC-0017'"),
        "nonconformity NC-0017 was sealed but is gone: it was removed.\n",
    ),
    "insert_a_finding_with_no_events": (
        ("insert into nonconformities (ref, unit, source, severity, title, found_on, status) "
         "values ('NC-9999', 'DH', 'inspection', 'minor', '補錄', '2026-01-02', 'open')",),
        "nonconformity NC-9999 has no sealed events: it was written outside the trail.\n",
    ),
    "re_parent_a_unit": (
        ("update units set parent_code = 'DH' where code = 'PT'",),
        "unit PT does not fit its seal: parent_code was changed outside the trail.\n",
    ),
    "change_a_record_and_forge_its_seal": (
        ("update actions set owner = '李華' where ref = 'CA-0006-1'",
         "update record_seals set digest = ("
         "  select unhex(sha256(concat_ws(chr(31), 'action', "
         "    concat(strlen(ref), ':', ref), concat(strlen(nonconformity), ':', nonconformity), "
         "    concat(strlen(kind::varchar), ':', kind::varchar), concat(strlen(description), ':', description), "
         "    concat(strlen(owner), ':', owner), concat(strlen(due_on::varchar), ':', due_on::varchar), "
         "    concat(strlen(status::varchar), ':', status::varchar), concat(strlen(done_on::varchar), ':', done_on::varchar), "
         "    concat(strlen(evidence), ':', evidence)))) from actions where ref = 'CA-0006-1') "
         "where entity = 'action' and ref = 'CA-0006-1' and block = 2",),
        "Block 2 (events 322–325) does not fit the records it sealed.\n",
    ),
    "delete_every_block": (
        ("delete from trail_blocks",),
        "Events 1–330 were sealed, but the block that sealed them is gone: the trail was cut.\n",
    ),
    "delete_the_last_block": (
        ("delete from trail_blocks where id = 4",),
        "Events 329–330 were sealed, but the block that sealed them is gone: the trail was cut.\n",
    ),
    "redefine_the_stored_hash_macro": (
        FORGED_EVENT_HASHES,
        "Event 330 does not fit its seal: it was changed.\n",
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_each_tamper_fails_verify_with_the_head_naming_what_changed(cli, sealed_head, tampered, name):
    head = sealed_head
    statements, message = TAMPERS[name]
    done = cli("trail", "verify", "--db", tampered(*statements), "--head", head)
    assert (done.returncode, done.stderr) == (2, message)


def test_the_package_hashes_events_as_the_stored_macro_did(sealed_store):
    # Stores sealed before the form moved into queries/trail_rows.sql still verify: the two forms agree.
    con = duckdb.connect(str(sealed_store), read_only=True)
    ours = con.execute(store.sql("trail_rows"), {"after": trail.FIRST}).fetchall()
    assert len(ours) == 330 and sorted(ours) == sorted(con.execute(
        "select id, hash from event_hashes_after(-9223372036854775808)").fetchall())
    con.close()


# Anchors: each seal appends the head beside the store; `trail verify --anchors` checks each is still there.


def test_each_seal_appends_its_block_and_head_to_the_anchors_log(cli, sealed_store):
    con = duckdb.connect(str(sealed_store), read_only=True)
    chain = con.execute("select id, hash from trail_blocks order by id").fetchall()
    con.close()
    lines = Path(f"{sealed_store}.anchors").read_text(encoding="utf-8").splitlines()
    assert [tuple(line.split("\t")[:2]) for line in lines] == [(str(i), h) for i, h in chain]
    assert len(chain) == 4 and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", line.split("\t")[2])
                                   for line in lines)
    done = cli("trail", "verify", "--db", sealed_store, "--anchors", f"{sealed_store}.anchors")
    assert done.returncode == 0, done.stderr


def test_a_chain_rewritten_from_scratch_is_caught_by_the_anchors(cli, sealed_store, tampered):
    first = Path(f"{sealed_store}.anchors").read_text(encoding="utf-8").split("\t")[1]
    rewritten = tampered("delete from trail_blocks", "delete from event_hashes", "delete from record_seals",
                         "delete from block_records", "update events set new = 'closed' where id = 330")
    assert cli("trail", "seal", "--db", rewritten).returncode == 0
    done = cli("trail", "verify", "--db", rewritten, "--anchors", f"{sealed_store}.anchors")
    assert (done.returncode, done.stderr) == (
        2, f"The anchored head of block 1 ({first}) is no longer in the chain: the chain was rewritten.\n")


def test_the_anchors_log_goes_where_closeloop_anchors_says(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_ANCHORS", str(tmp_path / "elsewhere" / "heads.log"))
    (tmp_path / "elsewhere").mkdir()
    con = store.connect(tmp_path / "s.duckdb")
    workflow.set_user(con, ADMIN, "li@example.org", role="viewer", unit=None)
    head = con.execute("select hash from trail_blocks where id = 1").fetchone()[0]
    assert (tmp_path / "elsewhere" / "heads.log").read_text(encoding="utf-8").split("\t")[:2] == ["1", head]
    assert not (tmp_path / "s.duckdb.anchors").exists()
    con.close()


@pytest.mark.parametrize("text,message", [
    ("1\tnot-a-hash\n", "Line 1 of the anchors file {path} is not a block number, a tab and a 64-digit hash.\n"),
])
def test_a_bad_anchors_file_is_one_line(cli, sealed_store, tmp_path, text, message):
    path = tmp_path / "bad.anchors"
    path.write_text(text, encoding="utf-8")
    done = cli("trail", "verify", "--db", sealed_store, "--anchors", path)
    assert (done.returncode, done.stderr) == (2, message.format(path=path))
    missing = tmp_path / "none.anchors"
    done = cli("trail", "verify", "--db", sealed_store, "--anchors", missing)
    assert (done.returncode, done.stderr) == (2, f"Cannot read the anchors file {missing}.\n")


def test_the_meeting_pack_carries_the_head(sealed_store, tmp_path):
    from datetime import date

    from closeloop import report
    from closeloop.filters import Filters

    copy = tmp_path / "pack.duckdb"
    shutil.copy(sealed_store, copy)
    con = store.connect(copy)
    pack = report.gather(con, Filters.default(date(2026, 6, 30)), "en")
    assert pack.trail_head == trail.verify(con).head == con.execute(
        "select hash from trail_blocks where id = 4").fetchone()[0]
    con.close()


def test_a_move_on_a_record_changed_behind_the_trail_is_refused_so_the_change_is_not_resealed(tmp_path, sealed_store):
    copy = tmp_path / "laundry.duckdb"
    shutil.copy(sealed_store, copy)
    con = duckdb.connect(str(copy))
    con.execute("update actions set due_on = '2027-01-01' where ref = 'CA-0017-1'")
    con.close()
    con = store.connect(copy)
    events = con.execute("select count(*) from events").fetchone()[0]
    with pytest.raises(Refused) as refused:
        workflow.start(con, ADMIN, "CA-0017-1")
    assert (refused.value.key, refused.value.details) == (
        "trail_record_changed", {"entity": "action", "ref": "CA-0017-1", "field": "due_on"})
    assert con.execute("select count(*) from events").fetchone()[0] == events
    assert workflow.start(con, ADMIN, "CA-0053-1")["events"] == 2  # an untouched record moves as before
    con.close()


# The records' digests in a form of their own, worked out here from each field's text: every store sealed so far keeps
# digests of this form, so queries/record_digests.sql may be rewritten but never change it.
RECORD_TABLES = {"nonconformity": "nonconformities", "action": "actions", "unit": "units", "criterion": "criteria",
                 "user": "users"}


def field_text(values) -> str:
    return "\x1f".join("~" if v is None else f"{len(v.encode())}:{v}" for v in values)


def test_each_record_digest_is_the_sha256_of_its_fields_text_and_its_marks_name_each_field(written_store, tmp_path):
    import hashlib

    db = tmp_path / "store.duckdb"
    shutil.copy(written_store, db)
    con = store.connect(db)
    workflow.set_user(con, ADMIN, "li@example.org", role="viewer", unit=None, name="李華")
    expected = {}
    for entity, table in RECORD_TABLES.items():
        fields = trail.FIELDS[entity]
        texts = con.execute(f"select {', '.join(f'{f}::varchar' for f in fields)} from {table}").fetchall()
        hashes = con.execute(f"select {', '.join(f'hash({f})' for f in fields)} from {table}").fetchall()
        for text, hashed in zip(texts, hashes):
            expected[(entity, text[0])] = (hashlib.sha256(f"{entity}\x1f{field_text(text)}".encode()).hexdigest(),
                                           sum((h % 16) << (4 * i) for i, h in enumerate(hashed)))

    def listed(sql: str) -> str:
        return hashlib.sha256("\x1e".join(field_text(row) for row in con.execute(sql).fetchall()).encode()).hexdigest()

    review_text = con.execute(
        "select r.id::varchar, r.held_on::varchar, r.title, r.attendees::varchar, r.unit, r.as_of::varchar, "
        "r.since::varchar, r.until::varchar, r.filters::varchar, r.audit, r.created_by, s.contract::varchar, s.digest "
        "from reviews as r join review_snapshots as s on s.review = r.id where r.id = 1").fetchall()[0] + (
        listed("select ref, unit, title, severity, status, found_on::varchar, due_on::varchar, age_days::varchar, "
               "days_overdue::varchar, owners from review_open_items where review = 1 order by ref"),
        listed("select action, nonconformity from review_decisions where review = 1 order by action"),
        listed("select section, version::varchar, text, written_by from review_conclusions where review = 1 "
               "order by section, version"))
    con.execute("create or replace temp table sealing_records (entity varchar, ref varchar)")
    text = store.sql("record_digests")
    found = {(e, r): (bytes(d).hex(), m) for e, r, d, m in con.execute(text, store.bind(text, {"every": True})).fetchall()}
    review_digest, review_marks = found.pop(("review", "1"))
    con.close()
    assert found == expected
    assert sorted(found) == [  # WRITE_LEDGER's records, the review's decided finding and action, the user
        ("action", "CA-1"), ("action", "CA-2"), ("action", "CA-3"), ("action", "CA-REV-1-01-1"), ("criterion", "1.1"),
        ("nonconformity", "NC-1"), ("nonconformity", "NC-2"), ("nonconformity", "NC-3"),
        ("nonconformity", "REV-1-01"), ("unit", "DH"), ("unit", "HQ"), ("user", "li@example.org")]
    assert review_digest == hashlib.sha256(f"review\x1f{field_text(review_text)}".encode()).hexdigest()
    # the review's marks: each field's 4 bits, the lists' among them (the last three fields)
    assert [(review_marks >> (4 * i)) & 15 for i in (13, 14, 15)] == [
        int(duckdb.sql(f"select hash('{v}'::varchar) % 16").fetchall()[0][0]) for v in review_text[13:]]
