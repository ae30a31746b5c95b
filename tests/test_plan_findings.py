"""A failed checklist item and a dissatisfied survey item each raise a finding; a later satisfied wave closes it."""

from __future__ import annotations

from datetime import date

import pytest

from closeloop import plan_findings, store
from closeloop.identity import Identity, local_administrator
from closeloop.workflow import Refused

from conftest import add_plan_rows, nc

BOTH_BACKENDS = True
ADMIN = local_administrator("admin")

INSPECTIONS = [
    {"ref": "I-1", "unit": "DH-01", "kind": "periodic", "planned_on": "2026-03-01", "performed_on": "2026-03-02",
     "inspector": "陳靜"},
]
RESULTS = [
    {"inspection": "I-1", "criterion": "1.1", "points_possible": 10, "points_awarded": 10, "result": "pass"},
    # failed, no finding yet: raises one
    {"inspection": "I-1", "criterion": "2.1", "points_possible": 10, "points_awarded": 4, "result": "fail",
     "note": "學習記錄不全"},
    # failed, its finding already named: raises nothing
    {"inspection": "I-1", "criterion": "3.1", "points_possible": 10, "points_awarded": 5, "result": "fail",
     "nonconformity": "N-EARLIER-3"},
]


def answers(wave, unit, item, scores, on) -> list[dict]:
    return [{"wave": wave, "unit": unit, "respondent": f"r{i}", "item": item, "score": s, "answered_on": on}
            for i, s in enumerate(scores, start=1)]


@pytest.fixture
def inspected(store_from_rows):
    con = store_from_rows([
        nc("N-EARLIER", "DH-01", "2026-01-10", criterion="2.1"),  # DH-01 failed 2.1 before: the raised one repeats it
        nc("N-EARLIER-3", "DH-01", "2026-03-02", criterion="3.1", source="inspection"),
    ])
    add_plan_rows(con, "inspections", INSPECTIONS)
    add_plan_rows(con, "inspection_results", RESULTS)
    return con


def test_a_failed_item_raises_one_finding_linked_both_ways(inspected):
    assert plan_findings.raise_from_inspections(inspected, ADMIN) == ["NC-I-1-2.1"]
    row = inspected.execute(
        "select unit, audit, criterion, source::varchar, severity::varchar, title, description, found_on, due_on, "
        "status::varchar from nonconformities where ref = 'NC-I-1-2.1'").fetchone()
    # found the day the inspection was performed; due 60 days later (a minor finding's deadline, migration 011)
    assert row == ("DH-01", "I-1", "2.1", "inspection", "minor", "黨員學習教育記錄", "學習記錄不全",
                   date(2026, 3, 2), date(2026, 5, 1), "open")
    assert inspected.execute("select criterion, nonconformity from inspection_results order by criterion").fetchall() \
        == [("1.1", None), ("2.1", "NC-I-1-2.1"), ("3.1", "N-EARLIER-3")]
    assert inspected.execute("select source::varchar, unit, started_on, lead from audits where ref = 'I-1'").fetchall() \
        == [("inspection", "DH-01", date(2026, 3, 2), "陳靜")]
    # recurrence follows: DH-01 failed 2.1 on 2026-01-10, 51 days before
    assert inspected.execute("select is_repeat_365 from nonconformities where ref = 'NC-I-1-2.1'").fetchone() == (True,)
    assert plan_findings.raise_from_inspections(inspected, ADMIN) == []  # raised once


def test_raising_stays_in_the_writers_scope_and_role(inspected):
    assert plan_findings.raise_from_inspections(inspected, Identity("ds@x", "auditor", unit="DS")) == []
    with pytest.raises(Refused):
        plan_findings.raise_from_inspections(inspected, Identity("v@x", "viewer"))
    assert plan_findings.raise_from_inspections(inspected, Identity("dh@x", "auditor", unit="DH")) == ["NC-I-1-2.1"]


def test_a_dissatisfied_item_raises_one_finding_and_a_later_satisfied_wave_closes_it(store_from_rows):
    con = store_from_rows([nc("N-0", "HQ", "2026-01-01")])
    add_plan_rows(con, "survey_answers",
                  answers("W1", "DH-01", "q1", [2, 3], "2026-01-12")  # mean 2.5 < 3: raises
                  + answers("W1", "DH-01", "q2", [4, 2], "2026-01-10")  # mean 3: does not
                  + answers("W1", "DS", "q1", [1], "2026-01-11"))  # mean 1: raises
    assert plan_findings.raise_from_surveys(con, ADMIN) == (["SAT-DH-01-W1-q1", "SAT-DS-W1-q1"], [])
    row = con.execute("select unit, audit, source::varchar, found_on, due_on, status::varchar from nonconformities "
                      "where ref = 'SAT-DH-01-W1-q1'").fetchone()
    # found on the wave's last answer day about DH-01 (2026-01-12), due 60 days later
    assert row == ("DH-01", "SAT-W1-DH-01", "satisfaction_survey", date(2026, 1, 12), date(2026, 3, 13), "open")
    add_plan_rows(con, "survey_answers",
                  answers("W2", "DH-01", "q1", [3, 4], "2026-04-10")  # mean 3.5: the evidence that closes it
                  + answers("W2", "DS", "q1", [2, 2], "2026-04-11"))  # mean 2: DS's new one, not a closure
    assert plan_findings.raise_from_surveys(con, ADMIN) == (["SAT-DS-W2-q1"], ["SAT-DH-01-W1-q1"])
    assert con.execute("select status::varchar, closed_on, verified_by from nonconformities "
                       "where ref = 'SAT-DH-01-W1-q1'").fetchone() == ("closed", date(2026, 4, 10), "admin")
    assert con.execute("select reason from events where ref = 'SAT-DH-01-W1-q1' and field = 'status'").fetchall() \
        == [("follow_up_survey:W2",)]
    assert con.execute("select count(*) from nonconformities where source = 'satisfaction_survey' "
                       "and status <> 'closed'").fetchone() == (2,)  # DS's two
    assert plan_findings.raise_from_surveys(con, ADMIN) == ([], [])  # nothing twice


