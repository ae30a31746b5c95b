"""The store: migrations, the query runner, confined file access, one writer, and the command line's refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import duckdb
import pytest

from conftest import csv_text, nc

from closeloop import i18n, ledger, metrics, store
from closeloop.filters import Filters
from closeloop.refusal import Refused

MACROS = {"nonconformity_at", "nonconformity_in_scope", "unit_subtree", "action_at", "repeat_flags"}


def macros(con) -> set[str]:
    rows = con.execute(
        "select function_name from duckdb_functions() where function_type in ('macro', 'table_macro')"
    ).fetchall()
    return {name for (name,) in rows} & MACROS


def files(folder) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()}


def test_migrations_are_idempotent(tmp_path):
    db = tmp_path / "closeloop.duckdb"
    numbered = [(int(p.name[:3]),) for p in sorted(store.SCHEMA.glob("[0-9][0-9][0-9]_*.sql"))]
    store.connect(db).close()
    con = store.connect(db)
    assert con.execute("select version from schema_version order by version").fetchall() == numbered
    assert macros(con) == MACROS
    con.close()


def test_the_runner_binds_only_the_names_a_query_uses():
    text = "select $as_of as a -- not $until\n, $unit as u"
    assert store.bind(text, {"as_of": 1, "until": 2, "unit": 3, "scope": 4}) == {"as_of": 1, "unit": 3}


def test_the_runner_accepts_the_whole_filter_set_and_more(empty_store):
    params = Filters.default(date(2026, 6, 30)).params() | {"page": "overview"}
    assert store.run(empty_store, "contract", params)["open"].tolist() == [0]


def test_the_runner_names_the_parameters_a_query_is_missing(empty_store):
    params = Filters.default(date(2026, 6, 30)).params()
    del params["since"], params["until"]
    with pytest.raises(KeyError, match=r"query needs \['since', 'until'\]"):
        store.run(empty_store, "contract", params)


def test_sql_cannot_read_files_outside_the_store(empty_store):
    with pytest.raises(duckdb.PermissionException):
        empty_store.execute("select * from read_csv('/etc/passwd')").fetchall()


def test_sql_can_read_files_in_the_upload_folder(tmp_path, empty_store):
    (tmp_path / "uploads" / "units.csv").write_text("code,name\nHQ,總局\n", encoding="utf-8")
    path = str(tmp_path / "uploads" / "units.csv")
    assert empty_store.execute("select * from read_csv($p)", {"p": path}).fetchall() == [("HQ", "總局")]


def test_file_access_cannot_be_switched_back_on(empty_store):
    with pytest.raises(duckdb.Error):
        empty_store.execute("set enable_external_access = true")


def test_a_command_waits_for_a_held_store_then_names_the_holder_and_leaves_it_alone(
        tmp_path, cli, write_ledger, monkeypatch):
    db = (tmp_path / "held.duckdb").resolve()
    con = store.connect(db)
    monkeypatch.setenv("CLOSELOOP_WAIT", "0.5")
    try:
        assert ledger.load(con, ledger.read([write_ledger()]), actor="test").ok
        con.execute("checkpoint")
        # stat, never open: closing any descriptor of the file drops this process's POSIX lock on it.
        before = files(tmp_path)
        done = cli("metrics", "--db", db, "--as-of", "2026-06-30")
        after = files(tmp_path)
        assert (done.returncode, done.stdout) == (2, "")
        # this process holds it, and is no dashboard: the command line that holds it is named
        holder = store.command_of(os.getpid())
        assert holder.startswith(sys.executable + " ")  # this test's own process (pytest, or a pytest-xdist worker)
        assert done.stderr.splitlines() == [
            i18n.translate("en", "store_locked_command", path=str(db), pid=os.getpid(), command=holder)
        ]
        assert after == before  # its request to have the store went with it
        assert con.execute("select count(*) from nonconformities").fetchall() == [(2,)]
    finally:
        con.close()


def test_a_store_held_by_a_dashboard_is_named_as_the_dashboard(tmp_path):
    db = (tmp_path / "held.duckdb").resolve()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
         "sys.stdin.read()", str(db), "streamlit", "run", "dashboard.py"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(Refused) as refused:
            store.connect(db, wait=0.2)
        assert (refused.value.key, refused.value.details) == ("store_locked_dashboard", {"path": str(db), "pid": holder.pid})
    finally:
        holder.communicate("")
    store.withdraw()


def test_opening_a_store_to_read_it_writes_nothing(tmp_path, cli, write_ledger):
    db = tmp_path / "closeloop.duckdb"
    assert cli("import", write_ledger(), "--db", db).returncode == 0
    before = db.read_bytes()
    assert cli("metrics", "--db", db, "--as-of", "2026-06-30").returncode == 0
    assert cli("trail", "verify", "--db", db).returncode == 0
    assert db.read_bytes() == before


def test_changed_business_terms_are_redefined_when_the_store_is_opened(tmp_path):
    db = tmp_path / "closeloop.duckdb"
    store.connect(db).close()
    con = duckdb.connect(str(db))
    con.execute("create or replace macro kept_window() as 7")
    con.execute("update schema_terms set digest = 'an older terms.sql'")
    con.close()
    con = store.connect(db)
    assert con.execute("select kept_window()").fetchall() == [(365,)]
    con.close()


def test_metrics_on_a_missing_store_says_so_in_one_line_and_creates_nothing(tmp_path, cli):
    db = (tmp_path / "nowhere" / "closeloop.duckdb").resolve()
    done = cli("metrics", "--db", db)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [i18n.translate("en", "store_missing", path=str(db))]
    assert not db.parent.exists()


def test_metrics_for_an_unknown_unit_says_so_in_one_line(tmp_path, cli, write_ledger):
    db = tmp_path / "closeloop.duckdb"
    assert cli("import", write_ledger(), "--db", db).returncode == 0
    done = cli("metrics", "--db", db, "--unit", "NOPE")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [i18n.translate("en", "unknown_unit_arg", unit="NOPE")]


def test_a_bad_date_argument_is_refused_in_one_line(tmp_path, cli):
    done = cli("metrics", "--db", tmp_path / "closeloop.duckdb", "--as-of", "2026-13-01")
    assert (done.returncode, done.stdout) == (2, "")
    assert len(done.stderr.splitlines()) == 1
    assert i18n.translate("en", "bad_date", value="2026-13-01") in done.stderr


# ---------------------------------------------------------------------------------------------
# What each finding keeps on its row for the pages (store.refresh_findings), kept true by every writer


def reimport(con, tmp_path, name: str, rows: list[dict]) -> None:
    folder = tmp_path / f"again-{name}"
    folder.mkdir()
    (folder / f"{name}.csv").write_text(csv_text(rows), encoding="utf-8")
    assert ledger.load(con, ledger.read([folder]), actor="test").ok


def kept(con) -> list[tuple]:
    """Per finding: its unit's path and its category as kept, and the kept flags next to those computed afresh."""
    return con.execute("""
        select
            n.ref, n.unit_path, n.category, n.is_repeat_365, n.is_repeat_after_closure_365,
            coalesce(r.is_repeat, false), coalesce(r.is_repeat_after_closure, false),
        from nonconformities as n
        left join repeat_flags(365, null) as r on r.nonconformity = n.id
        order by n.ref
    """).fetchall()


