"""A click opens what was counted: the rows behind each Overview card and chart point, and behind the
Recurrence bars, are as many as the number clicked, at today's as-of date and inside the history."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pandas as pd
import pytest

from closeloop import drill, metrics, store
from closeloop.drill import Drill
from closeloop.filters import Filters
from closeloop.kpis import KPIS

from conftest import action, nc

BOTH_BACKENDS = True
T = date(2026, 6, 30)
# Inside the history: its period is 2025-04-01 … 2026-03-31; some findings and actions are not found yet.
EARLIER = date(2026, 3, 31)

FINDINGS = [
    nc("A1", "DH-01", "2025-08-01", "2025-09-01", "2025-10-01"),  # closed late
    nc("A2", "DH-01", "2026-01-15", "2026-02-15", "2026-02-10"),  # closed on time; repeats A1 after its closure
    nc("A3", "DH-01", "2026-05-01", "2026-05-31"),  # open, overdue at T, 31–60 days; repeats A1 and A2
    nc("A4", "DH-01-1", "2025-12-01", criterion="2.1"),  # open with no due date: never overdue; 181+ at T
    nc("A5", "DH-02", "2026-06-20", "2026-07-20", criterion="3.1"),  # open, not yet due, 0–30; repeats A10, A14
    nc("A6", "DH", "2026-03-01", "2026-04-01", criterion="2.1"),  # DH's own: overdue at T, 91–180; open at EARLIER
    nc("A7", "DS", "2026-04-10", "2026-05-01", "2026-06-29", criterion="2.1"),  # closed late; repeats A12
    nc("A8", "DHX", "2025-05-01", "2025-06-01"),  # found before T's period: open and overdue, 181+
    nc("A9", "DS", "2026-04-20", "2026-06-01", criterion=None),  # no criterion, so no category: overdue, 61–90
    nc("A10", "DH-02", "2026-02-01", "2026-03-01", "2026-03-01", criterion="3.1"),  # closed on its due day
    nc("A11", "HQ", "2026-06-25", "2026-07-25", criterion="3.1"),  # the top unit's own, open, 0–30
    nc("A12", "DS", "2025-09-10", "2025-10-10", "2025-10-05", criterion="2.1"),  # closed on time
    nc("A13", "DH-01", "2026-07-05", "2026-07-20"),  # found after T: counted nowhere as of T
    nc("A14", "DH-02", "2026-06-01", closed_on="2026-06-30", criterion="3.1"),  # closed on T without a due date
]

ACTIONS = [
    action("C1", "A3", "2026-06-15"),  # overdue at T
    action("C2", "A3", "2026-07-15"),  # open, not yet due
    action("C3", "A6", "2026-03-15", "2026-05-01"),  # done after EARLIER: overdue then, done at T
    action("C4", "A8", "2025-07-01", status="cancelled"),  # cancelled: never open
    action("C5", "A13", "2026-06-01"),  # its finding is found after T: not open at T though past due
    action("C6", "A9", "2026-05-15"),  # overdue at T; its finding not found yet at EARLIER
]


@pytest.fixture
def con(store_from_rows):
    return store_from_rows(FINDINGS, ACTIONS)


def rows(con, counted: drill.Counted, drill_: Drill | None = None) -> list[dict]:
    params = counted.f.params() | (drill_ or counted.drill).params() | {"limit": 1000}
    return store.run(con, counted.query, params).to_dict("records")


def refs(found: list[dict]) -> list[str]:
    return sorted(r["ref"] for r in found)


def day(value) -> date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()


def km_median(durations: list[tuple[int, bool]]) -> float | None:
    """The contract's median by hand: the smallest t with S(t) <= 1/2, S the Kaplan–Meier product over
    the days an item closed (durations: (days, closed by the as-of date))."""
    survival = Fraction(1)
    for day in sorted({d for d, closed in durations if closed}):
        at_risk = sum(1 for d, _ in durations if d >= day)
        survival *= 1 - Fraction(sum(1 for d, closed in durations if closed and d == day), at_risk)
        if survival <= Fraction(1, 2):
            return float(day)
    return None


def test_the_cards_rows_as_of_t_by_hand(con):
    f = Filters.default(T)
    assert refs(rows(con, drill.kpi_counted("open", f))) == ["A11", "A3", "A4", "A5", "A6", "A8", "A9"]
    assert refs(rows(con, drill.kpi_counted("overdue", f))) == ["A3", "A6", "A8", "A9"]
    # closed in the period with a due date (A14 has none), and of them the on-time ones (A7, A1 were late)
    rate = drill.kpi_counted("on_time_closure_rate", f)
    assert refs(rows(con, rate)) == ["A1", "A10", "A12", "A2", "A7"]
    assert refs(rows(con, rate, rate.part)) == ["A10", "A12", "A2"]
    recurrence = drill.kpi_counted("recurrence_rate", f)
    assert refs(rows(con, recurrence, recurrence.part)) == ["A14", "A2", "A3", "A5", "A7"]
    assert sorted(r["ref"] for r in rows(con, drill.kpi_counted("actions_overdue", f))) == ["C1", "C6"]


@pytest.mark.parametrize("as_of", [T, EARLIER])
def test_every_cards_rows_are_as_many_as_its_number(con, as_of):
    f = Filters.default(as_of)
    card = metrics.contract(con, f)
    for key, kind, _ in KPIS:
        counted = drill.kpi_counted(key, f)
        found = rows(con, counted)
        if kind == "count":
            assert len(found) == card[key], key
            assert {r["rows_in_view"] for r in found} <= {card[key]}, key
        elif key == "median_days_to_close_km":
            closed = [day(r["closed_on"]) is not None and day(r["closed_on"]) <= as_of for r in found]
            assert len(rows(con, counted, counted.part)) == sum(closed)
            durations = [((day(r["closed_on"]) if shut else as_of) - day(r["found_on"])).days
                         for r, shut in zip(found, closed)]
            assert km_median(list(zip(durations, closed))) == card[key]
        else:
            part = len(rows(con, counted, counted.part))
            assert metrics.ratio(part, len(found)) == card[key], key
    on_time = drill.kpi_counted("on_time_closure_rate", f)
    assert len(rows(con, on_time, on_time.part)) == card["closed_on_time_in_period"]
    recurrence = drill.kpi_counted("recurrence_rate", f)
    assert len(rows(con, recurrence, recurrence.part)) == card["repeat_in_period"]


def test_inside_the_history_the_cards_count_what_was_true_then(con):
    f = Filters.default(EARLIER)
    # A3, A5, A7, A9, A11, A13, A14 were not found yet; A2, A10 and A12 were closed by then
    assert refs(rows(con, drill.kpi_counted("open", f))) == ["A4", "A6", "A8"]
    assert refs(rows(con, drill.kpi_counted("overdue", f))) == ["A8"]  # A6 was due on 2026-04-01
    # C3 was overdue then (done later); C6's finding was not found yet
    assert [r["ref"] for r in rows(con, drill.kpi_counted("actions_overdue", f))] == ["C3"]


@pytest.mark.parametrize("as_of", [T, EARLIER])
def test_every_aging_bar_opens_as_many_rows_as_it_shows(con, as_of):
    f = Filters.default(as_of)
    aging = metrics.contract(con, f)["aging"]
    for bucket, n in aging.items():
        assert len(rows(con, drill.chart_counted("aging", [bucket], f))) == n, bucket
    assert aging == ({"0-30": 2, "31-60": 1, "61-90": 1, "91-180": 1, "181+": 2} if as_of == T
                     else {"0-30": 1, "31-60": 0, "61-90": 0, "91-180": 1, "181+": 1})


@pytest.mark.parametrize("as_of", [T, EARLIER])
def test_every_top_overdue_bar_opens_its_units_own_overdue_findings(con, as_of):
    f = Filters.default(as_of)
    bars = store.run(con, "overdue_by_unit", f.params() | {"lang": "en"})
    for unit, overdue in zip(bars["unit"], bars["overdue"]):
        found = rows(con, drill.chart_counted("top-overdue", [unit], f))
        assert len(found) == overdue and {r["unit"] for r in found} == {unit}
    if as_of == T:  # DH's bar is its own A6, not its children's A3
        assert dict(zip(bars["unit"], bars["overdue"])) == {"DH": 1, "DH-01": 1, "DHX": 1, "DS": 1}


@pytest.mark.parametrize("as_of", [T, EARLIER])
def test_every_category_bar_opens_its_findings_opened_in_the_period(con, as_of):
    f = Filters.default(as_of)
    bars = store.run(con, "opened_by_category", f.params() | {"lang": "en"})
    for category, opened in zip(bars["category"], bars["opened"]):
        assert len(rows(con, drill.chart_counted("pareto-category", [category], f))) == opened, category
    if as_of == T:  # A9, with no criterion, is the bar with no category
        assert refs(rows(con, drill.chart_counted("pareto-category", [""], f))) == ["A9"]


@pytest.mark.parametrize("as_of", [T, EARLIER])
def test_every_month_of_opened_and_closed_opens_its_bars_and_backlog(con, as_of):
    f = Filters.default(as_of)
    months = store.run(con, "opened_closed_monthly", f.params())
    for month, opened, closed, backlog in months[["month", "opened", "closed", "backlog"]].itertuples(index=False):
        start = month.date().isoformat()
        for measure, n in (("opened", opened), ("closed", closed), ("backlog", backlog)):
            assert len(rows(con, drill.chart_counted("opened-closed", [start, measure], f))) == n, (start, measure)
    if as_of == T:  # at the end of 2026-03: A4, A6, A8 still open
        march = drill.chart_counted("opened-closed", ["2026-03-01", "backlog"], f)
        assert refs(rows(con, march)) == ["A4", "A6", "A8"]


@pytest.mark.parametrize("unit", [None, "DH"])
def test_every_repeat_bar_and_cell_opens_as_many_repeats(con, unit):
    f = Filters.default(T, unit=unit)
    tree = store.run(con, "unit_tree", f.params() | {"lang": "en"})
    for criterion, repeats in store.run(con, "repeats_by_criterion", f.params() | {"lang": "en"})[["criterion", "repeats"]].itertuples(
            index=False):
        found = rows(con, drill.Counted("nonconformity_rows", f, drill.repeats_counted(f, None, criterion, tree)))
        assert len(found) == repeats and all(r["is_repeat"] for r in found)
    cells = store.run(con, "repeats_by_unit_criterion", f.params() | {"lang": "en"})
    for cell, criterion, repeats in cells[["unit", "criterion", "repeats"]].itertuples(index=False):
        found = rows(con, drill.Counted("nonconformity_rows", f, drill.repeats_counted(f, cell, criterion, tree)))
        assert len(found) == repeats, (cell, criterion)
    # DH's own finding A6 is no repeat; A2 and A3 in DH-01, A5 and A14 in DH-02
    assert sorted(zip(cells["unit"], cells["criterion"], cells["repeats"])) == (
        [("DH", "1.1", 2), ("DH", "3.1", 2), ("DS", "2.1", 1)] if unit is None
        else [("DH-01", "1.1", 2), ("DH-02", "3.1", 2)])


def test_a_cell_of_the_chosen_unit_itself_counts_only_its_own_findings(con):
    tree = store.run(con, "unit_tree", Filters.default(T).params() | {"lang": "en"})
    f = Filters.default(T, unit="DH")
    assert drill.repeats_counted(f, "DH", "2.1", tree) == Drill(
        own_unit="DH", criterion="2.1", found_from=f.since, found_to=f.until, repeat=True)
    assert drill.repeats_counted(f, "DH-01", "1.1", tree).unit == "DH-01"
    assert drill.repeats_counted(Filters.default(T), "HQ", "3.1", tree).own_unit == "HQ"


def test_every_systemic_bar_opens_the_units_it_counted(con):
    f = Filters.default(T)
    bars = store.run(con, "systemic_criteria", f.params() | {"lang": "en"})
    for criterion, units in bars[["criterion", "units"]].itertuples(index=False):
        listed = store.run(con, "units_failing_criterion", f.params() | Drill(criterion=criterion).params())
        assert len(listed) == units, criterion
    listed = store.run(con, "units_failing_criterion", f.params() | Drill(criterion="3.1").params())
    assert listed[["unit", "findings", "repeats", "open"]].to_dict("records") == [
        {"unit": "DH-02", "findings": 3, "repeats": 2, "open": 1},
        {"unit": "HQ", "findings": 1, "repeats": 0, "open": 1},
    ]
