"""Status changes: the moves the state machine allows and refuses, their events, versions, roles and scope."""

from __future__ import annotations

import datetime as dt
import hashlib
from datetime import date

import pytest

from closeloop import identity, ledger, metrics, store, trail, workflow
from closeloop.filters import Filters
from closeloop.identity import Identity
from closeloop.refusal import Refused

BOTH_BACKENDS = True
UNITS = """code,name,parent
HQ,總局,
DH,定海分局,HQ
DH-01,定海分局機關支部,DH
DS,岱山分局,HQ
"""
CRITERIA = """code,title,category
1.1,三會一課按期召開,組織建設
"""
# One finding in each status, one in another subtree, and a later one repeating DH-01's.
NONCONFORMITIES = """ref,unit,criterion,source,severity,title,found_on,due_on,closed_on,status,verified_by
NC-OPEN,DH-01,1.1,inspection,minor,會議記錄不全,2026-01-10,2026-03-10,,open,
NC-WORK,DH-01,1.1,inspection,major,學習記錄缺失,2026-02-01,2026-04-01,,in_progress,
NC-READY,DH-01,1.1,internal_audit,minor,黨費未按月收繳,2026-03-01,2026-05-01,,awaiting_verification,
NC-CLOSED,DH,1.1,internal_audit,observation,台賬未更新,2026-01-05,2026-02-05,2026-02-20,closed,審核員
NC-DS,DS,1.1,inspection,minor,窗口辦件超時,2026-04-01,2026-05-01,,open,
NC-LATER,DH-01,1.1,inspection,minor,會議記錄再次不全,2026-06-15,2026-07-15,,open,
"""
ACTIONS = """ref,nc_ref,kind,description,owner,due_on,done_on,status,evidence
CA-OPEN-1,NC-OPEN,corrective,補齊會議記錄,王明,2026-02-28,,planned,
CA-WORK-1,NC-WORK,corrective,補錄學習記錄,李華,2026-03-20,,in_progress,
CA-WORK-2,NC-WORK,correction,當場糾正,王明,2026-02-10,2026-02-09,done,簽到表
CA-READY-1,NC-READY,corrective,補繳黨費,王明,2026-04-01,2026-03-30,done,收據
CA-CLOSED-1,NC-CLOSED,corrective,更新台賬,李華,2026-02-01,2026-01-30,done,截圖
CA-DS-1,NC-DS,corrective,限時辦結,趙磊,2026-04-30,,planned,
"""
ADMIN = identity.local_administrator("admin")
EDITOR = Identity(actor="editor@dh.example", role="unit_editor", unit="DH", name="張編輯")
AUDITOR = Identity(actor="auditor@dh.example", role="auditor", unit="DH", name="審核員")
VIEWER = Identity(actor="viewer@dh.example", role="viewer", unit="DH")
ON = date(2026, 6, 1)


def imported(con, folder):
    for name, text in [("units", UNITS), ("criteria", CRITERIA), ("nonconformities", NONCONFORMITIES),
                       ("actions", ACTIONS)]:
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    assert ledger.load(con, ledger.read([folder]), actor="import").ok


@pytest.fixture
def con(store_copy):
    """The ledger above imported (once per backend; each test writes on a copy)."""
    return store_copy("workflow", imported)


def status(con, ref: str) -> str:
    table = "actions" if ref.startswith("CA-") else "nonconformities"
    return con.execute(f"select status::varchar from {table} where ref = $ref", {"ref": ref}).fetchone()[0]


def events_after(con, first: int) -> list[tuple]:
    return con.execute(
        "select actor, entity, ref, field, old, new, reason from events where id > $id order by id", {"id": first}
    ).fetchall()


def last_event(con) -> int:
    return con.execute("select max(id) from events").fetchone()[0]


# The state machine as data


@pytest.mark.parametrize("entity,move", list(workflow.MOVES))
def test_every_move_says_what_happens_from_every_status_exactly_once(entity, move):
    statuses = workflow.NONCONFORMITY_STATUSES if entity == "nonconformity" else workflow.ACTION_STATUSES
    spec = workflow.MOVES[(entity, move)]
    assert sorted([*spec.to, *spec.refused]) == sorted(statuses)


# Allowed moves: the record's status and its finding's after each


