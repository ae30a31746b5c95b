"""Targets for Closeloop's own KPIs: the light each value earns, the target that holds for a unit, setting one
(an administrator's change in the trail), the goal lines and the Overview's cards."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from closeloop import charts, i18n, metrics, replica, screens, store, targets, trail
from closeloop.identity import Identity, local_administrator
from closeloop.refusal import Refused

from conftest import fresh_replica, nc

BOTH_BACKENDS = True
ADMIN = local_administrator("admin")
EN = i18n.translator("en")
APP = Path(__file__).parents[1]


def at_least(target, amber) -> targets.Target:
    return targets.Target("on_time_closure_rate", target, "higher", amber)


def at_most(target, amber) -> targets.Target:
    return targets.Target("overdue_share", target, "lower", amber)


# (value, target, light): each boundary on both sides, worked out by hand
LIGHTS = [
    (0.90, at_least(0.90, 0.05), "green"),  # on the target: green
    (0.95, at_least(0.90, 0.05), "green"),
    (0.8999, at_least(0.90, 0.05), "amber"),  # just short
    (0.85, at_least(0.90, 0.05), "amber"),  # the band's far end is amber (0.90 − 0.85 is 0.05000000000000004)
    (0.8499, at_least(0.90, 0.05), "red"),  # past the band
    (0.8999, at_least(0.90, 0), "red"),  # no band: anything short is red
    (0.05, at_most(0.05, 0.05), "green"),  # lower is better: the target itself is green
    (0.0, at_most(0.05, 0.05), "green"),
    (0.0501, at_most(0.05, 0.05), "amber"),
    (0.10, at_most(0.05, 0.05), "amber"),
    (0.1001, at_most(0.05, 0.05), "red"),
    (None, at_least(0.90, 0.05), None),  # no value (no closure with a due date): no light
    (float("nan"), at_least(0.90, 0.05), None),
    (0.5, None, None),  # no target: no light
]


@pytest.mark.parametrize("value,target,expected", LIGHTS)
def test_a_value_is_green_on_the_targets_side_amber_within_the_band_and_red_beyond(value, target, expected):
    assert targets.light(value, target) == expected


def contract(**values) -> dict:
    base = {"open": 50, "overdue": 42, "on_time_closure_rate": 0.86, "recurrence_rate": 0.02,
            "median_days_to_close_km": None, "actions_overdue": 7}
    return base | values


def test_the_overdue_share_is_overdue_over_open_and_none_with_nothing_open():
    assert targets.values(contract())["overdue_share"] == 0.84  # 42 / 50
    assert targets.values(contract(open=3, overdue=1))["overdue_share"] == 0.3333
    assert targets.values(contract(open=0, overdue=0))["overdue_share"] is None


@pytest.mark.parametrize(("overdue", "open_", "share"), [
    (1, 3, 0.3333),  # 0.33333… to four places
    (2, 3, 0.6667),  # 0.66666… rounds up
    (5, 8, 0.625),
    (4, 4, 1.0),
    (0, 7, 0.0),
    (0, 0, None),  # nothing open: no share, not 0 %
])
def test_the_overdue_share_is_overdue_over_open_to_four_places(overdue, open_, share):
    assert metrics.overdue_share({"overdue": overdue, "open": open_}) == share
    # a unit's row in the ranking reads the same two counts
    assert metrics.overdue_share(pd.Series({"unit": "DH", "overdue": overdue, "open": open_})) == share


def test_each_targeted_card_says_its_light_and_target_in_words_colour_and_icon():
    goals = {"on_time_closure_rate": at_least(0.90, 0.05), "overdue_share": at_most(0.05, 0.05),
             "recurrence_rate": targets.Target("recurrence_rate", 0.10, "lower", 0.05),
             "median_days_to_close_km": targets.Target("median_days_to_close_km", 60, "lower", 30)}
    assert targets.badges(contract(), goals, EN) == {
        # 86 %: within 5 points of 90 %
        "on_time_closure_rate": targets.Badge("near target · ≥ 90.0%", "orange", ":material/warning:"),
        # the card counts; the share is judged
        "overdue": targets.Badge("off target · 84.0% of open · ≤ 5.0%", "red", ":material/error:"),
        "recurrence_rate": targets.Badge("on target · ≤ 10.0%", "green", ":material/check_circle:"),
        # the median not reached: no value, no light
    }


def test_a_goal_line_is_drawn_at_the_target_with_its_label_and_none_without_one():
    quarters = pd.DataFrame({"quarter_start": [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-04-01")],
                             "on_time_rate": [0.8, 0.95]})
    goal = screens.goal({"on_time_closure_rate": at_least(0.9, 0.05)}, "on_time_closure_rate", EN)
    assert goal == (0.9, "target ≥ 90.0%")
    fig = charts.on_time_trend(quarters, EN, goal)
    assert [(s.type, s.y0, s.y1, s.line.dash) for s in fig.layout.shapes] == [("line", 0.9, 0.9, "dash")]
    assert [a.text for a in fig.layout.annotations] == ["target ≥ 90.0%"]
    assert charts.on_time_trend(quarters, EN, screens.goal({}, "on_time_closure_rate", EN)).layout.shapes == ()


# ---------------------------------------------------------------------------------------------
# The store: which target holds for a unit, and setting one


@pytest.fixture
def targeted(store_from_rows, backend, tmp_path):
    """conftest's units (HQ > DH > DH-01 > DH-01-1, HQ > DHX, HQ > DS), the organisation's on-time target of
    90 % and DH's own of 80 %; on PostgreSQL read back through a new replica."""
    con = store_from_rows([nc("N-1", "DH-01", "2026-01-10")])
    assert targets.set_target(con, ADMIN, "on_time_closure_rate", 0.9, "higher", 0.05) == 4  # created + 3 fields
    assert targets.set_target(con, ADMIN, "on_time_closure_rate", 0.8, unit="DH") == 4  # the organisation's way round
    if backend == "postgresql":
        con = fresh_replica(replica.of(con).url, tmp_path / "targets-replica")
    yield con
    if backend == "postgresql":
        con.close()


