"""The metric contract of DESIGN.md on small literal ledgers (see conftest.py), as of T = 2026-06-30."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from closeloop import identity, ledger, metrics, store, workflow
from closeloop.filters import Filters

from conftest import action, csv_text, nc

BOTH_BACKENDS = True
T = date(2026, 6, 30)

IN_SCOPE = """
select *
from nonconformity_in_scope($filters)
order by ref
"""


def contract(con, scope=None, **changes) -> dict:
    return metrics.contract(con, Filters.default(T, **changes), scope)


def refs(con, term=None, scope=None, **changes) -> list[str]:
    """The refs in scope for the filters, where the business term `term` holds (all of them if None)."""
    f = Filters.default(T, **changes)
    store.ensure_repeats(con, f.window_days)
    rows = con.execute(IN_SCOPE, store.bind(IN_SCOPE, f.params(scope))).df()
    return rows.loc[rows[term], "ref"].tolist() if term else rows["ref"].tolist()


def durations(con, f: Filters) -> list[tuple[int, int, int]]:
    rows = store.run(con, "time_to_close_durations", f.params())
    return [tuple(int(v) for v in r) for r in rows[["duration", "events", "exits"]].itertuples(index=False)]


# Open and overdue


def test_open_excludes_items_closed_on_or_before_as_of_and_items_found_after_it(status_store):
    assert refs(status_store, "is_open") == [
        "S-CLOSED-AFTER-T", "S-DUE-LATER", "S-DUE-TODAY", "S-DUE-YESTERDAY", "S-NO-DUE",
    ]
    assert contract(status_store)["open"] == 5


def test_overdue_excludes_due_today_and_items_without_due_date(status_store):
    assert refs(status_store, "is_overdue") == ["S-CLOSED-AFTER-T", "S-DUE-YESTERDAY"]
    assert contract(status_store)["overdue"] == 2


def test_open_items_without_due_date_count_as_no_due_date_open(status_store):
    # S-NO-DUE; S-NO-DUE-CLOSED has no due date either but is closed.
    assert contract(status_store)["no_due_date_open"] == 1


# The period


def test_opened_in_period_includes_both_boundary_days(period_store):
    # P-FOUND-FIRST-DAY (2025-07-01) and P-FOUND-LAST-DAY (2026-06-30); not P-FOUND-DAY-BEFORE.
    assert contract(period_store)["opened_in_period"] == 2


def test_closed_in_period_includes_both_boundary_days(period_store):
    # P-FOUND-DAY-BEFORE (closed 2025-07-01) and P-FOUND-FIRST-DAY (closed 2026-06-30); not P-CLOSED-DAY-BEFORE.
    assert contract(period_store)["closed_in_period"] == 2


def test_the_period_is_from_and_to_not_the_year_before_as_of(period_store):
    f = Filters.default(T).replace(since=date(2025, 7, 2), until=date(2026, 6, 29))
    counts = metrics.contract(period_store, f)
    assert (counts["opened_in_period"], counts["closed_in_period"]) == (0, 0)


def test_closed_on_time_means_closed_on_or_before_the_due_date(on_time_store):
    # Closed in the period: O-ON-DUE-DAY and O-EARLY on time, O-LATE and O-NO-DUE not.
    counts = contract(on_time_store)
    assert (counts["closed_in_period"], counts["closed_on_time_in_period"]) == (4, 2)


def test_a_closure_without_due_date_leaves_the_on_time_rate_s_denominator(on_time_store):
    # O-NO-DUE is closed in the period but neither on time nor late: 2 on time of the 3 with a due date
    # (O-ON-DUE-DAY, O-EARLY, O-LATE), not 2 of 4.
    assert contract(on_time_store)["on_time_closure_rate"] == 0.6667


def test_the_quarterly_on_time_rate_leaves_closures_without_due_date_out_too(on_time_store):
    rows = store.run(on_time_store, "on_time_by_quarter", Filters.default(T).params())
    # (quarter, closed, closed on time, closed with a due date, rate): O-NO-DUE counts as closed only.
    assert [(r[0].strftime("%Y-%m-%d"), *r[1:4], round(r[4], 4)) for r in rows.itertuples(index=False)] == [
        ("2026-01-01", 4, 2, 3, 0.6667),
    ]


def test_on_time_rate_is_none_when_no_closure_in_period_had_a_due_date(store_from_rows):
    con = store_from_rows([nc("O-NO-DUE", "DH-01", "2026-01-01", closed_on="2026-01-20")])
    counts = contract(con)
    assert (counts["closed_in_period"], counts["closed_on_time_in_period"], counts["on_time_closure_rate"]) == (
        1, 0, None,
    )


def test_rates_are_none_when_nothing_was_closed_or_opened_in_period(period_store):
    f = Filters.default(T).replace(since=date(2024, 1, 1), until=date(2024, 12, 31))
    counts = metrics.contract(period_store, f)
    assert (counts["on_time_closure_rate"], counts["recurrence_rate"]) == (None, None)


# Median days to close (Kaplan–Meier)


def test_durations_censor_items_open_at_as_of_and_leave_out_items_found_outside(km_store):
    # (duration, events, exits): K-CLOSED-AFTER-T is censored at T - found_on = 29, not an event at 39.
    assert durations(km_store, Filters.default(T)) == [
        (10, 1, 1), (15, 0, 1), (20, 1, 1), (29, 0, 1), (30, 1, 1), (40, 0, 1), (50, 0, 1),
    ]


def test_durations_leave_out_items_found_after_as_of_when_the_period_runs_past_it(km_store):
    # K-AFTER-T (found 2026-08-01) is in this period but after T.
    f = Filters.default(T).replace(until=date(2026, 12, 31))
    assert durations(km_store, f) == durations(km_store, Filters.default(T))


def test_survival_is_the_product_over_event_times_of_one_minus_events_over_at_risk(km_store):
    # At 10: 7 at risk, S = 6/7; at 20: 5 at risk, S = 6/7 · 4/5 = 24/35; at 30: 3 at risk, S = 24/35 · 2/3 = 16/35.
    curve = metrics.survival(store.run(km_store, "time_to_close_durations", Filters.default(T).params()))
    assert curve["at_risk"].tolist() == [7, 6, 5, 4, 3, 2, 1]
    assert curve["survival"].tolist() == pytest.approx(
        [6 / 7, 6 / 7, 24 / 35, 24 / 35, 16 / 35, 16 / 35, 16 / 35], rel=1e-12,
    )


def test_km_median_counts_open_items_as_censored(km_store):
    # S(30) = 16/35 <= 0.5 is the first time at or below a half. The plain median of the items
    # closed by T (10, 20, 30) is 20; counting K-CLOSED-AFTER-T as an event at 39 would give 39.
    assert contract(km_store)["median_days_to_close_km"] == 30.0


def test_km_median_is_none_when_the_curve_never_reaches_one_half(km_never_half_store):
    # One event among four at risk: S stays at 3/4.
    assert contract(km_never_half_store)["median_days_to_close_km"] is None


# DESIGN: the median is the smallest t with S(t) <= 0.5. Three of six closed at 10 days is S(10) = 1/2
# exactly; a float product reads 0.5000000000000001 there (lifelines reports 20), the contract says 10.
def test_km_median_is_the_day_survival_reaches_exactly_one_half():
    curve = metrics.survival(pd.DataFrame({"duration": [10, 20], "events": [3, 3], "exits": [3, 3]}))
    assert metrics.quantile_days(curve) == 10.0


# Repeats


def test_same_unit_criterion_and_day_is_not_a_repeat(repeat_store):
    repeats = refs(repeat_store, "is_repeat")
    assert "R-BASE" not in repeats and "R-SAME-DAY" not in repeats


def test_exactly_window_days_later_is_a_repeat_and_one_day_more_is_not(repeat_store):
    repeats = refs(repeat_store, "is_repeat")
    assert "R-AFTER-365" in repeats and "R-AFTER-366" not in repeats


def test_repeats_need_the_same_unit(repeat_store):
    assert "R-OTHER-UNIT" not in refs(repeat_store, "is_repeat")


def test_repeats_for_a_365_day_window(repeat_store):
    assert refs(repeat_store, "is_repeat") == ["R-AFTER-365", "R-BEFORE-CLOSURE", "R-ON-CLOSURE-DAY"]


def test_repeat_after_closure_needs_the_earlier_item_closed_on_or_before_the_later_is_found(repeat_store):
    # R-ON-CLOSURE-DAY: its base closed the day it was found. R-BEFORE-CLOSURE: its base closed later.
    assert refs(repeat_store, "is_repeat_after_closure") == ["R-AFTER-365", "R-ON-CLOSURE-DAY"]


def test_a_different_window_changes_the_flags(repeat_store):
    # Gaps: R-ON-CLOSURE-DAY 31 days, R-BEFORE-CLOSURE 62, R-AFTER-365 365, R-AFTER-366 366.
    # Asked one after the other on one store, so a cached window cannot answer for another.
    by_window = [(w, contract(repeat_store, window_days=w)["repeat_in_period"]) for w in (365, 30, 31, 366, 365)]
    assert by_window == [(365, 3), (30, 0), (31, 1), (366, 4), (365, 3)]


def test_recurrence_rate_is_repeats_opened_in_period_over_opened_in_period(repeat_store):
    # Opened in the period: all but R-BASE, R-SAME-DAY and R-BASE-2 (found 2025-01-10): 7; repeats among them: 3.
    counts = contract(repeat_store)
    assert (counts["opened_in_period"], counts["repeat_in_period"], counts["recurrence_rate"],
            counts["repeat_after_closure_in_period"]) == (7, 3, 0.4286, 2)


def test_repeat_flags_are_computed_before_the_filters(repeat_store):
    # R-AFTER-365 is the only management_review finding; its earlier findings are filtered out.
    counts = contract(repeat_store, sources=("management_review",))
    assert (counts["opened_in_period"], counts["repeat_in_period"], counts["repeat_after_closure_in_period"]) == (
        1, 1, 1,
    )


# Aging


def test_aging_buckets_split_after_30_60_90_and_180_days(aging_store):
    assert contract(aging_store)["aging"] == {"0-30": 2, "31-60": 2, "61-90": 2, "91-180": 2, "181+": 1}


# Unit, scope and the other filters


def test_unit_filter_includes_the_subtree_and_excludes_siblings(spread_store):
    assert refs(spread_store, unit="DH") == ["F-DH", "F-DH-01", "F-DH-01-1", "F-DH-02"]


def test_unit_filter_on_a_child_keeps_its_own_subtree_only(spread_store):
    assert refs(spread_store, unit="DH-01") == ["F-DH-01", "F-DH-01-1"]


def test_unit_filter_reaches_the_contract(spread_store):
    assert [contract(spread_store, unit=u)["open"] for u in (None, "HQ", "DH", "DH-01", "DS")] == [8, 8, 4, 2, 2]


def test_scope_restricts_like_the_unit_filter_and_together_they_intersect(spread_store):
    assert refs(spread_store, scope="DH-01") == ["F-DH-01", "F-DH-01-1"]
    assert refs(spread_store, scope="DH", unit="DH-02") == ["F-DH-02"]
    assert refs(spread_store, scope="DH", unit="DS") == []


@pytest.mark.parametrize(("changes", "expected"), [
    ({"sources": ("inspection",)}, ["F-DH", "F-DHX", "F-DS-NO-CRITERION"]),
    ({"sources": ("inspection", "internal_audit")}, ["F-DH", "F-DHX", "F-DS", "F-DS-NO-CRITERION", "F-HQ"]),
    ({"severities": ("major",)}, ["F-DH-01-1", "F-DHX", "F-HQ"]),
    ({"severities": ("observation", "minor")}, ["F-DH", "F-DH-01", "F-DH-02", "F-DS", "F-DS-NO-CRITERION"]),
    ({"categories": ("思想建設",)}, ["F-DH-01", "F-DH-02"]),  # a finding with no criterion has no category
    ({"unit": "DH", "severities": ("minor",)}, ["F-DH", "F-DH-02"]),
    ({"sources": ("inspection",), "categories": ("組織建設",)}, ["F-DH", "F-DHX"]),
], ids=["source", "two-sources", "severity", "two-severities", "category", "unit-and-severity",
        "source-and-category"])
def test_filters_select_by_source_severity_and_category(spread_store, changes, expected):
    assert refs(spread_store, **changes) == expected


def test_filters_reach_the_contract(spread_store):
    counts = contract(spread_store, sources=("inspection",), severities=("minor",))
    assert (counts["open"], counts["opened_in_period"]) == (2, 2)  # F-DH, F-DS-NO-CRITERION


# Actions


def test_actions_open_excludes_cancelled_and_done_by_as_of(actions_store):
    # A-DONE-AFTER-T, A-DUE-TODAY, A-OVERDUE, A-NO-DUE.
    assert contract(actions_store, unit="DH-01")["actions_open"] == 4


def test_actions_overdue_excludes_due_today_and_no_due_date(actions_store):
    # A-DONE-AFTER-T, A-OVERDUE.
    assert contract(actions_store, unit="DH-01")["actions_overdue"] == 2


def test_actions_count_for_the_nonconformities_in_scope_only(actions_store):
    # The whole organisation adds A-DS-OVERDUE, open and overdue.
    counts = contract(actions_store)
    assert (counts["actions_open"], counts["actions_overdue"]) == (5, 3)


def test_an_action_of_a_finding_found_after_as_of_is_not_open_at_as_of(store_from_rows):
    # At T = 2026-06-30 the finding AC-LATER is not found yet: its planned, long overdue action does not
    # exist then. On the day it is found (2026-07-01) the action is open and overdue.
    con = store_from_rows(
        [
            nc("AC-NOW", "DH-01", "2026-01-01", due_on="2026-12-31"),  # found before T
            nc("AC-LATER", "DH-01", "2026-07-01", due_on="2026-12-31"),  # found the day after T
        ],
        [
            action("A-NOW", "AC-NOW", "2026-03-01"),  # open and overdue at T
            action("A-LATER", "AC-LATER", "2026-03-01"),  # due before its finding was found (a back-dated ledger)
        ],
    )
    at_t, next_day = contract(con), metrics.contract(con, Filters.default(date(2026, 7, 1)))
    assert [(c["actions_open"], c["actions_overdue"]) for c in (at_t, next_day)] == [(1, 1), (2, 2)]


def test_actions_of_a_finding_found_after_as_of_are_in_no_page_s_open_list_or_count(store_from_rows):
    con = store_from_rows(
        [nc("AC-NOW", "DH-01", "2026-01-01", "2026-12-31"), nc("AC-LATER", "DH-01", "2026-07-01", "2026-12-31")],
        [action("A-NOW", "AC-NOW", "2026-03-01"), action("A-LATER", "AC-LATER", "2026-03-01")],
    )
    params = Filters.default(T).params() | {"view": "open", "limit": 500, "me": []}
    listed = store.run(con, "rectification_actions", params)
    assert (listed["ref"].tolist(), listed["rows_in_view"].tolist()) == (["A-NOW"], [1])
    by_unit = store.run(con, "kpis_by_child_unit", params | {"lang": "zh-Hans"})
    assert by_unit[["unit", "actions_overdue"]].values.tolist() == [["DH", 1]]


def test_an_action_follows_its_finding_s_found_on_when_a_ledger_moves_it_across_as_of(store_from_rows, tmp_path):
    # AC-MOVED is first found the day after T, then the same ledger says 2026-06-01, then again 2026-07-02:
    # its action, overdue since March, is open at T only while its finding is found by then.
    rows = [nc("AC-NOW", "DH-01", "2026-01-01", "2026-12-31"), nc("AC-MOVED", "DH-01", "2026-07-01", "2026-12-31")]
    con = store_from_rows(rows, [action("A-NOW", "AC-NOW", "2026-03-01"), action("A-MOVED", "AC-MOVED", "2026-03-01")])
    seen = [(contract(con)["actions_open"], contract(con)["actions_overdue"])]
    for found_on in ("2026-06-01", "2026-07-02"):
        (tmp_path / "nonconformities.csv").write_text(csv_text([nc("AC-MOVED", "DH-01", found_on, "2026-12-31")]),
                                                      encoding="utf-8")
        assert ledger.load(con, ledger.read([tmp_path]), actor="test").ok
        seen.append((contract(con)["actions_open"], contract(con)["actions_overdue"]))
    assert seen == [(1, 1), (2, 2), (1, 1)]


def test_an_action_added_to_a_finding_found_after_as_of_is_not_open_at_as_of(store_from_rows):
    # The action is written without its finding's id (workflow.add_action); it is open from 2026-07-01 on.
    con = store_from_rows([nc("AC-NOW", "DH-01", "2026-01-01", "2026-12-31"),
                           nc("AC-LATER", "DH-01", "2026-07-01", "2026-12-31")])
    workflow.add_action(con, identity.local_administrator("admin"), "AC-LATER", kind="corrective",
                        description="補齊記錄", owner="王明", due_on=date(2026, 7, 5))
    later = metrics.contract(con, Filters.default(date(2026, 7, 1)))
    assert (contract(con)["actions_open"], later["actions_open"]) == (0, 1)


# Filters: the default period and the previous one


def test_default_period_is_the_twelve_months_ending_on_as_of():
    f = Filters.default(date(2026, 6, 30))
    assert (f.as_of, f.since, f.until, f.unit, f.window_days) == (
        date(2026, 6, 30), date(2025, 7, 1), date(2026, 6, 30), None, 365,
    )


def test_default_period_ending_on_29_february_starts_on_1_march():
    f = Filters.default(date(2028, 2, 29))
    assert (f.since, f.until) == (date(2027, 3, 1), date(2028, 2, 29))


def test_previous_period_is_the_same_length_just_before_as_of_its_last_day():
    f = Filters.default(date(2026, 6, 30), unit="DH")
    assert f.previous() == Filters(
        as_of=date(2025, 6, 30), since=date(2024, 7, 1), until=date(2025, 6, 30), unit="DH",
    )


def test_previous_of_a_91_day_period_is_the_91_days_before_it():
    # 2026-04-01 … 2026-06-30 is 30 + 31 + 30 = 91 days; the 91 days before it start on 2025-12-31.
    f = Filters.default(date(2026, 6, 30)).replace(since=date(2026, 4, 1))
    p = f.previous()
    assert (p.as_of, p.since, p.until) == (date(2026, 3, 31), date(2025, 12, 31), date(2026, 3, 31))
