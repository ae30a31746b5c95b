"""The date the dashboard opens on: today, or the data's last day when the data ends before today."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from closeloop import i18n, store
from closeloop.filters import opening_as_of

from conftest import action, csv_text, nc

APP = Path(__file__).parents[1]
TODAY = date(2026, 12, 3)

# A ledger that ends in 2024: first found 2024-01-10, last thing done 2024-06-15 (an action), and a due
# date in 2025 that is a plan, not something that happened.
PAST = {
    "units": [{"code": "HQ", "name": "總局", "parent": None}, {"code": "DH", "name": "定海分局", "parent": "HQ"}],
    "criteria": [{"code": "1.1", "title": "三會一課按期召開", "category": "組織建設"}],
    "nonconformities": [
        nc("E-FIRST", "DH", "2024-01-10", "2024-02-10", "2024-03-01"),  # the first found; closed on 2024-03-01
        nc("E-OPEN", "DH", "2024-05-02", "2025-03-01"),  # found last, still open, due after the data ends
    ],
    "actions": [action("EA-DONE-LAST", "E-OPEN", "2024-07-01", "2024-06-15")],  # the last day anything happened
}


@pytest.mark.parametrize(("last_on", "today", "opens_on"), [
    (date(2024, 6, 15), TODAY, date(2024, 6, 15)),  # data of the past: its last day
    (date(2026, 12, 2), TODAY, date(2026, 12, 2)),  # ends yesterday: yesterday
    (TODAY, TODAY, TODAY),  # data up to today: today
    (date(2027, 1, 5), TODAY, TODAY),  # a date typed in the future does not move the dashboard there
    (None, TODAY, TODAY),  # an empty store
])
def test_the_dashboard_opens_on_the_data_s_last_day_only_when_it_is_before_today(last_on, today, opens_on):
    assert opening_as_of(last_on, today) == opens_on


@pytest.mark.parametrize(("changed", "last_on"), [
    ({}, date(2024, 6, 15)),  # the action done on 2024-06-15
    ({"closed_on": "2024-08-01"}, date(2024, 8, 1)),  # E-OPEN closed after it
    ({"found_on": "2024-09-09", "closed_on": None}, date(2024, 9, 9)),  # E-OPEN found after it
])
def test_the_data_s_last_day_is_the_last_found_closed_or_done_never_a_due_date(store_from_rows, changed, last_on):
    rows = [PAST["nonconformities"][0], PAST["nonconformities"][1] | changed]
    con = store_from_rows(rows, PAST["actions"], units=PAST["units"], criteria=PAST["criteria"])
    dates = store.run(con, "data_dates", {"scope": None}).iloc[0]
    assert (dates["first_on"].date(), dates["last_on"].date()) == (date(2024, 1, 10), last_on)


@pytest.fixture(scope="module")
def past_store_file(tmp_path_factory, cli) -> Path:
    folder = tmp_path_factory.mktemp("past-ledger")
    for name, rows in PAST.items():
        (folder / f"{name}.csv").write_text(csv_text(rows), encoding="utf-8")
    db = folder / "closeloop.duckdb"
    done = cli("import", folder, "--db", db)
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture
def past_store(past_store_file, monkeypatch, fresh_caches) -> Path:
    monkeypatch.setenv("CLOSELOOP_DB", str(past_store_file))
    return past_store_file


def dashboard(lang: str, url: dict | None = None) -> AppTest:
    """The app as a link opens it: nothing in the session, only the URL."""
    at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=60)
    at.query_params["lang"] = lang
    for key, value in (url or {}).items():
        at.query_params[key] = value
    return at.run()


def kpi(at: AppTest, key: str) -> str:
    (metric,) = at.get_by_key(f"kpi-{key}").metric
    return metric.value


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_store_of_past_data_opens_on_its_last_day_and_says_so(past_store, lang):
    at = dashboard(lang)
    assert not at.exception
    t = i18n.translator(lang)
    assert at.session_state["as_of"] == date(2024, 6, 15)
    assert at.info[0].value == t("as_of_data_end", last="2024-06-15")  # above the page
    assert at.caption[0].value.startswith(t("overview_caption", as_of="2024-06-15", since="2023-06-16",
                                            until="2024-06-15", scope=t("whole_organisation")))
    assert t("data_range", first="2024-01-10", last="2024-06-15") in [c.value for c in at.sidebar.caption]
    # Both findings were found in the year ending 2024-06-15; E-OPEN is still open then.
    assert (kpi(at, "opened_in_period"), kpi(at, "open"), kpi(at, "closed_in_period")) == ("2", "1", "1")


def test_an_as_of_in_the_link_is_kept_and_needs_no_notice(past_store):
    at = dashboard("en", {"as_of": "2024-02-29"})
    assert not at.exception
    assert at.session_state["as_of"] == date(2024, 2, 29)
    assert i18n.translate("en", "as_of_data_end", last="2024-06-15") not in [i.value for i in at.info]
    assert at.caption[0].value.startswith("As of 2024-02-29, period 2023-03-01 to 2024-02-29")
    assert "Data from 2024-01-10 to 2024-06-15" in [c.value for c in at.sidebar.caption]
    assert (kpi(at, "opened_in_period"), kpi(at, "open")) == ("1", "1")  # E-FIRST, found and still open
