"""The Units, Recurrence and Time-to-close pages in Chromium: drill-down by click, and both languages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import charts_steady
from tests.browser.test_overview import idle, kpi_value, title

HEIGHT = 2600  # the whole page, every chart card included


def settled(page: Page) -> None:
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning", timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for()
    charts_steady(page)


def click_node(page: Page, name: str) -> None:
    """Click a treemap node on its label (its header strip): Plotly's drag layer swallows element clicks."""
    label = page.locator("g.slice text", has_text=name).first
    label.scroll_into_view_if_needed()
    box = label.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_clicking_a_unit_in_the_tree_drills_every_page_into_it(new_page, golden_server):
    page = new_page(height=1400)
    page.goto(f"{golden_server.url}/units?as_of={golden_server.as_of}&lang=en")
    settled(page)
    click_node(page, "定海分局")
    expect(page).to_have_url(f"{golden_server.url}/units?as_of={golden_server.as_of}&unit=DH", timeout=30_000)
    expect(page.get_by_role("combobox", name="Unit (and all below it)")).to_have_value(re.compile("^\\W*定海分局$"))
    expect(page.locator(".st-key-breadcrumb")).to_contain_text("定海分局")
    page.get_by_test_id("stSidebarNav").get_by_text("Overview").click()
    expect(kpi_value(page, "open")).to_have_text(f"{golden_server.metrics['DH']['open']:,}")
    expect(page).to_have_url(f"{golden_server.url}/?as_of={golden_server.as_of}&unit=DH")


def test_the_breadcrumb_leads_back_up(new_page, golden_server):
    page = new_page(height=1400)
    page.goto(f"{golden_server.url}/units?as_of={golden_server.as_of}&lang=en&unit=DH-01")
    settled(page)
    page.locator(".st-key-breadcrumb").get_by_role("button", name="Whole organisation").click()
    expect(page).to_have_url(f"{golden_server.url}/units?as_of={golden_server.as_of}")
    page.get_by_test_id("stSidebarNav").get_by_text("Overview").click()
    idle(page)
    expect(kpi_value(page, "open")).to_have_text(f"{golden_server.metrics['all']['open']:,}")


CHARTS = {"units": 2, "recurrence": 4, "time_to_close": 5}


@pytest.mark.parametrize("lang,titles", [
    ("en", {"units": "Units", "recurrence": "Recurrence", "time_to_close": "Time to close"}),
    ("zh", {"units": "单位", "recurrence": "重复发生", "time_to_close": "整改时效"}),
])
def test_each_analysis_page_draws_in_both_languages(new_page, golden_server, artifacts, lang, titles):
    for path, expected in titles.items():
        page = new_page(height=HEIGHT)
        page.goto(f"{golden_server.url}/{path}?as_of={golden_server.as_of}&lang={lang}&unit=DH")
        expect(title(page)).to_have_text(expected)
        settled(page)
        assert page.get_by_test_id("stException").count() == 0
        expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS[path])
        page.screenshot(path=artifacts / f"{path}-{lang}.png", full_page=True)


def test_clicking_a_heatmap_cell_shows_its_repeat_chains(new_page, golden_server):
    page = new_page(height=HEIGHT)
    page.goto(f"{golden_server.url}/recurrence?as_of={golden_server.as_of}&lang=en")
    settled(page)
    cell = page.locator(".st-key-repeat-heatmap g.points path").first
    cell.scroll_into_view_if_needed()
    box = cell.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    chains = page.locator(".st-key-repeat-chains")
    expect(chains).to_contain_text("Repeat chains", timeout=30_000)
    expect(chains.get_by_test_id("stDataFrame")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
