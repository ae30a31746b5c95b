"""Faults and bad input: a full disk, a read-only store, bad arguments and files; each said in one line."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from closeloop import ledger, store, workflow
from closeloop.refusal import Refused

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
    with pytest.raises(Refused) as refused:
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
    with pytest.raises(Refused) as refused:
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


@pytest.mark.parametrize("lang,line", [
    ("en", "The disk is full ({folder}); nothing was changed. Free some space and try again."),
    ("zh", "磁盘已满（{folder}），未做任何更改；请腾出空间后重试。"),
])
def test_an_import_that_finds_the_disk_full_says_so_in_one_line_and_stores_nothing(small_disk, golden_dir, lang,
                                                                                      line):
    path = build_store(small_disk)
    con = store.connect(path)
    before = (events(con), con.execute("select count(*) from nonconformities").fetchone()[0])
    con.execute("checkpoint")
    con.close()
    fill(small_disk, leave=16 * 1024)
    done = run(lang, "import", golden_dir, "--db", path)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", line.format(folder=small_disk) + "\n")
    (small_disk / "filler").unlink()
    con = store.connect(path)
    assert (events(con), con.execute("select count(*) from nonconformities").fetchone()[0]) == before


def run(lang: str, *args) -> subprocess.CompletedProcess:
    """`python -m closeloop ARGS` in a fresh process, in `lang`."""
    import sys

    from conftest import REPO

    env = {k: v for k, v in os.environ.items() if k != "CLOSELOOP_DB"} | {"CLOSELOOP_LANG": lang}
    return subprocess.run([sys.executable, "-m", "closeloop", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------------------------------------
# Bad arguments: one line in the user's language, exit 2, the store as it was


@pytest.fixture(scope="module")
def golden_file(tmp_path_factory, golden_imported) -> Path:
    return golden_imported(tmp_path_factory.mktemp("golden") / "closeloop.duckdb")


def content(db: Path) -> tuple:
    """What the store holds: its records and its trail (the file's bytes change with every read-write open)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return tuple(con.execute(f"select count(*), hash(list(t order by all)) from {table} as t").fetchone()
                     for table in ("units", "criteria", "nonconformities", "actions", "events", "import_batches"))
    finally:
        con.close()


