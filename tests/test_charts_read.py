"""What a reader of the charts sees: count axes, period labels, partial periods, names, deltas (issue 16)."""

from datetime import date

import pandas as pd

from closeloop import charts, kpis, store
from closeloop.filters import Filters
from closeloop.i18n import translator

T = date(2026, 6, 30)
t = translator("en")


def test_a_count_axis_under_five_ticks_each_whole_number():
    # an empty chart's axis read 1, 1, 1, 0, 0, 0 (ticks at fifths of one, each rounded)
    assert charts.count_axis([]) == {"rangemode": "tozero", "tickformat": ",d", "dtick": 1, "range": [0, 1.15]}
    assert charts.count_axis([0, 3])["dtick"] == 1 and charts.count_axis([0, 3])["range"] == [0, 3 * 1.15]
    assert "dtick" not in charts.count_axis([0, 5, 12])


def test_periods_read_in_one_form_and_a_partial_one_is_starred():
    starts = [date(2025, 10, 1), date(2026, 1, 1)]
    assert charts.period_labels(starts, "quarter", [True, False]) == ["2025-Q4 *", "2026-Q1"]
    assert charts.period_labels(starts, "month") == ["2025-10", "2026-01"]


def test_a_month_is_partial_when_the_period_or_the_as_of_date_cuts_it(period_store):
    # the period 2025-07-15 … 2026-06-30 cuts July 2025 (from the 15th); as of 2026-06-20, June 2026 is cut too
    f = Filters.default(date(2026, 6, 20)).replace(since=date(2025, 7, 15), until=date(2026, 6, 20))
    months = store.run(period_store, "opened_closed_monthly", f.params())
    partial = dict(zip(months["month"].dt.strftime("%Y-%m"), months["partial"]))
    assert [m for m, p in partial.items() if p] == ["2025-07", "2026-06"]
    whole = store.run(period_store, "opened_closed_monthly", Filters.default(T).params())
    assert not whole["partial"].any()  # 2025-07-01 … 2026-06-30 as of its last day: twelve whole months


def test_a_quarter_is_partial_when_cut(analysis_store):
    # 2025-07-01 … 2026-06-30 as of 2026-05-31: Q2 2026 (April–June) is cut by the as-of date
    f = Filters.default(date(2026, 5, 31)).replace(since=date(2025, 7, 1), until=date(2026, 5, 31))
    rows = store.run(analysis_store, "recurrence_by_period", f.params() | {"grain": "quarter"})
    flags = dict(zip(rows["period_start"].astype(str), rows["partial"]))
    assert flags == {"2025-07-01": False, "2025-10-01": False, "2026-01-01": False, "2026-04-01": True}
    figure = charts.recurrence_trend(rows, t, "quarter")
    assert list(figure.data[0].x) == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2 *"]
    assert figure.layout.annotations[0].text == t("partial_period_note")


def test_no_change_draws_no_delta_badge():
    # a red "↑ +0" was drawn for no change; a rate moving by less than 0.05 pp shows as no change
    assert kpis.delta_text(3, 3, "count") is None
    assert kpis.delta_text(0.5004, 0.5, "rate") is None
    assert kpis.delta_text(4, 3, "count") == "+1"
    assert kpis.delta_text(0.48, 0.5, "rate") == "-2.0 pp"


def test_the_pareto_lies_flat_most_first_from_the_top_and_hands_back_its_key():
    counts = pd.DataFrame({"criterion": [f"{i}.1" for i in range(25)], "title": [f"准则{i}" for i in range(25)],
                           "repeats": list(range(50, 25, -1)), "cumulative_share": [i / 25 for i in range(1, 26)]})
    figure = charts.pareto(counts, "title", t, value="repeats", key="criterion")
    bars = figure.data[0]
    assert bars.orientation == "h" and len(bars.y) == charts.PARETO_ROWS == 20
    assert bars.y[-1] == "准则0" and list(bars.customdata[-1]) == ["0.1"]  # the most is drawn at the top
    assert figure.data[1].xaxis == "x2" and figure.data[1].x[-1] == 1 / 25


def test_the_repeat_grid_names_its_criteria_and_puts_the_most_first(analysis_store):
    cells = store.run(analysis_store, "repeats_by_unit_criterion", Filters.default(T).params() | {"lang": "en"})
    figure = charts.repeat_heatmap(cells, "unit_label", t)
    rows = list(figure.layout.yaxis.categoryarray)
    titles = dict(zip(cells["criterion"], cells["criterion_label"]))
    assert rows == [f"1.1 {titles['1.1'][:23] + '…' if len(titles['1.1']) > 24 else titles['1.1']}"]


def test_the_funnel_names_at_most_eight_flagged_units_the_farthest_first():
    n = 12
    units = pd.DataFrame({"unit": [f"U{i}" for i in range(n)], "name": [f"单位{i}" for i in range(n)],
                          "volume": [50] * n, "rate": [0.2 + 0.05 * i for i in range(n)], "outside": [True] * n})
    limits = pd.DataFrame({"n": [50], "lower_0.95": [0.1], "upper_0.95": [0.3], "lower_0.998": [0.05],
                           "upper_0.998": [0.35]})
    figure = charts.funnel(units, limits, 0.2, "name", t)
    named = [text for text in figure.data[-1].text if text]
    assert named == [f"单位{i}" for i in range(4, 12)]  # the eight farthest from 0.2
