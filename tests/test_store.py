"""The store: migrations, the query runner, confined file access, one writer, and the command line's refusals."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from closeloop import i18n, ledger, store
from closeloop.filters import Filters

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


def test_a_second_process_finds_a_held_store_locked_and_leaves_it_alone(tmp_path, cli, write_ledger):
    db = (tmp_path / "held.duckdb").resolve()
    con = store.connect(db)
    try:
        assert ledger.load(con, ledger.read([write_ledger()]), actor="test").ok
        con.execute("checkpoint")
        # stat, never open: closing any descriptor of the file drops this process's POSIX lock on it.
        before = files(tmp_path)
        done = cli("metrics", "--db", db, "--as-of", "2026-06-30")
        after = files(tmp_path)
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.splitlines() == [i18n.translate("en", "store_locked", path=str(db))]
        assert after == before
        assert con.execute("select count(*) from nonconformities").fetchall() == [(2,)]
    finally:
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
