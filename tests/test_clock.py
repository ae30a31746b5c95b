"""Today and the times shown are the organisation's (CLOSELOOP_TZ, default Asia/Shanghai); the store keeps UTC."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timezone

import pandas as pd
import pytest
from conftest import REPO, action, nc

from closeloop import clock, detail, i18n, identity, store, workflow
from closeloop.filters import Filters
from closeloop.refusal import Refused

BOTH_BACKENDS = True

# 16:30 UTC on 30 June is 00:30 on 1 July in Shanghai (UTC+8) and 12:30 on 30 June in New York (UTC-4 in summer).
JUST_AFTER_MIDNIGHT_IN_SHANGHAI = datetime(2026, 6, 30, 16, 30, 5, tzinfo=timezone.utc)


@pytest.fixture
def organisation_zone(monkeypatch):
    """zone(name) sets CLOSELOOP_TZ for the test (None: unset, the default)."""

    def set_zone(name: str | None) -> None:
        if name is None:
            monkeypatch.delenv("CLOSELOOP_TZ", raising=False)
        else:
            monkeypatch.setenv("CLOSELOOP_TZ", name)

    set_zone(None)
    return set_zone


@pytest.fixture
def stopped_clock(monkeypatch):
    """The clock held just after midnight in Shanghai, before midnight UTC: no sleeping, no waiting for the hour."""
    monkeypatch.setattr(clock, "utc_now", lambda: JUST_AFTER_MIDNIGHT_IN_SHANGHAI)


@pytest.mark.parametrize(("zone", "today"), [
    (None, date(2026, 7, 1)),  # the default, Asia/Shanghai: already 1 July
    ("Asia/Shanghai", date(2026, 7, 1)),
    ("UTC", date(2026, 6, 30)),  # what today() said for everyone before
    ("America/New_York", date(2026, 6, 30)),
])
def test_today_is_the_date_in_the_organisation_s_zone(organisation_zone, zone, today):
    organisation_zone(zone)
    assert (clock.today(JUST_AFTER_MIDNIGHT_IN_SHANGHAI), workflow.today(JUST_AFTER_MIDNIGHT_IN_SHANGHAI)) == (today, today)


def test_the_default_as_of_and_period_follow_the_organisation_s_today(organisation_zone, stopped_clock):
    f = Filters.default()
    assert (f.as_of, f.since, f.until) == (date(2026, 7, 1), date(2025, 7, 2), date(2026, 7, 1))


@pytest.mark.parametrize(("zone", "shown"), [
    (None, "2026-07-01 00:30:05 +08:00"),
    ("UTC", "2026-06-30 16:30:05 +00:00"),
    ("America/New_York", "2026-06-30 12:30:05 -04:00"),
])
def test_a_stored_time_is_shown_in_the_organisation_s_zone_with_its_offset(organisation_zone, zone, shown):
    organisation_zone(zone)
    naive = JUST_AFTER_MIDNIGHT_IN_SHANGHAI.replace(tzinfo=None)  # a time without a zone is the store's UTC
    assert (clock.shown(JUST_AFTER_MIDNIGHT_IN_SHANGHAI), clock.shown(naive)) == (shown, shown)


def test_a_zone_nobody_knows_is_refused_by_name(organisation_zone):
    organisation_zone("Asia/Atlantis")
    with pytest.raises(Refused) as refused:
        clock.today()
    assert (refused.value.key, refused.value.details) == ("cli_bad_zone", {"zone": "Asia/Atlantis"})


def test_the_record_history_table_shows_times_in_the_organisation_s_zone(organisation_zone):
    history = pd.DataFrame({
        "id": [1], "at": [pd.Timestamp(JUST_AFTER_MIDNIGHT_IN_SHANGHAI)], "actor": ["li@dh.example"],
        "entity": ["action"], "ref": ["A1"], "field": ["status"], "old": ["planned"], "new": ["done"],
        "reason": [None], "batch": [None],
    })
    rows = detail.trail_rows(history, i18n.translator("en"))
    assert list(rows["When"]) == ["2026-07-01 00:30:05 +08:00"]


def test_a_move_after_midnight_in_shanghai_is_dated_the_shanghai_day(store_from_rows, backend, organisation_zone,
                                                                     stopped_clock):
    con = store_from_rows([nc("N1", "DH-01", "2026-06-01", "2026-06-30")], [action("A1", "N1", "2026-06-30")])
    with pytest.raises(Refused) as refused:  # 2 July is tomorrow in Shanghai too
        workflow.done(con, identity.local_administrator("li"), "A1", evidence="minutes", on=date(2026, 7, 2))
    workflow.done(con, identity.local_administrator("li"), "A1", evidence="minutes")  # still 30 June in UTC
    assert (refused.value.key, con.execute("select done_on from actions where ref = 'A1'").fetchone()[0]) == (
        "refused_future_date", date(2026, 7, 1))


def test_the_command_line_refuses_an_unknown_zone_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CLOSELOOP_DB"} | {"CLOSELOOP_LANG": "en",
                                                                          "CLOSELOOP_TZ": "Asia/Atlantis"}
    done = subprocess.run([sys.executable, "-m", "closeloop", "metrics", "--db", tmp_path / "none.duckdb"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (2, "CLOSELOOP_TZ names no known time zone (Asia/Atlantis): use an IANA "
                                                 "name such as Asia/Shanghai, Asia/Hong_Kong or UTC.\n")