@pytest.mark.parametrize("do,ref,after", [
    (lambda c: workflow.start(c, EDITOR, "CA-OPEN-1"), "CA-OPEN-1", ("in_progress", "NC-OPEN", "in_progress")),
    (lambda c: workflow.done(c, EDITOR, "CA-OPEN-1", evidence="記錄已補齊", on=ON), "CA-OPEN-1",
     ("done", "NC-OPEN", "awaiting_verification")),
    (lambda c: workflow.done(c, EDITOR, "CA-WORK-1", evidence="學習記錄", on=ON), "CA-WORK-1",
     ("done", "NC-WORK", "awaiting_verification")),
    (lambda c: workflow.extend(c, EDITOR, "CA-WORK-1", due_on=date(2026, 9, 30), reason="待上級批覆"), "CA-WORK-1",
     ("in_progress", "NC-WORK", "in_progress")),
    (lambda c: workflow.cancel(c, EDITOR, "CA-WORK-1", reason="已由 CA-WORK-2 覆蓋"), "CA-WORK-1",
     ("cancelled", "NC-WORK", "awaiting_verification")),
    (lambda c: workflow.cancel(c, EDITOR, "CA-OPEN-1", reason="重複"), "CA-OPEN-1",
     ("cancelled", "NC-OPEN", "open")),
    (lambda c: workflow.verify(c, AUDITOR, "NC-READY", effective=True, on=ON), "NC-READY",
     ("closed", "NC-READY", "closed")),
    (lambda c: workflow.verify(c, AUDITOR, "NC-READY", effective=False, note="仍有欠繳", on=ON), "NC-READY",
     ("open", "NC-READY", "open")),
    (lambda c: workflow.reopen(c, AUDITOR, "NC-CLOSED", reason="複查發現未落實"), "NC-CLOSED",
     ("open", "NC-CLOSED", "open")),
], ids=["start", "done-last-planned", "done-last-in-progress", "extend", "cancel-leaves-only-done",
        "cancel-only-action", "verify-effective", "verify-not-effective", "reopen"])
def test_allowed_moves_change_the_record_and_its_finding(con, do, ref, after):
    do(con)
    record_status, nc, nc_status = after
    assert (status(con, ref), status(con, nc)) == (record_status, nc_status)


def test_adding_an_action_to_a_finding_awaiting_verification_puts_it_back_in_progress(con):
    ref = workflow.add_action(con, EDITOR, "NC-READY", kind="preventive", description="納入季度自查",
                              owner="李華", due_on=date(2026, 7, 31))
    assert (ref, status(con, ref), status(con, "NC-READY")) == ("CA-READY-2", "planned", "in_progress")


# Refused moves: every refusal of the state machine, with its reason


REFUSALS = [
    (lambda c: workflow.start(c, ADMIN, "CA-WORK-1"), "refused_already_started"),
    (lambda c: workflow.start(c, ADMIN, "CA-WORK-2"), "refused_action_done"),
    (lambda c: workflow.done(c, ADMIN, "CA-WORK-2", evidence="x", on=ON), "refused_action_done"),
    (lambda c: workflow.extend(c, ADMIN, "CA-WORK-2", due_on=date(2026, 9, 1), reason="x"), "refused_action_done"),
    (lambda c: workflow.cancel(c, ADMIN, "CA-WORK-2", reason="x"), "refused_action_done"),
    (lambda c: workflow.verify(c, ADMIN, "NC-OPEN", effective=True, on=ON), "refused_actions_not_done"),
    (lambda c: workflow.verify(c, ADMIN, "NC-WORK", effective=True, on=ON), "refused_actions_not_done"),
    (lambda c: workflow.verify(c, ADMIN, "NC-CLOSED", effective=True, on=ON), "refused_nc_already_closed"),
    (lambda c: workflow.reopen(c, ADMIN, "NC-OPEN", reason="x"), "refused_nc_not_closed"),
    (lambda c: workflow.reopen(c, ADMIN, "NC-READY", reason="x"), "refused_nc_not_closed"),
    (lambda c: workflow.add_action(c, ADMIN, "NC-CLOSED", kind="corrective", description="x", owner="y",
                                   due_on=None), "refused_nc_closed"),
    (lambda c: workflow.extend(c, ADMIN, "CA-CLOSED-1", due_on=date(2026, 9, 1), reason="x"), "refused_action_done"),
    (lambda c: workflow.done(c, ADMIN, "CA-OPEN-1", evidence=" ", on=ON), "refused_evidence_required"),
    (lambda c: workflow.extend(c, ADMIN, "CA-OPEN-1", due_on=date(2026, 9, 1), reason=""), "refused_reason_required"),
    (lambda c: workflow.extend(c, ADMIN, "CA-OPEN-1", due_on=date(2026, 2, 1), reason="x"), "refused_due_not_later"),
    (lambda c: workflow.cancel(c, ADMIN, "CA-OPEN-1", reason=""), "refused_reason_required"),
    (lambda c: workflow.reopen(c, ADMIN, "NC-CLOSED", reason=""), "refused_reason_required"),
    (lambda c: workflow.verify(c, ADMIN, "NC-READY", effective=False, on=ON), "refused_note_required"),
    (lambda c: workflow.done(c, ADMIN, "CA-OPEN-1", evidence="x", on=date(2025, 12, 31)), "refused_before_found"),
    (lambda c: workflow.done(c, ADMIN, "CA-OPEN-1", evidence="x", on=date(2999, 1, 1)), "refused_future_date"),
    (lambda c: workflow.start(c, ADMIN, "CA-NOPE"), "refused_unknown_action"),
    (lambda c: workflow.verify(c, ADMIN, "NC-NOPE", effective=True), "refused_unknown_nonconformity"),
]


