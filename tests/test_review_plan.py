"""The review's plan-and-check inputs against the last review, and the chair's conclusions, on literal rows by hand."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest

from closeloop import identity, replica, report, review, screens, store, trail
from closeloop.filters import Filters
from closeloop.identity import Identity
from closeloop.refusal import Refused

from conftest import add_plan_rows, fresh_replica, nc

BOTH_BACKENDS = True
LAST = date(2026, 3, 31)  # the last review's as-of date: its period 2025-04-01 … 2026-03-31, month 3
NOW = date(2026, 6, 30)  # this review's: period 2025-07-01 … 2026-06-30, month 6
ADMIN = identity.local_administrator("chair")

# The units and criteria are conftest's: HQ > DH > DH-01 > DH-01-1, DH > DH-02, HQ > DHX, HQ > DS; 1.1, 2.1, 3.1.


def objective(unit, code, kind, target, weight) -> dict:
    return {"unit": unit, "year": 2026, "code": code, "name": f"objective {code}", "parent": None, "measure": "%",
            "kind": kind, "direction": "higher", "target": target, "weight": weight, "owner": "王明",
            "withdrawn": False}


def actual(unit, code, month, value) -> dict:
    return {"unit": unit, "year": 2026, "code": code, "month": month, "actual": value, "evidence": None}


def inspection(ref, unit, planned_on, performed_on=None) -> dict:
    return {"ref": ref, "unit": unit, "kind": "periodic", "planned_on": planned_on, "performed_on": performed_on,
            "inspector": "陳靜", "withdrawn": False}


def result(ref, criterion, awarded) -> dict:
    return {"inspection": ref, "criterion": criterion, "points_possible": 10, "points_awarded": awarded,
            "result": "pass" if awarded == 10 else "fail", "note": None, "nonconformity": None}


def answer(wave, unit, respondent, score, answered_on) -> dict:
    return {"wave": wave, "unit": unit, "respondent": respondent, "item": "q1", "score": score,
            "answered_on": answered_on}


TABLES = {
    "objectives": [
        objective("DH-01", "G1", "level", 100, 1),  # at LAST month 2's 80: 0.8, missed; at NOW month 5's 100: met
        objective("DS", "G2", "cumulative", 120, 3),  # at LAST 30 of 30: met; at NOW 54 of 60: 0.9, at risk
    ],
    "objective_actuals": [
        actual("DH-01", "G1", 2, 80), actual("DH-01", "G1", 5, 100),
        actual("DS", "G2", 1, 10), actual("DS", "G2", 2, 10), actual("DS", "G2", 3, 10), actual("DS", "G2", 6, 24),
    ],
    "inspections": [
        inspection("I1", "DH-01", "2026-02-01", "2026-02-03"),  # due and performed at both dates
        inspection("I2", "DS", "2026-03-15", "2026-04-10"),  # at LAST due, not yet performed; at NOW performed
        inspection("I3", "DH-02", "2026-05-01"),  # due only at NOW, never performed
        inspection("I4", "DH-01", "2025-05-01", "2025-05-02"),  # in LAST's period only
    ],
    "inspection_results": [
        result("I1", "1.1", 10), result("I1", "2.1", 6), result("I2", "1.1", 8), result("I4", "3.1", 10),
    ],
    "survey_answers": [
        answer("W0", "DH-01", "a1", 1, "2025-05-10"),  # index points 0, in LAST's period only
        answer("W1", "DS", "r1", 5, "2026-02-10"), answer("W1", "DS", "r2", 3, "2026-02-10"),  # 100, 50
        answer("W2", "DS", "r1", 5, "2026-05-20"), answer("W2", "DS", "r2", 4, "2026-05-20"),  # 100, 75
        answer("W2", "DS", "r3", 4, "2026-05-20"),  # 75: W2 after LAST
    ],
}

# By hand. Objectives: LAST score (1 × 0.8 + 3 × 1) / 4 = 0.95; NOW (1 × 1 + 3 × 0.9) / 4 = 0.925.
# Inspections: LAST due I1, I2, I4, performed I1, I4; units due DH-01, DS × 3 criteria = 6, pairs (DH-01: 1.1, 2.1,
# 3.1) = 3; points 26 of 30. NOW due I1, I2, I3, performed I1, I2; 3 units × 3 = 9, pairs (DH-01: 1.1, 2.1;
# DS: 1.1) = 3; points 24 of 30. Satisfaction: LAST W0 and W1: (0 + 100 + 50) / 3 = 50, satisfied 1 of 3,
# dissatisfied 1 of 3; NOW W1 and W2: (100 + 50 + 100 + 75 + 75) / 5 = 80, satisfied 4 of 5, dissatisfied 0.
AT_LAST = {
    "objectives": {"with_status": 2, "met": 1, "at_risk": 0, "missed": 1, "score": 0.95},
    "inspections": {"due": 3, "performed": 2, "performed_rate": 0.6667, "overdue": 1, "coverage": 0.5,
                    "score": 0.8667},
    "satisfaction": {"answers": 3, "index": 50.0, "satisfied_share": 0.3333, "dissatisfied_share": 0.3333},
}
AT_NOW = {
    "objectives": {"with_status": 2, "met": 1, "at_risk": 1, "missed": 0, "score": 0.925},
    "inspections": {"due": 3, "performed": 2, "performed_rate": 0.6667, "overdue": 1, "coverage": 0.3333,
                    "score": 0.8},
    "satisfaction": {"answers": 5, "index": 80.0, "satisfied_share": 0.8, "dissatisfied_share": 0.0},
}
# What the tables show (English): now, at the last review, the change ("—" where none)
SHOWN = {
    "objectives": [["With actuals", "2", "2", "—"], ["Met", "1", "1", "—"], ["At risk", "1", "0", "+1"],
                   ["Missed", "0", "1", "-1"], ["Weighted score", "92.5%", "95.0%", "-2.5 pp"]],
    "inspections": [["Due", "3", "3", "—"], ["Performed", "2", "2", "—"], ["Performed rate", "66.7%", "66.7%", "—"],
                    ["Overdue", "1", "1", "—"], ["Coverage", "33.3%", "50.0%", "-16.7 pp"],
                    ["Checklist score", "80.0%", "86.7%", "-6.7 pp"]],
    "satisfaction": [["Answers", "5", "3", "+2"], ["Satisfaction index", "80.00", "50.00", "+30.00"],
                     ["Satisfied share", "80.0%", "33.3%", "+46.7 pp"], ["Dissatisfied share", "0.0%", "33.3%", "-33.3 pp"]],
}
# DS's latest wave at NOW is W2: respondents' means 100, 75, 75: mean 83.333…, sd √(625 / 3) = 14.4338, so the
# interval is 83.333 ± t(0.975, 2) × 14.4338 / √3 = 83.333 ± 4.302653 × 8.33333 = 83.333 ± 35.8554;
# its latest wave at LAST was W1 (index 75). DH-01 has no wave in NOW's period: not listed.
SATISFACTION_UNITS = [["岱山分局", "W2", 3, "83.33", "47.48 – 119.19", "75.00", "+8.33"]]


@pytest.fixture
def plan_store(store_from_rows):
    con = store_from_rows([nc("N-1", "DH-01", "2026-01-10")])
    for table, rows in TABLES.items():
        add_plan_rows(con, table, rows)
    return con


def record(con, as_of: date, held_on: date, title: str, unit: str | None = None) -> int:
    return review.record(con, ADMIN, Filters.default(as_of, unit=unit), held_on=held_on, title=title,
                         attendees=["chair"])


def rows(table) -> list[list]:
    return [list(r) for r in table.itertuples(index=False)]


# ---------------------------------------------------------------------------------------------
# Each section against the last review


def test_each_section_is_computed_at_this_date_and_at_the_last_reviews(plan_store):
    record(plan_store, LAST, date(2026, 4, 2), "Q1")
    s = screens.management_review(plan_store, Filters.default(NOW), None, "en")
    assert s.last.as_of == LAST
    assert (s.plan_now, s.plan_before) == (AT_NOW, AT_LAST)
    assert {section: rows(table) for section, table in s.plan_tables.items()} == SHOWN
    assert list(s.plan_tables["objectives"].columns) == ["Measure", "Now", "At the last review", "Change"]


def test_an_opened_review_compares_with_the_one_before_it(plan_store):
    record(plan_store, LAST, date(2026, 4, 2), "Q1")
    this = record(plan_store, NOW, date(2026, 7, 2), "Q2")
    s = screens.management_review(plan_store, Filters.default(date(2026, 9, 30)), None, "en", review_id=this)
    assert (s.shown.as_of, s.last.as_of) == (NOW, LAST)
    assert (s.plan_now, s.plan_before) == (AT_NOW, AT_LAST)
    assert list(s.plan_tables["inspections"].columns) == ["Measure", "At this review", "At the last review", "Change"]


def test_without_a_last_review_the_sections_show_only_now(plan_store):
    s = screens.management_review(plan_store, Filters.default(NOW), None, "en")
    assert (s.plan_now, s.plan_before) == (AT_NOW, None)
    assert rows(s.plan_tables["objectives"])[4] == ["Weighted score", "92.5%", "—", "—"]


def test_a_review_of_another_subtree_is_not_the_last_one(plan_store):
    record(plan_store, LAST, date(2026, 4, 2), "DH Q1", unit="DH")
    s = screens.management_review(plan_store, Filters.default(NOW), None, "en")
    assert s.last is None and s.plan_before is None


def test_satisfaction_lists_each_units_latest_wave_with_its_interval_and_its_index_then(plan_store):
    record(plan_store, LAST, date(2026, 4, 2), "Q1")
    s = screens.management_review(plan_store, Filters.default(NOW), None, "en")
    assert rows(s.satisfaction_units) == SATISFACTION_UNITS
    assert list(s.satisfaction_units.columns) == ["Unit", "Wave", "Respondents", "Index", "95 % interval",
                                                  "At the last review", "Change"]


def test_the_sections_honour_the_viewers_scope(plan_store):
    record(plan_store, LAST, date(2026, 4, 2), "DS Q1", unit="DS")
    s = screens.management_review(plan_store, Filters.default(NOW, unit="DS"), "DS", "en")
    # DS alone: G2 at risk (0.9) now, met then; I2 performed now, overdue then; W1 and W2 now (all of NOW's
    # answers are DS's: 80), W1 alone then ((100 + 50) / 2 = 75)
    assert s.plan_now["objectives"] == {"with_status": 1, "met": 0, "at_risk": 1, "missed": 0, "score": 0.9}
    assert s.plan_before["objectives"] == {"with_status": 1, "met": 1, "at_risk": 0, "missed": 0, "score": 1.0}
    assert s.plan_now["inspections"]["performed"] == 1 and s.plan_before["inspections"]["overdue"] == 1
    assert (s.plan_now["satisfaction"]["index"], s.plan_before["satisfaction"]["index"]) == (80.0, 75.0)


# ---------------------------------------------------------------------------------------------
# The chair's conclusions


def conclusion_events(con, review_id: int) -> list[tuple]:
    return con.execute(
        "select field, old, new, reason, actor from events where entity = 'review' and ref = $ref "
        "and field like 'conclusion_%' order by id", {"ref": str(review_id)}).fetchall()


def test_a_conclusion_is_stored_with_its_event_and_the_trail_verifies(plan_store, backend, tmp_path):
    made = record(plan_store, NOW, date(2026, 7, 2), "Q2")
    assert review.conclude(plan_store, ADMIN, made, section="objectives", text="  目标基本达成。\n**加强** G2  ") == 1
    assert review.conclude(plan_store, ADMIN, made, section="objectives", text="G2 有风险，下季度复核。") == 2
    assert review.conclude(plan_store, ADMIN, made, section="decisions", text="提高检查覆盖率") == 1
    said = review.conclusions(plan_store, made, None)
    assert {k: (v["text"], v["version"], v["written_by"]) for k, v in said.items()} == {
        "objectives": ("G2 有风险，下季度复核。", 2, "chair"), "decisions": ("提高检查覆盖率", 1, "chair")}
    assert conclusion_events(plan_store, made) == [
        ("conclusion_objectives", None, "目标基本达成。\n**加强** G2", "review_conclusion", "chair"),
        ("conclusion_objectives", "目标基本达成。\n**加强** G2", "G2 有风险，下季度复核。", "review_conclusion", "chair"),
        ("conclusion_decisions", None, "提高检查覆盖率", "review_conclusion", "chair"),
    ]
    assert plan_store.execute("select count(*) from review_conclusions").fetchone()[0] == 3  # earlier versions kept
    assert trail.verify(plan_store).ok
    if backend == "postgresql":  # another process, copied from PostgreSQL anew, reads the same
        other = fresh_replica(replica.of(plan_store).url, tmp_path / "other")
        try:
            assert {k: v["text"] for k, v in review.conclusions(other, made, None).items()} == {
                "objectives": "G2 有风险，下季度复核。", "decisions": "提高检查覆盖率"}
            assert trail.verify(other).ok
        finally:
            other.close()


@pytest.mark.parametrize("who, section, text, refusal", [
    (ADMIN, "objectives", "  \n ", "conclusion_empty"),
    (ADMIN, "budget", "text", "conclusion_bad_section"),
    (Identity("v@example.org", "viewer"), "objectives", "text", "refused_role"),
    (Identity("ds@example.org", "unit_editor", unit="DS"), "objectives", "text", "review_unknown"),  # not its scope
])
def test_a_refused_conclusion_writes_nothing(plan_store, who, section, text, refusal):
    made = record(plan_store, NOW, date(2026, 7, 2), "Q2")
    events = plan_store.execute("select count(*) from events").fetchone()[0]
    with pytest.raises(Refused) as refused:
        review.conclude(plan_store, who, made, section=section, text=text)
    assert refused.value.key == refusal
    assert plan_store.execute("select count(*) from review_conclusions").fetchone()[0] == 0
    assert plan_store.execute("select count(*) from events").fetchone()[0] == events


def test_a_conclusion_on_a_review_that_does_not_exist_is_refused(plan_store):
    with pytest.raises(Refused) as refused:
        review.conclude(plan_store, ADMIN, 99, section="objectives", text="text")
    assert refused.value.key == "review_unknown"


def test_the_opened_review_shows_its_latest_conclusions(plan_store):
    made = record(plan_store, NOW, date(2026, 7, 2), "Q2")
    review.conclude(plan_store, ADMIN, made, section="inspections", text="I3 逾期")
    review.conclude(plan_store, ADMIN, made, section="inspections", text="I3 逾期，责成 DH-02 本月完成")
    s = screens.management_review(plan_store, Filters.default(NOW), None, "en", review_id=made)
    assert {k: v["text"] for k, v in s.conclusions.items()} == {"inspections": "I3 逾期，责成 DH-02 本月完成"}
    assert screens.management_review(plan_store, Filters.default(NOW), None, "en").conclusions == {}


# ---------------------------------------------------------------------------------------------
# The pack


def test_the_pack_has_the_three_sections_the_comparison_and_the_conclusions(plan_store):
    record(plan_store, LAST, date(2026, 4, 2), "Q1")
    made = record(plan_store, NOW, date(2026, 7, 2), "Q2")
    review.conclude(plan_store, ADMIN, made, section="satisfaction", text="=满意度提升")  # formula-like text stays text
    pack = report.gather(plan_store, Filters.default(NOW), "en")
    assert (pack.plan_now, pack.plan_before) == (AT_NOW, AT_LAST)
    assert {section: rows(table) for section, table in pack.plan_tables.items()} == SHOWN
    assert rows(pack.satisfaction_units) == SATISFACTION_UNITS
    assert pack.this_review.id == made
    assert rows(report.conclusions_table(pack)) == [["Satisfaction", "=满意度提升", "chair"]]
    book = openpyxl.load_workbook(io.BytesIO(report.xlsx(pack)))
    sheet = [[c.value for c in r] for r in book["Objectives"].iter_rows()]
    assert sheet == [["Measure", "Now", "At the last review", "Change"], *SHOWN["objectives"]]
    assert [[c.value for c in r] for r in book["Satisfaction by unit"].iter_rows()][1] == SATISFACTION_UNITS[0]
    conclusions = [[c.value for c in r] for r in book["Conclusions"].iter_rows()]
    assert conclusions[1][:2] == ["Satisfaction", "=满意度提升"]
    assert book["Conclusions"].cell(2, 2).data_type != "f"


def test_the_slides_have_a_slide_per_section_the_units_intervals_and_the_conclusions(plan_store):
    from pptx import Presentation

    record(plan_store, LAST, date(2026, 4, 2), "Q1")
    made = record(plan_store, NOW, date(2026, 7, 2), "Q2")
    review.conclude(plan_store, ADMIN, made, section="inspections", text="I3 逾期")
    deck = Presentation(io.BytesIO(report.pptx(report.gather(plan_store, Filters.default(NOW), "en"), [])))
    slides = list(deck.slides)[2:7]  # after the cover and the numbers, before the trend and the overdue summary
    assert [s.shapes[0].text_frame.paragraphs[0].text for s in slides] == [
        "The extent to which objectives were met", "Satisfaction", "Satisfaction index by unit (latest wave in the period)",
        "Inspection results and programme performance", "The review's conclusions"]
    grid = [shape.table for shape in slides[2].shapes if shape.has_table][0]
    assert [[cell.text for cell in row.cells] for row in grid.rows][1] == [str(v) for v in SATISFACTION_UNITS[0]]
    assert "I3 逾期" in [p.text for shape in slides[3].shapes if shape.has_text_frame
                         for p in shape.text_frame.paragraphs]


def test_a_pack_as_of_a_date_no_review_was_recorded_at_has_no_conclusions(plan_store):
    made = record(plan_store, NOW, date(2026, 7, 2), "Q2")
    review.conclude(plan_store, ADMIN, made, section="objectives", text="text")
    pack = report.gather(plan_store, Filters.default(date(2026, 6, 29)), "en")
    assert pack.this_review is None and pack.conclusions == {}
    assert report.conclusions_line(pack) == "No review recorded as of 2026-06-29, or none of its conclusions written yet."
