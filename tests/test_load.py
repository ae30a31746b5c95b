"""The load test's own parts: protocol-level sessions against a real server, and writers that lose nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from closeloop import load, store
from tests.browser.conftest import AS_OF, REPO, Server, server_env


@pytest.fixture
def golden_store(golden_store_at):
    return golden_store_at("closeloop")


@pytest.mark.slow
def test_sessions_run_every_page_on_a_real_server_and_count_each_run(golden_store, tmp_path):
    server = Server(REPO, server_env(CLOSELOOP_DB=str(golden_store)), tmp_path / "streamlit.log").start()
    try:
        # rounds of 8 seconds until two sessions have run every page between them (a busy machine needs more)
        rounds = [load.sessions(server.url, 2, 8, query=f"lang=en&as_of={AS_OF}")]
        while sum(r["page_runs"] for r in rounds) < len(load.PAGES) and len(rounds) < 15:
            rounds.append(load.sessions(server.url, 2, 8, query=f"lang=en&as_of={AS_OF}"))
    finally:
        server.stop()
    seen = rounds[0]
    assert sum(r["errors"] for r in rounds) == 0, [r["first_errors"] for r in rounds]
    assert sum(r["page_runs"] for r in rounds) >= len(load.PAGES)
    assert 0 < seen["p50_ms"] <= seen["p95_ms"]
    assert seen["replicas"] == {}  # a replica itself sets no balancer cookie


def test_a_server_that_is_gone_is_counted_as_errors_not_runs(tmp_path):
    from tests.browser.conftest import free_port

    seen = load.sessions(f"http://127.0.0.1:{free_port()}", 3, 1)
    assert (seen["page_runs"], seen["errors"]) == (0, 3)


@pytest.mark.slow
def test_writers_at_once_on_the_same_actions_lose_no_move_and_the_trail_verifies(golden_store):
    written = load.writers(str(golden_store), 3, 6, records=5)
    assert written["errors"] == 0, written["first_errors"]
    assert written["saved"] > 0
    assert (written["lost"], written["trail_verifies"]) == (0, True)
    con = store.connect(golden_store, create=False)
    moved = con.execute(
        "select count(distinct reason) from events where starts_with(reason, 'load-writer-') and field = 'due_on'"
    ).fetchone()[0]
    con.close()
    assert moved == written["saved"]  # one due-date change in the trail for every move told saved, no more


def test_the_load_runs_every_page_the_dashboard_lists():
    # the visible pages' url_path values in dashboard.py; "overview" is only the hidden alias of the root
    listed = re.findall(r'url_path="([^"]*)"', (Path(__file__).parents[1] / "dashboard.py").read_text())
    assert sorted(load.PAGES) == sorted(path for path in listed if path != "overview")
