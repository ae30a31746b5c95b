"""A monthly actual entered on the Objectives page: checked as the import checks a cell, refused whole in one
line, written with its events and sealed, on both stores."""

from __future__ import annotations

from datetime import date

import pytest

from closeloop import metrics, plan_ledger, replica, trail
from closeloop.filters import Filters
from closeloop.identity import Identity, local_administrator
from closeloop.refusal import Refused

from conftest import add_plan_rows, fresh_replica, nc

BOTH_BACKENDS = True
ADMIN = local_administrator("admin")
EDITOR_DH = Identity("li@example.org", "unit_editor", unit="DH")  # keeps DH's records and those below it


@pytest.fixture
def objectives_store(store_from_rows):
    """conftest's units; DH-01's level objective G1 (≥ 90) with March's actual 80, and DS's G2."""
    con = store_from_rows([nc("N-1", "DH-01", "2026-01-10")])
    add_plan_rows(con, "objectives", [
        {"unit": "DH-01", "year": 2026, "code": "G1", "name": "整改按期完成率", "kind": "level", "direction": "higher",
         "target": 90, "weight": 1},
        {"unit": "DS", "year": 2026, "code": "G2", "name": "群眾滿意率", "kind": "level", "direction": "higher",
         "target": 95, "weight": 1},
    ])
    add_plan_rows(con, "objective_actuals", [
        {"unit": "DH-01", "year": 2026, "code": "G1", "month": 3, "actual": 80.0, "evidence": "三月台賬"}])
    return con


def actuals(con) -> list[tuple]:
    return con.execute("select unit, code, month, actual, evidence, version from objective_actuals "
                       "order by unit, code, month").fetchall()


def entered_events(con) -> list[tuple]:
    return con.execute("select actor, ref, field, old, new, reason from events where entity = 'objective_actual' "
                       "order by id").fetchall()


def test_an_entered_actual_is_stored_with_its_events_sealed_and_seen_by_another_process(
        objectives_store, backend, tmp_path):
    # full-width digits as a Chinese keyboard types them: read as the import reads them (NFKC)
    assert plan_ledger.enter_actual(objectives_store, EDITOR_DH, "DH-01", 2026, "G1", 6, "９２.５", "六月台賬第3頁") == 3
    con = fresh_replica(replica.of(objectives_store).url, tmp_path / "reread") if backend == "postgresql" \
        else objectives_store
    assert actuals(con) == [("DH-01", "G1", 3, 80.0, "三月台賬", 1), ("DH-01", "G1", 6, 92.5, "六月台賬第3頁", 1)]
    assert entered_events(con) == [
        ("li@example.org", "DH-01/2026/G1/6", "created", None, None, "entered"),
        ("li@example.org", "DH-01/2026/G1/6", "actual", None, "92.5", "entered"),
        ("li@example.org", "DH-01/2026/G1/6", "evidence", None, "六月台賬第3頁", "entered"),
    ]
    assert trail.verify(con).problems == []
    # June's 92.5 is now the level objective's value: met (≥ 90); March's 80 alone was 80 / 90 < 0.9, missed
    assert metrics.plan_check(con, Filters.default(date(2026, 6, 30)))["objectives"] == {
        "with_status": 1, "met": 1, "at_risk": 0, "missed": 0, "score": 1.0}
    if con is not objectives_store:
        con.close()


def test_entering_the_same_again_changes_nothing_and_a_correction_is_one_event(objectives_store):
    assert plan_ledger.enter_actual(objectives_store, ADMIN, "DH-01", 2026, "G1", 3, "80", "三月台賬") == 0
    assert plan_ledger.enter_actual(objectives_store, ADMIN, "DH-01", 2026, "G1", 3, "85", "三月台賬") == 1
    assert actuals(objectives_store) == [("DH-01", "G1", 3, 85.0, "三月台賬", 2)]
    assert entered_events(objectives_store) == [("admin", "DH-01/2026/G1/3", "actual", "80.0", "85.0", "entered")]


@pytest.mark.parametrize("who,args,refusal", [
    (EDITOR_DH, ("DH-01", 2026, "G1", 6, "九十", None), ("actual_not_a_number", {"value": "九十"})),
    (EDITOR_DH, ("DH-01", 2026, "G1", 6, "", None), ("actual_not_a_number", {"value": ""})),
    (EDITOR_DH, ("DH-01", 2026, "G1", 6, "=A1*2", None), ("actual_not_a_number", {"value": "=A1*2"})),  # formula
    (EDITOR_DH, ("DH-01", 2026, "G1", 6, "inf", None), ("actual_not_a_number", {"value": "inf"})),
    (EDITOR_DH, ("DH-01", 2026, "G1", 6, "90", "=HYPERLINK(\"x\")"), ("actual_evidence_formula", {})),
    (EDITOR_DH, ("DH-01", 2026, "G1", 13, "90", None), ("actual_bad_month", {"month": 13})),
    (EDITOR_DH, ("DH-01", 2026, "G9", 6, "90", None), ("actual_unknown_objective", {"objective": "DH-01 2026 G9"})),
    (EDITOR_DH, ("DH-01", 2025, "G1", 6, "90", None), ("actual_unknown_objective", {"objective": "DH-01 2025 G1"})),
    # DS is outside the editor's subtree: said as an objective not theirs, nothing about DS's told
    (EDITOR_DH, ("DS", 2026, "G2", 6, "90", None), ("actual_unknown_objective", {"objective": "DS 2026 G2"})),
    (Identity("v@example.org", "viewer"), ("DH-01", 2026, "G1", 6, "90", None),
     ("refused_role", {"role": "viewer", "move": "enter_actual"})),
    (Identity("a@example.org", "auditor"), ("DH-01", 2026, "G1", 6, "90", None),
     ("refused_role", {"role": "auditor", "move": "enter_actual"})),
])
def test_a_bad_value_or_a_writer_who_may_not_is_refused_in_one_line_and_nothing_is_written(
        objectives_store, who, args, refusal):
    events = objectives_store.execute("select count(*) from events").fetchone()[0]
    with pytest.raises(Refused) as refused:
        plan_ledger.enter_actual(objectives_store, who, *args)
    assert (refused.value.key, refused.value.details) == refusal
    assert "\n" not in refused.value.text("zh-Hans") and "\n" not in refused.value.text("en")
    assert actuals(objectives_store) == [("DH-01", "G1", 3, 80.0, "三月台賬", 1)]
    assert objectives_store.execute("select count(*) from events").fetchone()[0] == events