# plan17b: a missed objective raises a finding (source superior assessment) with one click, linked back
OBJECTIVES = [
    # level, higher is better, target 10; May's actual 8: attainment 0.8, missed
    {"unit": "DH-01", "year": 2026, "code": "O1", "name": "按期召開", "kind": "level", "direction": "higher",
     "target": 10, "weight": 1, "owner": "王明"},
    # level, target 10; May's actual 9.5: attainment 0.95, at risk, not raisable
    {"unit": "DH-01", "year": 2026, "code": "O2", "name": "學習時長", "kind": "level", "direction": "higher",
     "target": 10, "weight": 1, "owner": "李華"},
    # DS's own missed objective: outside a DH writer's scope
    {"unit": "DS", "year": 2026, "code": "O1", "name": "按期召開", "kind": "level", "direction": "higher",
     "target": 10, "weight": 1, "owner": "陳靜"},
]
ACTUALS = [
    {"unit": "DH-01", "year": 2026, "code": "O1", "month": 5, "actual": 8, "evidence": "五月.pdf"},
    {"unit": "DH-01", "year": 2026, "code": "O2", "month": 5, "actual": 9.5, "evidence": "五月.pdf"},
    {"unit": "DS", "year": 2026, "code": "O1", "month": 5, "actual": 2, "evidence": None},
]
AS_OF = date(2026, 6, 30)


@pytest.fixture
def objectives(store_from_rows):
    con = store_from_rows([nc("N-0", "HQ", "2026-01-01")])
    add_plan_rows(con, "objectives", OBJECTIVES)
    add_plan_rows(con, "objective_actuals", ACTUALS)
    return con


def test_a_missed_objective_raises_one_superior_assessment_finding_linked_back(objectives):
    ref = plan_findings.raise_from_objective(objectives, ADMIN, AS_OF, "DH-01", 2026, "O1")
    assert ref == "OBJ-DH-01-2026-O1"
    row = objectives.execute(
        "select unit, audit, criterion, source::varchar, severity::varchar, title, found_on, due_on, status::varchar "
        "from nonconformities where ref = $ref", {"ref": ref}).fetchone()
    # found on the as-of date; due 60 days later (a minor finding's deadline)
    assert row == ("DH-01", "OBJ-2026-DH-01", None, "superior_assessment", "minor",
                   "目标未达成 O1 按期召開：完成 8，应达 10", date(2026, 6, 30), date(2026, 8, 29), "open")
    assert objectives.execute("select source::varchar, unit, started_on, lead from audits "
                              "where ref = 'OBJ-2026-DH-01'").fetchall() \
        == [("superior_assessment", "DH-01", date(2026, 6, 30), "王明")]
    assert objectives.execute("select entity, ref, field, new, reason from events where entity = 'objective'"
                              ).fetchall() == [("objective", "DH-01/2026/O1", "nonconformity", ref,
                                                "raised_by_objective")]
    links = store.run(objectives, "objective_findings", {"as_of": AS_OF, "unit": None, "scope": None})
    assert links.to_dict("records") == [{"unit": "DH-01", "code": "O1", "nonconformity": ref,
                                         "nonconformity_status": "open"}]
    with pytest.raises(Refused):  # raised once
        plan_findings.raise_from_objective(objectives, ADMIN, AS_OF, "DH-01", 2026, "O1")


def test_only_a_missed_objective_in_the_writers_scope_and_role_raises(objectives):
    with pytest.raises(Refused):  # at risk, not missed
        plan_findings.raise_from_objective(objectives, ADMIN, AS_OF, "DH-01", 2026, "O2")
    dh = Identity("dh@x", "auditor", unit="DH")
    with pytest.raises(Refused):  # DS is outside DH
        plan_findings.raise_from_objective(objectives, dh, AS_OF, "DS", 2026, "O1")
    with pytest.raises(Refused):
        plan_findings.raise_from_objective(objectives, Identity("v@x", "viewer"), AS_OF, "DH-01", 2026, "O1")
    assert objectives.execute("select count(*) from nonconformities where source = 'superior_assessment'"
                              ).fetchone() == (0,)
    assert plan_findings.raise_from_objective(objectives, dh, AS_OF, "DH-01", 2026, "O1") == "OBJ-DH-01-2026-O1"


def test_a_page_button_raises_only_its_own_failed_item(inspected):
    assert plan_findings.raise_from_inspections(inspected, ADMIN, only={("I-1", "1.1")}) == []  # passed: nothing
    assert plan_findings.raise_from_inspections(inspected, ADMIN, only={("I-1", "2.1")}) == ["NC-I-1-2.1"]
