"""The Units, Recurrence and Time-to-close queries and figures, on literal rows (tests/conftest.py)."""

from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from closeloop import charts, drill, export, metrics, store, tables
from closeloop.drill import Drill
from closeloop.filters import Filters
from closeloop.i18n import translator

T = date(2026, 6, 30)
t = translator("en")


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing values as None, so rows compare with literal tuples."""
    return frame.astype(object).where(frame.notna(), None)


def run(con, name, f=None, **extra):
    rows = plain(store.run(con, name, (f or Filters.default(T)).params() | {"lang": "zh-Hans"} | extra))
    return [tuple(r) for r in rows.itertuples(index=False)]


def dated(text):
    return pd.Timestamp(text)


def test_repeat_chains_pair_each_repeat_with_every_earlier_finding_in_the_window(analysis_store):
    chains = run(analysis_store, "repeat_chains", chain_unit=None, chain_criterion=None, limit=100)
    # (unit, criterion, earlier, found, closed, later, found, days between, after closure, title)
    assert [c[:9] for c in chains] == [
        ("DH-01", "1.1", "N1", dated("2025-08-01"), dated("2025-10-01"), "N2", dated("2026-01-15"), 167, True),
        ("DH-01", "1.1", "N1", dated("2025-08-01"), dated("2025-10-01"), "N3", dated("2026-05-01"), 273, True),
        ("DH-01", "1.1", "N2", dated("2026-01-15"), dated("2026-02-10"), "N3", dated("2026-05-01"), 106, True),
    ]


def test_a_shorter_window_drops_the_chain_links_outside_it(analysis_store):
    f = Filters.default(T, window_days=200)
    chains = run(analysis_store, "repeat_chains", f, chain_unit=None, chain_criterion=None, limit=100)
    assert [(c[2], c[5]) for c in chains] == [("N1", "N2"), ("N2", "N3")]


def test_repeat_chains_narrow_to_a_unit_and_criterion(analysis_store):
    assert run(analysis_store, "repeat_chains", chain_unit="DH-02", chain_criterion=None, limit=100) == []
    assert len(run(analysis_store, "repeat_chains", chain_unit="DH", chain_criterion="1.1", limit=100)) == 3


def test_censored_curves_per_severity(analysis_store):
    durations = store.run(analysis_store, "durations_by_group", Filters.default(T).params() | {"split": "severity"})
    quantiles = metrics.quantiles_by(metrics.survival_by(durations))
    # major: N5 closed after 60 days and N1 after 61, so S(60) = 1/2 exactly (median 60) and S(61) = 0.
    # minor: N2 closed after 26 of 3 at risk (S = 2/3); N3 (60) and N6 (211) are still open: censored.
    # observation: N4 only, open 121 days: the curve stays at 1.
    assert plain(quantiles).to_dict("records") == [
        {"grp": "major", "items": 2, "median": 60.0, "p90": 61.0},
        {"grp": "minor", "items": 3, "median": None, "p90": None},
        {"grp": "observation", "items": 1, "median": None, "p90": None},
    ]


def test_funnel_limits_by_hand():
    limits = metrics.funnel_limits(0.2, 25, points=2).set_index("n")
    # p0 ± z·sqrt(p0(1−p0)/n) at n = 25: sqrt(0.16/25) = 0.08; z95 = 1.959964, z99.8 = 3.090232.
    assert limits.loc[25, "upper_0.95"] == pytest.approx(0.2 + 1.959964 * 0.08, abs=1e-6)
    assert limits.loc[25, "lower_0.95"] == pytest.approx(0.2 - 1.959964 * 0.08, abs=1e-6)
    assert limits.loc[25, "upper_0.998"] == pytest.approx(0.2 + 3.090232 * 0.08, abs=1e-6)
    assert limits.loc[1, "lower_0.998"] == 0.0  # clipped at 0


def test_a_unit_is_outside_the_limits_only_beyond_its_own_volumes_limit():
    # At n = 25 the 99.8 % band is 0.2 ± 0.2472: 0.45 is outside, 0.44 is inside; at n = 4 it is ±0.618.
    flags = metrics.outside_limits(0.2, pd.Series([25, 25, 4, 0]), pd.Series([0.45, 0.44, 0.75, 0.9]))
    assert flags.tolist() == [True, False, False, False]


def test_kpis_by_child_unit_credit_each_subtree(analysis_store):
    whole = {r[0]: r[3:] for r in run(analysis_store, "kpis_by_child_unit")}
    # (open, overdue, opened, closed, closed on time, closed with a due date, repeats, actions overdue)
    assert whole == {"DH": (3, 2, 5, 2, 1, 2, 2, 1), "DS": (0, 0, 1, 1, 0, 1, 0, 0)}
    below_dh = {r[0]: r[3:] for r in run(analysis_store, "kpis_by_child_unit", Filters.default(T, unit="DH"))}
    # N6 sits on DH itself, so DH is its own row beside its children.
    assert below_dh == {"DH": (1, 1, 1, 0, 0, 0, 0, 0), "DH-01": (1, 1, 3, 2, 1, 2, 2, 1),
                        "DH-02": (1, 0, 1, 0, 0, 0, 0, 0)}


def test_unit_rollup_counts_everything_below_each_unit(analysis_store):
    rollup = {r[0]: r[5:8] for r in run(analysis_store, "unit_rollup", levels=10)}
    # (opened in period, open, overdue)
    assert rollup == {"HQ": (6, 3, 2), "DH": (5, 3, 2), "DH-01": (3, 1, 1), "DH-01-1": (0, 0, 0),
                      "DH-02": (1, 1, 0), "DHX": (0, 0, 0), "DS": (1, 0, 0)}


def test_unit_rollup_stops_at_the_levels_asked_for_and_still_counts_what_is_below_them(analysis_store):
    # two levels from the top: HQ and its children, each with everything below it
    assert {r[0]: r[5:8] for r in run(analysis_store, "unit_rollup", levels=2)} == {
        "HQ": (6, 3, 2), "DH": (5, 3, 2), "DHX": (0, 0, 0), "DS": (1, 0, 0)}
    # one level from DH: DH alone, with all of its subtree
    dh = Filters.default(T, unit="DH")
    assert {r[0]: r[5:8] for r in run(analysis_store, "unit_rollup", dh, levels=1)} == {"DH": (5, 3, 2)}


def test_recurrence_per_month(analysis_store):
    rows = run(analysis_store, "recurrence_by_period", grain="month")
    assert [(r[0].strftime("%Y-%m"), r[1], r[2], r[3]) for r in rows] == [
        ("2025-08", 1, 0, 0), ("2025-12", 1, 0, 0), ("2026-01", 1, 1, 1), ("2026-02", 1, 0, 0),
        ("2026-03", 1, 0, 0), ("2026-05", 1, 1, 1),
    ]


def test_systemic_criteria_rank_by_units_failing(analysis_store):
    rows = run(analysis_store, "systemic_criteria")
    # criterion, units failing, units with any finding (DH-01, DH-02, DS, DH), findings, repeats
    assert [(r[0], r[4], r[5], r[7], r[8]) for r in rows] == [("1.1", 2, 4, 4, 2), ("2.1", 2, 4, 2, 0)]


def test_closure_phases_are_medians_over_fully_actioned_closures(analysis_store):
    (row,) = run(analysis_store, "closure_phases")
    # N1: 50 / 5 / 6 days (61 in all); N2: 21 / 0 / 5 (26); N5: 57 / 0 / 3 (60).
    assert row == (3, 50, 0, 5, 60)


def test_open_items_oldest_first_with_owners_and_days_overdue(analysis_store):
    rows = run(analysis_store, "open_items", limit=100)
    assert [(r[0], r[8], r[9], r[10]) for r in rows] == [
        ("N6", 211, 180, None), ("N4", 121, None, None), ("N3", 60, 29, "李華"),
    ]


def test_on_time_rate_per_quarter(analysis_store):
    rows = run(analysis_store, "on_time_by_quarter")
    assert [(r[0].strftime("%Y-%m"), r[1], r[2]) for r in rows] == [
        ("2025-10", 1, 0), ("2026-01", 1, 1), ("2026-04", 1, 0),
    ]


def test_closed_by_days(analysis_store):
    assert run(analysis_store, "closed_by_days") == [(26, 1), (60, 1), (61, 1)]


@pytest.mark.parametrize("drill,refs", [
    (Drill(unit="DH-01", repeat=True, found_from=date(2025, 7, 1), found_to=T), ["N3", "N2"]),
    (Drill(criterion="2.1"), ["N5", "N6"]),
    (Drill(closed_from=date(2025, 7, 1), closed_to=T, days_from=60, days_to=61), ["N5", "N1"]),
    (Drill(overdue=True), ["N3", "N6"]),
    (Drill(severity="observation", open=True), ["N4"]),
])
def test_the_rows_behind_a_chart_point(analysis_store, drill, refs):
    assert [r[0] for r in run(analysis_store, "nonconformity_rows", **drill.params(), limit=100)] == refs


def test_the_treemap_nests_units_under_their_parents():
    rollup = pd.DataFrame({
        "code": ["HQ", "DH", "DH-01", "DS"], "name": ["局", "分局", "支部", "岱山"], "parent_code": [None, "HQ", "DH", "HQ"],
        "depth": [0, 1, 2, 1], "opened": [6, 5, 3, 0], "overdue_share": [0.5, 0.6, 1.0, None],
    })
    trace = charts.unit_treemap(rollup, "name", t).data[0]
    # A unit with nothing opened has no area; the root's parent is "".
    assert list(trace.ids) == ["HQ", "DH", "DH-01"] and list(trace.parents) == ["", "HQ", "DH"]
    assert list(trace.values) == [6, 5, 3]


def test_the_treemap_sends_only_the_three_levels_it_draws():
    rollup = pd.DataFrame({
        "code": ["DH", "DH-01", "DH-01-1", "DH-01-1-a"], "name": ["分局", "支部", "黨小組", "組員"],
        "parent_code": ["HQ", "DH", "DH-01", "DH-01-1"], "depth": [1, 2, 3, 4], "opened": [4, 4, 4, 4],
        "overdue_share": [0.5, 0.5, 0.5, 0.5],
    })
    assert list(charts.unit_treemap(rollup, "name", t).data[0].ids) == ["DH", "DH-01", "DH-01-1"]


def test_the_funnel_names_only_the_units_outside_the_limits():
    units = pd.DataFrame({"unit": ["A", "B"], "name": ["甲", "乙"], "volume": [25, 25], "rate": [0.45, 0.3],
                          "outside": [True, False]})
    fig = charts.funnel(units, metrics.funnel_limits(0.2, 25), 0.2, "name", t)
    assert list(fig.data[-1].text) == ["甲", ""]


def test_a_heatmap_cell_hands_back_its_unit_and_criterion():
    cells = pd.DataFrame({"unit": ["DH-01", "DS"], "unit_name": ["支部", "岱山"], "criterion": ["1.1", "2.1"],
                          "repeats": [2, 1]})
    fig = charts.repeat_heatmap(cells, "unit_name", t)
    # the lighter cell first, with dark text; the darkest with white text; one colour scale for both
    assert [[list(c) for c in trace.customdata] for trace in fig.data] == [[["DS", "2.1"]], [["DH-01", "1.1"]]]
    assert [(list(trace.marker.color), trace.textfont.color) for trace in fig.data] == [([1], "#222"), ([2], "#fff")]
    assert {trace.marker.coloraxis for trace in fig.data} == {"coloraxis"} and fig.layout.coloraxis.cmin == 0


def test_exports_never_hold_a_live_formula():
    from io import BytesIO

    from openpyxl import load_workbook

    table = pd.DataFrame({"title": ["=HYPERLINK(\"x\")", "+1", "-2", "@a", "plain"], "found_on": [T] * 5})
    assert export.csv_bytes(table).decode("utf-8-sig").splitlines()[1:] == [
        "\"'=HYPERLINK(\"\"x\"\")\"," + str(T), "'+1," + str(T), "'-2," + str(T), "'@a," + str(T), "plain," + str(T),
    ]
    sheet = load_workbook(BytesIO(export.xlsx_bytes(table, "台账"))).active
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert sheet["A2"].value == "=HYPERLINK(\"x\")" and sheet.title == "台账"


def test_a_quantile_not_reached_reads_as_such_not_as_an_empty_cell():
    quantiles = pd.DataFrame({"grp": ["major", "minor"], "items": [4, 2], "median": [53.0, None], "p90": [None, None]})
    shown = tables.readable(quantiles, t, missing={"median": t("km_not_reached"), "p90": t("km_not_reached")})
    assert shown.values.tolist() == [["major", 4, "53", "not reached"], ["minor", 2, "not reached", "not reached"]]
    assert pa.Table.from_pandas(shown).schema.field("Median (days)").type == pa.string()  # no mixed column


def test_the_systemic_bars_leave_room_for_the_longest_label():
    criteria = pd.DataFrame({"criterion": ["1.1", "2.1"], "title": ["甲", "乙"], "units": [3, 1],
                             "unit_share": [0.6, 0.2]})
    fig = charts.systemic(criteria, "title", t)
    # the widest bar (3 units) plus 18 % for its label "3 (60%)" outside it: 3 × 1.18
    assert list(fig.layout.xaxis.range) == [0, pytest.approx(3.54)] and fig.data[0].cliponaxis is False
    assert list(fig.data[0].text) == ["1 (20%)", "3 (60%)"]  # bottom to top: the widest on top


def test_a_quarter_whose_closures_had_no_due_date_shows_no_on_time_rate():
    quarters = pd.DataFrame({"quarter_start": pd.to_datetime(["2026-01-01", "2026-04-01"]), "closed": [4, 2],
                             "closed_on_time": [2, 0], "closed_with_due_date": [3, 0], "on_time_rate": [2 / 3, None]})
    bar = charts.on_time_trend(quarters, translator("en")).data[0]
    assert list(bar.text) == ["67%", ""]  # not "nan%"


def test_each_unit_s_on_time_rate_leaves_its_closures_without_due_date_out():
    counts = pd.DataFrame({"unit": ["DH", "DS"], "closed_in_period": [4, 1], "closed_on_time_in_period": [2, 0],
                           "closed_with_due_date_in_period": [3, 0], "repeat_in_period": [0, 0],
                           "opened_in_period": [1, 1]})
    out = metrics.unit_kpis(counts, pd.DataFrame({"grp": ["DH"], "median": [12.0]}))
    rates = out["on_time_closure_rate"].tolist()
    assert rates[0] == 0.6667 and pd.isna(rates[1])  # 2 of the 3 with a due date; DS had none
