"""Links a person types or shares: each page's path opens it, and a store of past data opens on its last day."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from closeloop import i18n


def settled(page: Page) -> None:
    expect(page.locator("h1")).to_have_count(1)
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


@pytest.mark.parametrize(("path", "title"), [("overview", "page_overview"), ("units", "page_units")])
def test_a_page_s_path_opens_that_page_in_chinese_without_page_not_found(new_page, golden_server, artifacts, path,
                                                                         title):
    page = new_page(locale="zh-CN")
    page.goto(f"{golden_server.url}/{path}?lang=zh")
    settled(page)
    expect(page.locator("h1")).to_have_text(i18n.translate("zh", title))
    page.wait_for_timeout(1000)  # Streamlit's dialog came up just after the run
    page.screenshot(path=artifacts / f"link-{path}-zh.png")
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_a_link_to_overview_keeps_its_filters(new_page, golden_server):
    page = new_page(locale="en-US")
    page.goto(f"{golden_server.url}/overview?lang=en&as_of=2026-03-31&unit=DH")
    settled(page)
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.get_by_text("As of 2026-03-31, period 2025-04-01 to 2026-03-31, 定海分局 and the units below it."))\
        .to_be_visible()


def test_the_golden_store_ending_in_june_2026_opens_on_its_last_day_and_says_so(new_page, golden_server):
    page = new_page(locale="zh-CN")
    page.goto(f"{golden_server.url}/")
    settled(page)
    t = i18n.translator("zh")
    expect(page.get_by_text(t("as_of_data_end", last="2026-06-30"))).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text(t("data_range", first="2024-01-03", last="2026-06-30")))\
        .to_be_visible()
    expect(page.locator('.st-key-kpi-open [data-testid="stMetricValue"]')).to_have_text(
        f"{golden_server.metrics['all']['open']:,}")


def test_the_first_request_to_a_fresh_server_may_be_any_page_s_path(new_page, tmp_path, golden_imported):
    """Until st.navigation has run once, Streamlit looks for a pages/ file named as the path: every url_path
    is its file's name (time_to_close, not time-to-close, which showed 'Page not found' on a fresh server)."""
    from tests.browser.conftest import REPO, Server, server_env

    db = golden_imported(tmp_path / "closeloop.duckdb")
    server = Server(REPO, server_env(CLOSELOOP_DB=str(db)), tmp_path / "streamlit.log").start()
    try:
        page = new_page(locale="zh-CN")
        page.goto(f"{server.url}/time_to_close?lang=zh")
        settled(page)
        expect(page.locator("h1")).to_have_text(i18n.translate("zh", "page_time_to_close"))
        page.wait_for_timeout(1000)
        expect(page.get_by_text("Page not found")).to_have_count(0)
        expect(page.get_by_role("dialog")).to_have_count(0)
    finally:
        server.stop()
