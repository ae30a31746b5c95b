"""The Management review page under AppTest: the comparison with the last review, its counts and rows, recording."""

from __future__ import annotations

import copy
import json
import os
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from closeloop import i18n, identity, kpis, plan_screens, review, store
from closeloop.filters import Filters

APP = Path(__file__).parents[1]
AS_OF = date(2026, 6, 30)
LAST = date(2026, 3, 31)
ADMIN = identity.local_administrator("chair")


pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture(scope="module")
def reviewed_file(tmp_path_factory, golden_imported) -> Path:
    """The golden ledger with one review recorded as of 2026-03-31 that decided one action."""
    db = tmp_path_factory.mktemp("reviewed") / "closeloop.duckdb"
    golden_imported(db)
    con = store.connect(db)
    made = review.record(con, ADMIN, Filters.default(LAST), held_on=date(2026, 4, 2), title="Q1",
                         attendees=["局长", "质量部"])
    review.decide(con, ADMIN, made, topic="逾期整改月度通报", description="每月通报逾期项", owner="王明",
                  due_on=date(2026, 5, 31))
    con.close()
    return db


@pytest.fixture(scope="module")
def reviewed_metrics(tmp_path_factory, reviewed_file, cli) -> dict:
    """What `metrics` prints for reviewed_file as of AS_OF: asked once, of a copy, for every test's equal copy."""
    db = tmp_path_factory.mktemp("reviewed-metrics") / "closeloop.duckdb"
    shutil.copy(reviewed_file, db)
    done = cli("metrics", "--db", db, "--as-of", AS_OF.isoformat())
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def reviewed(tmp_path, monkeypatch, reviewed_file, reviewed_metrics) -> dict:
    """A private copy, made the dashboard's store; what the command line and the store say about it."""
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(reviewed_file, db)
    metrics = copy.deepcopy(reviewed_metrics)
    con = store.connect(db)
    facts = {"metrics": metrics, "last": review.load(con, 1, None),
             "changes": review.changes(con, LAST, Filters.default(AS_OF), None),
             "newly_overdue": sorted(review.changed_rows(con, LAST, Filters.default(AS_OF), None, "newly_overdue")["ref"])}
    con.close()
    monkeypatch.setenv("CLOSELOOP_DB", str(db))
    return facts


