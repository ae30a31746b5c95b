"""Rectification in Chromium: record done, verify, reopen, see the history; the Overview follows; two editors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page, TimeoutError, expect

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def golden_store_file(tmp_path_factory, golden_imported):
    db = tmp_path_factory.mktemp("rectification-golden") / "closeloop.duckdb"
    return golden_imported(db, "--as", "import")


@pytest.fixture
def served(tmp_path, serve, golden_store_file):
    """A private copy of the golden store, served; `served.db` is the file (read it after stop())."""
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(golden_store_file, db)
    server = serve(REPO, tmp_path / "streamlit.log", CLOSELOOP_DB=str(db))
    server.db = db
    return server


def idle(page: Page) -> None:
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def open_kpi(page: Page, url: str) -> str:
    """The Overview's Open count as of today (moves are dated today)."""
    page.goto(f"{url}/?lang=en")
    value = page.locator('.st-key-kpi-open [data-testid="stMetricValue"]')
    value.wait_for()
    idle(page)
    return value.inner_text()


def open_record(page: Page, url: str, ref: str):
    page.goto(f"{url}/rectification?lang=en&ref={ref}")
    detail = page.locator(".st-key-detail")
    expect(detail.locator("h3")).to_contain_text(ref)
    idle(page)
    return detail


def record(page: Page, detail, move: str) -> None:
    detail.get_by_role("radio", name=move).click()
    idle(page)


def save(page: Page, detail) -> str:
    """Save the form; the one-line message the panel then shows."""
    detail.get_by_role("button", name="Save").click()
    alert = detail.locator('[data-testid="stAlertContainer"]').first
    expect(alert).not_to_be_empty()
    idle(page)
    return alert.inner_text()


def type_date(page: Page, detail, label: str, day: str) -> None:
    """Streamlit's date field is three spin buttons (year, month, day) that move on as they fill."""
    detail.get_by_role("spinbutton", name=f"year, {label}").click()
    page.keyboard.type(day.replace("-", ""))


def download(page: Page, button) -> str:
    """The file a download button gives; it is built on the click, so a click during a rerun is tried again."""
    for attempt in range(3):
        expect(button).to_be_visible()
        idle(page)
        try:
            with page.expect_download(timeout=45_000) as started:
                button.click()
            return started.value.path().read_text(encoding="utf-8-sig")
        except TimeoutError:
            if attempt == 2:
                raise


def test_done_verify_reopen_and_the_history_while_the_overview_follows(new_page, served, artifacts, cli):
    page = new_page(height=1400)
    before = int(open_kpi(page, served.url))

    detail = open_record(page, served.url, "NC-0006")
    record(page, detail, "Mark done")
    detail.get_by_label("Evidence", exact=True).fill("会议记录及签到表已归档")
    detail.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": "签到表.txt", "mimeType": "text/plain", "buffer": "签到表 2026".encode()}])
    expect(detail.get_by_text("签到表.txt")).to_be_visible()
    assert save(page, detail) == "CA-0006-1: saved 5 changes (trail block 2)."
    expect(detail.locator("p").filter(has_text="Awaiting verification")).to_be_visible()
    # the evidence file, listed by its name, gives back the bytes that were uploaded
    assert download(page, detail.get_by_role("button", name="签到表.txt")) == "签到表 2026"
    page.screenshot(path=artifacts / "rectification-done.png", full_page=True)

    record(page, detail, "Verify")
    assert save(page, detail) == "NC-0006: saved 3 changes (trail block 3)."
    expect(detail.locator("p").filter(has_text=re.compile(r"^Closed · .* verified closed on \d{4}-\d\d-\d\d by"))
           ).to_be_visible()
    history = page.locator(".st-key-history")
    expect(history.locator("h5")).to_have_text("History of NC-0006")
    page.screenshot(path=artifacts / "rectification-verified.png", full_page=True)
    assert int(open_kpi(page, served.url)) == before - 1

    detail = open_record(page, served.url, "NC-0001")
    record(page, detail, "Reopen")
    detail.get_by_label("Reason").fill("复查发现未落实")
    assert save(page, detail) == "NC-0001: saved 2 changes (trail block 4)."
    expect(detail.locator("p").filter(has_text=re.compile(r"^Open · "))).to_be_visible()
    page.screenshot(path=artifacts / "rectification-reopened.png", full_page=True)
    assert int(open_kpi(page, served.url)) == before

    served.stop()
    con = duckdb.connect(str(served.db), read_only=True)
    assert con.execute(
        "select entity, ref, field, old, new from events where id > 321 order by id"
    ).fetchall() == [
        ("action", "CA-0006-1", "done_on", None, con.execute("select done_on::varchar from actions "
                                                             "where ref = 'CA-0006-1'").fetchone()[0]),
        ("action", "CA-0006-1", "evidence", None, "会议记录及签到表已归档"),
        ("action", "CA-0006-1", "status", "planned", "done"),
        ("action", "CA-0006-1", "attachment", None,
         "签到表.txt sha256:" + con.execute("select sha256 from attachments").fetchone()[0]),
        ("nonconformity", "NC-0006", "status", "in_progress", "awaiting_verification"),
        ("nonconformity", "NC-0006", "status", "awaiting_verification", "closed"),
        ("nonconformity", "NC-0006", "closed_on", None, con.execute("select closed_on::varchar from nonconformities "
                                                                   "where ref = 'NC-0006'").fetchone()[0]),
        ("nonconformity", "NC-0006", "verified_by", None, con.execute("select verified_by from nonconformities "
                                                                     "where ref = 'NC-0006'").fetchone()[0]),
        ("nonconformity", "NC-0001", "status", "closed", "open"),
        ("nonconformity", "NC-0001", "closed_on", "2024-11-29", None),
    ]
    con.close()
    done = cli("trail", "verify", "--db", served.db)
    assert done.returncode == 0 and done.stdout.startswith("Trail verified: 331 events in 4 blocks"), done.stderr


