"""The Objectives, Inspection programme and Satisfaction pages on the demo store: the same numbers as `metrics`,
and a failed item, a dissatisfied item and a missed objective each raised as a finding by one click."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest


APP = Path(__file__).parents[1]
AS_OF = date(2026, 6, 30)
# Each page's KPI cards: the metrics section they show and how each card formats its number, written out
# here rather than taken from the page's code: counts with thousands commas, rates as percentages to one
# place, the index to two places.
CARDS = {
    "objectives": ("objectives", {"with_status": "count", "met": "count", "at_risk": "count", "missed": "count",
                                  "score": "rate"}),
    "inspections": ("inspections", {"due": "count", "performed": "count", "performed_rate": "rate",
                                    "overdue": "count", "coverage": "rate", "score": "rate"}),
    "satisfaction": ("satisfaction", {"answers": "count", "index": "index", "satisfied_share": "rate",
                                      "dissatisfied_share": "rate"}),
}

pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory, cli) -> Path:
    db = tmp_path_factory.mktemp("plan-demo") / "closeloop.duckdb"
    done = cli("demo", "--db", db, "--ncs", "600")
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture(scope="module")
def cli_metrics(cli, demo_file) -> dict:
    """`python -m closeloop metrics` on the demo store, for the whole organisation and for unit DH."""
    out = {}
    for scope, extra in {"all": [], "DH": ["--unit", "DH"]}.items():
        done = cli("metrics", "--db", demo_file, "--as-of", AS_OF.isoformat(), *extra)
        assert done.returncode == 0, done.stderr
        out[scope] = json.loads(done.stdout)
    return out


@pytest.fixture
def demo(tmp_path, monkeypatch, demo_file) -> Path:
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(demo_file, db)
    monkeypatch.setenv("CLOSELOOP_DB", str(db))
    return db


def page(name: str, lang: str = "en", url: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=90)
    at.session_state["as_of"] = AS_OF
    at.query_params["lang"] = lang
    for key, value in (url or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def card_text(value, kind: str) -> str:
    if value is None:
        return "—"
    return {"count": f"{value:,}", "rate": f"{value * 100:.1f}%", "index": f"{value:.2f}"}[kind]


@pytest.mark.parametrize("scope,url", [("all", {}), ("DH", {"unit": "DH"})])
@pytest.mark.parametrize("name", CARDS)
def test_each_card_shows_the_number_metrics_prints(demo, cli_metrics, name, scope, url):
    section, kinds = CARDS[name]
    expected = cli_metrics[scope][section]
    at = page(name, url=url)
    shown = {key: at.get_by_key(f"kpi-{key}").metric[0].value for key in kinds}
    assert shown == {key: card_text(expected[key], kind) for key, kind in kinds.items()}
    assert expected[next(iter(kinds))] > 0  # the demo holds rows of every section, so the check means something


def findings(db: Path, source: str) -> list[tuple]:
    st.cache_resource.clear()  # let go of the store to read it
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select ref, status::varchar from nonconformities where source::varchar = $source "
                           "order by ref", {"source": source}).fetchall()
    finally:
        con.close()


def test_a_failed_item_becomes_a_finding_by_one_click_and_shows_behind_the_score(demo):
    at = page("inspections")
    item = at.selectbox(key="inspection-pick").value
    before = findings(demo, "inspection")
    at.button(key="inspection-button").click().run()
    ref = f"NC-{item[0]}-{item[1]}"
    assert set(findings(demo, "inspection")) - set(before) == {(ref, "open")}
    assert at.success[0].value.startswith(f"Raised: {ref}.")
    failed = at.get_by_key("failed-items").dataframe[0].value
    assert list(failed.loc[failed["Nonconformity"] == ref, "Criterion"]) == [item[1]]


def test_a_dissatisfied_item_becomes_a_finding_by_one_click(demo):
    at = page("satisfaction")
    unit, wave, item = at.selectbox(key="survey-pick").value
    before = findings(demo, "satisfaction_survey")
    at.button(key="survey-button").click().run()
    assert set(findings(demo, "satisfaction_survey")) - set(before) == {(f"SAT-{unit}-{wave}-{item}", "open")}
    assert not at.error


def test_a_missed_objective_becomes_a_superior_assessment_finding_linked_back(demo):
    at = page("objectives")
    unit, year, code = at.selectbox(key="objective-pick").value
    before = findings(demo, "superior_assessment")
    at.button(key="objective-button").click().run()
    ref = f"OBJ-{unit}-{year}-{code}"
    assert set(findings(demo, "superior_assessment")) - set(before) == {(ref, "open")}
    rows = at.get_by_key("objective-drill").dataframe[0].value
    assert list(rows.loc[rows["Nonconformity"] == ref, "Code"]) == [code]


def test_a_later_satisfied_wave_closes_the_finding_a_dissatisfied_item_raised(demo):
    # in the demo, DS's item q1 averaged 2.93 in wave 2025-H1 and 3.00 in 2025-H2: the follow-up that closes it
    at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=90)
    at.session_state["as_of"] = AS_OF
    at.session_state["since"] = date(2025, 1, 1)
    at.query_params["lang"] = "en"
    at.run()
    at.switch_page("pages/satisfaction.py").run()
    at.selectbox(key="survey-pick").set_value(("DS", "2025-H1", "q1")).run()
    at.button(key="survey-button").click().run()
    follow_up = at.get_by_key("dissatisfied-items").dataframe[1].value
    assert follow_up.to_dict("records") == [{"Nonconformity": "SAT-DS-2025-H1-q1", "Unit code": "DS",
                                             "Follow-up wave": "2025-H2", "Follow-up mean": 3.0,
                                             "Closes on": date(2025, 12, 10)}]
    at.button(key="follow-up-close").click().run()
    assert at.success[0].value == "Closed on the follow-up results: SAT-DS-2025-H1-q1."
    items = at.get_by_key("dissatisfied-items").dataframe[0].value
    raised = items[items["Nonconformity"] == "SAT-DS-2025-H1-q1"]
    assert raised[["Finding status", "Closed on"]].to_dict("records") == [
        {"Finding status": "Closed", "Closed on": date(2025, 12, 10)}]


def test_an_actual_entered_on_the_objectives_page_is_saved_and_shown_with_its_evidence(demo):
    at = page("objectives", url={"unit": "DH"})
    unit, code = at.selectbox(key="actual-objective").value
    at.selectbox(key="actual-month").set_value(6)
    at.text_input(key="actual-value").input("７７.５")  # full width, as a Chinese keyboard may type it
    at.text_area(key="actual-evidence").input("六月台账第 3 页")
    at.button(key="actual-save").click().run()
    assert at.success[0].value == f"Saved: the actual of objective {unit} 2026 {code} for month 6."
    st.cache_resource.clear()  # let go of the store to read it
    con = duckdb.connect(str(demo), read_only=True)
    try:
        assert con.execute("select actual, evidence from objective_actuals where unit = $unit and year = 2026 "
                           "and code = $code and month = 6", {"unit": unit, "code": code}).fetchall() == [
            (77.5, "六月台账第 3 页")]
        assert con.execute("select field, new, reason from events where entity = 'objective_actual' "
                           "and ref = $ref and field = 'actual' order by id desc limit 1",
                           {"ref": f"{unit}/2026/{code}/6"}).fetchall() == [("actual", "77.5", "entered")]
    finally:
        con.close()


def test_a_bad_actual_is_refused_in_one_line_in_the_viewers_language_and_nothing_is_saved(demo):
    at = page("objectives", lang="zh-Hans", url={"unit": "DH"})
    before = findings(demo, "superior_assessment")  # lets go of the store and reads it: the same again below
    at.text_input(key="actual-value").input("九十")
    at.button(key="actual-save").click().run()
    assert [e.value for e in at.error] == ["实绩“九十”不是数字，未保存。"]
    assert findings(demo, "superior_assessment") == before


def test_the_english_failed_items_name_each_criterion_in_english(demo):
    at = page("inspections")
    failed = at.get_by_key("failed-items").dataframe[0].value
    # the demo's criteria as stored: the English title of each code
    st.cache_resource.clear()  # let go of the store to read it
    con = duckdb.connect(str(demo), read_only=True)
    try:
        english = dict(con.execute("select code, title_en from criteria").fetchall())
    finally:
        con.close()
    assert len(failed) > 0
    assert list(failed["Criterion title"]) == [english[c] for c in failed["Criterion"]]


def test_with_no_answers_in_the_period_satisfaction_says_so_on_every_card(demo):
    # the demo's first wave is answered on 2025-06-10: the year to 2025-03-31 holds none
    at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=90)
    at.session_state["as_of"] = date(2025, 3, 31)
    at.query_params["lang"] = "en"
    at.run()
    at.switch_page("pages/satisfaction.py").run()
    assert not at.exception
    # the index card and the shares card (besides the frame's note that this is demo data)
    assert [i.value for i in at.info][-2:] == ["No data for these filters.", "No data for these filters."]
    box = at.get_by_key("dissatisfied-items")
    assert [c.value for c in box.caption][1:] == ["No dissatisfied items for these filters."]
    assert not [b for b in at.button if b.key == "survey-button"]


@pytest.mark.parametrize("name,title,after", [("objectives", "Objectives", " · objectives of 2026"),
                                              ("inspections", "Inspection programme", ""),
                                              ("satisfaction", "Satisfaction", "")])
def test_each_page_heads_with_its_title_and_the_filters_sentence(demo, name, title, after):
    at = page(name)
    assert at.title[0].value == title
    # the default period: the 12 months ending on the as-of date, both ends included
    assert at.main.caption[0].value == "As of 2026-06-30, period 2025-07-01 to 2026-06-30, Whole organisation." + after