# (arguments, the line in English, in Chinese). "{db}" is the store, "{tmp}" a writable folder.
ARGUMENT_ATTACKS = [
    (["metrics", "--as-of", "0001-01-01"],
     "python -m closeloop metrics: argument --as-of: The date 0001-01-01 is outside 1900-01-01 … 2199-12-31",
     "python -m closeloop metrics: argument --as-of: 日期 0001-01-01 超出可用范围（1900-01-01 至 2199-12-31）"),
    (["metrics", "--as-of", "2200-01-01"],
     "python -m closeloop metrics: argument --as-of: The date 2200-01-01 is outside 1900-01-01 … 2199-12-31",
     "python -m closeloop metrics: argument --as-of: 日期 2200-01-01 超出可用范围（1900-01-01 至 2199-12-31）"),
    (["metrics", "--from", "0001-01-01", "--to", "2026-06-30"],
     "python -m closeloop metrics: argument --from: The date 0001-01-01 is outside 1900-01-01 … 2199-12-31",
     "python -m closeloop metrics: argument --from: 日期 0001-01-01 超出可用范围（1900-01-01 至 2199-12-31）"),
    (["metrics", "--as-of", "2026-02-30"],
     "python -m closeloop metrics: argument --as-of: Not a date: 2026-02-30 (expected YYYY-MM-DD)",
     "python -m closeloop metrics: argument --as-of: 日期格式无效：2026-02-30（应为 YYYY-MM-DD）"),
    *[(["metrics", "--window-days", days],
       f"python -m closeloop metrics: argument --window-days: {days} will not do: a whole number from 1 to 3,650 is needed",
       f"python -m closeloop metrics: argument --window-days: {days} 不可用：应为 1 至 3,650 之间的整数")
      for days in ("-5", "0", "99999999999", "abc")],
    (["report", "--out", "{tmp}/pack.pdf", "--window-days", "0"],
     "python -m closeloop report: argument --window-days: 0 will not do: a whole number from 1 to 3,650 is needed",
     "python -m closeloop report: argument --window-days: 0 不可用：应为 1 至 3,650 之间的整数"),
    (["demo", "--ncs", "-5"],
     "python -m closeloop demo: argument --ncs: -5 will not do: a whole number from 1 to 10,000,000 is needed",
     "python -m closeloop demo: argument --ncs: -5 不可用：应为 1 至 10,000,000 之间的整数"),
    (["export", "--out", "/nonexistent/x.xlsx"],
     "No folder /nonexistent to write the file in; nothing was written.",
     "找不到输出目录 /nonexistent，未写入任何文件。"),
    (["report", "--out", "/nonexistent/pack.pdf"],
     "No folder /nonexistent to write the file in; nothing was written.",
     "找不到输出目录 /nonexistent，未写入任何文件。"),
    (["export", "--out", "{tmp}/x.xlsx", "--category", "NOPE"],
     "Unknown value: NOPE (one of: 作風建設, 制度建設, 思想建設, 組織建設, 黨風廉政)",
     "未知取值：NOPE（可选：作風建設, 制度建設, 思想建設, 組織建設, 黨風廉政）"),
]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("args,en,zh", ARGUMENT_ATTACKS, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_a_bad_argument_gets_one_line_exit_2_and_the_store_unchanged(golden_file, tmp_path, lang, args, en, zh):
    before = content(golden_file)
    done = run(lang, *[a.format(tmp=tmp_path) for a in args], "--db", golden_file)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", (en if lang == "en" else zh) + "\n")
    assert content(golden_file) == before
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("lang,line", [
    ("en", "nonconformities.csv row 4, title: a cell over 131,072 characters (an unclosed quote?); import refused, "
           "nothing was stored."),
    ("zh", "nonconformities.csv 第 4 行，title：单元格超过 131,072 个字符（引号可能未闭合），已拒绝导入，未写入任何数据。"),
])
@pytest.mark.parametrize("row", [4, 120])  # read by Python's csv reader (the header scan) and by Arrow's
def test_a_csv_cell_over_131072_characters_is_refused_naming_its_row_and_column(golden_file, golden_dir, tmp_path,
                                                                                   lang, line, row):
    import csv

    folder = tmp_path / "ledger"
    folder.mkdir()
    for name in ("units", "criteria", "nonconformities", "actions"):
        (folder / f"{name}.csv").write_bytes((golden_dir / f"{name}.csv").read_bytes())
    with open(folder / "nonconformities.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    rows[row - 1][rows[0].index("title")] = "長" * 131_073
    with open(folder / "nonconformities.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    before = content(golden_file)
    done = run(lang, "import", folder, "--db", golden_file)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", line.replace("row 4", f"row {row}")
                                                           .replace("第 4 行", f"第 {row} 行") + "\n")
    assert content(golden_file) == before


def test_a_cell_of_exactly_131072_characters_is_read(tmp_path, golden_dir):
    folder = tmp_path / "ledger"
    folder.mkdir()
    for name in ("units", "criteria", "actions"):
        (folder / f"{name}.csv").write_bytes((golden_dir / f"{name}.csv").read_bytes())
    text = (golden_dir / "nonconformities.csv").read_text(encoding="utf-8").splitlines()
    first = text[1].split(",")
    first[5] = "長" * 131_072
    (folder / "nonconformities.csv").write_text("\n".join([text[0], ",".join(first), *text[2:]]) + "\n", encoding="utf-8")
    con = store.connect(tmp_path / "s.duckdb")
    assert ledger.load(con, ledger.read([folder]), actor="import").ok
    assert con.execute("select length(title) from nonconformities where ref = $r", {"r": first[0]}).fetchone() == (131_072,)


# ---------------------------------------------------------------------------------------------
# A read-only store: verified, measured and exported; moves refused in one line


@pytest.fixture
def immutable_store(golden_file, tmp_path):
    """A copy of the golden store made immutable (chattr +i): not even root may write it, so os.access says
    so, as it does for a read-only mount. Needs root and a file system with the flag (the test machine's)."""
    db = tmp_path / "store" / "closeloop.duckdb"
    db.parent.mkdir()
    db.write_bytes(golden_file.read_bytes())
    made = subprocess.run(["chattr", "+i", str(db)], capture_output=True)
    if made.returncode:
        pytest.skip(f"cannot make a file immutable here: {made.stderr.decode().strip()}")
    yield db
    subprocess.run(["chattr", "-i", str(db)], check=True)


def test_a_read_only_store_is_verified_measured_and_exported(immutable_store, tmp_path):
    digest = hashlib.sha256(immutable_store.read_bytes()).hexdigest()
    verified = run("en", "trail", "verify", "--db", immutable_store)
    assert (verified.returncode, verified.stdout.split(":")[0]) == (0, "Trail verified")
    measured = run("en", "metrics", "--as-of", "2026-06-30", "--db", immutable_store)
    assert (measured.returncode, measured.stdout.count('"open": 41')) == (0, 1)
    exported = run("en", "export", "--out", tmp_path / "ledger.csv", "--as-of", "2026-06-30", "--db", immutable_store)
    assert (exported.returncode, (tmp_path / "ledger.csv").exists()) == (0, True)
    assert hashlib.sha256(immutable_store.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("lang,line", [
    ("en", "The store is read-only, so repeats within 30 days cannot be worked out; a read-only store answers for "
           "the 365-day window."),
    ("zh", "数据库为只读，无法计算 30 天窗口的重复发生；只读数据库可用 365 天窗口。"),
])
def test_a_read_only_store_refuses_a_window_it_has_not_kept_in_one_line(immutable_store, lang, line):
    done = run(lang, "metrics", "--as-of", "2026-06-30", "--window-days", "30", "--db", immutable_store)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", line + "\n")


def test_a_read_only_mount_is_verified_too(golden_file, tmp_path):
    source, mount = tmp_path / "source", tmp_path / "ro"
    source.mkdir()
    mount.mkdir()
    (source / "closeloop.duckdb").write_bytes(golden_file.read_bytes())
    made = subprocess.run(["mount", "--bind", str(source), str(mount)], capture_output=True)
    if made.returncode:
        pytest.skip(f"cannot bind-mount here: {made.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], check=True)
        verified = run("en", "trail", "verify", "--db", mount / "closeloop.duckdb")
        assert (verified.returncode, verified.stdout.split(":")[0]) == (0, "Trail verified")
        assert sorted(p.name for p in mount.iterdir()) == ["closeloop.duckdb"]
    finally:
        subprocess.run(["umount", str(mount)], check=True)
