"""Plan and check on literal rows: objectives, the inspection programme and satisfaction (DESIGN.md), by hand."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest

from closeloop import metrics, replica, store
from closeloop.filters import Filters

from conftest import add_plan_rows, fresh_replica, nc

BOTH_BACKENDS = True
T = date(2026, 6, 30)  # the default period is 2025-07-01 … 2026-06-30; T's year 2026, T's month 6

# The units and criteria are conftest's: HQ > DH > DH-01 > DH-01-1, DH > DH-02, HQ > DHX, HQ > DS; 1.1, 2.1, 3.1.


def objective(unit, code, kind, direction, target, weight, *, year=2026, parent=None, withdrawn=False) -> dict:
    return {"unit": unit, "year": year, "code": code, "name": f"objective {code}", "parent": parent,
            "measure": "%", "kind": kind, "direction": direction, "target": target, "weight": weight,
            "owner": "王明", "withdrawn": withdrawn}


def actual(unit, code, month, value, *, year=2026) -> dict:
    return {"unit": unit, "year": year, "code": code, "month": month, "actual": value, "evidence": f"{code}-{month}.pdf"}


OBJECTIVES = [
    objective("DH-01", "O-LEVEL", "level", "higher", 90, 2, parent="O-NONE"),  # value = last month's actual
    objective("DH-01", "O-CUM", "cumulative", "higher", 120, 1),  # value = sum to the last month with one
    objective("DH-02", "O-LOWER-ZERO", "level", "lower", 2, 1),  # lower is better, value 0: attainment 1
    objective("DH-02", "O-LOWER", "cumulative", "lower", 12, 3),  # lower is better: target to date / value
    objective("DH", "O-NONE", "level", "higher", 100, 5),  # no actual up to T's month: no status, not scored
    objective("DS", "O-AT-90", "level", "higher", 10, 1),  # attainment exactly 0.9: at risk
    objective("DH", "O-WITHDRAWN", "level", "higher", 100, 9, withdrawn=True),  # taken back: in no term
    objective("DH-01", "O-LEVEL", "level", "higher", 90, 2, year=2025),  # another year: scored only in 2025
]
ACTUALS = [
    actual("DH-01", "O-LEVEL", 3, 80),
    actual("DH-01", "O-LEVEL", 5, 88),  # the last month with an actual by June: value 88, not 80 + 88
    actual("DH-01", "O-LEVEL", 7, 99),  # after T's month: not yet
    actual("DH-01", "O-CUM", 1, 10),
    actual("DH-01", "O-CUM", 2, 10),
    actual("DH-01", "O-CUM", 3, 10),
    actual("DH-01", "O-CUM", 4, 20),  # the last by June: m = 4, value 50, target to date 120 × 4 / 12 = 40
    actual("DH-02", "O-LOWER-ZERO", 6, 0),
    actual("DH-02", "O-LOWER", 1, 1),
    actual("DH-02", "O-LOWER", 2, 1),
    actual("DH-02", "O-LOWER", 3, 3),  # m = 3, value 5, target to date 12 × 3 / 12 = 3
    actual("DH", "O-NONE", 8, 100),  # August: after T's month
    actual("DS", "O-AT-90", 2, 9),
    actual("DH", "O-WITHDRAWN", 1, 0),
    actual("DH-01", "O-LEVEL", 12, 10, year=2025),
]


def inspection(ref, unit, planned_on, performed_on=None, *, kind="periodic", withdrawn=False) -> dict:
    return {"ref": ref, "unit": unit, "kind": kind, "planned_on": planned_on, "performed_on": performed_on,
            "inspector": "陳靜", "withdrawn": withdrawn}


def result(ref, criterion, possible, awarded, nonconformity=None) -> dict:
    return {"inspection": ref, "criterion": criterion, "points_possible": possible, "points_awarded": awarded,
            "result": "pass" if awarded == possible else "fail", "note": None, "nonconformity": nonconformity}


INSPECTIONS = [
    inspection("I-DONE", "DH-01", "2026-03-01", "2026-03-05"),  # due and performed
    inspection("I-DONE-2", "DH-01", "2026-04-01", "2026-04-01", kind="ad_hoc"),  # the same unit again
    inspection("I-LATE", "DH-02", "2026-05-01", "2026-07-03"),  # performed after T: overdue at T
    inspection("I-ON-T", "DS", "2026-06-30", kind="ad_hoc"),  # planned on T, not performed: overdue
    inspection("I-CHILD", "DH-01-1", "2025-09-01", "2025-09-01"),  # in DH's subtree, below DH-01
    inspection("I-AFTER-T", "DH-01", "2026-07-10"),  # planned after T: not due whatever the period
    inspection("I-BEFORE", "DH-01", "2025-06-30", "2025-07-02"),  # planned the day before the period
    inspection("I-WITHDRAWN", "DHX", "2026-02-01", withdrawn=True),  # taken back: in no term
]
RESULTS = [
    result("I-DONE", "1.1", 10, 10),
    result("I-DONE", "2.1", 10, 4, "N-FAIL"),  # failed, with its nonconformity
    result("I-DONE", "3.1", 5, 5),
    result("I-DONE-2", "1.1", 10, 8, "N-FAIL-2"),  # (DH-01, 1.1) again: one pair for coverage
    result("I-CHILD", "1.1", 10, 6),  # failed without a nonconformity: a data-quality gap
    result("I-LATE", "1.1", 10, 0, "N-LATE"),  # its inspection was not performed by T: not counted at T
    result("I-BEFORE", "1.1", 10, 10),  # its inspection was not due in the period
]


def answer(wave, unit, respondent, item, score, answered_on) -> dict:
    return {"wave": wave, "unit": unit, "respondent": respondent, "item": item, "score": score,
            "answered_on": answered_on}


ANSWERS = [
    # DH-01, wave 2026-Q1: three respondents, index points (score − 1) / 4 × 100
    answer("2026-Q1", "DH-01", "r1", "q1", 5, "2026-03-20"),  # 100
    answer("2026-Q1", "DH-01", "r1", "q2", 4, "2026-03-20"),  # 75: r1's mean 87.5
    answer("2026-Q1", "DH-01", "r2", "q1", 3, "2026-03-20"),  # 50
    answer("2026-Q1", "DH-01", "r2", "q2", 2, "2026-03-20"),  # 25: r2's mean 37.5
    answer("2026-Q1", "DH-01", "r3", "q1", 1, "2026-03-20"),  # 0: r3's mean 0 (one item answered)
    # DH-01, wave 2026-Q2: one respondent, so no interval
    answer("2026-Q2", "DH-01", "r1", "q1", 5, "2026-06-10"),  # 100
    # DS, wave 2026-Q1: two respondents
    answer("2026-Q1", "DS", "s1", "q1", 4, "2026-02-15"),  # 75
    answer("2026-Q1", "DS", "s2", "q1", 2, "2026-02-15"),  # 25
    answer("2025", "DS", "s1", "q1", 1, "2025-06-30"),  # the day before the period
    answer("2026-Q3", "DS", "s1", "q1", 1, "2026-07-01"),  # the day after T
]

TABLES = {"objectives": OBJECTIVES, "objective_actuals": ACTUALS, "inspections": INSPECTIONS,
          "inspection_results": RESULTS, "survey_answers": ANSWERS}


@pytest.fixture
def plan_store(store_from_rows, backend, tmp_path):
    """conftest's units and criteria, one finding, and the rows above; on PostgreSQL read from a new replica."""
    con = store_from_rows([nc("N-FAIL", "DH-01", "2026-03-05", criterion="2.1", source="inspection")])
    for table, rows in TABLES.items():
        add_plan_rows(con, table, rows)
    if backend == "postgresql":  # what another process sees: copied from PostgreSQL anew
        con = fresh_replica(replica.of(con).url, tmp_path / "plan-replica")
    yield con
    if backend == "postgresql":
        con.close()


