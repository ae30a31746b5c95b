"""A click opens what was counted: each Overview card and chart in Chromium, and the Recurrence bars, open as
many rows as the number clicked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

HEIGHT = 1400
COUNTED = {"en": re.compile(r"· ([\d,]+) rows"), "zh": re.compile(r"· 共 ([\d,]+) 条")}
SHOW = {"en": "Show the rows", "zh": "查看明细"}


def idle(page: Page) -> None:
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)  # a first run builds the caches on a busy box
    idle(page)


def shown_count(page: Page, key: str, lang: str, title: str = "") -> int:
    """The count the rows' card states, after waiting for it (and for its title: a card of the same chart
    keeps the previous point's rows until the rerun ends)."""
    card = page.locator(f".st-key-rows-{key}")
    expect(card).to_contain_text(re.compile(re.escape(title) + ".*" + COUNTED[lang].pattern), timeout=30_000)
    idle(page)
    return int(COUNTED[lang].search(card.inner_text()).group(1).replace(",", ""))


def listed_rows(page: Page, key: str) -> int:
    """How many rows the grid in the rows' card holds: its aria row count, less the header."""
    grid = page.locator(f".st-key-rows-{key} [data-testid='stDataFrame'] [role='grid']")
    grid.wait_for(state="attached")
    return int(grid.get_attribute("aria-rowcount")) - 1


def point_value(page: Page, chart: str, curve: int, index: int, axis: str):
    """The value the figure itself holds for a point: Plotly keeps its traces on the chart's element, their
    arrays decoded in _fullData (data holds a column as a base64 block)."""
    return page.evaluate(
        "([chart, curve, index, axis]) => { const v = document.querySelector(`.st-key-${chart} .js-plotly-plot`)"
        "._fullData[curve][axis][index]; return ArrayBuffer.isView(v) ? Array.from(v) : v; }",
        [chart, curve, index, axis])


def month_title(page: Page, curve: int, index: int) -> str:
    """A point of opened-and-closed as its rows are titled: its month and its trace's name."""
    start = point_value(page, "opened-closed", curve, index, "customdata")[0]
    name = page.evaluate("(curve) => document.querySelector('.st-key-opened-closed .js-plotly-plot').data[curve].name",
                         curve)
    return f"{start[:7]} · {name}"


