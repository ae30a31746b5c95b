"""Faults and bad input: a full disk, a read-only store, bad arguments and files; each said in one line."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from closeloop import ledger, store, workflow

from test_workflow import ACTIONS, CRITERIA, EDITOR, NONCONFORMITIES, ON, UNITS


def build_store(folder: Path) -> Path:
    """test_workflow's ledger imported into folder/store.duckdb and checkpointed; returns the store's path."""
    ledger_dir = folder / "ledger"
    ledger_dir.mkdir()
    for name, text in [("units", UNITS), ("criteria", CRITERIA), ("nonconformities", NONCONFORMITIES),
                       ("actions", ACTIONS)]:
        (ledger_dir / f"{name}.csv").write_text(text, encoding="utf-8")
    path = folder / "store.duckdb"
    con = store.connect(path)
    assert ledger.load(con, ledger.read([ledger_dir]), actor="import").ok
    con.close()
    return path


def events(con) -> int:
    return con.execute("select count(*) from events").fetchone()[0]


# ---------------------------------------------------------------------------------------------
# Evidence files


def test_a_truncated_file_left_under_its_sha256_name_is_rewritten_not_reused(tmp_path):
    # What a crash or a full disk left behind before files were written to a temporary name first.
    con = store.connect(build_store(tmp_path))
    data = b"%PDF-1.7 sign-in sheet " * 100
    digest = hashlib.sha256(data).hexdigest()
    (tmp_path / "attachments").mkdir()
    (tmp_path / "attachments" / digest).write_bytes(data[:100])
    workflow.done(con, EDITOR, "CA-OPEN-1", evidence="簽到表", on=ON, attachment=("sheet.pdf", data))
    assert (tmp_path / "attachments" / digest).read_bytes() == data
    assert sorted(p.name for p in (tmp_path / "attachments").iterdir()) == [digest]


def test_a_whole_file_already_kept_is_reused_as_it_is(tmp_path):
    con = store.connect(build_store(tmp_path))
    data = b"receipt"
    digest = hashlib.sha256(data).hexdigest()
    (tmp_path / "attachments").mkdir()
    kept = tmp_path / "attachments" / digest
    kept.write_bytes(data)
    os.utime(kept, (1_000_000_000, 1_000_000_000))
    workflow.done(con, EDITOR, "CA-OPEN-1", evidence="收據", on=ON, attachment=("r.txt", data))
    assert (kept.read_bytes(), kept.stat().st_mtime) == (data, 1_000_000_000)


# A real full disk: a tmpfs of a few MB mounted for the test (needs root, as the test machine runs it).


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the disk under `folder` until `leave` bytes are free."""
    stat = os.statvfs(folder)
    filler = folder / "filler"
    with open(filler, "wb") as out:
        try:
            out.write(b"\0" * max(stat.f_bavail * stat.f_frsize - leave, 0))
        except OSError:
            pass
    return filler


def test_a_full_disk_while_keeping_an_evidence_file_says_so_and_leaves_nothing_half_written(small_disk):
    path = build_store(small_disk)
    con = store.connect(path)
    before = events(con)
    filler = fill(small_disk, leave=64 * 1024)
    data = os.urandom(512 * 1024)
    digest = hashlib.sha256(data).hexdigest()
    with pytest.raises(store.StoreError) as refused:
        workflow.done(con, EDITOR, "CA-OPEN-1", evidence="簽到表", on=ON, attachment=("sheet.pdf", data))
    assert (refused.value.key, refused.value.details) == ("disk_full", {"path": str(small_disk / "attachments")})
    assert list((small_disk / "attachments").iterdir()) == []
    assert events(con) == before
    # Space again: the same move keeps the whole file and records it.
    filler.unlink()
    workflow.done(con, EDITOR, "CA-OPEN-1", evidence="簽到表", on=ON, attachment=("sheet.pdf", data))
    assert (small_disk / "attachments" / digest).read_bytes() == data
    assert con.execute("select count(*) from attachments where sha256 = $d", {"d": digest}).fetchone()[0] == 1


def test_a_full_disk_when_the_move_commits_says_disk_full_not_changed_by_someone(small_disk):
    path = build_store(small_disk)
    con = store.connect(path)
    before = events(con)
    con.execute("checkpoint")  # an empty write-ahead log: the move's first page of it finds no room
    fill(small_disk)
    with pytest.raises(store.StoreError) as refused:
        workflow.start(con, EDITOR, "CA-OPEN-1")
    assert (refused.value.key, refused.value.details) == ("disk_full", {"path": str(small_disk)})
    assert events(con) == before
    assert con.execute("select status::varchar from actions where ref = 'CA-OPEN-1'").fetchone()[0] == "planned"


@pytest.mark.parametrize("lang,line", [
    ("en", "The disk is full ({folder}); nothing was changed. Free some space and try again."),
    ("zh", "磁盘已满（{folder}），未做任何更改；请腾出空间后重试。"),
])
def test_the_command_line_says_disk_full_in_one_line_and_exits_2(small_disk, tmp_path, lang, line):
    path = build_store(small_disk)
    evidence = tmp_path / "sheet.pdf"
    evidence.write_bytes(os.urandom(512 * 1024))
    fill(small_disk, leave=64 * 1024)
    done = run(lang, "action", "done", "CA-OPEN-1", "--evidence", "簽到表", "--on", "2026-06-01",
               "--file", evidence, "--db", path)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", line.format(folder=small_disk / "attachments") + "\n")
    con = store.connect(path)
    assert con.execute("select count(*) from events where field = 'attachment'").fetchone()[0] == 0


def run(lang: str, *args) -> subprocess.CompletedProcess:
    """`python -m closeloop ARGS` in a fresh process, in `lang`."""
    import sys

    from conftest import REPO

    env = {k: v for k, v in os.environ.items() if k != "CLOSELOOP_DB"} | {"CLOSELOOP_LANG": lang}
    return subprocess.run([sys.executable, "-m", "closeloop", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
