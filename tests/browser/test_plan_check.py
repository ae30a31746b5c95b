"""The inspection programme in Chromium: a failed checklist item becomes a finding by one click, and the finding
is then on the Rectification page."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory, cli):
    db = tmp_path_factory.mktemp("plan-check-demo") / "closeloop.duckdb"
    done = cli("demo", "--db", db, "--ncs", "600")
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture
def served(tmp_path, serve, demo_file):
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(demo_file, db)
    return serve(REPO, tmp_path / "streamlit.log", CLOSELOOP_DB=str(db))


def idle(page: Page) -> None:
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def test_a_failed_item_becomes_a_finding_by_a_click_and_shows_on_the_rectification_page(new_page, served, artifacts):
    page = new_page(height=1400)
    page.goto(f"{served.url}/inspections?lang=en&as_of=2026-06-30")
    box = page.locator(".st-key-failed-items")
    button = box.get_by_role("button", name="Raise a nonconformity")
    button.scroll_into_view_if_needed()
    idle(page)
    button.click()
    said = page.get_by_text(re.compile(r"^Raised: NC-\S+\. Follow it up on the Rectification page\.$"))
    expect(said).to_be_visible()
    ref = re.match(r"Raised: (NC-\S+)\.", said.inner_text()).group(1)
    idle(page)
    page.screenshot(path=str(artifacts / "plan-check-raised.png"))

    page.goto(f"{served.url}/rectification?lang=en&ref={ref}")
    detail = page.locator(".st-key-detail")
    expect(detail.locator("h3")).to_contain_text(ref)
    expect(detail.locator("p").first).to_contain_text("Open · ")  # raised open, awaiting its actions