@pytest.mark.parametrize("unit,holds", [
    (None, ("any", 0.9)),  # the whole organisation
    ("DH", ("DH", 0.8)),  # its own
    ("DH-01-1", ("DH", 0.8)),  # the nearest unit above it with one
    ("DHX", ("any", 0.9)),  # its code starts with DH, yet it is not below DH
    ("DS", ("any", 0.9)),
])
def test_a_unit_has_its_own_target_else_the_nearest_above_else_the_organisations(targeted, unit, holds):
    found = targets.for_unit(targeted, unit)
    assert list(found) == ["on_time_closure_rate"]
    assert (found["on_time_closure_rate"].unit, found["on_time_closure_rate"].target) == holds
    assert (found["on_time_closure_rate"].direction, found["on_time_closure_rate"].amber) == ("higher", 0.05)


def test_setting_a_target_records_each_changed_field_in_the_sealed_trail(targeted):
    rows = targeted.execute("select ref, field, old, new, reason from events where entity = 'kpi_target' "
                            "order by id").fetchall()
    assert rows == [
        ("on_time_closure_rate/any", "created", None, None, "administer"),
        ("on_time_closure_rate/any", "target", None, "0.9", "administer"),
        ("on_time_closure_rate/any", "direction", None, "higher", "administer"),
        ("on_time_closure_rate/any", "amber", None, "0.05", "administer"),
        ("on_time_closure_rate/DH", "created", None, None, "administer"),
        ("on_time_closure_rate/DH", "target", None, "0.8", "administer"),
        ("on_time_closure_rate/DH", "direction", None, "higher", "administer"),
        ("on_time_closure_rate/DH", "amber", None, "0.05", "administer"),
    ]
    assert trail.verify(targeted).problems == []


def test_setting_the_same_target_again_changes_nothing_and_a_new_one_one_field(store_from_rows):
    con = store_from_rows([nc("N-1", "DH-01", "2026-01-10")])
    targets.set_target(con, ADMIN, "overdue_share", 0.05, "lower", 0.05)
    assert targets.set_target(con, ADMIN, "overdue_share", 0.05) == 0
    assert targets.set_target(con, ADMIN, "overdue_share", 0.04) == 1
    assert con.execute("select target, direction, amber, version from kpi_targets").fetchall() == [
        (0.04, "lower", 0.05, 5)]  # inserted (1), three fields set (4), the target changed (5)


@pytest.mark.parametrize("who,args,key", [
    (Identity("v@example.org", "viewer"), ("on_time_closure_rate", 0.9, "higher"), "refused_role"),
    (Identity("e@example.org", "unit_editor", unit="DH"), ("on_time_closure_rate", 0.9, "higher"), "refused_role"),
    (ADMIN, ("speed", 3, "higher"), "target_unknown_kpi"),
    (ADMIN, ("on_time_closure_rate", 1.2, "higher"), "target_bad_value"),  # a rate above 1
    (ADMIN, ("median_days_to_close_km", -1, "lower"), "target_bad_value"),
    (ADMIN, ("on_time_closure_rate", 0.9, "sideways"), "target_bad_direction"),
    (ADMIN, ("on_time_closure_rate", 0.9, None), "target_needs_direction"),  # the first, with none to follow
])
def test_a_bad_target_or_a_writer_who_may_not_is_refused_and_nothing_is_written(store_from_rows, who, args, key):
    con = store_from_rows([nc("N-1", "DH-01", "2026-01-10")])
    events = con.execute("select count(*) from events").fetchone()[0]
    with pytest.raises(Refused) as refused:
        targets.set_target(con, who, *args)
    assert refused.value.key == key
    assert con.execute("select count(*) from kpi_targets").fetchone()[0] == 0
    assert con.execute("select count(*) from events").fetchone()[0] == events


