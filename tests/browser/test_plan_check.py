"""The loops close in Chromium: a failed checklist item becomes a finding by one click and is closed on the
Rectification page; a dissatisfied survey item becomes a finding that a satisfied follow-up wave (回訪) closes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
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
    server = serve(REPO, tmp_path / "streamlit.log", CLOSELOOP_DB=str(db))
    server.db = db
    return server


def idle(page: Page) -> None:
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def record(page: Page, detail, move: str, fill: dict[str, str]) -> str:
    """One move on the Rectification page's detail: choose it, fill its fields, save; the line it then says."""
    detail.get_by_role("radio", name=move).click()
    idle(page)
    for label, text in fill.items():
        detail.get_by_label(label, exact=True).fill(text)
    detail.get_by_role("button", name="Save").click()
    alert = detail.locator('[data-testid="stAlertContainer"]').first
    expect(alert).not_to_be_empty()
    idle(page)
    return alert.inner_text()


def stored(db: Path, ref: str) -> tuple:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select source::varchar, status::varchar, closed_on is not null from nonconformities "
                           "where ref = $ref", {"ref": ref}).fetchone()
    finally:
        con.close()


def test_a_failed_item_becomes_a_finding_by_a_click_and_is_closed_on_the_rectification_page(new_page, served,
                                                                                             artifacts):
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

    # the loop closes: an action taken, done with its evidence, verified effective
    said = record(page, detail, "Add an action", {"Description": "补齐学习记录并每月抽查", "Owner": "王明"})
    made = re.match(r"^Action (\S+) added to (\S+)\.$", said)
    assert made and made.group(2) == ref, said
    action = made.group(1)
    assert re.match(rf"^{re.escape(action)}: saved \d+ changes", record(page, detail, "Mark done",
                                                                       {"Evidence": "学习记录已补齐"}))
    assert re.match(rf"^{re.escape(ref)}: saved 3 changes", record(page, detail, "Verify", {}))
    expect(detail.locator("p").filter(has_text=re.compile(r"^Closed · "))).to_be_visible()
    page.screenshot(path=str(artifacts / "plan-check-inspection-closed.png"), full_page=True)
    served.stop()
    assert stored(served.db, ref) == ("inspection", "closed", True)


def test_a_dissatisfied_item_becomes_a_finding_that_a_satisfied_follow_up_wave_closes(new_page, served, artifacts):
    # in the demo, DS's item q1 averaged 2.93 in wave 2025-H1 and 3.00 in 2025-H2 (tests/test_plan_pages.py)
    page = new_page(height=1600)
    page.goto(f"{served.url}/satisfaction?lang=en&as_of=2026-06-30&since=2025-01-01&unit=DS")
    box = page.locator(".st-key-dissatisfied-items")
    idle(page)
    # DS's first dissatisfied item without a finding is the one its next wave answers
    expect(box.get_by_role("combobox")).to_have_value(re.compile(r" · 2025-H1 · q1 · 2\.93$"))
    box.get_by_role("button", name="Raise a nonconformity").click()
    expect(page.get_by_text("Raised: SAT-DS-2025-H1-q1. Follow it up on the Rectification page.")).to_be_visible()
    idle(page)

    close = box.get_by_role("button", name="Close with the follow-up results")
    close.scroll_into_view_if_needed()
    close.click()
    expect(page.get_by_text("Closed on the follow-up results: SAT-DS-2025-H1-q1.")).to_be_visible()
    idle(page)
    page.screenshot(path=str(artifacts / "plan-check-survey-closed.png"), full_page=True)

    page.goto(f"{served.url}/rectification?lang=en&ref=SAT-DS-2025-H1-q1")
    detail = page.locator(".st-key-detail")
    expect(detail.locator("h3")).to_contain_text("SAT-DS-2025-H1-q1")
    expect(detail.locator("p").filter(has_text=re.compile(r"^Closed · "))).to_be_visible()
    served.stop()
    assert stored(served.db, "SAT-DS-2025-H1-q1") == ("satisfaction_survey", "closed", True)
