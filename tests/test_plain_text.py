"""Stored text is shown as written on every page: Markdown, links, images and HTML in it never act."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from closeloop import filters, identity, ledger, review, store
from closeloop.i18n import plain

APP = Path(__file__).parents[1]
AS_OF = date(2026, 6, 30)
# What an attacker types into a title, a unit's name, a category or a review: an outside image, a link,
# emphasis, a script, an image tag, a bare link, a Streamlit colour and icon.
HOSTILE = ("![x](http://example.com/a.png) [link](http://example.com/l) **bold** <script>alert(1)</script> "
           "<img src=http://example.com/b.png> www.example.com :red[red] :material/home:")
# What must never reach a Markdown-rendering element unescaped: each would fetch, link, format or run.
ACTING = re.compile(r"(?<!\\)!(?<!\\)\[|(?<!\\)\[link|(?<!\\)\*\*bold|(?<!\\)<(script|img)|http://|"
                    r"www\.|(?<!\\):red|(?<!\\):material")

pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture(scope="module")
def hostile_file(tmp_path_factory, golden_dir) -> Path:
    """The golden ledger with HOSTILE as unit DH's name, NC-0009's title and description, CA-0009-1's
    description, the category of criterion 1.1, and the title and attendee of a recorded review."""
    folder = tmp_path_factory.mktemp("hostile")
    ledger_dir = folder / "ledger"
    shutil.copytree(golden_dir, ledger_dir, ignore=shutil.ignore_patterns("*.json", "*.md"))
    edits = {"units.csv": ("code", "DH", {"name": HOSTILE}),
             "nonconformities.csv": ("ref", "NC-0009", {"title": HOSTILE, "description": HOSTILE}),
             "actions.csv": ("ref", "CA-0009-1", {"description": HOSTILE}),
             "criteria.csv": ("code", "1.1", {"category": HOSTILE})}
    for name, (key, value, changes) in edits.items():
        with open(ledger_dir / name, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        fields = list(rows[0]) + [c for c in changes if c not in rows[0]]
        for row in rows:
            row.update(changes if row[key] == value else {})
        with open(ledger_dir / name, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    db = folder / "closeloop.duckdb"
    con = store.connect(db)
    assert ledger.load(con, ledger.read([ledger_dir]), actor="import").ok
    review.record(con, identity.local_administrator("admin"), filters.Filters.default(AS_OF), held_on=AS_OF,
                  title=HOSTILE, attendees=[HOSTILE])
    con.close()
    return db


@pytest.fixture
def hostile_store(tmp_path, monkeypatch, hostile_file) -> Path:
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(hostile_file, db)
    monkeypatch.setenv("CLOSELOOP_DB", str(db))
    return db


def page(name: str, url: dict, state: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=60)
    at.session_state["as_of"] = AS_OF
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.query_params["lang"] = "en"
    for key, value in url.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception
    return at


def rendered(at: AppTest) -> list[str]:
    """The text of every element Streamlit renders as Markdown, labels of buttons, tabs and metrics included."""
    texts = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success"):
        texts += [e.value for e in getattr(at, kind)]
    texts += [b.label for b in at.button] + [tab.label for tab in at.tabs] + [m.label for m in at.metric]
    texts += [e.label for e in at.expander]
    return texts


# Each page with the unit filter on DH and the hostile category chosen; the Rectification page opened on
# NC-0009, the Review page on the recorded review. `shown`: where the escaped text must appear.
PAGES = {
    "overview": ({}, "caption"),
    "units": ({}, "button"),
    "rectification": ({"ref": "NC-0009"}, "subheader"),
    "recurrence": ({}, "caption"),
    "time_to_close": ({}, "caption"),
    "data": ({}, "caption"),
    "review": ({"review": "1"}, "markdown"),
}


@pytest.mark.parametrize("name", PAGES)
def test_hostile_stored_text_shows_escaped_and_never_acts(hostile_store, name):
    url, shown = PAGES[name]
    at = page(name, {"unit": "DH"} | url, {"categories": [HOSTILE]})
    texts = rendered(at)
    assert [t for t in texts if ACTING.search(t)] == []
    where = [b.label for b in at.button] if shown == "button" else [e.value for e in getattr(at, shown)]
    assert any(plain(HOSTILE) in text for text in where), where


def test_the_detail_shows_the_description_escaped_and_the_actions_table_as_plain_cells(hostile_store):
    at = page("rectification", {"ref": "NC-0009"})
    assert plain(HOSTILE) in [c.value for c in at.caption]
    (actions,) = [d.value for d in at.dataframe
                  if list(d.value.columns)[:6] == ["Ref", "Owner", "Due on", "Status", "Days overdue", "Description"]]
    assert actions["Description"].tolist() == [HOSTILE]


def test_escaped_text_reads_as_written_once_markdown_unescapes_it():
    # CommonMark turns each backslash-escaped mark back into the mark itself; the word joiners are invisible.
    assert re.sub(r"\\(.)", r"\1", plain(HOSTILE)).replace("\u2060", "") == HOSTILE


def test_a_stored_name_in_a_chart_is_text_not_plotly_markup():
    # Plotly draws <a href>, <b>, <i> … in labels as markup: a unit so named would be a live link in the chart.
    import pandas as pd

    from closeloop import charts

    named = '<a href="http://example.com">DH</a> & <b>x</b>'
    rollup = pd.DataFrame({"code": ["DH"], "name": [named], "parent_code": [None], "depth": [0], "opened": [3],
                           "overdue_share": [0.5]})
    labels = list(charts.unit_treemap(rollup, "name", lambda key, **v: key).data[0].labels)
    assert labels == ['&lt;a href="http://example.com"&gt;DH&lt;/a&gt; &amp; &lt;b&gt;x&lt;/b&gt;']
    assert rollup["name"].tolist() == [named]  # the caller's rows are left as they were


def test_the_pdf_pack_prints_stored_text_as_written(hostile_file, tmp_path):
    # fpdf2 reads Markdown only when told (markdown=True); the pack never tells it. The unit DH named with
    # HOSTILE is the pack's scope, printed on its cover.
    out = tmp_path / "pack.pdf"
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(hostile_file, db)
    done = subprocess.run([sys.executable, "-m", "closeloop", "report", "--db", db, "--as-of", "2026-06-30",
                           "--unit", "DH", "--out", out, "--lang", "en"], cwd=APP, capture_output=True, text=True,
                          env={**os.environ, "CLOSELOOP_LANG": "en"}, timeout=300)
    assert done.returncode == 0, done.stderr
    text = subprocess.run(["pdftotext", "-raw", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "![x](http://example.com/a.png) [link](http://example.com/l) **bold** <script>alert(1)</script>" \
        in " ".join(text.split())
