"""The Management review page in Chromium: the counts since the last review open their rows; the PDF is built
with a progress bar, downloaded, and holds the command line's numbers."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from closeloop import identity, review, store
from closeloop.filters import Filters

AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def reviewed_store(tmp_path_factory, cli, golden_imported):
    """The golden ledger with a review as of 2026-03-31 (one decision); the answers computed from it.

    Built once for the module: each test serves a copy of its own (what one writes stays its own)."""
    db = tmp_path_factory.mktemp("reviewed") / "closeloop.duckdb"
    golden_imported(db)
    con = store.connect(db)
    chair = identity.local_administrator("chair")
    made = review.record(con, chair, Filters.default(date(2026, 3, 31)), held_on=date(2026, 4, 2), title="一季度评审",
                         attendees=["局长"])
    review.decide(con, chair, made, topic="逾期整改月度通报", description="每月通报逾期项", owner="王明",
                  due_on=date(2026, 5, 31))
    changes = review.changes(con, date(2026, 3, 31), Filters.default(date.fromisoformat(AS_OF)), None)
    con.close()
    metrics = json.loads(cli("metrics", "--db", db, "--as-of", AS_OF).stdout)
    return db, metrics, changes


@pytest.fixture
def reviewed_server(tmp_path, reviewed_store, serve):
    """A copy of reviewed_store, served, with the answers computed from it."""
    built, metrics, changes = reviewed_store
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(built, db)
    if Path(f"{built}.anchors").exists():
        shutil.copy(f"{built}.anchors", f"{db}.anchors")
    server = serve(Path(__file__).resolve().parents[2], tmp_path / "streamlit.log", CLOSELOOP_DB=str(db))
    return server, copy.deepcopy(metrics), copy.deepcopy(changes)


def idle(page: Page) -> None:
    page.locator("h1").wait_for()
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def test_the_review_page_opens_the_changes_and_builds_the_pdf(new_page, reviewed_server, artifacts, tmp_path):
    server, metrics, changes = reviewed_server
    page = new_page(locale="zh-CN", height=1600)
    page.goto(f"{server.url}/review?as_of={AS_OF}&lang=zh")
    expect(page.locator("h1")).to_have_text("管理评审")
    idle(page)
    since = page.locator(".st-key-review-since")
    since.get_by_role("radio", name=f"新增逾期 · {changes['newly_overdue']}").click()
    expect(since.get_by_test_id("stDataFrame")).to_be_visible()
    expect(page.locator(".st-key-review-previous-decisions")).to_contain_text("每月通报逾期项")
    idle(page)
    with page.expect_download(timeout=120_000) as rows_file:
        since.get_by_role("button", name="下载 CSV").click()
    listed = rows_file.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert len(listed) == 1 + changes["newly_overdue"]
    page.screenshot(path=artifacts / "review-zh.png", full_page=True)

    pack = page.locator(".st-key-review-pack")
    pack.get_by_role("button", name="生成 PDF").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible()
    download_button = pack.get_by_role("button", name=re.compile(r"下载 PDF（[\d,]+ KB）"))
    expect(download_button).to_be_visible(timeout=240_000)
    with page.expect_download(timeout=120_000) as downloading:
        download_button.click()
    saved = tmp_path / "pack.pdf"
    downloading.value.save_as(saved)
    assert saved.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", str(saved), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert re.search(rf"^\s*未关闭\s+{metrics['open']:,}\s", text, re.M)
    assert re.search(rf"^\s*新增逾期\s+{changes['newly_overdue']:,}\s*$", text, re.M)
    # the three plan-and-check sections (the golden ledger has no plan rows: nothing due, no answers)
    for heading in ("质量目标达成情况", "群众满意度", "检查结果与检查计划执行情况"):
        assert re.search(rf"^\s*{heading}\s*$", text, re.M)
    assert re.search(rf"^\s*应检查\s+{metrics['inspections']['due']:,}\s", text, re.M)


def test_the_chair_writes_a_conclusion_that_reads_back_as_plain_text(new_page, reviewed_server, artifacts):
    server, _, _ = reviewed_server
    page = new_page(locale="en-US", height=1600)
    page.goto(f"{server.url}/review?as_of={AS_OF}&lang=en&review=1")
    expect(page.locator("h1")).to_have_text("Management review")
    idle(page)
    section = page.locator(".st-key-review-inspections")
    section.get_by_text("Write the conclusion").click()
    section.locator("textarea").fill("Coverage *below* plan\n<b>raise</b> it by August")
    section.get_by_role("button", name="Save the conclusion").click()
    idle(page)
    expect(page.get_by_test_id("stAlert").first).to_contain_text(
        "Saved the conclusion on “Inspection results and programme performance” (version 1).")
    shown = section.get_by_test_id("stMarkdown").filter(has_text="Coverage")
    # the marks shown as typed, nothing rendered; the line break kept
    expect(shown).to_have_text(re.compile(r"^Coverage \*below\* plan\s+<b>raise</b> it by August\s*$"))
    expect(shown.locator("br")).to_have_count(1)
    expect(section.locator("b")).to_have_count(0)
    expect(section.locator("em")).to_have_count(0)
    page.screenshot(path=artifacts / "review-conclusion-en.png", full_page=True)