@pytest.mark.parametrize("do,key", REFUSALS, ids=[
    "start-started", "start-done", "done-done", "extend-done", "cancel-done", "verify-open", "verify-in-progress",
    "verify-closed", "reopen-open", "reopen-awaiting", "add-to-closed", "extend-on-closed-finding",
    "done-without-evidence", "extend-without-reason", "extend-earlier", "cancel-without-reason",
    "reopen-without-reason", "not-effective-without-note", "done-before-found", "done-in-future", "unknown-action",
    "unknown-finding"])
def test_refused_moves_say_why_and_write_nothing(con, do, key):
    before = (last_event(con), con.execute("select count(*) from trail_blocks").fetchone()[0])
    with pytest.raises(Refused) as refused:
        do(con)
    assert refused.value.key == key
    assert (last_event(con), con.execute("select count(*) from trail_blocks").fetchone()[0]) == before


def test_a_cancelled_action_refuses_every_move(con):
    workflow.cancel(con, ADMIN, "CA-OPEN-1", reason="重複")
    keys = []
    for do in (lambda: workflow.start(con, ADMIN, "CA-OPEN-1"),
               lambda: workflow.done(con, ADMIN, "CA-OPEN-1", evidence="x", on=ON),
               lambda: workflow.extend(con, ADMIN, "CA-OPEN-1", due_on=date(2026, 9, 1), reason="x"),
               lambda: workflow.cancel(con, ADMIN, "CA-OPEN-1", reason="x")):
        with pytest.raises(Refused) as refused:
            do()
        keys.append(refused.value.key)
    assert keys == ["refused_action_cancelled"] * 4


def test_the_verifier_must_not_own_any_of_its_actions(con):
    owner = Identity(actor="wang@dh.example", role="auditor", unit="DH", name="王明")
    with pytest.raises(Refused) as refused:
        workflow.verify(con, owner, "NC-READY", effective=True, on=ON)
    assert (refused.value.key, refused.value.details) == ("refused_verifier_is_owner", {"who": "王明"})


# Events: one per changed field, who, what, old, new, why


def test_done_writes_one_event_per_changed_field_and_moves_the_finding(con):
    first = last_event(con)
    workflow.done(con, EDITOR, "CA-OPEN-1", evidence="會議記錄已補齊", on=ON)
    assert events_after(con, first) == [
        ("editor@dh.example", "action", "CA-OPEN-1", "done_on", None, "2026-06-01", "done"),
        ("editor@dh.example", "action", "CA-OPEN-1", "evidence", None, "會議記錄已補齊", "done"),
        ("editor@dh.example", "action", "CA-OPEN-1", "status", "planned", "done", "done"),
        ("editor@dh.example", "nonconformity", "NC-OPEN", "status", "open", "awaiting_verification", "done"),
    ]


