"""Back and Forward after a drill-down: each drill is a browser history entry, and Back undoes it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_analysis_pages import click_node, settled

UNIT = "Unit (and all below it)"


def test_back_after_a_drill_returns_to_the_view_before_it_and_forward_redoes_it(new_page, golden_server):
    page = new_page(height=1400)
    page.goto(f"{golden_server.url}/units?as_of={golden_server.as_of}&lang=en")
    settled(page)
    unit = page.get_by_role("combobox", name=UNIT)
    units = f"{golden_server.url}/units?as_of={golden_server.as_of}"
    click_node(page, "定海分局")  # the first drill: DH
    expect(page).to_have_url(f"{units}&unit=DH")
    expect(unit).to_have_value(re.compile("^\\W*定海分局$"))
    settled(page)
    click_node(page, "定海分局機關支部")  # the second: DH-01, below it
    expect(page).to_have_url(f"{units}&unit=DH-01")
    settled(page)

    page.go_back()
    expect(page).to_have_url(f"{units}&unit=DH")
    expect(unit).to_have_value(re.compile("^\\W*定海分局$"))
    expect(page.locator(".st-key-breadcrumb")).not_to_contain_text("機關支部")
    settled(page)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/units\?(?=.*\bas_of=2026-06-30\b)(?!.*\bunit=)"))
    expect(unit).to_have_value("Whole organisation")
    settled(page)
    page.wait_for_timeout(1500)  # a run that wrote the unit back would show by now
    expect(page).to_have_url(re.compile(r"/units\?(?=.*\bas_of=2026-06-30\b)(?!.*\bunit=)"))
    expect(unit).to_have_value("Whole organisation")

    page.go_forward()
    expect(page).to_have_url(f"{units}&unit=DH")
    expect(unit).to_have_value(re.compile("^\\W*定海分局$"))