def numbers(con, as_of=T, scope=None, **changes) -> dict:
    return metrics.plan_check(con, Filters.default(as_of).replace(**changes), scope)


def objectives(con, as_of=T, **changes) -> dict[str, tuple]:
    f = Filters.default(as_of, **changes)
    rows = store.run(con, "objective_rows", f.params())
    rows = rows.astype(object).where(rows.notna(), None)
    return {r.code: (r.month, r.value, r.target_to_date, round(r.attainment, 4) if r.status else None, r.status)
            for r in rows.itertuples()}


# ---------------------------------------------------------------------------------------------
# Objectives


def test_each_objective_is_valued_and_scored_on_its_own_actuals(plan_store):
    assert objectives(plan_store) == {
        # (month, value, target to date, attainment, status)
        "O-LEVEL": (5, 88.0, 90.0, 0.9778, "at_risk"),  # level: May's 88; 88 / 90 = 0.97778 ≥ 0.9
        "O-CUM": (4, 50.0, 40.0, 1.0, "met"),  # cumulative: 10+10+10+20 = 50 over 120×4/12 = 40: 1.25, capped at 1
        "O-LOWER-ZERO": (6, 0.0, 2.0, 1.0, "met"),  # lower, value 0: 1
        "O-LOWER": (3, 5.0, 3.0, 0.6, "missed"),  # lower: 3 / 5 = 0.6 < 0.9
        "O-NONE": (None, None, 100.0, None, None),  # no actual by June: no status
        "O-AT-90": (2, 9.0, 10.0, 0.9, "at_risk"),  # 9 / 10 = 0.9 exactly: at risk, not missed
    }  # O-WITHDRAWN and the 2025 objective are not there