def test_verify_effective_closes_with_the_verification_date_and_the_verifier(con):
    first = last_event(con)
    workflow.verify(con, AUDITOR, "NC-READY", effective=True, note="抽查收據齊全", on=ON)
    assert events_after(con, first) == [
        ("auditor@dh.example", "nonconformity", "NC-READY", "status", "awaiting_verification", "closed", "抽查收據齊全"),
        ("auditor@dh.example", "nonconformity", "NC-READY", "closed_on", None, "2026-06-01", "抽查收據齊全"),
        ("auditor@dh.example", "nonconformity", "NC-READY", "verified_by", None, "審核員", "抽查收據齊全"),
    ]


def test_verify_not_effective_records_the_verdict_and_opens_the_finding_for_a_new_action(con):
    first = last_event(con)
    workflow.verify(con, AUDITOR, "NC-READY", effective=False, note="仍有兩人欠繳", on=ON)
    assert events_after(con, first) == [
        ("auditor@dh.example", "nonconformity", "NC-READY", "verification", None, "not_effective", "仍有兩人欠繳"),
        ("auditor@dh.example", "nonconformity", "NC-READY", "status", "awaiting_verification", "open", "仍有兩人欠繳"),
    ]


def test_reopen_clears_the_closing_date_and_the_verifier_and_keeps_them_in_the_trail(con):
    first = last_event(con)
    workflow.reopen(con, AUDITOR, "NC-CLOSED", reason="複查發現未落實")
    assert con.execute("select status::varchar, closed_on, verified_by, version from nonconformities "
                       "where ref = 'NC-CLOSED'").fetchone() == ("open", None, None, 2)
    assert events_after(con, first) == [
        ("auditor@dh.example", "nonconformity", "NC-CLOSED", "status", "closed", "open", "複查發現未落實"),
        ("auditor@dh.example", "nonconformity", "NC-CLOSED", "closed_on", "2026-02-20", None, "複查發現未落實"),
        ("auditor@dh.example", "nonconformity", "NC-CLOSED", "verified_by", "審核員", None, "複查發現未落實"),
    ]


def test_extend_records_the_old_and_new_due_date_with_the_reason(con):
    first = last_event(con)
    workflow.extend(con, EDITOR, "CA-WORK-1", due_on=date(2026, 9, 30), reason="待上級批覆")
    assert events_after(con, first) == [
        ("editor@dh.example", "action", "CA-WORK-1", "due_on", "2026-03-20", "2026-09-30", "待上級批覆"),
    ]


def test_an_added_action_is_created_with_its_fields(con):
    first = last_event(con)
    workflow.add_action(con, EDITOR, "NC-OPEN", kind="preventive", description="納入季度自查", owner="李華",
                        due_on=date(2026, 8, 31))
    assert events_after(con, first) == [
        ("editor@dh.example", "action", "CA-OPEN-2", "created", None, None, "add_action"),
        ("editor@dh.example", "action", "CA-OPEN-2", "nonconformity", None, "NC-OPEN", "add_action"),
        ("editor@dh.example", "action", "CA-OPEN-2", "kind", None, "preventive", "add_action"),
        ("editor@dh.example", "action", "CA-OPEN-2", "description", None, "納入季度自查", "add_action"),
        ("editor@dh.example", "action", "CA-OPEN-2", "owner", None, "李華", "add_action"),
        ("editor@dh.example", "action", "CA-OPEN-2", "due_on", None, "2026-08-31", "add_action"),
        ("editor@dh.example", "action", "CA-OPEN-2", "status", None, "planned", "add_action"),
    ]


def test_every_move_is_sealed_in_its_own_block(con):
    blocks = con.execute("select count(*) from trail_blocks").fetchone()[0]
    workflow.start(con, EDITOR, "CA-OPEN-1")
    workflow.done(con, EDITOR, "CA-OPEN-1", evidence="x", on=ON)
    assert con.execute("select count(*) from trail_blocks").fetchone()[0] == blocks + 2
    assert trail.verify(con).ok


