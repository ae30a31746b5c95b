"""Management reviews: recorded with a frozen snapshot, opened again, compared with the next; decisions as actions."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from conftest import action, nc

from closeloop import clock, identity, metrics, review, store, trail, workflow
from closeloop.filters import Filters
from closeloop.identity import Identity
from closeloop.refusal import Refused

BOTH_BACKENDS = True
LAST = date(2026, 3, 31)  # the last review's as-of date
NOW = date(2026, 6, 30)  # this review's
ADMIN = identity.local_administrator("chair")


@pytest.fixture
def review_store(store_from_rows):
    """What changed between the last review's as-of date (2026-03-31) and now (2026-06-30); window 365."""
    return store_from_rows(
        [
            nc("R-NEW", "DH-01", "2026-04-10", "2026-08-01", criterion="2.1"),  # new, not yet due
            nc("R-NEW-OVERDUE", "DH-02", "2026-04-15", "2026-05-15", criterion="2.1"),  # new and newly overdue
            nc("R-BECAME-OVERDUE", "DH-02", "2026-01-10", "2026-04-30"),  # due after the last review: newly overdue
            nc("R-STILL-OVERDUE", "DS", "2025-12-01", "2026-01-31"),  # overdue then and now: not newly
            nc("R-CLOSED", "DH-01", "2026-01-05", "2026-03-01", "2026-05-20"),  # closed since
            nc("R-CLOSED-ON-LAST", "DS", "2025-10-01", "2025-11-01", "2026-03-31", criterion="2.1"),  # closed on it: not since
            nc("R-FOUND-ON-LAST", "DS", "2026-03-31", "2026-09-01", criterion="3.1"),  # found on it: not new
            nc("R-REPEAT", "DH-01", "2026-06-01", "2026-09-01"),  # new, and repeats R-CLOSED (DH-01, 1.1)
            nc("R-OUTSIDE", "DHX", "2026-05-01", "2026-09-01"),  # new, outside DH (its code starts with DH)
        ],
        [
            action("A-CLOSED", "R-CLOSED", "2026-03-01", "2026-05-10") | {"owner": "王明"},
            action("A-BECAME", "R-BECAME-OVERDUE", "2026-04-30") | {"owner": "李華"},
        ],
    )


def counts(con, f: Filters, previous_as_of: date = LAST, scope: str | None = None) -> dict:
    return review.changes(con, previous_as_of, f, scope)


def refs(con, change: str, f: Filters, previous_as_of: date = LAST) -> set[str]:
    return set(review.changed_rows(con, previous_as_of, f, None, change)["ref"])


# ---------------------------------------------------------------------------------------------
# Since the last review


def test_since_the_last_review_counts_each_change(review_store):
    assert counts(review_store, Filters.default(NOW)) == {
        "new": 4, "closed": 1, "newly_overdue": 2, "reopened": 0, "new_repeat": 1,
    }


def test_each_count_opens_exactly_its_rows(review_store):
    f = Filters.default(NOW)
    assert {change: refs(review_store, change, f) for change in review.CHANGES} == {
        "new": {"R-NEW", "R-NEW-OVERDUE", "R-REPEAT", "R-OUTSIDE"},
        "closed": {"R-CLOSED"},
        "newly_overdue": {"R-NEW-OVERDUE", "R-BECAME-OVERDUE"},
        "reopened": set(),
        "new_repeat": {"R-REPEAT"},
    }


def test_a_reopening_counts_on_the_day_it_was_recorded_in_the_organisations_zone(review_store, monkeypatch):
    """Reopened now, in a zone whose date is not UTC's (UTC+14 from noon UTC, UTC-12 before it): it counts on the
    zone's today, the day "today" and the as-of date are, and on neither day beside it."""
    monkeypatch.setenv("CLOSELOOP_TZ", "Etc/GMT-14" if datetime.now(timezone.utc).hour >= 12 else "Etc/GMT+12")
    workflow.reopen(review_store, ADMIN, "R-CLOSED", reason="no evidence of the fix")
    today = clock.today()
    day = timedelta(days=1)
    assert today != datetime.now(timezone.utc).date()  # the zone's day is not UTC's, as the test means it
    assert {as_of: (counts(review_store, Filters.default(as_of), as_of - day)["reopened"],
                    refs(review_store, "reopened", Filters.default(as_of), as_of - day))
            for as_of in (today - day, today, today + day)} == {
        today - day: (0, set()), today: (1, {"R-CLOSED"}), today + day: (0, set())}


def test_since_the_last_review_honours_the_unit_filter(review_store):
    assert counts(review_store, Filters.default(NOW, unit="DH")) == {
        "new": 3, "closed": 1, "newly_overdue": 2, "reopened": 0, "new_repeat": 1,
    }


def test_the_rows_name_the_owners_of_open_actions(review_store):
    rows = review.changed_rows(review_store, LAST, Filters.default(NOW), None, "newly_overdue").set_index("ref")
    assert rows.loc["R-BECAME-OVERDUE", ["owners", "days_overdue"]].tolist() == ["李華", 61]
    assert rows.loc["R-NEW-OVERDUE", "owners"] is None