def test_an_unknown_unit_is_refused(store_from_rows):
    con = store_from_rows([nc("N-1", "DH-01", "2026-01-10")])
    with pytest.raises(Refused) as refused:
        targets.set_target(con, ADMIN, "on_time_closure_rate", 0.9, "higher", unit="NOPE")
    assert (refused.value.key, refused.value.details) == ("unknown_unit_arg", {"unit": "NOPE"})


# ---------------------------------------------------------------------------------------------
# The command line and the Overview on the demo store (its defaults: on time ≥ 90 %, overdue ≤ 5 %,
# recurrence ≤ 10 %, median ≤ 60 days)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory, cli) -> Path:
    db = tmp_path_factory.mktemp("targets-demo") / "closeloop.duckdb"
    done = cli("demo", "--db", db, "--ncs", "600")
    assert done.returncode == 0, done.stderr
    return db


def test_the_command_line_lists_sets_and_refuses_targets_in_one_line(cli, demo_file, tmp_path, monkeypatch):
    db = tmp_path / "store.duckdb"
    shutil.copy(demo_file, db)
    monkeypatch.setenv("CLOSELOOP_LANG", "en")
    listed = cli("target", "--db", db)
    assert listed.stdout.splitlines() == [
        "median_days_to_close_km (whole organisation): ≤ 60, amber band 30",
        "on_time_closure_rate (whole organisation): ≥ 90.0%, amber band 5.0%",
        "overdue_share (whole organisation): ≤ 5.0%, amber band 5.0%",
        "recurrence_rate (whole organisation): ≤ 10.0%, amber band 5.0%",
    ]
    done = cli("target", "on_time_closure_rate", "85%", "--unit", "DH", "--db", db)
    assert (done.returncode, done.stdout.strip()) == (0, "Saved: 4 changes recorded.")
    assert "on_time_closure_rate (DH): ≥ 85.0%, amber band 5.0%" in cli("target", "--db", db).stdout.splitlines()
    bad = cli("target", "overdue_share", "lots", "--db", db)
    assert (bad.returncode, bad.stderr.strip().splitlines()) == (2, [
        "Target lots for overdue_share is not valid: a rate is 0 to 1 (or 0% to 100%), days and counts are "
        "numbers of 0 or more."])


def test_the_overview_cards_show_each_light_from_the_numbers_metrics_prints(cli, demo_file, tmp_path, monkeypatch,
                                                                          fresh_caches):
    db = tmp_path / "store.duckdb"
    shutil.copy(demo_file, db)
    monkeypatch.setenv("CLOSELOOP_DB", str(db))
    printed = json.loads(cli("metrics", "--db", db, "--as-of", "2026-06-30").stdout)
    share = printed["overdue"] / printed["open"]
    at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=90)
    at.session_state["as_of"] = date(2026, 6, 30)
    at.query_params["lang"] = "en"
    at.run()
    said = {key: [m.value for m in at.get_by_key(f"kpi-{key}").markdown]
            for key in ("on_time_closure_rate", "overdue", "recurrence_rate", "median_days_to_close_km", "open")}

    def badge(light, text):
        colour, icon = {"green": ("green", "check_circle"), "amber": ("orange", "warning"),
                        "red": ("red", "error")}[light]
        words = {"green": "on target", "amber": "near target", "red": "off target"}[light]
        return [f":{colour}-badge[:material/{icon}: {words} · {text}]"]

    # the lights worked out here from the printed numbers and the demo's targets, not by targets.light
    on_time = "green" if printed["on_time_closure_rate"] >= 0.9 else "amber" if printed["on_time_closure_rate"] >= 0.85 \
        else "red"
    overdue = "green" if share <= 0.05 else "amber" if share <= 0.10 else "red"
    recurrence = "green" if printed["recurrence_rate"] <= 0.10 else "amber" if printed["recurrence_rate"] <= 0.15 else "red"
    median = "green" if printed["median_days_to_close_km"] <= 60 else "amber" if printed["median_days_to_close_km"] <= 90 \
        else "red"
    assert said == {
        "on_time_closure_rate": badge(on_time, "≥ 90.0%"),
        "overdue": badge(overdue, f"{share:.1%} of open · ≤ 5.0%"),
        "recurrence_rate": badge(recurrence, "≤ 10.0%"),
        "median_days_to_close_km": badge(median, "≤ 60"),
        "open": [],  # no target
    }
    assert (on_time, overdue) == ("red", "red")  # the demo's bureau is behind on both: the check shows red
    # the cards' own label and number are as before: the light is beside them, not in them
    assert at.get_by_key("kpi-on_time_closure_rate").metric[0].label == "On-time closure rate"
    assert at.get_by_key("kpi-on_time_closure_rate").metric[0].value == f"{printed['on_time_closure_rate']:.1%}"
