"""The Data page in Chromium: a workbook uploaded, its sheets mapped, its problems reported, then imported."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from conftest import NO_PLAN_CHECK  # noqa: E402  (tests/conftest.py, on the path set above)
from test_workbooks import messy_workbook  # noqa: E402  (the golden ledger as a unit keeps it)

GOLDEN = REPO.parent / "shared" / "golden"
WORDS = {
    "en": {"read": "Read the files", "check": "Check the rows", "commit": "Import", "tab": "Data quality",
           "refused": "problems found; nothing was stored", "done": "Imported (batch", "gap": "No due date · 1", "rows": "1 rows shown"},
    "zh": {"read": "读取文件", "check": "检查数据", "commit": "确认导入", "tab": "数据质量",
           "refused": "个问题，未导入任何数据", "done": "已导入（批次", "gap": "无整改期限 · 1", "rows": "显示 1 行"},
}


@pytest.fixture(scope="module")
def org_store(tmp_path_factory, cli):
    """A store that knows the golden units and criteria but holds no findings, imported once for the module."""
    db = tmp_path_factory.mktemp("org") / "closeloop.duckdb"
    done = cli("import", GOLDEN / "units.csv", GOLDEN / "criteria.csv", "--db", db)
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture
def org_server(tmp_path, org_store, serve):
    """A test's own copy of org_store (with its trail's anchors), served: what the test imports stays its own."""
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(org_store, db)
    if Path(f"{org_store}.anchors").exists():
        shutil.copy(f"{org_store}.anchors", f"{db}.anchors")
    server = serve(REPO, tmp_path / "streamlit.log", CLOSELOOP_DB=str(db))
    yield server, db
    server.stop()


def idle(page: Page) -> None:
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def upload(page: Page, words: dict, name: str, data: bytes) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
    expect(page.get_by_text(name).first).to_be_visible()
    idle(page)
    page.get_by_role("button", name=words["read"]).click()
    expect(page.get_by_role("button", name=words["check"])).to_be_visible()
    idle(page)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_bad_workbook_is_reported_then_a_good_one_imported(new_page, org_server, artifacts, cli, lang):
    server, db = org_server
    words = WORDS[lang]
    page = new_page(height=1400)
    page.goto(f"{server.url}/data?lang={lang}&as_of=2026-06-30")
    expect(page.get_by_role("tab", name=words["tab"])).to_be_visible()
    idle(page)

    bad, where = messy_workbook(closed_before_found="NC-0002")
    upload(page, words, "bad.xlsx", bad)
    page.wait_for_timeout(500)
    page.screenshot(path=artifacts / f"data-mapping-{lang}.png", full_page=True)
    page.get_by_role("button", name=words["check"]).click()
    expect(page.get_by_text(words["refused"])).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()  # its row is where["NC-0002"]: see the screenshot
    idle(page)
    page.wait_for_timeout(500)
    page.screenshot(path=artifacts / f"data-report-{lang}.png", full_page=True)
    page.get_by_role("button", name={"en": "Start over", "zh": "重新开始"}[lang]).click()
    idle(page)

    good, _ = messy_workbook()
    upload(page, words, "good.xlsx", good)
    page.get_by_role("button", name=words["check"]).click()
    expect(page.get_by_role("button", name=words["commit"], exact=True)).to_be_visible()
    idle(page)
    page.get_by_role("button", name=words["commit"], exact=True).click()
    expect(page.get_by_text(words["done"])).to_be_visible()
    idle(page)
    page.screenshot(path=artifacts / f"data-imported-{lang}.png", full_page=True)
    page.get_by_role("tab", name=words["tab"]).click()
    page.get_by_text(words["gap"], exact=True).click()  # a count opens its rows
    expect(page.get_by_text(words["rows"])).to_be_visible()
    idle(page)
    page.wait_for_timeout(500)
    page.screenshot(path=artifacts / f"data-quality-{lang}.png", full_page=True)
    server.stop()  # the store is free for the command line again
    metrics = cli("metrics", "--db", db, "--as-of", "2026-06-30")
    expected = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
    assert json.loads(metrics.stdout) == expected["all"] | NO_PLAN_CHECK  # the ledger has no plan-and-check rows
