"""Shared fixtures: stores built from literal ledger rows, the golden ledger, and the command line."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from closeloop import ledger, store

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"

# T for every literal case below; Filters.default(AS_OF) makes the period 2025-07-01 … 2026-06-30.
AS_OF = date(2026, 6, 30)


# ---------------------------------------------------------------------------------------------
# The order files run in: the slowest first, so that `-n 2 --dist loadfile` ends on short files

# Rough seconds per test, to rank files: a test marked slow (a real server, Chromium, a pack) or not.
SLOW_TEST_S, OTHER_TEST_S = 12.0, 0.5


@pytest.hookimpl(trylast=True)  # after tests/browser/conftest.py has marked its tests slow
def pytest_collection_modifyitems(items):
    """Files ordered by their estimated time, longest first, each file's tests in their own order.

    xdist hands whole files (--dist loadfile) to whichever worker is free, in this order (pytest.ini turns
    off its own ordering by number of tests, which put the files of one or two browser tests last): a long
    file left to the end runs alone while the other worker idles; short files at the end fill both.
    """
    cost: dict[Path, float] = {}
    for item in items:
        cost[item.path] = cost.get(item.path, 0.0) + (
            SLOW_TEST_S if item.get_closest_marker("slow") else OTHER_TEST_S)
    rank = {path: n for n, path in enumerate(sorted(cost, key=lambda path: -cost[path]))}
    items.sort(key=lambda item: rank[item.path])  # stable: a file's tests keep their order


# ---------------------------------------------------------------------------------------------
# Paths and the command line


# metrics prints the plan-and-check numbers beside the contract; the golden ledger has none of their rows
NO_PLAN_CHECK = {
    "objectives": {"with_status": 0, "met": 0, "at_risk": 0, "missed": 0, "score": None},
    "inspections": {"due": 0, "performed": 0, "performed_rate": None, "overdue": 0, "coverage": None, "score": None},
    "satisfaction": {"answers": 0, "index": None, "satisfied_share": None, "dissatisfied_share": None},
}


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    return SHARED / "golden"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """`python -m closeloop ARGS` in a fresh process, in English, from the repository root."""
    env = {k: v for k, v in os.environ.items() if k != "CLOSELOOP_DB"} | {"CLOSELOOP_LANG": "en"}
    return subprocess.run(
        [sys.executable, "-m", "closeloop", *map(str, args)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="session")
def cli():
    return run_cli


# ---------------------------------------------------------------------------------------------
# Stores built from literal rows (the metric contract's cases)


def nc(ref, unit, found_on, due_on=None, closed_on=None, *, criterion="1.1", source="internal_audit",
       severity="minor") -> dict:
    """One nonconformities.csv row; the status follows from closed_on, the title is the ref."""
    return {
        "ref": ref, "unit": unit, "criterion": criterion, "source": source, "severity": severity,
        "title": ref, "found_on": found_on, "due_on": due_on, "closed_on": closed_on,
    }


def action(ref, nc_ref, due_on=None, done_on=None, *, status=None, kind="corrective") -> dict:
    """One actions.csv row; without a status it is done when done_on is given, else planned."""
    return {"ref": ref, "nc_ref": nc_ref, "kind": kind, "due_on": due_on, "done_on": done_on, "status": status}


def csv_text(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


# The organisation every literal case uses.
UNITS = [
    {"code": "HQ", "name": "舟山港務管理局", "parent": None},  # the root
    {"code": "DH", "name": "定海分局", "parent": "HQ"},  # the subtree the unit-filter cases select
    {"code": "DH-01", "name": "定海分局機關支部", "parent": "DH"},  # a child of DH
    {"code": "DH-01-1", "name": "機關第一黨小組", "parent": "DH-01"},  # a grandchild: subtrees are deep
    {"code": "DH-02", "name": "定海分局港航支部", "parent": "DH"},  # DH's other child
    {"code": "DHX", "name": "定海新區分局", "parent": "HQ"},  # DH's sibling whose code starts with "DH"
    {"code": "DS", "name": "岱山分局", "parent": "HQ"},  # an unrelated sibling
]

CRITERIA = [
    {"code": "1.1", "title": "三會一課按期召開", "category": "組織建設"},
    {"code": "2.1", "title": "黨員學習教育記錄", "category": "思想建設"},
    {"code": "3.1", "title": "黨風廉政責任落實", "category": "黨風廉政"},
]


@pytest.fixture
def store_copy(backend, request, tmp_path, tmp_path_factory):
    """store_copy(key, fill) → an open store (on the module's backend) holding what fill(con, folder) wrote.

    fill runs once per session, backend and key, on a new store; each call after that gets a copy of it (a
    file, or a database made from it as template), so what one test writes never reaches another.
    """
    opened = []

    def make(key: str, fill, *, fresh_replica_of_copy: bool = False):
        if (backend, key) not in _built_stores:
            folder = tmp_path_factory.mktemp("built")
            location = store_location(backend, request, folder, "store")
            con = store.connect(location)
            fill(con, folder)
            if backend == "duckdb":
                con.execute("checkpoint")
            con.close()
            if backend == "postgresql":
                from closeloop import replica

                replica._forget_closed()  # its PostgreSQL connection too: a template must have none
            _built_stores[(backend, key)] = location
        built, n = _built_stores[(backend, key)], len(opened)
        if backend == "postgresql":
            copy = copy_database(built)
            # read what PostgreSQL holds: a replica of another process, copied anew
            con = fresh_replica(copy, tmp_path / f"replica-{n}") if fresh_replica_of_copy else store.connect(copy)
        else:
            copy = tmp_path / f"store-{n}.duckdb"
            shutil.copy(built, copy)
            if Path(f"{built}.anchors").exists():
                shutil.copy(f"{built}.anchors", f"{copy}.anchors")
            con = store.connect(copy)
        opened.append(con)
        return con

    yield make
    for con in opened:
        con.close()


_built_stores: dict[tuple[str, str], object] = {}  # (backend, key) → the store store_copy filled


@pytest.fixture
def store_from_rows(store_copy):
    """build(nonconformities, actions=()) → an open store holding exactly those rows (on the module's backend)."""

    def build(nonconformities, actions=(), *, units=UNITS, criteria=CRITERIA):
        def fill(con, folder):
            for name, rows in (("units", units), ("criteria", criteria), ("nonconformities", nonconformities),
                               ("actions", actions)):
                if rows:
                    (folder / f"{name}.csv").write_text(csv_text(list(rows)), encoding="utf-8")
            outcome = ledger.load(con, ledger.read([folder]), actor="test")
            assert outcome.ok, outcome.problems

        key = repr((list(nonconformities), list(actions), list(units), list(criteria)))
        return store_copy(key, fill, fresh_replica_of_copy=True)

    return build


@pytest.fixture
def status_store(store_from_rows):
    """Open and overdue at T = 2026-06-30."""
    return store_from_rows([
        nc("S-DUE-LATER", "DH-01", "2026-06-01", due_on="2026-07-15"),  # open, not yet due
        nc("S-DUE-TODAY", "DH-01", "2026-06-01", due_on="2026-06-30"),  # open, due on T: not overdue
        nc("S-DUE-YESTERDAY", "DH-01", "2026-05-01", due_on="2026-06-29"),  # open and overdue
        nc("S-NO-DUE", "DH-01", "2026-05-01"),  # open, no due date: never overdue, a data gap
        nc("S-CLOSED-AFTER-T", "DH-01", "2026-01-05", "2026-02-01", "2026-07-02"),  # closed after T: open, overdue
        nc("S-CLOSED-ON-T", "DH-01", "2026-01-01", "2026-02-01", "2026-06-30"),  # closed on T: not open
        nc("S-CLOSED-BEFORE-T", "DH-01", "2026-01-01", "2026-02-01", "2026-03-01"),  # closed before T
        nc("S-NO-DUE-CLOSED", "DH-01", "2026-04-01", closed_on="2026-04-10"),  # no due date, but closed
        nc("S-FOUND-AFTER-T", "DH-01", "2026-07-01", due_on="2026-07-10"),  # found after T: not open yet
    ])


@pytest.fixture
def period_store(store_from_rows):
    """Opened and closed in the period 2025-07-01 … 2026-06-30, at both of its ends."""
    return store_from_rows([
        nc("P-FOUND-DAY-BEFORE", "DH-01", "2025-06-30", closed_on="2025-07-01"),  # closed on the first day
        nc("P-FOUND-FIRST-DAY", "DH-01", "2025-07-01", closed_on="2026-06-30"),  # opened first day, closed last
        nc("P-FOUND-LAST-DAY", "DH-01", "2026-06-30"),  # opened on the last day, still open
        nc("P-CLOSED-DAY-BEFORE", "DH-01", "2025-06-01", closed_on="2025-06-30"),  # neither, by one day
    ])


@pytest.fixture
def on_time_store(store_from_rows):
    """Closed on time means closed_on <= due_on."""
    return store_from_rows([
        nc("O-ON-DUE-DAY", "DH-01", "2026-01-01", "2026-02-01", "2026-02-01"),  # on time: on the due date
        nc("O-EARLY", "DH-01", "2026-01-01", "2026-02-01", "2026-01-15"),  # on time
        nc("O-LATE", "DH-01", "2026-01-01", "2026-02-01", "2026-02-02"),  # late by one day
        nc("O-NO-DUE", "DH-01", "2026-01-01", closed_on="2026-01-20"),  # closed, no due date: not on time
        nc("O-BEFORE-PERIOD", "DH-01", "2025-05-01", "2025-06-01", "2025-05-20"),  # on time, closed before period
    ])


@pytest.fixture
def km_store(store_from_rows):
    """Time to close with censoring: events at 10, 20, 30 days; censored at 15, 29, 40, 50."""
    return store_from_rows([
        nc("K-10", "DH-01", "2026-01-01", closed_on="2026-01-11"),  # closed in 10 days
        nc("K-20", "DH-01", "2026-01-01", closed_on="2026-01-21"),  # closed in 20 days
        nc("K-30", "DH-01", "2026-02-01", closed_on="2026-03-03"),  # closed in 30 days
        nc("K-OPEN-15", "DH-01", "2026-06-15"),  # open at T: censored at 15 days
        nc("K-OPEN-40", "DH-01", "2026-05-21"),  # censored at 40
        nc("K-OPEN-50", "DH-01", "2026-05-11"),  # censored at 50
        nc("K-CLOSED-AFTER-T", "DH-01", "2026-06-01", closed_on="2026-07-10"),  # censored at 29, not an event at 39
        nc("K-BEFORE-PERIOD", "DH-01", "2025-05-01", closed_on="2025-08-01"),  # found before the period: left out
        nc("K-AFTER-T", "DH-01", "2026-08-01", closed_on="2026-08-05"),  # found after T: left out, whatever the period
    ])


@pytest.fixture
def km_never_half_store(store_from_rows):
    """One event among four: the curve stops at 3/4."""
    return store_from_rows([
        nc("N-10", "DH-01", "2026-03-01", closed_on="2026-03-11"),  # the only event, at 10 days
        nc("N-OPEN-20", "DH-01", "2026-06-10"),  # censored at 20
        nc("N-OPEN-30", "DH-01", "2026-05-31"),  # censored at 30
        nc("N-OPEN-40", "DH-01", "2026-05-21"),  # censored at 40
    ])


@pytest.fixture
def repeat_store(store_from_rows):
    """Repeats: the same unit and criterion again within W days, after an earlier closure or not."""
    return store_from_rows([
        nc("R-BASE", "DH-01", "2025-01-10", closed_on="2025-02-01"),  # the first finding, closed early
        nc("R-SAME-DAY", "DH-01", "2025-01-10"),  # same unit, criterion and day as R-BASE: not a repeat
        nc("R-AFTER-365", "DH-01", "2026-01-10", source="management_review"),  # R-BASE + 365 days: repeat
        nc("R-BASE-2", "DH-02", "2025-01-10", criterion="2.1"),  # never closed
        nc("R-AFTER-366", "DH-02", "2026-01-11", criterion="2.1"),  # R-BASE-2 + 366 days: not a repeat
        nc("R-OPEN-BASE", "DS", "2025-12-01", closed_on="2026-03-01", criterion="3.1"),  # closed after R-BEFORE-CLOSURE
        nc("R-BEFORE-CLOSURE", "DS", "2026-02-01", criterion="3.1"),  # repeat (62 days), not after closure
        nc("R-CLOSED-BASE", "DH", "2025-10-01", closed_on="2025-11-01"),  # closed the day its repeat is found
        nc("R-ON-CLOSURE-DAY", "DH", "2025-11-01"),  # repeat (31 days) after closure: closed_on = found_on
        nc("R-OTHER-UNIT", "DH-02", "2026-01-12"),  # criterion 1.1 again, but in another unit: not a repeat
    ])


@pytest.fixture
def aging_store(store_from_rows):
    """Open items aged at every bucket boundary on T = 2026-06-30 (age = T - found_on)."""
    return store_from_rows([
        nc("A-0", "DH-01", "2026-06-30"),  # found on T
        nc("A-30", "DH-01", "2026-05-31"),
        nc("A-31", "DH-01", "2026-05-30"),
        nc("A-60", "DH-01", "2026-05-01"),
        nc("A-61", "DH-01", "2026-04-30"),
        nc("A-90", "DH-01", "2026-04-01"),
        nc("A-91", "DH-01", "2026-03-31"),
        nc("A-180", "DH-01", "2026-01-01"),
        nc("A-181", "DH-01", "2025-12-31"),
        nc("A-CLOSED", "DH-01", "2025-01-01", closed_on="2026-06-30"),  # closed on T: in no bucket
    ])


@pytest.fixture
def spread_store(store_from_rows):
    """One open finding per unit, with sources, severities and criteria spread for the filters."""
    return store_from_rows([
        nc("F-HQ", "HQ", "2026-01-01", criterion="1.1", source="internal_audit", severity="major"),
        nc("F-DH", "DH", "2026-01-01", criterion="1.1", source="inspection", severity="minor"),
        nc("F-DH-01", "DH-01", "2026-01-01", criterion="2.1", source="satisfaction_survey", severity="observation"),
        nc("F-DH-01-1", "DH-01-1", "2026-01-01", criterion="3.1", source="management_review", severity="major"),
        nc("F-DH-02", "DH-02", "2026-01-01", criterion="2.1", source="superior_assessment", severity="minor"),
        nc("F-DHX", "DHX", "2026-01-01", criterion="1.1", source="inspection", severity="major"),
        nc("F-DS", "DS", "2026-01-01", criterion="3.1", source="internal_audit", severity="observation"),
        nc("F-DS-NO-CRITERION", "DS", "2026-01-01", criterion=None, source="inspection", severity="minor"),
    ])


@pytest.fixture
def actions_store(store_from_rows):
    """Actions open and overdue at T = 2026-06-30, on a DH-01 finding and a DS one."""
    return store_from_rows(
        [
            nc("AC-NC", "DH-01", "2026-01-01", due_on="2026-12-31"),  # holds the actions below but the last
            nc("AC-NC-DS", "DS", "2026-01-01", due_on="2026-12-31"),  # another unit's finding
        ],
        [
            action("A-CANCELLED", "AC-NC", "2026-01-31", status="cancelled"),  # never open, even past due
            action("A-DONE-BEFORE-T", "AC-NC", "2026-05-31", "2026-06-01"),  # done (late) before T: closed
            action("A-DONE-ON-T", "AC-NC", "2026-06-15", "2026-06-30"),  # done on T: closed
            action("A-DONE-AFTER-T", "AC-NC", "2026-06-01", "2026-07-05"),  # done after T: open, overdue at T
            action("A-DUE-TODAY", "AC-NC", "2026-06-30"),  # due on T: open, not overdue
            action("A-OVERDUE", "AC-NC", "2026-06-29", status="in_progress"),  # open and overdue
            action("A-NO-DUE", "AC-NC"),  # open, never overdue
            action("A-DS-OVERDUE", "AC-NC-DS", "2026-03-01"),  # open and overdue, outside DH-01
        ],
    )


# ---------------------------------------------------------------------------------------------
# Ledger files (the importer's cases)

# A small valid ledger in the canonical form, Traditional and Simplified text mixed as in real ones.
LEDGER = {
    "units.csv": (
        "code,name,parent\n"
        "HQ,舟山港务管理局,\n"  # the root
        "DH,定海分局,HQ\n"
    ),
    "criteria.csv": (
        "code,title,category\n"
        "1.1,三會一課按期召開,组织建设\n"
    ),
    "nonconformities.csv": (
        "ref,unit,criterion,source,severity,title,found_on,due_on,closed_on,status\n"
        "NC-1,DH,1.1,inspection,minor,会议记录不全,2026-01-10,2026-02-10,2026-02-01,closed\n"  # closed
        "NC-2,DH,1.1,internal_audit,major,學習記錄缺失,2026-03-01,2026-04-01,,open\n"  # open
    ),
    "actions.csv": (
        "ref,nc_ref,kind,description,owner,due_on,done_on,status\n"
        "CA-1,NC-1,corrective,补齐会议记录,王明,2026-01-31,2026-01-30,done\n"  # done
        "CA-2,NC-2,corrective,补录学习记录,李華,2026-03-31,,planned\n"  # planned
    ),
}


@pytest.fixture
def ledger_files() -> dict[str, str]:
    """LEDGER's texts by file name, for a test to vary one line of."""
    return dict(LEDGER)


@pytest.fixture
def write_ledger(tmp_path):
    """write(files, encoding="utf-8", folder="ledger") → the folder holding LEDGER with `files` replaced."""

    def write(files: dict[str, str] | None = None, encoding: str = "utf-8", folder: str = "ledger") -> Path:
        path = tmp_path / folder
        path.mkdir()
        for name, text in (LEDGER | (files or {})).items():
            (path / name).write_bytes(text.encode(encoding))
        return path

    return write


@pytest.fixture
def empty_store(store_at):
    """A migrated store with nothing in it (on the module's backend)."""
    con = store.connect(store_at("closeloop"))
    yield con
    con.close()


@pytest.fixture
def analysis_store(store_from_rows):
    """The analysis pages' queries, as of T = 2026-06-30 over 2025-07-01 … 2026-06-30 (window 365).

    DH-01 fails 1.1 three times: N2 and N3 repeat N1 (and N3 repeats N2), each after a closure.
    """
    return store_from_rows(
        [
            nc("N1", "DH-01", "2025-08-01", "2025-09-01", "2025-10-01", severity="major"),  # 61 days, late
            nc("N2", "DH-01", "2026-01-15", "2026-02-15", "2026-02-10"),  # 26 days, on time; repeats N1
            nc("N3", "DH-01", "2026-05-01", "2026-06-01"),  # open, 29 days overdue; repeats N1 and N2
            nc("N4", "DH-02", "2026-03-01", "2026-07-15", severity="observation"),  # open, not yet due
            nc("N5", "DS", "2026-02-01", "2026-03-01", "2026-04-02", criterion="2.1", severity="major"),  # 60 days
            nc("N6", "DH", "2025-12-01", "2026-01-01", criterion="2.1"),  # open on DH itself, 180 days overdue
        ],
        [
            action("C1", "N1", "2025-09-15", "2025-09-20") | {"owner": "王明"},
            action("C2", "N1", "2025-09-30", "2025-09-25", kind="preventive") | {"owner": "李華"},
            action("C3", "N2", "2026-02-10", "2026-02-05") | {"owner": "王明"},
            action("C4", "N3", "2026-06-15") | {"owner": "李華"},  # open and overdue
            action("C5", "N5", "2026-03-31", "2026-03-30") | {"owner": "陳靜"},
        ],
    )


@pytest.fixture
def fresh_caches():
    """st.cache_data and st.cache_resource outlive an AppTest: one test's store must not leak into the next."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


# ---------------------------------------------------------------------------------------------
# PostgreSQL: a throwaway cluster for the tests that run on both backends

BACKENDS = ("duckdb", "postgresql")
PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)  # Debian's, when they are not on PATH


def pg_binary(name: str) -> str | None:
    import shutil

    return shutil.which(name) or next(
        (str(Path(d) / name) for d in PG_BIN_DIRS if (Path(d) / name).exists()), None)


def pytest_generate_tests(metafunc):
    """A module that sets BOTH_BACKENDS = True runs every test that reaches the `backend` fixture on each."""
    if "backend" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_BACKENDS", False):
        metafunc.parametrize("backend", BACKENDS, indirect=True, scope="module")


@pytest.fixture(scope="module")
def backend(request) -> str:
    return getattr(request, "param", "duckdb")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A PostgreSQL cluster of its own on 127.0.0.1 and a free port, for this session; yields a URL to it.

    initdb and the server refuse to run as root: as root (CI) they run as the `postgres` user Debian's
    package creates. Replicas keep their files under a folder of the session (CLOSELOOP_CACHE).
    """
    import socket

    initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
    if not (initdb and pg_ctl):
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's initdb and pg_ctl are needed (Debian: apt-get install postgresql)")
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
    import shutil
    import tempfile

    # not under pytest's folder: that one is private to root, and the server may run as another user
    home = Path(tempfile.mkdtemp(prefix="closeloop-postgres-"))
    user = {}
    if os.geteuid() == 0:
        import pwd

        owner = pwd.getpwnam("postgres")
        os.chown(home, owner.pw_uid, owner.pw_gid)
        user = {"user": "postgres"}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = home / "data"
    subprocess.run([initdb, "-D", data, "-A", "trust", "-U", "closeloop", "-E", "UTF8", "--locale=C", "--no-sync"],
                   check=True, capture_output=True, **user)
    # fsync off: a test cluster thrown away at the end need not survive a crash
    options = f"-h 127.0.0.1 -p {port} -k {home} -F -c max_connections=300"
    subprocess.run([pg_ctl, "-D", data, "-l", home / "log", "-w", "-o", options, "start"],
                   check=True, capture_output=True, **user)
    cache = tmp_path_factory.mktemp("replicas")
    before = os.environ.get("CLOSELOOP_CACHE")
    os.environ["CLOSELOOP_CACHE"] = str(cache)
    try:
        yield f"postgresql://closeloop@127.0.0.1:{port}"
    finally:
        if before is None:
            os.environ.pop("CLOSELOOP_CACHE", None)
        else:
            os.environ["CLOSELOOP_CACHE"] = before
        subprocess.run([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True, **user)
        shutil.rmtree(home, ignore_errors=True)


def fresh_replica(url: str, cache: Path):
    """A replica of its own cache folder, first copied from PostgreSQL now: what another process would see."""
    before = os.environ["CLOSELOOP_CACHE"]
    os.environ["CLOSELOOP_CACHE"] = str(cache)
    try:
        return store.connect(url)
    finally:
        os.environ["CLOSELOOP_CACHE"] = before


def new_database(cluster: str) -> str:
    """A new empty database on the cluster; returns its URL."""
    import uuid

    import adbc_driver_postgresql.dbapi as pgdb

    from closeloop import replica

    name = f"t{uuid.uuid4().hex[:12]}"
    with pgdb.connect(f"{cluster}/postgres", autocommit=True) as con, con.cursor() as cur:
        if cluster not in _templates:
            # migrated once, then copied: a new database with the schema in ~0.1 s instead of ~0.5 s
            cur.execute("create database closeloop_template")
            with pgdb.connect(f"{cluster}/closeloop_template", autocommit=True) as template:
                replica.migrate(template)
            _templates.add(cluster)
        cur.execute(f"create database {name} template closeloop_template")
    return f"{cluster}/{name}"


_templates: set[str] = set()


def store_location(backend: str, request, folder: Path, name: str):
    """Where a new store goes: a DuckDB file in folder, or a new database of the test cluster."""
    if backend == "postgresql":
        return new_database(request.getfixturevalue("postgres"))
    return folder / f"{name}.duckdb"


@pytest.fixture
def store_at(backend, request, tmp_path):
    """store_at(name) → where a new store goes (store_location), for the test's backend."""
    return lambda name: store_location(backend, request, tmp_path, name)


# ---------------------------------------------------------------------------------------------
# plan17: plan and check rows (objectives, actuals, inspections, results, survey answers)

PLAN_TABLES = ("objectives", "objective_actuals", "inspections", "inspection_results", "survey_answers")


def add_plan_rows(con, table: str, rows: list[dict]) -> None:
    """Write literal rows into one of the plan-and-check tables in one transaction (on PostgreSQL, shipped there)."""
    import pandas as pd

    assert table in PLAN_TABLES  # a fixed name, never input
    frame = pd.DataFrame(rows)
    with store.transaction(con):
        con.register("literal_rows", frame)
        try:
            con.execute(f"insert into {table} by name select * from literal_rows")
        finally:
            con.unregister("literal_rows")


# ---------------------------------------------------------------------------------------------
# The golden ledger imported once per session and backend, copied for each test


@pytest.fixture(scope="session")
def _golden_masters() -> dict:
    """Backend → the golden ledger imported once this session (golden_store_at copies it)."""
    return {}


@pytest.fixture
def golden_store_at(backend, request, tmp_path, golden_dir, _golden_masters):
    """golden_store_at(name) → a new store holding the golden ledger as `import --as import` leaves it.

    The command line imports it once per session and backend; each store after that is a copy (a file, or
    a database made with the first as its template): the same rows, events and seals, seconds sooner.
    """

    def make(name: str):
        if backend not in _golden_masters:
            master = store_location(backend, request, request.getfixturevalue("tmp_path_factory").mktemp("golden"),
                                    "golden")
            done = run_cli("import", golden_dir, "--db", master, "--as", "import")
            assert done.returncode == 0, done.stderr
            _golden_masters[backend] = master
        master = _golden_masters[backend]
        if backend == "postgresql":
            return copy_database(master)
        copy = tmp_path / f"{name}.duckdb"
        shutil.copy(master, copy)
        return copy

    return make


@pytest.fixture(scope="session")
def golden_imported(tmp_path_factory, golden_dir):
    """golden_imported(db, *args) → db, holding the golden ledger as `import GOLDEN --db db ARGS` leaves it.

    The command line imports it once per session (per test process) and set of args; each call after that
    copies that store and its trail's anchors: the same rows, events and seals, a process's import sooner.
    """
    made: dict[tuple[str, ...], Path] = {}

    def copy(db: Path, *args: str) -> Path:
        if args not in made:
            master = tmp_path_factory.mktemp("golden-imported") / "closeloop.duckdb"
            done = run_cli("import", golden_dir, "--db", master, *args)
            assert done.returncode == 0, done.stderr
            made[args] = master
        master = made[args]
        shutil.copy(master, db)
        if Path(f"{master}.anchors").exists():
            shutil.copy(f"{master}.anchors", f"{db}.anchors")
        return db

    return copy


def copy_database(url: str) -> str:
    """A new database of the same cluster made with `url`'s as its template; returns its URL."""
    import uuid

    import adbc_driver_postgresql.dbapi as pgdb

    cluster, template = url.rsplit("/", 1)
    name = f"t{uuid.uuid4().hex[:12]}"
    with pgdb.connect(f"{cluster}/postgres", autocommit=True) as con, con.cursor() as cur:
        # names made here, never input: a database name cannot be bound
        cur.execute(f"create database {name} template {template}")
    return f"{cluster}/{name}"
