"""The demo store's meeting pack shows objectives, satisfaction and inspections with the numbers `metrics` prints."""

from __future__ import annotations

import json
from datetime import date

import openpyxl
import pytest

from closeloop import identity, report, review, store
from closeloop.filters import Filters

LAST, NOW = "2026-03-31", "2026-06-30"  # the last review's as-of date, and this one's
# Each section's rows in the pack, in order: the label it prints (English) and how `metrics` names the number
ROWS = {
    "objectives": [("With actuals", "with_status"), ("Met", "met"), ("At risk", "at_risk"), ("Missed", "missed"),
                   ("Weighted score", "score")],
    "satisfaction": [("Answers", "answers"), ("Satisfaction index", "index"), ("Satisfied share", "satisfied_share"),
                     ("Dissatisfied share", "dissatisfied_share")],
    "inspections": [("Due", "due"), ("Performed", "performed"), ("Performed rate", "performed_rate"),
                    ("Overdue", "overdue"), ("Coverage", "coverage"), ("Checklist score", "score")],
}
SHEETS = {"objectives": "Objectives", "satisfaction": "Satisfaction", "inspections": "Inspections"}


def as_printed(key: str, value) -> str:
    """A number of `metrics` as the pack should print it: rates to one place in percent, the index to two."""
    if value is None:
        return "—"
    if key == "index":
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value * 100:.1f}%"
    return f"{value:,}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory, cli):
    """The demo store with two reviews recorded by the command line (as of LAST and NOW) and two conclusions."""
    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    for args in (("demo", "--db", db),
                 ("review", "record", "--db", db, "--as-of", LAST, "--held-on", "2026-04-02", "--title", "Q1",
                  "--attendees", "chair", "--as", "chair"),
                 ("review", "record", "--db", db, "--as-of", NOW, "--held-on", "2026-07-02", "--title", "Q2",
                  "--attendees", "chair", "--as", "chair")):
        done = cli(*args)
        assert done.returncode == 0, done.stderr
    con = store.connect(db)
    chair = identity.local_administrator("chair")
    review.conclude(con, chair, 2, section="inspections", text="Overdue inspections to be done by August.")
    review.conclude(con, chair, 2, section="objectives", text="Two objectives missed: see the decisions.")
    con.close()
    return db


def metrics_of(cli, db, as_of: str) -> dict:
    done = cli("metrics", "--db", db, "--as-of", as_of)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_packs_data_holds_the_numbers_metrics_prints_now_and_at_the_last_review(demo, cli):
    now, then = metrics_of(cli, demo, NOW), metrics_of(cli, demo, LAST)
    con = store.connect(demo, create=False, writes=False)
    try:
        pack = report.gather(con, Filters.default(date.fromisoformat(NOW)), "en")
    finally:
        con.close()
    assert pack.last_review.as_of == date.fromisoformat(LAST)
    for section in review.PLAN_SECTIONS:
        assert pack.plan_now[section] == now[section]
        assert pack.plan_before[section] == then[section]
    assert now["objectives"]["with_status"] > 0 and now["inspections"]["due"] > 0 and now["satisfaction"]["answers"] > 0


def test_the_workbook_pack_prints_each_section_as_metrics_does_and_the_conclusions(demo, cli, tmp_path):
    now, then = metrics_of(cli, demo, NOW), metrics_of(cli, demo, LAST)
    out = tmp_path / "pack.xlsx"
    done = cli("report", "--db", demo, "--as-of", NOW, "--out", out)
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(out)
    for section, sheet in SHEETS.items():
        printed = [[c.value for c in r] for r in book[sheet].iter_rows()]
        assert printed[0] == ["Measure", "Now", "At the last review", "Change"]
        assert [row[:3] for row in printed[1:]] == [
            [label, as_printed(key, now[section][key]), as_printed(key, then[section][key])]
            for label, key in ROWS[section]]
    conclusions = [[c.value for c in r] for r in book["Conclusions"].iter_rows()]
    assert conclusions == [["Section", "Conclusion", "Written by"],
                           ["The extent to which objectives were met", "Two objectives missed: see the decisions.",
                            "chair"],
                           ["Inspection results and programme performance",
                            "Overdue inspections to be done by August.", "chair"]]