def test_an_import_that_moves_a_finding_keeps_the_repeat_flags_of_both_units_true(store_from_rows, tmp_path):
    moved = nc("N2", "DH-01", "2026-03-01")  # repeats N1 after its closure, until it moves to DH-02
    con = store_from_rows([nc("N1", "DH-01", "2026-01-01", closed_on="2026-01-20"), moved,
                           nc("N3", "DH-02", "2026-04-01")])
    assert [row[3:5] for row in kept(con)] == [(False, False), (True, True), (False, False)]
    reimport(con, tmp_path, "nonconformities", [moved | {"unit": "DH-02"}])
    assert kept(con) == [
        ("N1", "/HQ/DH/DH-01/", "組織建設", False, False, False, False),
        ("N2", "/HQ/DH/DH-02/", "組織建設", False, False, False, False),
        ("N3", "/HQ/DH/DH-02/", "組織建設", True, False, True, False),  # N2 is now before it in DH-02
    ]


def test_a_unit_moved_under_another_unit_takes_its_findings_into_that_subtree(store_from_rows, tmp_path):
    con = store_from_rows([nc("N1", "DH-01-1", "2026-01-01"), nc("N2", "DS", "2026-02-01")])
    reimport(con, tmp_path, "units", [{"code": "DH-01", "name": "定海分局機關支部", "parent": "DS"}])
    assert [row[:3] for row in kept(con)] == [("N1", "/HQ/DS/DH-01/DH-01-1/", "組織建設"), ("N2", "/HQ/DS/", "組織建設")]
    assert metrics.contract(con, Filters.default(date(2026, 6, 30), unit="DS"))["open"] == 2


