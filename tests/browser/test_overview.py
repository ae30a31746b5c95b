"""The Overview in Chromium, served by a real Streamlit process: numbers, language, and a fresh clone."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from closeloop import demo, filters
from tests.browser.conftest import REPO, Server, charts_steady, server_env

SCREENSHOT_HEIGHT = 2000  # the whole Overview, charts included


def kpi_value(page: Page, key: str):
    return page.locator(f'.st-key-kpi-{key} [data-testid="stMetricValue"]')


def title(page: Page):
    return page.locator("h1")


def idle(page: Page) -> None:
    """Wait until the script run is over: a click during the first run can be lost, or drop URL parameters."""
    kpi_value(page, "open").wait_for()
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def settle(page: Page) -> None:
    """Wait for the charts to be drawn, so a screenshot shows the page a user sees."""
    idle(page)
    page.locator(".js-plotly-plot").first.wait_for()
    charts_steady(page)


@pytest.mark.parametrize("scope,query", [("all", ""), ("DH", "&unit=DH")])
def test_overview_open_equals_the_command_line(new_page, golden_server, artifacts, scope, query):
    page = new_page(height=SCREENSHOT_HEIGHT)
    page.goto(f"{golden_server.url}/?as_of={golden_server.as_of}&lang=en{query}")
    expected = f"{golden_server.metrics[scope]['open']:,}"
    expect(kpi_value(page, "open")).to_have_text(expected)
    expect(page.locator(".st-key-kpi-open")).to_contain_text(f"Open{expected}", use_inner_text=False)
    expect(page.get_by_text(f"As of {golden_server.as_of}, period 2025-07-01 to 2026-06-30")).to_be_visible()
    settle(page)
    page.screenshot(path=artifacts / ("overview.png" if scope == "all" else f"overview-{scope}.png"), full_page=True)


def test_lang_in_the_url_wins_over_the_browser_locale(new_page, golden_server, artifacts):
    page = new_page(locale="en-US", height=SCREENSHOT_HEIGHT)
    page.goto(f"{golden_server.url}/?as_of={golden_server.as_of}&lang=zh")
    expect(title(page)).to_have_text("管理评审总览")
    expect(page.locator('.st-key-kpi-open [data-testid="stMetricLabel"]')).to_have_text("未关闭")
    expect(kpi_value(page, "open")).to_have_text(f"{golden_server.metrics['all']['open']:,}")
    settle(page)
    page.screenshot(path=artifacts / "overview-zh.png", full_page=True)


def test_clicking_english_switches_a_chinese_browser_and_puts_lang_in_the_url(new_page, golden_server):
    page = new_page(locale="zh-CN")
    page.goto(f"{golden_server.url}/?as_of={golden_server.as_of}")
    expect(title(page)).to_have_text("管理评审总览")
    idle(page)
    assert "lang=" not in page.url  # the browser's own language needs no parameter
    page.locator('[data-testid="stSidebar"]').get_by_role("radio", name="English").click()
    expect(title(page)).to_have_text("Overview")
    expect(page).to_have_url(re.compile(r"[?&]lang=en(&|$)"))
    expect(page.locator('.st-key-kpi-open [data-testid="stMetricLabel"]')).to_have_text("Open")
    page.goto(page.url)  # the link, shared, opens in English for a Chinese browser too
    expect(title(page)).to_have_text("Overview")


def test_switching_pages_keeps_the_language_and_the_filters(new_page, golden_server):
    page = new_page(locale="en-US")
    page.goto(f"{golden_server.url}/?as_of={golden_server.as_of}&lang=zh&unit=DH")
    expect(kpi_value(page, "open")).to_have_text(f"{golden_server.metrics['DH']['open']:,}")
    idle(page)
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="单位", exact=True).click()  # not 我的单位
    expect(title(page)).to_have_text("单位")
    expect(page).to_have_url(re.compile(r"/units\?(?=.*\blang=zh\b)(?=.*\bunit=DH\b)(?=.*\bas_of=2026-06-30\b)"))
    nav.get_by_role("link", name="管理评审总览", exact=True).click()
    expect(title(page)).to_have_text("管理评审总览")
    expect(kpi_value(page, "open")).to_have_text(f"{golden_server.metrics['DH']['open']:,}")


# Streamlit keeps a picker's old text when only format_func's output changes (streamlit#13788):
# filters.remembered() assigns every picker's value again, which redraws it.
def test_switching_language_relabels_the_chosen_unit(new_page, golden_server):
    page = new_page(locale="zh-CN")
    page.goto(f"{golden_server.url}/?as_of={golden_server.as_of}")
    unit = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"] input')
    expect(unit).to_have_value("全局")
    idle(page)
    page.locator('[data-testid="stSidebar"]').get_by_role("radio", name="English").click()
    expect(title(page)).to_have_text("Overview")
    expect(unit).to_have_value("Whole organisation", timeout=5_000)


@pytest.fixture(scope="module")
def large_tree_server(tmp_path_factory, cli):
    """A demo store of 688 units, more than the unit picker lists whole, served."""
    folder = tmp_path_factory.mktemp("large-tree")
    db = folder / "closeloop.duckdb"
    done = cli("demo", "--ncs", "40000", "--db", db)
    assert done.returncode == 0, done.stderr
    server = Server(REPO, server_env(CLOSELOOP_DB=str(db)), folder / "streamlit.log")
    try:
        yield server.start()
    finally:
        server.stop()


def test_in_a_large_tree_any_unit_is_found_by_name_and_chosen(new_page, large_tree_server):
    page = new_page()
    page.goto(f"{large_tree_server.url}/?lang=en")
    idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    search = sidebar.get_by_placeholder("Find a unit by name or code")
    search.fill("party branch no. 12")
    search.press("Enter")
    expect(sidebar.get_by_text("units match")).to_be_visible()
    unit = page.get_by_role("combobox", name="Unit (and all below it)")
    unit.click()
    page.keyboard.type("Dinghai")
    page.get_by_role("option", name=re.compile("Dinghai Branch Bureau Party Branch No. 12$")).click()
    expect(page).to_have_url(re.compile(r"[?&]unit=DH-012(&|$)"))
    expect(unit).to_have_value(re.compile("Dinghai Branch Bureau Party Branch No. 12$"))
    expect(search).to_have_value("")
    idle(page)
    search.fill("岱山分局航政科")  # a name typed whole, in either language, chooses its unit at once
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]unit=DS-003(&|$)"))
    expect(unit).to_have_value(re.compile("Daishan Branch Bureau Shipping Administration Section$"))


def test_a_fresh_clone_builds_the_demo_store_and_agrees_with_the_command_line(
    new_page, serve, fresh_clone, cli, artifacts
):
    db = fresh_clone / "data" / "closeloop.duckdb"
    server = serve(fresh_clone, fresh_clone.parent / "streamlit.log")
    page = new_page(height=SCREENSHOT_HEIGHT)
    page.goto(server.url)
    expect(kpi_value(page, "open")).to_be_visible(timeout=90_000)
    expect(page.get_by_text("This is demo data")).to_be_visible()
    expect(page.get_by_text(str(db))).to_be_visible()  # the notice names the store it built
    shown_open = kpi_value(page, "open").inner_text()
    # the demo's data ends on DEMO_END: the dashboard opens there once that is past
    opens_on = filters.opening_as_of(demo.DEMO_END).isoformat()
    expect(page.get_by_text(f"As of {opens_on},")).to_be_visible()
    settle(page)
    page.screenshot(path=artifacts / "overview-demo.png", full_page=True)
    server.stop()

    assert db.exists()
    done = cli("metrics", "--db", db, "--as-of", opens_on)
    assert done.returncode == 0, done.stderr
    assert shown_open == f"{json.loads(done.stdout)['open']:,}"