def test_the_history_shows_each_change_and_downloads(new_page, served, artifacts):
    page = new_page(height=1400)
    detail = open_record(page, served.url, "NC-0014")
    record(page, detail, "Start")
    assert save(page, detail) == "CA-0014-1: saved 1 changes (trail block 2)."
    history = page.locator(".st-key-history")
    expect(history.get_by_test_id("stDataFrame")).to_be_visible()
    text = download(page, history.get_by_role("button", name="Download CSV"))
    assert text.splitlines()[0] == "No.,When,Who,Record,Ref,Field,Old value,New value,Reason"
    assert re.search(r"^322,[^,]+,[^,]+,Action,CA-0014-1,Status,Planned,In progress,started$", text, re.M), text


def test_the_second_of_two_editors_is_told_who_saved_first_and_reloads(new_page, served, artifacts):
    first, second = new_page(), new_page()
    one, two = open_record(first, served.url, "NC-0014"), open_record(second, served.url, "NC-0014")
    for page, detail in ((first, one), (second, two)):
        record(page, detail, "Extend due date")
        detail.get_by_label("Reason").fill("等待上级批复")
    type_date(first, one, "New due date", "2027-01-31")
    assert save(first, one) == "CA-0014-1: saved 1 changes (trail block 2)."
    type_date(second, two, "New due date", "2027-02-28")
    refused = save(second, two)
    assert re.fullmatch(r"Not saved: CA-0014-1 was changed by \S+ at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d after you "
                        r"opened it\. Reload it and try again\.", refused), refused
    second.screenshot(path=artifacts / "rectification-stale.png", full_page=True)
    again = open_record(second, served.url, "NC-0014")
    expect(again.get_by_test_id("stDataFrame")).to_be_visible()
    served.stop()
    con = duckdb.connect(str(served.db), read_only=True)
    assert con.execute("select due_on::varchar, version from actions where ref = 'CA-0014-1'").fetchone() == (
        "2027-01-31", 2)


def test_selecting_a_row_opens_its_detail_and_puts_it_in_the_url(new_page, served, artifacts):
    page = new_page()
    page.goto(f"{served.url}/rectification?lang=en")
    expect(page.get_by_text("Select a row in a list")).to_be_visible()
    idle(page)
    page.get_by_role("tab", name=re.compile(r"^Nonconformities")).click()
    grid = page.locator(".st-key-nonconformities [data-testid='stDataFrame']")
    if not grid.count():
        grid = page.get_by_test_id("stDataFrame").nth(1)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    # The grid is a canvas: the first row's selection box, by position (header 35 px, rows 35 px).
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
    expect(page).to_have_url(re.compile(r"[?&]ref=NC-\d{4}"))
    ref = re.search(r"ref=(NC-\d{4})", page.url).group(1)
    expect(page.locator(".st-key-detail h3")).to_contain_text(ref)
    expect(page.locator(".st-key-history h5")).to_have_text(f"History of {ref}")
    page.screenshot(path=artifacts / "rectification-selected.png", full_page=True)


def test_a_link_to_nothing_shows_nothing_and_is_logged(new_page, served):
    page = new_page()
    page.goto(f"{served.url}/rectification?lang=en&ref=NC-NOPE")
    expect(page.get_by_text("Nothing to show: NC-NOPE does not exist")).to_be_visible()
    idle(page)
    served.stop()
    con = duckdb.connect(str(served.db), read_only=True)
    assert con.execute("select entity, ref, field, reason from events where entity = 'access'").fetchall() == [
        ("access", "NC-NOPE", "ref", "out_of_scope"),
    ]


def test_an_open_finding_offers_no_verify_or_reopen_and_says_why(new_page, served, artifacts):
    page = new_page(height=1200)
    detail = open_record(page, served.url, "NC-0006")  # open, its one action planned
    expect(detail.get_by_role("radio", name="Mark done")).to_be_visible()
    assert detail.get_by_role("radio").all_inner_texts() == [
        "Add an action", "Start", "Mark done", "Extend due date", "Cancel"]
    expect(detail.get_by_text("Verify: only after every action is done")).to_be_visible()
    expect(detail.get_by_text("Reopen: only a closed finding can be reopened")).to_be_visible()
    page.screenshot(path=artifacts / "rectification-open-moves.png", full_page=True)
