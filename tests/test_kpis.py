"""The Overview's KPI row and My unit's ranking read one table of measures, each measure's kind stated once."""

from closeloop import kpis


def test_the_overview_cards_are_the_eight_measures_in_their_order_with_their_colours():
    assert kpis.KPIS == (
        ("open", "count", "inverse"),
        ("overdue", "count", "inverse"),
        ("opened_in_period", "count", "off"),
        ("closed_in_period", "count", "normal"),
        ("on_time_closure_rate", "rate", "normal"),
        ("median_days_to_close_km", "days", "inverse"),
        ("recurrence_rate", "rate", "inverse"),
        ("actions_overdue", "count", "inverse"),
    )


def test_my_unit_ranks_seven_measures_each_the_way_that_is_better():
    assert kpis.RANKED == (
        ("open", "count", "lower"),
        ("overdue", "count", "lower"),
        ("overdue_rate", "rate", "lower"),
        ("on_time_closure_rate", "rate", "higher"),
        ("median_days_to_close_km", "days", "lower"),
        ("recurrence_rate", "rate", "lower"),
        ("actions_overdue", "count", "lower"),
    )