def click(page: Page, locator) -> None:
    """Plotly's drag layer takes the clicks: click where the point is drawn, by mouse, once the page has
    stopped moving (a click beside a bar clears the selection)."""
    idle(page)
    locator.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = locator.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def bar(page: Page, chart: str, curve: int, index: int):
    return page.locator(f".st-key-{chart} g.barlayer g.trace").nth(curve).locator("g.point path").nth(index)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_overview_card_opens_as_many_rows_as_it_shows(new_page, golden_server, artifacts, lang):
    page = new_page(height=HEIGHT)
    open_page(page, f"{golden_server.url}/?as_of={golden_server.as_of}&lang={lang}")
    expected = golden_server.metrics["all"]
    for key in ("open", "overdue", "opened_in_period", "closed_in_period", "actions_overdue"):
        page.locator(f".st-key-kpi-rows-{key} button").click()
        card = page.locator(f'.st-key-kpi-{key} [data-testid="stMetricValue"]').inner_text()
        assert shown_count(page, f"kpi-{key}", lang) == int(card.replace(",", "")) == expected[key], key
        assert listed_rows(page, f"kpi-{key}") == expected[key], key
    # a rate: its rows are the whole, the note gives the part, and their share is the card's value
    for key, whole, part in (("on_time_closure_rate", None, "closed_on_time_in_period"),
                             ("recurrence_rate", "opened_in_period", "repeat_in_period")):
        page.locator(f".st-key-kpi-rows-{key} button").click()
        n = shown_count(page, f"kpi-{key}", lang)
        if whole:
            assert n == expected[whole]
        note = page.locator(f".st-key-rows-kpi-{key} [data-testid='stCaptionContainer']").inner_text()
        card = page.locator(f'.st-key-kpi-{key} [data-testid="stMetricValue"]').inner_text()
        assert f"{expected[part]:,}" in note and card in note, (key, note, card)
        assert f"{expected[key]:.1%}" == card
    # the median: its rows are the findings of its curve, opened in the period (all found by the as-of date)
    page.locator(".st-key-kpi-rows-median_days_to_close_km button").click()
    assert shown_count(page, "kpi-median_days_to_close_km", lang) == expected["opened_in_period"]
    page.locator(".st-key-rows-kpi-median_days_to_close_km").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / f"overview-card-rows-{lang}.png")
    page.locator(".st-key-kpi-rows-median_days_to_close_km button").click()  # the same card again closes them
    expect(page.locator(".st-key-rows-kpi-median_days_to_close_km")).to_have_count(0)
    expect(page.locator(".st-key-kpi-rows-open button")).to_contain_text(SHOW[lang])
    expect(page.get_by_test_id("stException")).to_have_count(0)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_overview_chart_point_opens_as_many_rows_as_it_shows(new_page, golden_server, artifacts, lang):
    page = new_page(height=HEIGHT)
    open_page(page, f"{golden_server.url}/?as_of={golden_server.as_of}&lang={lang}")
    aging = golden_server.metrics["all"]["aging"]
    for index, (bucket, n) in enumerate(aging.items()):
        if n:
            click(page, bar(page, "aging", 0, index))
            assert shown_count(page, "aging", lang, bucket) == n == point_value(page, "aging", 0, index, "y"), bucket
    page.screenshot(path=artifacts / f"overview-aging-rows-{lang}.png")
    # the longest bars (drawn last: the most at the top)
    for chart, axis in (("top-overdue", "x"), ("pareto-category", "x")):
        count = page.locator(f".st-key-{chart} g.barlayer g.point").count()
        click(page, bar(page, chart, 0, count - 1))
        assert shown_count(page, chart, lang) == point_value(page, chart, 0, count - 1, axis), chart
        assert listed_rows(page, chart) == shown_count(page, chart, lang)
    page.locator(".st-key-rows-pareto-category").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / f"overview-bar-rows-{lang}.png")
    # a month's opened and closed bars, and its backlog (a point on the line)
    months = page.locator(".st-key-opened-closed g.barlayer g.trace").first.locator("g.point").count()
    for curve in (0, 1):
        index = next(i for i in range(months - 1, -1, -1) if point_value(page, "opened-closed", curve, i, "y"))
        click(page, bar(page, "opened-closed", curve, index))
        assert shown_count(page, "opened-closed", lang, month_title(page, curve, index)) == point_value(
            page, "opened-closed", curve, index, "y")
    click(page, page.locator(".st-key-opened-closed g.scatterlayer path.point").nth(months - 2))
    assert shown_count(page, "opened-closed", lang, month_title(page, 2, months - 2)) == point_value(
        page, "opened-closed", 2, months - 2, "y")
    page.locator(".st-key-rows-opened-closed").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / f"overview-month-rows-{lang}.png")
    expect(page.get_by_test_id("stException")).to_have_count(0)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_recurrence_bars_open_the_repeats_and_units_they_counted(new_page, golden_server, artifacts, lang):
    page = new_page(height=HEIGHT)
    open_page(page, f"{golden_server.url}/recurrence?as_of={golden_server.as_of}&lang={lang}")
    count = page.locator(".st-key-repeat-pareto g.barlayer g.point").count()
    click(page, bar(page, "repeat-pareto", 0, count - 1))
    assert shown_count(page, "repeat-rows", lang) == point_value(page, "repeat-pareto", 0, count - 1, "x")
    name = point_value(page, "repeat-pareto", 0, count - 1, "y")
    expect(page.locator(".st-key-rows-repeat-rows")).to_contain_text(name)  # the criterion by name
    page.locator(".st-key-rows-repeat-rows").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / f"recurrence-pareto-rows-{lang}.png")
    count = page.locator(".st-key-systemic g.barlayer g.point").count()
    click(page, bar(page, "systemic", 0, count - 1))
    assert shown_count(page, "systemic", lang) == point_value(page, "systemic", 0, count - 1, "x")
    assert listed_rows(page, "systemic") == shown_count(page, "systemic", lang)
    expect(page.locator(".st-key-rows-systemic")).to_contain_text(point_value(page, "systemic", 0, count - 1, "y"))
    page.locator(".st-key-rows-systemic").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / f"recurrence-systemic-rows-{lang}.png")
    expect(page.get_by_test_id("stException")).to_have_count(0)
