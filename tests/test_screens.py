"""Page, meeting pack and benchmark show one screen function's numbers, and those are the metrics command's."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from closeloop import bench, i18n, kpis, report, screens, store
from closeloop.filters import Filters

APP = Path(__file__).parents[1]
AS_OF = date(2026, 6, 30)
F = Filters.default(AS_OF, unit="DH")
# The metric contract's numbers (metrics.contract), as the command prints them.
CONTRACT_KEYS = ("open", "overdue", "opened_in_period", "closed_in_period", "closed_on_time_in_period",
                 "on_time_closure_rate", "median_days_to_close_km", "repeat_in_period", "recurrence_rate",
                 "repeat_after_closure_in_period", "actions_open", "actions_overdue", "no_due_date_open", "aging")


@pytest.fixture(scope="module")
def golden_file(tmp_path_factory, golden_imported) -> Path:
    db = tmp_path_factory.mktemp("screens") / "closeloop.duckdb"
    golden_imported(db)
    return db


@pytest.fixture(scope="module")
def command_line(cli, golden_file) -> dict:
    """The metric contract's part of `python -m closeloop metrics --as-of 2026-06-30 --unit DH`: computed apart
    from any screen (the command prints the plan-and-check sections after it)."""
    done = cli("metrics", "--db", golden_file, "--as-of", AS_OF.isoformat(), "--unit", "DH")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    return {key: printed[key] for key in CONTRACT_KEYS}


@pytest.fixture(scope="module")
def shown(golden_file) -> dict:
    """The Overview screen and the pack, both for unit DH in English (the store let go again: a command waits
    for a store held open)."""
    con = store.connect(golden_file)
    try:
        return {"screen": screens.overview(con, F, None, "en"), "pack": report.gather(con, F, "en")}
    finally:
        con.close()


def test_the_overview_screen_has_the_numbers_of_the_metrics_command(shown, command_line):
    assert command_line["open"] == 19  # the golden answer for DH (expected.json), so the fixture is the right one
    assert bench.plain(shown["screen"].contract) == command_line


def test_the_pack_prints_the_screens_numbers(shown, command_line):
    assert bench.plain(shown["pack"].now) == command_line
    assert bench.plain(shown["pack"].before) == bench.plain(shown["screen"].previous)


def test_the_overview_draws_each_chart_from_its_own_rows_as_overview_from_does(shown):
    # screens.overview draws the charts of its queries as their rows come in, beside the contracts' queries;
    # the pandas way draws them after, with overview_from: the same figures, each from its own rows.
    s = shown["screen"]
    again = screens.overview_from(s.contract, s.previous, s.opened_closed_monthly, s.overdue_by_unit,
                                  s.opened_by_category, "en")
    assert list(s.charts) == ["chart_opened_closed", "chart_aging", "chart_top_overdue", "chart_pareto_category"]
    assert {k: f.to_json() for k, f in s.charts.items()} == {k: f.to_json() for k, f in again.charts.items()}
    top, pareto = s.charts["chart_top_overdue"].data[0], s.charts["chart_pareto_category"].data[0]
    assert list(top.customdata) == s.overdue_by_unit["unit"].tolist()[::-1]  # most overdue at the top
    assert list(pareto.x) == s.opened_by_category["opened"].head(20).tolist()[::-1]


def test_the_pack_prints_each_screens_charts_in_the_screens_order(shown, golden_file):
    con = store.connect(golden_file)
    try:
        expected = [(f"page_{page}", title) for page in report.CHART_PAGES
                    for title in getattr(screens, page)(con, F, None, "en").charts]
    finally:
        con.close()
    assert [(c.page, c.title) for c in shown["pack"].charts] == expected
    assert [c.title for c in shown["pack"].charts[:4]] == list(shown["screen"].charts)


def test_the_benchmark_times_the_screen_functions_themselves():
    assert {page: work for page, (work, _) in bench.PAGES.items()} == {
        "overview": screens.overview, "units": screens.units, "recurrence": screens.recurrence,
        "time_to_close": screens.time_to_close, "rectification": screens.rectification, "data": screens.data_quality,
        "my_unit": screens.my_unit,
    }


def test_the_benchmark_reads_the_screens_numbers_and_counts_its_figures(shown, command_line):
    numbers = bench.plain(shown["screen"])
    assert numbers["contract"] == command_line
    assert numbers["figures"] == 4  # DH has overdue findings and categories: every Overview chart draws


def test_the_page_shows_the_screens_numbers(golden_file, tmp_path, monkeypatch, command_line, fresh_caches):
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(golden_file, db)
    monkeypatch.setenv("CLOSELOOP_DB", str(db))
    at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=60)
    at.session_state["as_of"] = AS_OF
    at.query_params["lang"] = "en"
    at.query_params["unit"] = "DH"
    at.run()
    assert not at.exception
    t = i18n.translator("en")
    shown_values = {key: at.get_by_key(f"kpi-{key}").metric[0].value for key, _, _ in kpis.KPIS}
    assert shown_values == {key: kpis.value_text(command_line[key], kind, t) for key, kind, _ in kpis.KPIS}


def test_the_review_screen_compares_the_metrics_commands_numbers(golden_file, command_line):
    con = store.connect(golden_file)
    try:
        s = screens.management_review(con, F, None, "en")
    finally:
        con.close()
    t = i18n.translator("en")
    assert (s.opened, s.last, s.changes) == (None, None, {})  # the golden ledger records no review
    assert s.comparison.to_dict("list") == {
        "Measure": [t(f"kpi_{key}") for key, _, _ in kpis.KPIS],
        "Now": [kpis.value_text(command_line[key], kind, t) for key, kind, _ in kpis.KPIS],
        "At the last review": ["—"] * len(kpis.KPIS),
        "Change": ["—"] * len(kpis.KPIS),
    }