def test_a_criterion_moved_to_another_category_takes_its_findings_along(store_from_rows, tmp_path):
    con = store_from_rows([nc("N1", "DH-01", "2026-01-01"), nc("N2", "DS", "2026-02-01", criterion="2.1")])
    reimport(con, tmp_path, "criteria", [{"code": "1.1", "title": "三會一課按期召開", "category": "黨風廉政"}])
    assert [row[:3] for row in kept(con)] == [("N1", "/HQ/DH/DH-01/", "黨風廉政"), ("N2", "/HQ/DS/", "思想建設")]


def test_a_store_made_before_the_kept_terms_gets_them_when_it_is_next_opened(tmp_path, monkeypatch):
    older = tmp_path / "schema"
    older.mkdir()
    for file in store.SCHEMA.glob("[0-9][0-9][0-9]_*.sql"):
        if int(file.name[:3]) < min(store.KEPT_BY):
            (older / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    (older / "terms.sql").write_text("select 1;", encoding="utf-8")  # that store's terms play no part here
    monkeypatch.setattr(store, "SCHEMA", older)
    con = store.connect(tmp_path / "older.duckdb")
    con.execute("""
        insert into units (code, name, parent_code, path, depth) values
            ('HQ', '總局', null, '/HQ/', 0), ('DH', '定海分局', 'HQ', '/HQ/DH/', 1);
        insert into criteria (code, title, category) values ('1.1', '三會一課按期召開', '組織建設');
        insert into nonconformities (ref, unit, criterion, source, severity, title, found_on, closed_on, status) values
            ('N1', 'DH', '1.1', 'inspection', 'minor', 'N1', '2026-01-01', '2026-01-20', 'closed'),
            ('N2', 'DH', '1.1', 'inspection', 'minor', 'N2', '2026-03-01', null, 'open');
        insert into actions (ref, nonconformity, kind, status) values ('A2', 'N2', 'corrective', 'planned');
    """)
    con.close()
    monkeypatch.undo()
    con = store.connect(tmp_path / "older.duckdb")
    assert kept(con) == [("N1", "/HQ/DH/", "組織建設", False, False, False, False),
                         ("N2", "/HQ/DH/", "組織建設", True, True, True, True)]
    assert con.execute("select a.ref, n.ref from actions as a join nonconformities as n on n.id = a.nonconformity_id"
                       ).fetchall() == [("A2", "N2")]
    con.close()


def test_a_migration_numbered_below_the_newest_applied_is_still_applied(tmp_path):
    db = tmp_path / "closeloop.duckdb"
    store.connect(db).close()
    con = duckdb.connect(str(db))
    numbered = [v for (v,) in con.execute("select version from schema_version order by version").fetchall()]
    middle = numbered[len(numbered) // 2]
    # a store that got a later branch's migration before this one's: the middle one is missing
    con.execute("delete from schema_version where version = $v", {"v": middle})
    con.close()
    with pytest.raises(duckdb.CatalogException):  # applied again, its tables collide: proof it was tried
        store.connect(db)


def test_work_run_together_returns_each_result_in_order_and_raises_the_first_failure():
    import threading

    names = store.together(lambda: threading.current_thread().name, lambda: 2, lambda: "three")
    assert names[0].startswith("closeloop-query") and names[1:] == [2, "three"]
    with pytest.raises(ZeroDivisionError):
        store.together(lambda: 1, lambda: 1 / 0)


def test_work_run_together_inside_work_run_together_runs_in_turn_and_never_waits_for_a_worker():
    import threading

    # more outer jobs than workers, each nesting: with nesting on the same pool every worker would wait
    inner = lambda: store.together(lambda: threading.current_thread().name, lambda: threading.current_thread().name)
    outcome = []
    runner = threading.Thread(target=lambda: outcome.append(store.together(*[inner] * 8)), daemon=True)
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive(), "nested work waited for a worker"
    assert all(a == b for a, b in outcome[0])  # the inner pair ran in the outer worker's own thread


def test_a_contract_run_side_by_side_equals_the_contract_worked_by_hand(store_from_rows):
    con = store_from_rows([nc("T-1", "DH-01", "2025-01-10", due_on="2025-01-31", closed_on="2025-02-01"),
                           nc("T-2", "DH-01", "2025-03-01", due_on="2025-03-15"),
                           nc("T-3", "DH-01", "2025-03-20", due_on="2025-04-01", closed_on="2025-03-25")])
    f = Filters.default(date(2025, 4, 30))
    now, before = store.together(lambda: metrics.contract(con, f), lambda: metrics.contract(con, f.previous()))
    # as of 30 April: T-2 open and late; T-1 closed a day late, T-3 early
    assert (now["open"], now["overdue"], now["closed_in_period"], now["closed_on_time_in_period"]) == (1, 1, 2, 1)
    # the year before ends 30 April 2024: nothing had been found yet
    assert (before["open"], before["opened_in_period"], before["closed_in_period"]) == (0, 0, 0)


# One schema file per migration for both engines: a literal file, and what each engine runs of it
# (store.migration_statements).
ONE_FILE_FOR_BOTH = """-- what the file is for; a comment line that ends with a semicolon;
-- duckdb only
create sequence thing_id;
create table things (
    id bigint primary key default nextval('thing_id'),
    "at" timestamptz not null default now(),  -- when; not drawn on PostgreSQL
    marks ubigint,
    weight double precision not null default 1
);
-- postgresql only: why it is there alone
create index things_at on things ("at");
insert into things (id, marks) values (1, 2);  -- a comment after the end
-- a file may end with comments
"""


def test_a_migration_gives_each_engine_its_own_statements_and_postgresql_draws_nothing(tmp_path):
    file = tmp_path / "016_things.sql"
    file.write_text(ONE_FILE_FOR_BOTH, encoding="utf-8")
    table = """create table things (
    id bigint primary key{id},
    "at" timestamptz not null{at},  -- when; not drawn on PostgreSQL
    marks {marks},
    weight double precision not null default 1
);"""
    insert = "insert into things (id, marks) values (1, 2);  -- a comment after the end"
    assert store.migration_statements(file, "duckdb") == [
        "create sequence thing_id;",
        table.format(id=" default nextval('thing_id')", at=" default now()", marks="ubigint"),
        insert,
    ]
    assert store.migration_statements(file, "postgresql") == [
        table.format(id="", at="", marks="numeric(20, 0)"),
        'create index things_at on things ("at");',
        insert,
    ]


def test_a_migration_whose_last_statement_lacks_its_semicolon_is_refused(tmp_path):
    file = tmp_path / "016_things.sql"
    file.write_text("create table things (id bigint);\ncreate index things_id on things (id)\n", encoding="utf-8")
    with pytest.raises(ValueError, match="016_things.sql: its last statement does not end with ';'"):
        store.migration_statements(file, "duckdb")


def test_each_migration_is_one_file_that_both_engines_read():
    # no copy per engine beside it (the layout before: closeloop/schema/pg/NNN_*.sql), one file per number
    numbered = sorted(store.SCHEMA.glob("[0-9][0-9][0-9]_*.sql"))
    assert [p.relative_to(store.SCHEMA) for p in store.SCHEMA.rglob("*.sql") if p.parent != store.SCHEMA] == []
    assert len({p.name[:3] for p in numbered}) == len(numbered)
    for file in numbered:
        for engine in store.ENGINES:
            store.migration_statements(file, engine)  # raises on a statement left without its ';'