def review_page(lang: str = "en", url: dict | None = None) -> AppTest:
    """The app run once as of 2026-06-30, then switched to the review page (state and URL preset first)."""
    at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=60)
    at.session_state["as_of"] = AS_OF
    at.query_params["lang"] = lang
    for key, value in (url or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/review.py").run()
    assert not at.exception
    return at


def compared(at: AppTest) -> dict[str, list[str]]:
    table = at.get_by_key("review-kpis").dataframe[0].value
    return {column: list(table[column]) for column in table.columns}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_kpis_now_stand_beside_those_frozen_at_the_last_review(reviewed, lang):
    at = review_page(lang)
    t = i18n.translator(lang)
    table = compared(at)
    assert table[t("pack_now")] == [kpis.value_text(reviewed["metrics"][k], kind, t) for k, kind, _ in kpis.KPIS]
    assert table[t("review_then")] == [kpis.value_text(reviewed["last"].contract[k], kind, t)
                                       for k, kind, _ in kpis.KPIS]


def test_each_change_since_the_last_review_is_a_count_that_opens_its_rows(reviewed):
    at = review_page()
    counts = at.button_group(key="since-change")
    assert counts.options == [f"{i18n.translate('en', f'change_{c}')} · {n:,}" for c, n in reviewed["changes"].items()]
    counts.set_value("newly_overdue").run()
    assert not at.exception
    rows = at.get_by_key("review-since").dataframe[0].value
    assert sorted(rows["Ref"]) == reviewed["newly_overdue"] and len(rows) == reviewed["changes"]["newly_overdue"] > 0


def test_the_last_reviews_decisions_show_where_they_stand(reviewed):
    at = review_page()
    decided = at.get_by_key("review-previous-decisions").dataframe[0].value
    assert list(decided["Description"]) == ["每月通报逾期项"]
    assert list(decided["Days overdue"]) == [30]


def test_recording_the_review_freezes_it_and_opens_it(reviewed):
    at = review_page()
    at.text_input(key="r-title").input("Q2")
    at.text_area(key="r-attendees").input("局长\n质量部，办公室")
    at.get_by_key("review-record").button[0].click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Review 2 recorded."]
    assert at.selectbox(key="review").value == 2 and at.query_params["review"] == "2"
    assert at.markdown[0].value.startswith("**Q2** · held on ")
    assert at.markdown[0].value.endswith("attended by 局长, 质量部, 办公室")
    assert compared(at)["At this review"][0] == f"{reviewed['metrics']['open']:,}"


def test_a_recorded_review_opens_from_its_link_with_its_own_decisions(reviewed):
    at = review_page(url={"review": "1"})
    assert at.markdown[0].value == "**Q1** · held on 2026-04-02; attended by 局长, 质量部"
    assert compared(at)["At this review"][0] == f"{reviewed['last'].contract['open']:,}"
    assert [i.value for i in at.get_by_key("review-since").info] == [
        i18n.translate("en", "review_none_before", as_of=LAST)]
    own = at.get_by_key("review-decisions").dataframe[0].value
    assert list(own["Owner"]) == ["王明"]


def test_a_decision_recorded_on_the_page_is_an_action_of_the_review(reviewed):
    at = review_page(url={"review": "1"})
    at.text_input(key="d-topic").input("培训不足")
    at.text_area(key="d-description").input("组织专题培训")
    at.text_input(key="d-owner").input("李華")
    at.date_input(key="d-due").set_value(date(2026, 9, 30))
    at.get_by_key("review-decisions").button[0].click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Decision recorded: action CA-REV-1-02-1."]
    own = at.get_by_key("review-decisions").dataframe[0].value
    assert list(own["Description"]) == ["每月通报逾期项", "组织专题培训"]
    assert list(own["Nonconformity"]) == ["REV-1-01", "REV-1-02"]


def test_a_missing_browser_is_said_in_one_line_where_the_pack_is_built(reviewed, monkeypatch):
    monkeypatch.setenv("CLOSELOOP_BROWSER", "/nowhere/chromium")
    at = review_page("zh")
    at.button(key="pack-pdf").click().run()
    assert not at.exception
    assert [e.value for e in at.get_by_key("review-pack").error] == [
        i18n.translate("zh", "pack_no_browser", path="/nowhere/chromium")]


@pytest.mark.parametrize("listed_whole,expected", [
    (500, ["HQ", "DH", "DH-01", "DH-02", "DH-10", "DH-11", "DS", "DS-10", "PT", "PT-01", "PT-10"]),
    (5, ["HQ", "DH", "DS", "PT"]),  # the golden ledger's 11 units counted as many: the top and those below it
])
def test_a_whole_organisation_reviews_decision_offers_units_as_the_tree_allows(reviewed, monkeypatch, golden_dir,
                                                                               listed_whole, expected):
    from closeloop import filters

    monkeypatch.setattr(filters, "UNITS_LISTED_WHOLE", listed_whole)
    at = review_page(url={"review": "1"})
    assert reviewed["last"].unit is None
    names = dict(pd.read_csv(golden_dir / "units.csv")[["code", "name"]].values)  # no English names: shown as is
    offered = at.selectbox(key="d-unit")
    assert sorted(offered.options) == sorted(names[code] for code in expected)
    assert offered.value == "HQ"


# review17: objectives, satisfaction and inspections against the last review; the chair's conclusions


@pytest.mark.parametrize("section", review.PLAN_SECTIONS)
def test_each_plan_section_shows_the_numbers_metrics_prints(reviewed, section, cli):
    at = review_page()
    then = json.loads(cli("metrics", "--db", Path(os.environ["CLOSELOOP_DB"]), "--as-of",
                          LAST.isoformat()).stdout)
    table = at.get_by_key(f"review-{section}").dataframe[0].value
    t = i18n.translator("en")
    assert list(table["Now"]) == [plan_screens.kpi_text(reviewed["metrics"][section][k], kind, t)
                                  for k, kind, _ in plan_screens.KPIS[section]]
    assert list(table["At the last review"]) == [plan_screens.kpi_text(then[section][k], kind, t)
                                                 for k, kind, _ in plan_screens.KPIS[section]]


def test_a_conclusion_written_on_the_page_is_stored_and_shown_as_plain_text(reviewed):
    at = review_page(url={"review": "1"})
    section = at.get_by_key("review-objectives")
    assert [c.value for c in section.caption if c.value == "No conclusion yet."] == ["No conclusion yet."]
    at.text_area(key="c-objectives").input("**Met** most\n[see](http://example.org)")
    at.get_by_key("review-objectives").button[0].click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [
        "Saved the conclusion on “The extent to which objectives were met” (version 1)."]
    # read back from the store on the rerun: each line with its marks escaped, the line break kept
    shown = [m.value for m in at.get_by_key("review-objectives").markdown]
    assert i18n.plain("**Met** most") + "  \n" + i18n.plain("[see](http://example.org)") in shown
    assert [c.value.endswith(" UTC (version 1)") for c in at.get_by_key("review-objectives").caption
            if c.value.startswith("Written by ")] == [True]
