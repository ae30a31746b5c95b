"""PostgreSQL as the system of record: replicas see each other's writes, concurrent writers lose nothing."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from closeloop import identity, ledger, replica, review, store, trail, workflow
from closeloop.filters import Filters
from closeloop.refusal import Refused

from conftest import fresh_replica, new_database

ROOT = Path(__file__).resolve().parents[1]
ADMIN = identity.local_administrator("admin")
# every table a replica copies, and the one it keeps for itself (the repeat flags' cache, its own state)
COPIED = sorted(replica.TABLES)
LOCAL_ONLY = {"repeats", "schema_version", "schema_terms", "replica_state"}


@pytest.fixture
def url(postgres, golden_dir):
    """A new database holding the golden ledger, imported through a replica of this process."""
    location = new_database(postgres)
    con = store.connect(location)
    assert ledger.load(con, ledger.read([golden_dir]), actor="import").ok
    con.close()
    return location


def other_replica(url: str, tmp_path: Path, name: str):
    """A replica of its own cache folder: what another machine's process would have."""
    return fresh_replica(url, tmp_path / name)


def contents(con) -> dict[str, list[tuple]]:
    """Every copied table's rows, sorted."""
    return {table: sorted(map(repr, con.execute(f"select * from {table}").fetchall())) for table in COPIED}


def cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"CLOSELOOP_LANG": "en", "CLOSELOOP_DB": url}
    return subprocess.run([sys.executable, "-m", "closeloop", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def planned_actions(con, n: int) -> list[str]:
    return [r for (r,) in con.execute(
        "select ref from actions where status = 'planned' order by ref limit $n", {"n": n}).fetchall()]


# How PostgreSQL names each column type of the store (an enumeration compares by its labels, in order)
PG_TYPES = {"VARCHAR": "character varying", "VARCHAR[]": "character varying[]", "INTEGER": "integer",
            "BIGINT": "bigint", "UBIGINT": "numeric(20,0)", "DOUBLE": "double precision", "BOOLEAN": "boolean",
            "DATE": "date", "TIMESTAMP WITH TIME ZONE": "timestamp with time zone", "BLOB": "bytea", "JSON": "json"}
# PostgreSQL's own: the runner's bookkeeping, and the evidence files' contents (the replica keeps them as files)
PG_ONLY = {"schema_version", "replica_changes", "attachment_files"}
DRAWN = re.compile(r"nextval\(|now\(\)")


def test_every_migration_applies_on_both_engines_with_the_same_tables_columns_types_and_keys(postgres):
    con = store.connect(new_database(postgres))
    pg = replica.of(con).pg
    numbered = [int(p.name[:3]) for p in sorted(store.SCHEMA.glob("[0-9][0-9][0-9]_*.sql"))]
    assert [v for (v,) in con.execute("select version from schema_version order by version").fetchall()] == numbered
    cur = pg.cursor()
    cur.execute("select version from schema_version order by version")
    assert [v for (v,) in cur.fetchall()] == numbered
    local = {t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()} - LOCAL_ONLY
    assert local == set(COPIED)
    cur.execute("select tablename::text from pg_tables where schemaname = 'public'")
    assert {t for (t,) in cur.fetchall()} == set(COPIED) | PG_ONLY
    for table in COPIED:
        # PostgreSQL draws no ids or times: a replica writes them
        here = [(name, PG_TYPES.get(kind, kind), nullable, None if DRAWN.match(default or "") else default)
                for name, kind, nullable, default in con.execute(
                    "select column_name, data_type, is_nullable, column_default from duckdb_columns() "
                    "where table_name = $t order by column_index", {"t": table}).fetchall()]
        cur.execute(
            "select a.attname::text, case when t.typtype = 'e' then 'ENUM(' || (select string_agg(quote_literal("
            "e.enumlabel), ', ' order by e.enumsortorder) from pg_enum as e where e.enumtypid = t.oid) || ')' "
            "else format_type(a.atttypid, a.atttypmod) end, not a.attnotnull, "
            "regexp_replace(pg_get_expr(d.adbin, d.adrelid), '::character varying$', '') "
            "from pg_attribute as a join pg_type as t on t.oid = a.atttypid "
            "left join pg_attrdef as d on d.adrelid = a.attrelid and d.adnum = a.attnum "
            "where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum",
            parameters=(table,))
        assert cur.fetchall() == here, table
        keys = con.execute(
            "select constraint_type, count(*), list_sort(list_distinct(flatten(list(constraint_column_names)))) "
            "from duckdb_constraints() where table_name = $t and constraint_type in ('PRIMARY KEY', 'CHECK') "
            "group by all order by all", {"t": table}).fetchall()
        cur.execute(
            "select case c.contype when 'p' then 'PRIMARY KEY' else 'CHECK' end, count(distinct c.oid), "
            "array_agg(distinct a.attname::text) from pg_constraint as c "
            "join pg_attribute as a on a.attrelid = c.conrelid and a.attnum = any(c.conkey) "
            "where c.conrelid = $1::regclass and c.contype in ('p', 'c') group by 1 order by 1",
            parameters=(table,))
        assert [(kind, n, sorted(cols)) for kind, n, cols in cur.fetchall()] == keys, table
    cur.close()
    con.close()


def test_a_new_replica_copies_exactly_what_the_writers_wrote(url, tmp_path):
    writer = store.connect(url)
    follower = other_replica(url, tmp_path, "follower")  # caught up before the writes, then incrementally
    first, third = [r for r in planned_actions(writer, 3) if r != "CA-0006-1"][:2]
    workflow.start(writer, ADMIN, first)
    workflow.done(writer, ADMIN, "CA-0006-1", evidence="簽到表", on=date(2026, 6, 1), attachment=("簽到表.pdf", b"%PDF"))
    workflow.set_user(writer, ADMIN, "dh@example.org", role="viewer", unit="DH")
    workflow.verify(writer, ADMIN, "NC-0006", effective=True, on=date(2026, 6, 2))
    f = Filters.default(date(2026, 6, 30))
    held = review.record(writer, ADMIN, f, held_on=date(2026, 6, 30), title="管理評審", attendees=["甲", "乙"])
    review.decide(writer, ADMIN, held, description="補齊", owner="王明", due_on=date(2026, 9, 30), topic="新議題")
    workflow.cancel(writer, ADMIN, third, reason="重複")
    copy = other_replica(url, tmp_path, "fresh")  # a first copy, after every write
    assert replica.of(follower).sync(follower) > 0
    assert contents(copy) == contents(writer)
    assert contents(follower) == contents(writer)
    digest = hashlib.sha256(b"%PDF").hexdigest()
    assert (workflow.attachments_dir(copy) / digest).read_bytes() == b"%PDF"
    assert trail.verify(copy).ok and trail.verify(copy).events == trail.verify(writer).events
    for con in (writer, follower, copy):
        con.close()


def test_a_write_by_the_command_line_shows_in_a_running_replica_on_its_next_catch_up(url):
    dashboard = store.connect(url)
    ref = planned_actions(dashboard, 1)[0]
    replica.catch_up(dashboard, max_age=0)
    done = cli(url, "action", "done", ref, "--evidence", "會議記錄", "--on", "2026-06-01", "--as", "張三")
    assert (done.returncode, done.stderr) == (0, "")
    assert dashboard.execute("select status::varchar from actions where ref = $r", {"r": ref}).fetchone()[0] \
        == "planned"
    replica.catch_up(dashboard, max_age=0)
    assert dashboard.execute("select status::varchar, evidence from actions where ref = $r",
                             {"r": ref}).fetchone() == ("done", "會議記錄")
    dashboard.close()


WRITER = """
import sys
from closeloop import identity, store, workflow
con = store.connect(sys.argv[1])
who = identity.local_administrator(sys.argv[2])
shared = sys.argv[3]
for ref in sys.argv[4:]:
    workflow.start(con, who, ref)
    workflow.add_action(con, who, shared, kind="corrective", description=ref, owner=who.actor, due_on=None)
"""


def test_concurrent_writers_lose_nothing_and_the_trail_verifies(url, tmp_path):
    con = store.connect(url)
    own = planned_actions(con, 9)
    shared = con.execute("select ref from nonconformities where status = 'open' order by ref limit 1").fetchone()[0]
    actions = con.execute("select count(*) from actions where nonconformity = $r", {"r": shared}).fetchone()[0]
    events = con.execute("select count(*) from events").fetchone()[0]
    con.close()
    writers = [subprocess.Popen(
        [sys.executable, "-c", WRITER, url, f"writer-{w}", shared, *own[w * 3:(w + 1) * 3]],
        cwd=ROOT, env=os.environ | {"CLOSELOOP_CACHE": str(tmp_path / f"w{w}")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) for w in range(3)]
    for w in writers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    con = other_replica(url, tmp_path, "reader")
    assert con.execute("select count(*) from actions where list_contains($r, ref) and status = 'in_progress'",
                       {"r": own}).fetchone()[0] == 9
    # nine actions added to one finding by three processes: each its own ref, none lost
    added = con.execute("select owner, description from actions where nonconformity = $r and owner like 'writer-%'",
                        {"r": shared}).fetchall()
    assert sorted(added) == sorted((f"writer-{w}", ref) for w in range(3) for ref in own[w * 3:(w + 1) * 3])
    assert con.execute("select count(distinct ref) from actions where nonconformity = $r",
                       {"r": shared}).fetchone()[0] == actions + 9
    # each start writes its status, and moves its finding once at most; every event is in a block
    assert con.execute("select count(*) from events").fetchone()[0] - events >= 9 + 9
    verdict = trail.verify(con)
    assert verdict.ok and verdict.events == con.execute("select count(*) from events").fetchone()[0]
    done = cli(url, "trail", "verify")
    assert done.returncode == 0 and done.stdout.startswith(f"Trail verified: {verdict.events} events")
    con.close()


def test_a_failed_write_leaves_neither_postgresql_nor_the_replica_changed(url):
    con = store.connect(url)
    before = contents(con)
    shared = replica.of(con)
    with pytest.raises(RuntimeError):
        with store.transaction(con):
            con.execute("update actions set owner = 'x' where ref = 'CA-0006-1'")
            workflow._insert_events(con, ADMIN, [("action", "CA-0006-1", "owner", None, "x", "test")])
            trail.seal(con)
            raise RuntimeError("after the writes, before the commit")
    assert contents(con) == before
    shared.sync(con)
    assert contents(con) == before
    con.close()


def test_a_store_that_does_not_exist_is_named_without_its_password(postgres):
    missing = postgres.replace("closeloop@", "closeloop:secret@") + "/nowhere"
    with pytest.raises(Refused) as refused:
        store.connect(missing)
    assert refused.value.key == "store_unreadable"
    assert refused.value.details["path"] == missing.replace(":secret@", ":***@")


# The dashboard on a replica

PAGES = ("overview", "units", "rectification", "recurrence", "time_to_close", "data", "review")


def overview(url: str, cache: Path, unit: str | None = None):
    """The Overview as a new page load of a dashboard whose replica lives in `cache` shows it."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    os.environ["CLOSELOOP_CACHE"] = str(cache)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["as_of"] = date(2026, 6, 30)
    at.query_params["lang"] = "en"
    if unit:
        at.query_params["unit"] = unit
    return at


@pytest.fixture
def dashboard_on(url, monkeypatch, tmp_path):
    monkeypatch.setenv("CLOSELOOP_DB", url)
    monkeypatch.setenv("CLOSELOOP_CACHE", os.environ["CLOSELOOP_CACHE"])  # restored after the test
    monkeypatch.setattr(replica, "CATCH_UP_SECONDS", 0.0)
    yield url
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def kpis(at) -> list[str]:
    keys = ("open", "overdue", "opened_in_period", "closed_in_period", "on_time_closure_rate",
            "median_days_to_close_km", "recurrence_rate", "actions_overdue")
    return [at.get_by_key(f"kpi-{key}").metric[0].value for key in keys]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_a_replica(dashboard_on, tmp_path, page):
    at = overview(dashboard_on, tmp_path / "replica").run()
    assert not at.exception
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    assert len(at.title) == 1


def test_two_replicas_show_the_golden_overview_and_a_write_made_while_both_serve(dashboard_on, tmp_path, golden_dir):
    # the same numbers as the embedded store's Overview for DH (tests/test_pages.py)
    golden_dh = ["19", "18", "25", "17", "76.5%", "64", "44.0%", "10"]
    first = overview(dashboard_on, tmp_path / "one", unit="DH").run()
    second = overview(dashboard_on, tmp_path / "two", unit="DH").run()
    assert kpis(first) == kpis(second) == golden_dh
    one_more = tmp_path / "more"
    one_more.mkdir()
    (one_more / "nonconformities.csv").write_text(
        "ref,unit,criterion,source,severity,title,found_on,due_on,status\n"
        "NC-NEW,DH,1.1,inspection,minor,新發現,2026-06-01,2026-12-31,open\n", encoding="utf-8")
    done = cli(dashboard_on, "import", str(one_more))
    assert (done.returncode, done.stderr) == (0, "")
    for cache in ("one", "two"):
        assert kpis(overview(dashboard_on, tmp_path / cache, unit="DH").run())[:3] == ["20", "18", "26"]


def test_a_move_on_a_version_another_process_changed_is_refused_though_this_replica_had_not_seen_it(url, tmp_path):
    mine = store.connect(url)
    ref = planned_actions(mine, 1)[0]
    seen = mine.execute("select version from actions where ref = $r", {"r": ref}).fetchone()[0]
    done = cli(url, "action", "start", ref, "--as", "甲")  # another process, while this replica still shows `seen`
    assert done.returncode == 0, done.stderr
    with pytest.raises(workflow.StaleRecord) as stale:
        workflow.done(mine, ADMIN, ref, evidence="x", on=date(2026, 6, 1), version=seen)
    assert stale.value.who == "甲"
    assert mine.execute("select status::varchar, version from actions where ref = $r", {"r": ref}).fetchone() \
        == ("in_progress", seen + 1)
    mine.close()
