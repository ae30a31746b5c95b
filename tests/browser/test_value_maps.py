"""The Data page in Chromium: a ledger with a local source label is refused, the label mapped once, then imported."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import expect

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "browser"))
from test_data import GOLDEN, WORDS, idle, upload  # noqa: E402  (the Data page's own steps)

LEDGER = (
    "問題編號,單位,考核細則,問題來源,嚴重程度,存在問題,發現日期\n"
    "NC-9001,DH,1.1,督查檢查,一般,消防通道堵塞,2026-03-05\n"
    "NC-9002,DH,1.1,督查檢查,嚴重,會議記錄不全,2026-03-06\n"
)


def test_a_local_source_label_is_mapped_on_the_page_and_the_ledger_imported(new_page, serve, cli, tmp_path, artifacts):
    db = tmp_path / "closeloop.duckdb"
    assert cli("import", GOLDEN / "units.csv", GOLDEN / "criteria.csv", "--db", db).returncode == 0
    server = serve(REPO, tmp_path / "streamlit.log", CLOSELOOP_DB=str(db))
    words = WORDS["en"]
    page = new_page(height=1400)
    page.goto(f"{server.url}/data?lang=en&as_of=2026-06-30")
    idle(page)
    upload(page, words, "台賬.csv", LEDGER.encode("big5"))
    page.get_by_role("button", name=words["check"]).click()
    expect(page.get_by_text("Values not recognised: say what each one means")).to_be_visible()
    idle(page)
    choice = page.locator(".st-key-unknown-value-0")
    expect(choice.get_by_text('问题来源 (source): "督查檢查" (2 rows)')).to_be_visible()
    choice.get_by_role("combobox").click()  # opens the choice
    page.get_by_role("option", name="Inspection (inspection)").click()
    idle(page)
    page.wait_for_timeout(300)
    page.screenshot(path=artifacts / "data-value-map-en.png", full_page=True)
    page.get_by_role("button", name="Save the mappings and check again").click()
    expect(page.get_by_role("button", name=words["commit"], exact=True)).to_be_visible()
    idle(page)
    page.get_by_role("button", name=words["commit"], exact=True).click()
    expect(page.get_by_text(words["done"])).to_be_visible()
    idle(page)
    expect(page.get_by_text("This store's value mappings (1)")).to_be_visible()
    page.screenshot(path=artifacts / "data-value-mapped-en.png", full_page=True)
    server.stop()
    metrics = cli("metrics", "--db", db, "--as-of", "2026-06-30")
    assert metrics.returncode == 0 and "\"opened_in_period\": 2" in metrics.stdout
