"""Every page query honours the unit filter and the viewer's scope."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from closeloop import ledger, store
from closeloop.drill import Drill
from closeloop.filters import Filters

from conftest import add_plan_rows

QUERIES = Path(__file__).resolve().parents[1] / "queries"

# Two sibling subtrees under HQ: A holds every finding, B (with a child) holds none, so any row or
# count that shows up for B leaked in from outside it.
UNITS = """code,name,parent
HQ,總局,
A,甲分局,HQ
A-1,甲分局一支部,A
B,乙分局,HQ
B-1,乙分局一支部,B
"""
CRITERIA = """code,title,category
1.1,三會一課,組織建設
2.1,黨風廉政,黨風廉政
"""
# Open, overdue, closed late, a repeat after closure (A-1 1.1 again), and one found on the unit A itself.
NONCONFORMITIES = """ref,unit,source,criterion,severity,title,found_on,due_on,closed_on,status
N1,A-1,inspection,1.1,major,甲,2026-01-10,2026-02-10,2026-03-01,closed
N2,A-1,inspection,1.1,minor,乙,2026-04-01,2026-05-01,,open
N3,A,internal_audit,2.1,observation,丙,2026-05-20,2026-07-20,,in_progress
"""
ACTIONS = """ref,nc_ref,kind,description,owner,due_on,done_on,status
C1,N1,corrective,措施,王明,2026-02-01,2026-02-20,done
C2,N2,corrective,措施,李華,2026-05-01,,planned
"""
# Plan and check in A too: an objective of A-1 with an actual, a performed inspection with a failed item, answers.
PLAN_CHECK = {
    "objectives": [{"unit": "A-1", "year": 2026, "code": "O1", "name": "按期召開", "kind": "level",
                    "direction": "higher", "target": 10, "weight": 1}],
    "objective_actuals": [{"unit": "A-1", "year": 2026, "code": "O1", "month": 5, "actual": 8}],
    "inspections": [{"ref": "I1", "unit": "A-1", "kind": "periodic", "planned_on": "2026-03-01",
                     "performed_on": "2026-03-02"},
                    {"ref": "I2", "unit": "A", "kind": "ad_hoc", "planned_on": "2026-04-01"}],
    "inspection_results": [{"inspection": "I1", "criterion": "1.1", "points_possible": 10, "points_awarded": 6,
                            "result": "fail", "nonconformity": "N2"},
                           {"inspection": "I1", "criterion": "2.1", "points_possible": 10, "points_awarded": 0,
                            "result": "fail", "nonconformity": None}],  # a failed item still to raise its finding
    "survey_answers": [{"wave": "W1", "unit": "A", "respondent": "r1", "item": "q1", "score": 2,
                        "answered_on": "2026-05-01"},
                       {"wave": "W1", "unit": "A", "respondent": "r2", "item": "q1", "score": 4,
                        "answered_on": "2026-05-01"},
                       {"wave": "W1", "unit": "A", "respondent": "r1", "item": "q2", "score": 1,
                        "answered_on": "2026-05-01"}],  # a dissatisfied item still to raise its finding
}
OUTSIDE_B = {"A", "A-1", "N1", "N2", "N3", "甲分局", "甲分局一支部"}
# Columns that describe a unit rather than measure findings, so they are not zero for B.
DESCRIPTIVE = {"depth", "units"}
# The parameters some queries take beyond the filters: values that select rows from A, so a leak shows.
EXTRA = Drill().params() | {
    "split": "unit", "grain": "month", "limit": 1000, "chain_unit": None, "chain_criterion": None,
    "ref": "N2", "view": "all", "me": ["王明"], "check": "no_root_cause",
    "previous_as_of": date(2025, 12, 31), "change": "new", "review": 1, "levels": 3, "lang": "zh-Hans",
    "owners": ["李華"], "unowned": True, "days": 7, "zone": "Asia/Shanghai",  # C2 is 李華's and overdue; nothing falls due within 7 days
}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ledger")
    for name, text in [("units", UNITS), ("criteria", CRITERIA), ("nonconformities", NONCONFORMITIES),
                       ("actions", ACTIONS)]:
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    con = store.connect(folder / "store.duckdb")
    assert ledger.load(con, ledger.read([folder]), actor="test").ok
    for table, rows in PLAN_CHECK.items():
        add_plan_rows(con, table, rows)
    return con


# An import's checks of the writer's scope: they read its staged rows, and test_write_scope.py tests them.
WRITE_CHECKS = {"import_scope_before", "import_scope_refusals"}


def filtered_queries(parameter: str) -> list[str]:
    """The queries that take `parameter` itself or inside $filters, the struct of every filter and the scope."""
    return sorted(
        p.stem for p in QUERIES.glob("*.sql")
        if store.parameters(p.read_text(encoding="utf-8")) & {parameter, "filters"} and p.stem not in WRITE_CHECKS
    )


def run(con, name: str, **changes) -> pd.DataFrame:
    scope = changes.pop("scope", None)
    f = Filters.default(date(2026, 6, 30), **changes)
    return store.run(con, name, f.params(scope) | EXTRA)


def assert_nothing_from_outside_b(result: pd.DataFrame) -> None:
    text = set(result.astype(str).to_numpy().ravel())
    assert not text & OUTSIDE_B
    measures = result.select_dtypes("number").drop(columns=list(DESCRIPTIVE & set(result.columns)))
    assert measures.fillna(0).to_numpy().sum() == 0


def test_the_queries_under_test_are_found():
    assert {"contract", "opened_closed_monthly", "overdue_by_unit"} <= set(filtered_queries("unit"))
    assert {"contract", "unit_tree", "store_counts"} <= set(filtered_queries("scope"))
    # a query that filters through $filters alone is found too (data_quality takes no bare $unit or $scope)
    assert "data_quality" in set(filtered_queries("unit")) & set(filtered_queries("scope"))


# Rows of these are the units one level below the chosen one (or its subtree), so choosing A changes
# which rows there are; that they hold nothing from outside the chosen unit is still checked.
LEVEL_RELATIVE = {"durations_by_group", "due_status_by_unit", "kpis_by_child_unit", "repeats_by_unit_criterion",
                  "unit_rollup", "objective_scores_by_unit"}


@pytest.mark.parametrize("name", filtered_queries("unit"))
def test_unit_filter_keeps_only_the_subtree(con, name):
    assert_nothing_from_outside_b(run(con, name, unit="B"))
    if name not in LEVEL_RELATIVE:
        pd.testing.assert_frame_equal(run(con, name, unit="A"), run(con, name))


@pytest.mark.parametrize("name", filtered_queries("scope"))
def test_scope_keeps_only_the_viewers_subtree(con, name):
    assert_nothing_from_outside_b(run(con, name, scope="B"))
