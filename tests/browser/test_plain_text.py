"""Stored text in Chromium: a title, unit name and description holding Markdown, links, images and HTML show
as written; nothing is fetched from, or linked to, another host (the new_page fixture fails on any request)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, server_env

REPO = Path(__file__).resolve().parents[2]
HOSTILE = ("![x](http://example.com/a.png) [link](http://example.com/l) **bold** <script>alert(1)</script> "
           "<img src=http://example.com/b.png> www.example.com")


@pytest.fixture(scope="module")
def hostile_file(tmp_path_factory, cli, golden_dir) -> Path:
    """The golden ledger with HOSTILE as unit DH's name and NC-0009's title and description."""
    folder = tmp_path_factory.mktemp("hostile-served")
    ledger = folder / "ledger"
    shutil.copytree(golden_dir, ledger, ignore=shutil.ignore_patterns("*.json", "*.md"))
    for name, key, value, changes in (("units.csv", "code", "DH", {"name": HOSTILE}),
                                      ("nonconformities.csv", "ref", "NC-0009",
                                       {"title": HOSTILE, "description": HOSTILE})):
        with open(ledger / name, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        fields = list(rows[0]) + [c for c in changes if c not in rows[0]]
        for row in rows:
            row.update(changes if row[key] == value else {})
        with open(ledger / name, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    db = folder / "closeloop.duckdb"
    done = cli("import", ledger, "--db", db)
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture(scope="module")
def hostile_server(hostile_file):
    """hostile_file served, once for the module: its tests only read (a server per test cost a cold start)."""
    server = Server(REPO, server_env(CLOSELOOP_DB=str(hostile_file)), hostile_file.parent / "streamlit.log")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.mark.parametrize("path", ["rectification?ref=NC-0009&unit=DH", "units?unit=DH"])
def test_hostile_stored_text_shows_as_written_and_fetches_nothing(hostile_server, new_page, path):
    page = new_page()
    page.goto(f"{hostile_server.url}/{path}&lang=en&as_of=2026-06-30")
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("**bold** <script>alert(1)</script>")
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")
    # as written, but for the invisible word joiners that keep bare addresses from becoming links
    assert HOSTILE in main.inner_text().replace("\u2060", "")
    assert page.locator("img[src*='example.com']").count() == 0
    assert page.locator("a[href*='example.com']").count() == 0
    assert page.locator("script:text('alert(1)')").count() == 0