def test_objective_counts_and_weighted_score_for_the_whole_organisation(plan_store):
    # weights × attainment over the five with a status: 2×88/90 + 1×1 + 1×1 + 3×0.6 + 1×0.9 = 6.65556
    # over 2 + 1 + 1 + 3 + 1 = 8: 0.831944 → 0.8319 (O-NONE's weight 5 is left out)
    assert numbers(plan_store)["objectives"] == {
        "with_status": 5, "met": 2, "at_risk": 2, "missed": 1, "score": 0.8319}


def test_a_unit_subtree_scores_its_own_objectives_and_those_below_it(plan_store):
    # DH: O-LEVEL, O-CUM (DH-01), O-LOWER-ZERO, O-LOWER (DH-02); O-NONE (DH) has no status
    # (1.95556 + 1 + 1 + 1.8) / (2 + 1 + 1 + 3) = 5.75556 / 7 = 0.822222
    assert numbers(plan_store, unit="DH")["objectives"] == {
        "with_status": 4, "met": 2, "at_risk": 1, "missed": 1, "score": 0.8222}
    # the viewer's scope cuts the same way: DS alone holds O-AT-90
    assert numbers(plan_store, scope="DS")["objectives"] == {
        "with_status": 1, "met": 0, "at_risk": 1, "missed": 0, "score": 0.9}


def test_the_score_rolls_up_the_unit_tree(plan_store):
    rows = store.run(plan_store, "objective_scores_by_unit", Filters.default(T).params())
    got = {r.unit: (r.objectives, r.with_status, round(r.score, 4)) for r in rows.itertuples()}
    assert got == {
        "HQ": (6, 5, 0.8319),  # every unit's: as the whole organisation
        "DH": (5, 4, 0.8222),  # DH's O-NONE, DH-01's and DH-02's
        "DH-01": (2, 2, 0.9852),  # (2 × 88/90 + 1 × 1) / 3 = 2.95556 / 3 = 0.985185
        "DH-02": (2, 2, 0.7),  # (1 × 1 + 3 × 0.6) / 4 = 2.8 / 4
        "DS": (1, 1, 0.9),
    }  # DH-01-1 and DHX hold no objectives, in or below them: no row


def test_objectives_as_of_a_date_inside_the_history(plan_store):
    # T = 2026-03-31, month 3: O-LEVEL March 80 / 90 = 0.8889 missed; O-CUM 30 over 120×3/12 = 30: met;
    # O-LOWER-ZERO no actual by March: none; O-LOWER 3 / 5 = 0.6 missed; O-AT-90 February 9 / 10: at risk
    # (2 × 80/90 + 1 + 3 × 0.6 + 0.9) / (2 + 1 + 3 + 1) = 5.47778 / 7 = 0.782540
    assert numbers(plan_store, date(2026, 3, 31))["objectives"] == {
        "with_status": 4, "met": 1, "at_risk": 1, "missed": 2, "score": 0.7825}
    # T in 2025: only that year's objective, December 10 / 90 = 0.1111
    assert numbers(plan_store, date(2025, 12, 31))["objectives"] == {
        "with_status": 1, "met": 0, "at_risk": 0, "missed": 1, "score": 0.1111}


# ---------------------------------------------------------------------------------------------
# The inspection programme


