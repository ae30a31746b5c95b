"""The My unit page in Chromium: the places, owners and due actions shown are the ones closeloop.screens computes."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from closeloop import kpis, screens, store
from closeloop.filters import Filters
from tests.browser.conftest import REPO, Server, server_env

AS_OF = "2026-05-10"  # inside the golden history: PT has actions falling due within the 7 days from it
UNIT = "PT"
LANGUAGES = ("en", "zh-Hans", "zh-Hant")


@pytest.fixture(scope="module")
def served(tmp_path_factory, golden_imported):
    """The golden ledger imported and its My unit screens computed in each language, then served."""
    folder = tmp_path_factory.mktemp("my-unit-served")
    db = folder / "closeloop.duckdb"
    golden_imported(db)
    con = store.connect(db, create=False)
    computed = {lang: screens.my_unit(con, Filters.default(date.fromisoformat(AS_OF), unit=UNIT), None, lang)
                for lang in LANGUAGES}
    con.close()
    server = Server(REPO, server_env(CLOSELOOP_DB=str(db)), folder / "streamlit.log").start()
    try:
        yield server.url, computed
    finally:
        server.stop()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_shows_the_places_owners_and_due_actions_the_screen_computes(new_page, served, artifacts, lang):
    url, computed = served
    s = computed[lang]
    assert len(s.ranks) == len(kpis.RANKED) and s.due_count and len(s.overdue_by_owner)  # something to compare
    page = new_page(height=1800)
    page.goto(f"{url}/my_unit?as_of={AS_OF}&lang={lang}&unit={UNIT}")
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning", timeout=60_000)
    expect(page.locator(".st-key-rank-open [data-testid=stMetricValue]")).to_be_visible()
    for row in s.ranks.itertuples():
        expect(page.locator(f".st-key-rank-{row.kpi} [data-testid=stMetricValue]")).to_have_text(row.rank_text)
        expect(page.locator(f".st-key-rank-{row.kpi} [data-testid=stCaptionContainer]")).to_contain_text(
            row.value_text)
    owners = page.locator(".st-key-owners [data-testid=stExpander]")
    expect(owners).to_have_count(len(s.overdue_by_owner))
    first = s.overdue_by_owner.iloc[0]
    expect(owners.first).to_contain_text(f"{first['actions']:,}")
    expect(owners.first).to_contain_text(first["owner"])
    owners.first.locator("summary").click()
    expect(owners.first.get_by_test_id("stDataFrame")).to_be_visible()
    expect(page.locator(".st-key-due-within")).to_contain_text(f"{s.due_count:,}")
    expect(page.locator(".st-key-due-within").get_by_test_id("stDataFrame")).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0
    page.wait_for_timeout(1000)
    page.screenshot(path=artifacts / f"my_unit-{lang}.png", full_page=True)
