"""Who acts on the command line: --as or CLOSELOOP_ACTOR, held to the user's role and scope, else local:LOGIN."""

from __future__ import annotations

import csv
import getpass
import io
import os
import subprocess
import sys

import openpyxl
import pytest
from conftest import CRITERIA, REPO, UNITS, action, csv_text, nc

from closeloop import identity, ledger, store, workflow

BOTH_BACKENDS = True

# One open finding in each branch: N-DH in DH-01 (inside DH), N-DS in DS (outside it), each with a planned action.
FINDINGS = [nc("N-DH", "DH-01", "2026-03-01", "2026-04-01"), nc("N-DS", "DS", "2026-03-02", "2026-04-02")]
ACTIONS = [action("A-DH", "N-DH", "2026-04-01") | {"owner": "王明"}, action("A-DS", "N-DS", "2026-04-02")]
# A viewer and an editor of DH, and an administrator of the whole organisation.
USERS = [("viewer@dh.example", "viewer", "DH"), ("editor@dh.example", "unit_editor", "DH"),
         ("admin@hq.example", "administrator", None)]


@pytest.fixture
def db(store_at, tmp_path):
    location = store_at("cli")
    con = store.connect(location)
    folder = tmp_path / "ledger"
    folder.mkdir()
    for name, rows in (("units", UNITS), ("criteria", CRITERIA), ("nonconformities", FINDINGS), ("actions", ACTIONS)):
        (folder / f"{name}.csv").write_text(csv_text(rows), encoding="utf-8")
    assert ledger.load(con, ledger.read([folder]), actor="test").ok
    for email, role, unit in USERS:
        workflow.set_user(con, identity.local_administrator("setup"), email, role=role, unit=unit)
    con.close()
    return location


def closeloop(*args, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("CLOSELOOP_DB", "CLOSELOOP_ACTOR")}
    return subprocess.run([sys.executable, "-m", "closeloop", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=base | {"CLOSELOOP_LANG": "en"} | env)


def exported_refs(path) -> list[str]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    return sorted({row[0] for row in rows[1:]})


def test_a_user_scoped_to_a_branch_exports_only_that_branch_s_rows(db, tmp_path):
    scoped, whole = tmp_path / "dh.csv", tmp_path / "all.csv"
    done = closeloop("export", "--db", db, "--as-of", "2026-06-30", "--out", scoped, "--as", "viewer@dh.example")
    assert done.returncode == 0, done.stderr
    assert closeloop("export", "--db", db, "--as-of", "2026-06-30", "--out", whole).returncode == 0
    assert (exported_refs(scoped), exported_refs(whole)) == (["N-DH"], ["N-DH", "N-DS"])


def test_closeloop_actor_scopes_an_export_as_as_does(db, tmp_path):
    out = tmp_path / "dh.csv"
    done = closeloop("export", "--db", db, "--as-of", "2026-06-30", "--out", out, CLOSELOOP_ACTOR="viewer@dh.example")
    assert (done.returncode, exported_refs(out)) == (0, ["N-DH"])


def test_an_unknown_user_gets_one_line_and_no_file(db, tmp_path):
    out = tmp_path / "x.csv"
    done = closeloop("export", "--db", db, "--as-of", "2026-06-30", "--out", out, "--as", "nobody@dh.example")
    assert (done.returncode, done.stderr, out.exists()) == (2, (
        "This store has no user nobody@dh.example: name them by email (python -m closeloop user adds one), "
        "or leave out --as to act as the local administrator.\n"), False)


def test_a_scoped_user_may_not_export_a_unit_outside_their_subtree(db, tmp_path):
    done = closeloop("export", "--db", db, "--as-of", "2026-06-30", "--out", tmp_path / "ds.csv",
                     "--unit", "DS", "--as", "viewer@dh.example")
    assert (done.returncode, done.stderr) == (2, "Unit DS is outside what viewer@dh.example may see.\n")


def test_a_scoped_user_s_pack_holds_only_their_branch(db, tmp_path):
    out = tmp_path / "pack.xlsx"
    done = closeloop("report", "--db", db, "--as-of", "2026-06-30", "--out", out, "--as", "viewer@dh.example")
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(out, read_only=True)
    cells = {v for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row}
    assert {"N-DH", "N-DS"} & cells == {"N-DH"}


def test_a_move_records_the_user_named_by_as_and_is_held_to_their_scope(db):
    inside = closeloop("action", "start", "A-DH", "--db", db, "--as", "editor@dh.example")
    outside = closeloop("action", "start", "A-DS", "--db", db, "--as", "editor@dh.example")
    assert (inside.returncode, outside.returncode, outside.stderr) == (
        0, 2, "A-DS is outside the units you may see or change.\n")
    assert actors(db, "A-DH") == ["editor@dh.example"]


def test_a_move_without_as_records_the_local_login_marked_as_one(db):
    assert closeloop("action", "start", "A-DS", "--db", db).returncode == 0
    assert actors(db, "A-DS") == [f"local:{getpass.getuser()}"]


def test_a_write_as_someone_the_store_does_not_know_is_refused_and_writes_nothing(db):
    done = closeloop("action", "start", "A-DH", "--db", db, CLOSELOOP_ACTOR="root")
    assert (done.returncode, done.stderr.startswith("This store has no user root:"), actors(db, "A-DH")) == (
        2, True, [])


def actors(db, ref: str) -> list[str]:
    con = store.connect(db, create=False, writes=False)
    try:
        return [a for (a,) in con.execute("select actor from events where ref = $ref and field = 'status'",
                                          {"ref": ref}).fetchall()]
    finally:
        con.close()