def test_inspections_due_performed_and_overdue_with_coverage_and_score(plan_store):
    # due (planned 2025-07-01 … T): I-DONE, I-DONE-2, I-LATE, I-ON-T, I-CHILD = 5; performed by T: I-DONE,
    # I-DONE-2, I-CHILD = 3 (rate 0.6); overdue: I-LATE (done after T), I-ON-T = 2.
    # coverage: pairs (DH-01, 1.1) (DH-01, 2.1) (DH-01, 3.1) (DH-01-1, 1.1) = 4 over units due DH-01, DH-02,
    # DS, DH-01-1 = 4 × 3 criteria = 12: 0.3333. score: (10 + 4 + 5 + 8 + 6) / (10 + 10 + 5 + 10 + 10) = 33 / 45
    assert numbers(plan_store)["inspections"] == {
        "due": 5, "performed": 3, "performed_rate": 0.6, "overdue": 2, "coverage": 0.3333, "score": 0.7333}


def test_inspections_of_a_unit_subtree_count_the_units_due_there(plan_store):
    # DH: I-DONE, I-DONE-2, I-LATE, I-CHILD due; 3 performed; I-LATE overdue; units due DH-01, DH-02,
    # DH-01-1: coverage 4 / (3 × 3) = 0.4444; the same results: 33 / 45
    assert numbers(plan_store, unit="DH")["inspections"] == {
        "due": 4, "performed": 3, "performed_rate": 0.75, "overdue": 1, "coverage": 0.4444, "score": 0.7333}


def test_inspections_due_stop_at_t_when_the_period_runs_past_it(plan_store):
    # 2026-01-01 … 2026-12-31 as of T: due by min(to, T) = T: I-DONE, I-DONE-2, I-LATE, I-ON-T (not I-AFTER-T,
    # planned 2026-07-10; not I-CHILD, planned 2025). Performed: I-DONE, I-DONE-2. Units due: DH-01, DH-02, DS.
    # coverage 3 pairs of DH-01 / (3 × 3) = 0.3333; score (10 + 4 + 5 + 8) / (10 + 10 + 5 + 10) = 27 / 35
    got = numbers(plan_store, since=date(2026, 1, 1), until=date(2026, 12, 31))["inspections"]
    assert got == {"due": 4, "performed": 2, "performed_rate": 0.5, "overdue": 2, "coverage": 0.3333,
                   "score": 0.7714}


def test_inspections_as_of_a_date_inside_the_history(plan_store):
    # T = 2026-03-31, period 2025-04-01 … 2026-03-31: I-BEFORE (2025-06-30, done 07-02), I-CHILD, I-DONE due
    # and performed; units DH-01, DH-01-1: coverage 4 / 6; score (10 + 6 + 10 + 4 + 5) / (10 + 10 + 25) = 35 / 45
    assert numbers(plan_store, date(2026, 3, 31))["inspections"] == {
        "due": 3, "performed": 3, "performed_rate": 1.0, "overdue": 0, "coverage": 0.6667, "score": 0.7778}


def test_a_failed_item_without_a_nonconformity_is_counted_as_a_gap(plan_store):
    counts = store.run(plan_store, "inspection_counts", Filters.default(T).params()).iloc[0]
    assert int(counts["unlinked_failures"]) == 1  # I-CHILD's 1.1; I-DONE's and I-DONE-2's name theirs


# ---------------------------------------------------------------------------------------------
# Satisfaction


def test_satisfaction_index_and_shares(plan_store):
    # 8 answers in the period: points 100 75 50 25 0 | 100 | 75 25 = 450 / 8 = 56.25;
    # satisfied (4, 5): 4 / 8; dissatisfied (1, 2): 3 / 8
    assert numbers(plan_store)["satisfaction"] == {
        "answers": 8, "index": 56.25, "satisfied_share": 0.5, "dissatisfied_share": 0.375}
    # DH: DH-01's 6 answers, 350 / 6 = 58.333; satisfied 3 / 6; dissatisfied 2 / 6
    assert numbers(plan_store, unit="DH")["satisfaction"] == {
        "answers": 6, "index": 58.33, "satisfied_share": 0.5, "dissatisfied_share": 0.3333}


def test_satisfaction_as_of_a_date_inside_the_history(plan_store):
    # T = 2026-03-31, period 2025-04-01 … 2026-03-31: DH-01's Q1 (5), DS's Q1 (2) and its 2025 answer (1);
    # points 250 + 100 + 0 = 350 / 8 = 43.75; satisfied 5, 4, 4: 3 / 8; dissatisfied 2, 1, 2, 1: 4 / 8
    assert numbers(plan_store, date(2026, 3, 31))["satisfaction"] == {
        "answers": 8, "index": 43.75, "satisfied_share": 0.375, "dissatisfied_share": 0.5}


