"""The serving dashboard's lease on an embedded store: commands write while it serves, and it sees their writes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from conftest import REPO, csv_text, nc

from closeloop import lease, ledger, store
from closeloop.refusal import Refused


def count(con) -> int:
    return con.execute("select count(*) from nonconformities").fetchone()[0]


def one_more_finding(tmp_path):
    """A ledger of one new open finding, N9, on a unit and criterion LEDGER already has."""
    folder = tmp_path / "one-more"
    folder.mkdir()
    (folder / "nonconformities.csv").write_text(csv_text([nc("N9", "DH", "2026-06-01")]), encoding="utf-8")
    return folder


@pytest.fixture
def served(tmp_path, write_ledger):
    """A store holding LEDGER, leased as a serving dashboard leases it, with its connection open."""
    db = tmp_path / "served.duckdb"
    con = store.connect(db)
    assert ledger.load(con, ledger.read([write_ledger()]), actor="test").ok
    con.close()
    held = lease.Lease(db, poll=0.02, wait=30)
    with held.hold() as con:
        assert count(con) == 2
    yield db, held
    held.close()


def command(*args: str, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "closeloop", *map(str, args)], cwd=REPO,
                            env={"CLOSELOOP_LANG": "en", "PATH": "/usr/bin:/bin", **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_an_import_succeeds_while_the_store_is_served_and_the_next_run_sees_it(served, tmp_path):
    db, held = served
    done = command("import", one_more_finding(tmp_path), "--db", db)
    out, err = done.communicate(timeout=120)
    assert (done.returncode, err) == (0, ""), err
    with held.hold() as con:
        assert count(con) == 3
        assert con.execute("select unit from nonconformities where ref = 'N9'").fetchall() == [("DH",)]
    assert store.wanted_files(db) == []  # the command's request went with it


def test_a_command_waits_for_the_runs_in_progress_and_they_finish_on_the_store_as_it_was(served, tmp_path):
    db, held = served
    seen = []
    started = threading.Event()

    def run_in_progress():
        with held.hold() as con:
            started.set()
            time.sleep(1.5)  # a slow page: the command must not get the store before it ends
            seen.append(count(con))

    page = threading.Thread(target=run_in_progress)
    page.start()
    started.wait()
    began = time.monotonic()
    done = command("import", one_more_finding(tmp_path), "--db", db)
    out, err = done.communicate(timeout=120)
    page.join()
    assert (done.returncode, err) == (0, ""), err
    assert seen == [2]
    assert time.monotonic() - began >= 1.0
    with held.hold() as con:
        assert count(con) == 3


def test_a_run_that_starts_while_a_command_writes_waits_for_it(served, tmp_path):
    db, held = served
    writer = command("import", one_more_finding(tmp_path), "--db", db)
    deadline = time.monotonic() + 60
    while not store.wanted_files(db) and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with held.hold() as con:  # taken only once the import has ended: it never sees half of it
        seen = count(con)
    writer.communicate(timeout=120)
    assert writer.returncode == 0
    assert seen == 3


def test_a_request_left_by_a_command_that_died_is_ignored(served):
    db, held = served
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = db.with_name(f"{db.name}.wanted.{gone.stdout.strip()}")
    stale.write_text("{}", encoding="utf-8")
    with held.hold() as con:
        assert count(con) == 2
    assert not stale.exists()


def test_a_run_waits_no_longer_than_the_lease_allows_and_names_the_command(tmp_path, write_ledger):
    db = tmp_path / "served.duckdb"
    store.connect(db).close()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        db.with_name(f"{db.name}.wanted.{sleeper.pid}").write_text("{}", encoding="utf-8")
        held = lease.Lease(db, poll=0.02, wait=0.3)
        with pytest.raises(Refused) as refused:
            with held.hold():
                pass
        assert refused.value.key == "store_locked_command"
        assert refused.value.details["pid"] == sleeper.pid
        held.close()
    finally:
        sleeper.kill()
        sleeper.wait()