def test_reopened_counts_a_status_change_away_from_closed_recorded_since(review_store):
    today = workflow.today()
    workflow.reopen(review_store, ADMIN, "R-CLOSED", reason="the corrective action did not hold")
    f = Filters.default(today)
    assert counts(review_store, f, previous_as_of=NOW)["reopened"] == 1
    assert refs(review_store, "reopened", f, previous_as_of=NOW) == {"R-CLOSED"}
    # recorded today: not a change between two earlier dates
    assert counts(review_store, Filters.default(NOW))["reopened"] == 0


# ---------------------------------------------------------------------------------------------
# Recording a review, opening it again, comparing it with the next


def test_a_recorded_review_opens_again_with_its_frozen_snapshot(review_store):
    f = Filters.default(NOW, unit="DH")
    contract = metrics.contract(review_store, f)
    made = review.record(review_store, ADMIN, f, held_on=date(2026, 7, 3), title="2026 年第二季度管理评审",
                         attendees=["局长", " 质量部 ", ""])
    workflow.reopen(review_store, ADMIN, "R-CLOSED", reason="not effective")  # the store moves on
    opened = review.load(review_store, made, None)
    assert (opened.title, opened.held_on, opened.attendees, opened.filters) == (
        "2026 年第二季度管理评审", date(2026, 7, 3), ("局长", "质量部"), f)
    assert opened.contract == contract
    assert metrics.contract(review_store, f)["open"] == contract["open"] + 1
    frozen = store.run(review_store, "review_open_items", {"review": made, "scope": None})
    assert list(frozen["ref"]) == ["R-BECAME-OVERDUE", "R-NEW", "R-NEW-OVERDUE", "R-REPEAT"]
    assert frozen.set_index("ref").loc["R-BECAME-OVERDUE", "owners"] == "李華"


def test_recording_a_review_is_one_sealed_transaction_with_its_events(review_store):
    made = review.record(review_store, ADMIN, Filters.default(NOW), held_on=date(2026, 7, 3), title="Q2",
                         attendees=["chair"])
    fields = review_store.execute(
        "select field from events where entity = 'review' and ref = $ref order by id", {"ref": str(made)}
    ).fetchall()
    assert [f for (f,) in fields] == ["created", "held_on", "title", "attendees", "as_of", "filters", "snapshot"]
    assert trail.verify(review_store).ok
    assert review_store.execute("select source::varchar, unit from audits where ref = $ref",
                                {"ref": f"REV-{made}"}).fetchone() == ("management_review", "HQ")


def test_the_next_review_compares_with_the_last_one(review_store):
    first = review.record(review_store, ADMIN, Filters.default(LAST), held_on=date(2026, 4, 2), title="Q1",
                          attendees=["chair"])
    second = review.record(review_store, ADMIN, Filters.default(NOW), held_on=date(2026, 7, 3), title="Q2",
                           attendees=["chair"])
    assert review.last_before(review_store, None, NOW, None).id == first
    assert review.last_before(review_store, None, LAST, None) is None
    assert review.last_before(review_store, "DH", NOW, None) is None  # another scope's reviews do not count
    opened = review.load(review_store, second, None)
    last = review.last_before(review_store, opened.unit, opened.as_of, None)
    assert counts(review_store, opened.filters, last.as_of)["new"] == 4
    assert opened.contract["open"] - last.contract["open"] == 4 - 1  # four found, one closed, none reopened


def test_a_review_is_refused_without_a_title_attendees_or_a_role(review_store):
    f = Filters.default(NOW)
    with pytest.raises(Refused) as refused:
        review.record(review_store, ADMIN, f, held_on=NOW, title=" ", attendees=["chair"])
    assert refused.value.key == "review_incomplete"
    with pytest.raises(Refused) as refused:
        review.record(review_store, ADMIN, f, held_on=NOW, title="Q2", attendees=[" "])
    assert refused.value.key == "review_incomplete"
    with pytest.raises(Refused) as refused:
        review.record(review_store, Identity("v@example.org", "viewer"), f, held_on=NOW, title="Q2",
                      attendees=["chair"])
    assert refused.value.key == "refused_role"
    with pytest.raises(Refused) as refused:
        review.record(review_store, Identity("ds@example.org", "unit_editor", unit="DS"), f.replace(unit="DH"),
                      held_on=NOW, title="Q2", attendees=["chair"])
    assert refused.value.key == "refused_out_of_scope"
    assert review_store.execute("select count(*) from reviews").fetchone()[0] == 0