def test_closing_a_finding_makes_a_later_one_of_its_unit_and_criterion_a_repeat_after_closure(con):
    # NC-LATER repeats the DH-01 findings before it; none of them was closed before it was found, until now.
    f = Filters.default(date(2026, 6, 30), unit="DH-01")
    before = metrics.contract(con, f)["repeat_after_closure_in_period"]
    workflow.verify(con, AUDITOR, "NC-READY", effective=True, on=ON)
    assert (before, metrics.contract(con, f)["repeat_after_closure_in_period"]) == (0, 1)


def test_an_evidence_file_is_kept_beside_the_store_under_its_sha256(con, tmp_path, backend):
    data = "簽到表".encode()
    digest = hashlib.sha256(data).hexdigest()
    workflow.done(con, EDITOR, "CA-OPEN-1", evidence="簽到表", on=ON, attachment=("簽到表.pdf", data))
    beside = tmp_path / "attachments" if backend == "duckdb" else workflow.attachments_dir(con)
    assert (beside / digest).read_bytes() == data
    assert con.execute("select sha256, entity, ref, file_name, bytes, actor from attachments").fetchall() == [
        (digest, "action", "CA-OPEN-1", "簽到表.pdf", len(data), "editor@dh.example"),
    ]
    assert con.execute("select new from events where field = 'attachment'").fetchall() == [
        (f"簽到表.pdf sha256:{digest}",),
    ]


# Two people saving the same record


def test_a_save_on_a_version_that_changed_is_refused_with_who_and_when(con):
    seen = con.execute("select version from actions where ref = 'CA-OPEN-1'").fetchone()[0]
    workflow.extend(con, EDITOR, "CA-OPEN-1", due_on=date(2026, 7, 31), reason="人員調整", version=seen)
    before = last_event(con)
    with pytest.raises(workflow.StaleRecord) as stale:
        workflow.done(con, ADMIN, "CA-OPEN-1", evidence="x", on=ON, version=seen)
    assert (stale.value.key, stale.value.who) == ("refused_stale", "editor@dh.example")
    at = con.execute("select \"at\" from events where id = $id", {"id": before}).fetchone()[0]
    # in the organisation's zone (CLOSELOOP_TZ, default Asia/Shanghai: UTC+8, no summer time), with its offset
    shanghai = at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert stale.value.when == f"{shanghai:%Y-%m-%d %H:%M:%S} +08:00"
    assert (last_event(con), status(con, "CA-OPEN-1")) == (before, "planned")


def test_the_first_save_wins_and_the_second_is_told(con):
    seen = con.execute("select version from nonconformities where ref = 'NC-READY'").fetchone()[0]
    workflow.verify(con, AUDITOR, "NC-READY", effective=True, on=ON, version=seen)
    with pytest.raises(workflow.StaleRecord):
        workflow.verify(con, ADMIN, "NC-READY", effective=False, note="x", on=ON, version=seen)
    assert status(con, "NC-READY") == "closed"


def test_two_transactions_sealing_at_once_cannot_both_commit(con):
    # The in-process lock keeps moves apart; between processes the next block id is the guard.
    a, b = con.cursor(), con.cursor()
    for cur in (a, b):
        cur.execute("begin transaction")
        cur.execute("insert into events (actor, entity, ref, field) values ('x', 'action', 'CA-OPEN-1', 'note')")
        trail.seal(cur)
    a.execute("commit")
    with pytest.raises(Exception, match="PRIMARY KEY|constraint|Conflict"):
        b.execute("commit")
    assert trail.verify(con).ok


# Who may do what, where


@pytest.mark.parametrize("who,do", [
    (VIEWER, lambda c, w: workflow.start(c, w, "CA-OPEN-1")),
    (AUDITOR, lambda c, w: workflow.done(c, w, "CA-OPEN-1", evidence="x", on=ON)),
    (EDITOR, lambda c, w: workflow.verify(c, w, "NC-READY", effective=True, on=ON)),
    (EDITOR, lambda c, w: workflow.reopen(c, w, "NC-CLOSED", reason="x")),
    (VIEWER, lambda c, w: workflow.set_user(c, w, "x@dh.example", role="viewer", unit="DH")),
], ids=["viewer-start", "auditor-done", "editor-verify", "editor-reopen", "viewer-set-user"])
def test_a_role_may_only_make_its_moves(con, who, do):
    with pytest.raises(Refused) as refused:
        do(con, who)
    assert refused.value.key == "refused_role"