def test_the_interval_of_each_unit_and_wave_is_from_its_respondents_means(plan_store):
    rows = store.run(plan_store, "satisfaction_by_unit_wave", Filters.default(T).params())
    got = metrics.satisfaction_intervals(rows).set_index(["unit", "wave"])
    q1 = got.loc[("DH-01", "2026-Q1")]
    # respondents' means 87.5, 37.5, 0: mean 125 / 3 = 41.667 (the answers' index is 250 / 5 = 50);
    # deviations 275/6, −25/6, −250/6: squares sum 138750 / 36, variance / 2 = 1927.083, sd 43.8986;
    # t(0.975, 2) = 4.3027 (tables): half width 4.3027 × 43.8986 / √3 = 109.05
    assert (q1["answers"], q1["index"], q1["respondents"]) == (5, 50.0, 3)
    assert q1["respondent_mean"] == pytest.approx(41.6667, abs=1e-4)
    assert q1["respondent_sd"] == pytest.approx(43.8986, abs=1e-4)
    assert (q1["lower"], q1["upper"]) == (pytest.approx(-67.38, abs=0.01), pytest.approx(150.72, abs=0.01))
    ds = got.loc[("DS", "2026-Q1")]
    # 75 and 25: mean 50, sd √(25² + 25²) = 35.355; t(0.975, 1) = 12.7062: half 12.7062 × 35.355 / √2 = 317.655
    assert (ds["lower"], ds["upper"]) == (pytest.approx(-267.655, abs=0.01), pytest.approx(367.655, abs=0.01))
    q2 = got.loc[("DH-01", "2026-Q2")]
    assert q2["respondents"] == 1 and math.isnan(q2["lower"]) and math.isnan(q2["upper"])  # one respondent


@pytest.mark.parametrize("df, quantile", [
    # Student's t, 0.975 quantile, from printed tables (two-sided 95 %)
    (1, 12.7062), (2, 4.3027), (3, 3.1824), (4, 2.7764), (5, 2.5706), (9, 2.2622), (10, 2.2281),
    (29, 2.0452), (30, 2.0423), (31, 2.0395), (60, 2.0003), (100, 1.9840), (1000, 1.9623),
])
def test_t_quantile_matches_the_tables(df, quantile):
    assert round(metrics.t_quantile(0.975, df), 4) == quantile


# ---------------------------------------------------------------------------------------------
# Nothing there, and the command line


def test_an_empty_store_has_zero_counts_and_no_rates(empty_store):
    assert numbers(empty_store) == {
        "objectives": {"with_status": 0, "met": 0, "at_risk": 0, "missed": 0, "score": None},
        "inspections": {"due": 0, "performed": 0, "performed_rate": None, "overdue": 0, "coverage": None,
                        "score": None},
        "satisfaction": {"answers": 0, "index": None, "satisfied_share": None, "dissatisfied_share": None},
    }


def test_metrics_prints_the_three_beside_the_contract(plan_store, cli, backend, tmp_path):
    location = replica.of(plan_store).url if backend == "postgresql" else str(store.db_path(
        plan_store.execute("select path from duckdb_databases() where database_name = current_database()")
        .fetchone()[0]))
    if backend == "duckdb":
        plan_store.close()  # the command line takes the file
    done = cli("metrics", "--db", location, "--as-of", "2026-06-30", "--unit", "DH")
    assert (done.returncode, done.stderr) == (0, "")
    printed = json.loads(done.stdout)
    assert printed["open"] == 1  # N-FAIL, from the contract
    assert printed["objectives"]["score"] == 0.8222
    assert printed["inspections"] == {
        "due": 4, "performed": 3, "performed_rate": 0.75, "overdue": 1, "coverage": 0.4444, "score": 0.7333}
    assert printed["satisfaction"]["index"] == 58.33


# ---------------------------------------------------------------------------------------------
# The demo's plan and check


def test_the_demo_draws_the_same_plan_and_check_for_a_seed(tmp_path):
    from closeloop import demo

    def drawn(name):
        con = store.connect(tmp_path / f"{name}.duckdb")
        demo.build(con, ncs=300, seed=5)
        got = {table: con.execute(f"select count(*), md5(string_agg(t::varchar, '|' order by t::varchar)) "
                                  f"from {table} as t").fetchone() for table in TABLES}
        con.close()
        return got

    first, second = drawn("a"), drawn("b")
    assert first == second
    assert all(n > 0 for n, _ in first.values())