def test_a_viewer_sees_only_the_reviews_of_their_subtree(review_store):
    review.record(review_store, ADMIN, Filters.default(NOW), held_on=NOW, title="HQ", attendees=["chair"])
    dh = review.record(review_store, ADMIN, Filters.default(NOW, unit="DH"), held_on=NOW, title="DH",
                       attendees=["chair"])
    listed = {scope: list(store.run(review_store, "review_list", {"scope": scope})["title"])
              for scope in (None, "DH", "DH-01", "DS")}
    assert listed == {None: ["DH", "HQ"], "DH": ["DH"], "DH-01": [], "DS": []}
    assert review.load(review_store, dh, "DS") is None


# ---------------------------------------------------------------------------------------------
# Decisions, recorded as actions


@pytest.fixture
def recorded(review_store) -> int:
    return review.record(review_store, ADMIN, Filters.default(LAST, unit="DH"), held_on=date(2026, 4, 2),
                         title="Q1", attendees=["chair"])


def test_a_decision_on_a_new_topic_raises_the_reviews_own_finding(review_store, recorded):
    ref = review.decide(review_store, ADMIN, recorded, topic="逾期整改月度通报", description="每月通报逾期项",
                        owner="王明", due_on=date(2026, 5, 31))
    finding = review_store.execute(
        "select ref, unit, audit, source::varchar, severity::varchar, found_on, due_on, status::varchar "
        "from nonconformities where ref = (select nonconformity from actions where ref = $ref)", {"ref": ref},
    ).fetchone()
    assert finding == (f"REV-{recorded}-01", "DH", f"REV-{recorded}", "management_review", "observation",
                       date(2026, 4, 2), date(2026, 5, 31), "open")
    assert ref == f"CA-REV-{recorded}-01-1"
    assert trail.verify(review_store).ok


def test_the_next_review_opens_with_the_status_of_the_last_ones_decisions(review_store, recorded):
    topic = review.decide(review_store, ADMIN, recorded, topic="通报", description="每月通报", owner="王明",
                          due_on=date(2026, 5, 31))
    existing = review.decide(review_store, ADMIN, recorded, nonconformity="R-BECAME-OVERDUE", description="加派人手",
                             owner="李華", due_on=date(2026, 7, 31), kind="preventive")
    workflow.done(review_store, ADMIN, existing, evidence="已到岗", on=date(2026, 6, 15))
    status = review.decisions(review_store, recorded, NOW, None).set_index("ref")
    assert status[["nonconformity", "kind", "owner", "status", "is_overdue", "days_overdue"]].to_dict("index") == {
        topic: {"nonconformity": f"REV-{recorded}-01", "kind": "corrective", "owner": "王明", "status": "planned",
                "is_overdue": True, "days_overdue": 30},
        existing: {"nonconformity": "R-BECAME-OVERDUE", "kind": "preventive", "owner": "李華", "status": "done",
                   "is_overdue": False, "days_overdue": None},
    }
    assert review.decisions(review_store, recorded, NOW, "DS").empty


def test_a_refused_decision_writes_nothing(review_store, recorded):
    before = review_store.execute("select count(*) from nonconformities").fetchone()[0]
    attempts = [
        ("decision_topic_or_finding", ADMIN, {"topic": "x", "nonconformity": "R-NEW"}),
        ("decision_topic_or_finding", ADMIN, {}),
        ("refused_action_incomplete", ADMIN, {"topic": "x", "owner": " "}),
        ("refused_role", Identity("a@example.org", "auditor"), {"topic": "x"}),
        ("refused_before_found", ADMIN, {"topic": "x", "due_on": date(2026, 4, 1)}),
        ("refused_out_of_scope", ADMIN, {"topic": "x", "unit": "DS"}),
        ("review_unknown", Identity("ds@example.org", "unit_editor", unit="DS"), {"topic": "x"}),
    ]
    for key, who, given in attempts:
        with pytest.raises(Refused) as refused:
            review.decide(review_store, who, recorded, **({"description": "d", "owner": "o", "due_on": None} | given))
        assert refused.value.key == key
    assert review_store.execute("select count(*) from nonconformities").fetchone()[0] == before
    assert review.decisions(review_store, recorded, NOW, None).empty


# That no write path deletes or rewrites a review, and what a deletion behind the application's back
# leaves: tests/test_trail.py, where every write path is run.


# ---------------------------------------------------------------------------------------------
# The command line


def test_the_command_line_records_and_lists_reviews(cli, tmp_path, golden_imported):
    db = golden_imported(tmp_path / "closeloop.duckdb")
    done = cli("review", "record", "--db", db, "--as-of", "2026-03-31", "--held-on", "2026-04-02",
               "--title", "Q1 review", "--attendees", "chair, quality", "--unit", "DH")
    assert (done.returncode, done.stdout.strip()) == (0, "Review 1 recorded.")
    listed = cli("review", "list", "--db", db)
    assert listed.stdout.strip() == "1  2026-04-02  Q1 review  (DH, data as of 2026-03-31, 0 decisions)"
    refused = cli("review", "record", "--db", db, "--title", "Q2")
    assert (refused.returncode, refused.stderr.strip()) == (2, "A review needs a title and at least one attendee.")