@pytest.mark.parametrize("do", [
    lambda c: workflow.start(c, EDITOR, "CA-DS-1"),
    lambda c: workflow.add_action(c, EDITOR, "NC-DS", kind="corrective", description="x", owner="y", due_on=None),
    lambda c: workflow.verify(c, AUDITOR, "NC-DS", effective=True, on=ON),
], ids=["start", "add-action", "verify"])
def test_moves_outside_the_viewers_unit_are_refused(con, do):
    with pytest.raises(Refused) as refused:
        do(con)
    assert refused.value.key == "refused_out_of_scope"


def test_an_administrator_gives_roles_within_their_own_subtree_only(con):
    dh_admin = Identity(actor="boss@dh.example", role="administrator", unit="DH")
    assert workflow.set_user(con, dh_admin, "New@DH.example", role="unit_editor", unit="DH-01", name="新人") == 4
    assert identity.lookup(con, "new@dh.example") == Identity("new@dh.example", "unit_editor", "DH-01", "新人")
    with pytest.raises(Refused) as refused:
        workflow.set_user(con, dh_admin, "other@ds.example", role="viewer", unit="DS")
    assert refused.value.key == "refused_out_of_scope"


def test_the_command_line_acts_as_the_user_the_store_knows_and_refuses_a_name_it_does_not(con):
    # before the first user, a name stands for the local administrator (that is how the first user is made)
    assert identity.for_command_line(con, "ops") == Identity("ops", "administrator", None, None, True)
    workflow.set_user(con, ADMIN, "auditor@dh.example", role="auditor", unit="DH", name="審核員")
    assert identity.for_command_line(con, "Auditor@DH.example") == AUDITOR
    # once the store has users, nobody may act as someone it does not know
    with pytest.raises(Refused) as refused:
        identity.for_command_line(con, "ops")
    assert (refused.value.key, refused.value.details) == ("cli_unknown_user", {"user": "ops"})



KEPT_COUNTS = """
select n.ref, n.action_count, n.owned_action_count, n.undocumented_done_count, n.unsettled_action_count,
    n.first_action_done_on, n.last_action_done_on,
    count(a.ref)::integer, count(a.owner)::integer,
    (count(*) filter (where a.status = 'done' and a.evidence is null))::integer,
    (count(a.ref) filter (where a.status not in ('done', 'cancelled')))::integer, min(a.done_on), max(a.done_on),
from nonconformities as n left join actions as a on a.nonconformity = n.ref
group by all order by n.ref
"""


def test_the_action_counts_kept_on_each_finding_follow_moves_and_imports(con, tmp_path):
    def kept_and_counted():
        rows = con.execute(KEPT_COUNTS).fetchall()
        return [(r[0], *r[1:7]) for r in rows], [(r[0], *r[7:]) for r in rows]

    def quality():
        return dict(store.run(con, "data_quality", Filters.default(date(2026, 6, 30)).params()).itertuples(index=False))

    kept, counted = kept_and_counted()
    assert kept == counted and ("NC-LATER", 0, 0, 0, 0, None, None) in kept
    assert (quality()["no_action"], quality()["done_without_evidence"]) == (1, 0)
    workflow.add_action(con, EDITOR, "NC-LATER", kind="corrective", description="逐項補記", owner="王明",
                        due_on=date(2026, 8, 31))
    workflow.done(con, EDITOR, "CA-OPEN-1", evidence="會議記錄", on=ON)
    # a newer ledger moves CA-DS-1 to done without evidence
    newer = tmp_path / "actions.csv"
    newer.write_text("ref,nc_ref,kind,description,owner,due_on,done_on,status,evidence\n"
                     "CA-DS-1,NC-DS,corrective,限時辦結,趙磊,2026-04-30,2026-04-29,done,\n", encoding="utf-8")
    assert ledger.load(con, ledger.read([newer]), actor="import").ok
    kept, counted = kept_and_counted()
    assert kept == counted
    assert [r for r in kept if r[0] in ("NC-DS", "NC-LATER")] == [
        ("NC-DS", 1, 1, 1, 0, date(2026, 4, 29), date(2026, 4, 29)), ("NC-LATER", 1, 1, 0, 1, None, None)]
    assert (quality()["no_action"], quality()["done_without_evidence"]) == (0, 1)
