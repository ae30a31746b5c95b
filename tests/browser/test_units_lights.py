"""The Units page's status lights (三色督办) in Chromium: the counts' cells drawn in their colours."""

from __future__ import annotations

import io

from PIL import Image
from playwright.sync_api import expect

from closeloop.kpis import DUE_STATUS_TINTS
from tests.browser.test_analysis_pages import HEIGHT, settled


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def test_the_units_status_lights_colour_the_cells_that_hold_items(new_page, golden_server, artifacts):
    page = new_page(height=HEIGHT)
    page.goto(f"{golden_server.url}/units?as_of={golden_server.as_of}&lang=en&unit=DH")
    settled(page)
    box = page.locator(".st-key-due-status")
    expect(box).to_contain_text("Status lights: open items by unit")
    expect(box.get_by_test_id("stDataFrame")).to_be_visible()
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    shot = Image.open(io.BytesIO(box.screenshot(path=artifacts / "units-status-lights-en.png"))).convert("RGB")
    colours = {colour for _, colour in shot.getcolors(maxcolors=1 << 20)}
    # under DH, as of 2026-06-30 (counted apart in tests/test_notify.py's golden sets): red cells (DH-02's 8
    # overdue findings …) and green ones (DH-10's finding on track), and nothing due soon
    assert {name: rgb(tint) in colours for name, tint in DUE_STATUS_TINTS.items()} == {
        "on_track": True, "due_soon": False, "overdue": True}
    assert page.get_by_test_id("stException").count() == 0
