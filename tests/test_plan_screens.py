"""The plan-and-check pages' screens and figures as plain functions, on literal rows."""

from __future__ import annotations

from datetime import date

import pandas as pd

from closeloop import plan_charts, plan_screens, store

from conftest import add_plan_rows, nc


def t(key: str, **values) -> str:
    return key


def test_an_attainment_of_exactly_nine_tenths_is_at_risk_not_missed(store_from_rows):
    con = store_from_rows([nc("N-0", "HQ", "2026-01-01")])
    # cumulative, target 24 for the year: 12 to date at June; 10.8 achieved is 0.9 of it (0.8999… in binary)
    add_plan_rows(con, "objectives", [{"unit": "DH", "year": 2026, "code": "G4", "name": "檢查計劃完成數",
                                       "kind": "cumulative", "direction": "higher", "target": 24, "weight": 1}])
    add_plan_rows(con, "objective_actuals", [{"unit": "DH", "year": 2026, "code": "G4", "month": 6, "actual": 10.8}])
    rows = store.run(con, "objective_rows", {"as_of": date(2026, 6, 30), "unit": None, "scope": None})
    assert rows[["target_to_date", "value", "attainment", "status"]].to_dict("records") == [
        {"target_to_date": 12.0, "value": 10.8, "attainment": 0.9, "status": "at_risk"}]


def test_cards_read_as_metrics_prints_them_and_say_the_change():
    now = {"inspections": {"due": 192, "performed": 162, "performed_rate": 0.8438, "overdue": 30, "coverage": None,
                           "score": 0.9027}}
    before = {"inspections": {"due": 96, "performed": 86, "performed_rate": 0.8958, "overdue": 30, "coverage": 0.27,
                              "score": 0.9027}}
    cards = plan_screens.kpis("inspections", now, before, t)
    assert [(c.key, c.value, c.delta) for c in cards] == [
        ("due", "192", "+96"), ("performed", "162", "+76"), ("performed_rate", "84.4%", "-5.2 pp"),
        ("overdue", "30", None), ("coverage", "none", None), ("score", "90.3%", None)]


def test_the_index_chart_draws_each_units_interval_and_none_below_two_respondents():
    latest = pd.DataFrame({
        "unit": ["A", "B"], "label": ["甲", "乙"], "wave": ["W1", "W1"], "respondents": [3, 1],
        "index": [60.0, 90.0], "lower": [50.0, None], "upper": [75.0, None],
    })
    figure = plan_charts.satisfaction_index(latest, 70.0, t)
    (points,) = figure.data
    assert list(points.y) == ["甲", "乙"]  # lowest first, drawn from the bottom
    assert list(points.error_x.array) == [15.0, 0.0] and list(points.error_x.arrayminus) == [10.0, 0.0]
    assert figure.layout.shapes[0].x0 == 70.0


def test_the_coverage_grid_marks_a_unit_criterion_pair_with_a_result():
    cells = pd.DataFrame({"unit": ["A", "A", "B", "B"], "label": ["甲", "甲", "乙", "乙"],
                          "criterion": ["1.1", "2.1", "1.1", "2.1"], "results": [2, 0, 0, 1]})
    (grid,) = plan_charts.coverage(cells, t).data
    assert [list(row) for row in grid.z] == [[1, 0], [0, 1]]
    assert list(grid.y) == ["甲", "乙"] and list(grid.x) == ["1.1", "2.1"]
