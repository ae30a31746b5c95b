"""The DuckDB store: where it lives, its schema, and the runner for named queries."""

from __future__ import annotations

import atexit
import errno
import hashlib
import itertools
import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import duckdb

from closeloop.refusal import Refused

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "queries"
SCHEMA = Path(__file__).with_name("schema")
DEFAULT_DB = ROOT / "data" / "closeloop.duckdb"

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT = re.compile(r"--[^\n]*")
_repeats_lock = threading.Lock()
# the migrations that added columns refresh_findings keeps: a store migrated past one gets them filled
KEPT_BY = (5, 6, 7, 8)
# the migrations from which the trail seals more kinds of record: a store migrated past one seals the records of
# those kinds it already holds, once, so that it still verifies and they are sealed from then on
SEALED_FROM = {15: ("review",)}


def db_path(path: str | os.PathLike | None = None) -> Path:
    """The store file: the argument, else $CLOSELOOP_DB, else the embedded default under data/.

    For a postgresql:// store, the first replica file in its cache folder (its uploads/ folder is beside it).
    """
    chosen = path or os.environ.get("CLOSELOOP_DB") or DEFAULT_DB
    if url(chosen):
        from closeloop import replica

        return replica.cache_dir(str(chosen)) / "replica-0.duckdb"
    return Path(chosen).expanduser().resolve()


def url(path: str | os.PathLike | None = None) -> str | None:
    """The postgresql:// URL chosen (the argument, else $CLOSELOOP_DB), or None for an embedded store."""
    chosen = path or os.environ.get("CLOSELOOP_DB")
    return chosen if isinstance(chosen, str) and chosen.startswith(("postgresql://", "postgres://")) else None


def location(path: str | os.PathLike | None = None) -> str:
    """The store as a person passes it to --db: its file, or its postgresql:// URL without the password."""
    if url(path):
        from closeloop import replica

        return replica.shown(url(path))
    return str(db_path(path))


def upload_dir(db: Path) -> Path:
    return db.parent / "uploads"


# How long a command waits for the store by default while another process (a serving dashboard hands it
# over within a moment; another command holds it until it ends) has it: CLOSELOOP_WAIT seconds.
DEFAULT_WAIT = 120.0
_HOLDER = re.compile(r"\(PID (\d+)\)")


def connect(path: str | os.PathLike | None = None, *, create: bool = True,
            wait: float | None = None, writes: bool = True, replica: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store read-write, migrate it, and confine DuckDB's file access to it.

    While another process holds the file, ask it to let go (a `<store>.wanted.<pid>` file, which a
    serving dashboard watches for) and try again for up to `wait` seconds (default $CLOSELOOP_WAIT, else
    DEFAULT_WAIT); the request stays until this process ends, so the dashboard does not take the store
    back in between. Raises Refused("store_locked…") naming the holder when the wait runs out, and
    Refused("store_missing") when the store does not exist and `create` is false.
    A postgresql:// URL gives this process's DuckDB replica of that store (closeloop/replica.py): reads as
    here, writes through to it.

    A caller that only reads (`writes=False`) gets a read-only connection when the file may not be
    written (a read-only mount, an immutable or unwritable file): such a store can still be verified,
    measured and exported.

    `replica`: the file is a replica of a PostgreSQL store, whose trail comes from there (no seal of its own).
    """
    if url(path):
        from closeloop import replica

        return replica.connect(url(path), create=create)
    db = db_path(path)
    if not create and not db.exists():
        raise Refused("store_missing", path=str(db))
    read_only = not writes and db.exists() and not os.access(db, os.W_OK)
    if not read_only:
        db.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + (wait_seconds() if wait is None else wait)
    while True:
        try:
            con = duckdb.connect(str(db), read_only=read_only)
            break
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise Refused("store_unreadable", path=str(db), reason=str(e).splitlines()[0]) from None
            holder = _HOLDER.search(str(e))
            if time.monotonic() >= deadline:
                raise locked(db, int(holder.group(1)) if holder else None) from None
            if not read_only:  # a read-only folder takes no request file: wait for the holder to end
                want(db)
            time.sleep(0.05)
    uploads = upload_dir(db)
    if read_only:
        _require_current(con, db)
    else:
        migrate(con, seal=not replica)
        uploads.mkdir(exist_ok=True)
    # Order matters: the allow-list first, then switch off external access, then lock it.
    con.execute("set allowed_directories = $dirs", {"dirs": [str(db.parent), str(uploads)]})
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con


def wait_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("CLOSELOOP_WAIT", DEFAULT_WAIT)))
    except ValueError:
        return DEFAULT_WAIT


def command_of(pid: int) -> str | None:
    """The command line of a running process, or None when it has ended."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part) or None


def locked(db: Path, pid: int | None) -> Refused:
    """The refusal for a store another process holds, naming it: a dashboard, or which command."""
    command = command_of(pid) if pid else None
    if command is None:
        return Refused("store_locked", path=str(db))
    if "streamlit" in command:
        return Refused("store_locked_dashboard", path=str(db), pid=pid)
    return Refused("store_locked_command", path=str(db), pid=pid, command=command)


def wanted_files(db: Path) -> list[Path]:
    return list(db.parent.glob(glob_escape(db.name) + ".wanted.*"))


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def want(db: Path) -> None:
    """Say that this process waits for the store, until it ends (see connect)."""
    mine = db.with_name(f"{db.name}.wanted.{os.getpid()}")
    if mine.exists():
        return
    mine.write_text(json.dumps({"pid": os.getpid(), "command": command_of(os.getpid())}), encoding="utf-8")
    _wanted.append(mine)


def wanted_by_others(db: Path) -> list[int]:
    """The live processes other than this one waiting for the store; stale requests are removed."""
    waiting = []
    for file in wanted_files(db):
        try:
            pid = int(file.name.rsplit(".", 1)[1])
        except ValueError:
            continue
        if pid == os.getpid():
            continue
        if command_of(pid) is None:
            file.unlink(missing_ok=True)
            continue
        waiting.append(pid)
    return waiting


_wanted: list[Path] = []


@atexit.register
def withdraw() -> None:
    """This process no longer waits for any store (at its end; a server as soon as it has the store)."""
    while _wanted:
        _wanted.pop().unlink(missing_ok=True)
def _require_current(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    """A read-only store cannot be migrated: it is read as it is only when no schema file is newer."""
    latest = max(int(file.name[:3]) for file in SCHEMA.glob("[0-9][0-9][0-9]_*.sql"))
    try:
        current = con.execute("select coalesce(max(version), 0) from schema_version").fetchone()[0]
    except duckdb.CatalogException:
        current = 0
    if current < latest:
        raise Refused("store_read_only_old", path=str(db))


# One file per migration, closeloop/schema/NNN_name.sql, for both engines: DuckDB here and PostgreSQL when it
# is the system of record (replica.migrate). Each is written in SQL both accept (double precision, bytea, no
# comma before a closing parenthesis), and says itself what one engine does alone:
# - a statement whose leading comment has a line "-- duckdb only" runs on DuckDB alone (the sequences, the
#   repeat flags' cache, the trail's macro); "-- postgresql only" on PostgreSQL alone (the indexes replicas
#   read by, the evidence files' contents);
# - PostgreSQL draws nothing (a replica writes every id and time it ships there), so there a column's
#   `default nextval('…')` or `default now()` is left out; and it has no unsigned 64-bit integer, so `ubigint`
#   is numeric(20, 0) there, which holds the same values.
ENGINES = ("duckdb", "postgresql")
_ONLY = re.compile(r"\s*-- (duckdb|postgresql) only\b")
_DRAWN = re.compile(r" default (?:nextval\('\w+'\)|now\(\))")
_UBIGINT = re.compile(r"\bubigint\b")


def migration_statements(file: Path, engine: str) -> list[str]:
    """The statements of the schema file that `engine` ('duckdb' or 'postgresql') runs, in order; a statement
    ends with the line whose code (what stands before `--`) ends with ';'."""
    assert engine in ENGINES
    statements, lines = [], []
    for line in file.read_text(encoding="utf-8").splitlines():
        lines.append(line)
        if line.split("--")[0].rstrip().endswith(";"):
            statements.append(lines)
            lines = []
    if _COMMENT.sub("", "\n".join(lines)).strip():
        raise ValueError(f"{file.name}: its last statement does not end with ';'")
    kept = []
    for lines in statements:
        leading = list(itertools.takewhile(lambda line: not _COMMENT.sub("", line).strip(), lines))
        only = {m.group(1) for m in map(_ONLY.match, leading) if m}
        if only and only != {engine}:
            continue
        text = "\n".join(lines[len(leading):])
        if engine == "postgresql":
            text = _UBIGINT.sub("numeric(20, 0)", _DRAWN.sub("", text))
        kept.append(text)
    return kept


def migrate(con: duckdb.DuckDBPyConnection, seal: bool = True) -> int:
    """Apply the numbered schema files not yet applied, then re-create the business terms (and, unless `seal` is
    false, seal what SEALED_FROM says the applied ones brought under the trail)."""
    con.execute(
        "create table if not exists schema_version (version integer primary key, applied_at timestamptz default now())"
    )
    applied = {v for (v,) in con.execute("select version from schema_version").fetchall()}
    new = set()
    # Every numbered file not applied yet, in order, even one numbered below the newest applied: files
    # written on parallel branches land in any order.
    for file in sorted(SCHEMA.glob("[0-9][0-9][0-9]_*.sql")):
        version = int(file.name[:3])
        if version in applied:
            continue
        with transaction(con):
            for statement in migration_statements(file, "duckdb"):
                con.execute(statement)
            con.execute("insert into schema_version (version) values ($v)", {"v": version})
        applied.add(version)
        new.add(version)
    current = max(applied, default=0)
    terms = (SCHEMA / "terms.sql").read_text(encoding="utf-8")
    digest = hashlib.sha256(terms.encode()).hexdigest()
    con.execute("create table if not exists schema_terms (digest varchar)")
    if con.execute("select digest from schema_terms").fetchall() == [(digest,)] and not new:
        return current  # nothing to write: opening a store to read it leaves the file as it was
    with transaction(con):
        con.execute(terms)
        con.execute("delete from schema_terms")
        con.execute("insert into schema_terms values ($d)", {"d": digest})
        if new & set(KEPT_BY):
            refresh_findings(con)  # the records stored before these columns were kept
    if seal:
        seal_existing(con, new)
    return current


def seal_existing(con: duckdb.DuckDBPyConnection, applied: set[int]) -> int | None:
    """Once, as the migration that brings a kind of record under the trail is applied: seal the records of that
    kind the store already holds, in one block of their own (no events). Returns the block, if one was sealed."""
    from closeloop import trail

    entities = tuple(e for version in sorted(applied) for e in SEALED_FROM.get(version, ()))
    if not entities:
        return None
    with transaction(con):
        block = trail.seal(con, unsealed_records=entities)
    trail.anchor(con, block)
    return block


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, *, local: bool = False):
    """All of it or none of it; on a replica, in PostgreSQL too (one writer at a time, the replica caught up first).

    `local`: a cache of this store's own (the repeat flags of another window), never written to PostgreSQL.
    """
    from closeloop import replica

    shared = replica.of(con)
    if shared is not None:
        with shared.local(con) if local else shared.writing(con):
            yield con
        return
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


@cache
def sql(name: str) -> str:
    return (QUERIES / f"{name}.sql").read_text(encoding="utf-8")


@cache
def parameters(text: str) -> frozenset[str]:
    """The $names a query uses (comments ignored): DuckDB rejects unused bound names."""
    return frozenset(_PARAM.findall(_COMMENT.sub("", text)))


# the fields of $filters, the struct the scope macros of terms.sql take (is_in_scope and the *_in_scope tables)
FILTER_FIELDS = ("as_of", "window_days", "unit", "sources", "severities", "categories", "scope")


def bind(text: str, params: dict) -> dict:
    used = parameters(text)
    if "filters" in used and "filters" not in params and params.keys() >= set(FILTER_FIELDS):
        params = params | {"filters": {name: params[name] for name in FILTER_FIELDS}}
    missing = used - params.keys()
    if missing:
        raise KeyError(f"query needs {sorted(missing)}")
    return {name: params[name] for name in used}


def run(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None):
    """Run queries/<name>.sql with the parameters it uses; returns a pandas DataFrame."""
    text = sql(name)
    bound = bind(text, params or {})
    if "window_days" in bound:
        ensure_repeats(con, bound["window_days"])
    if "filters" in bound:
        ensure_repeats(con, bound["filters"]["window_days"])
    cur = con.cursor()
    try:
        return cur.execute(text, bound).df()
    finally:
        cur.close()


# A page's independent queries run side by side: DuckDB plans each on one thread, and a page's planning was
# as long as its scans (bench: the Overview at 1M). Each run takes its own cursor, so they share the database.
_together = ThreadPoolExecutor(max_workers=4, thread_name_prefix="closeloop-query")


def together(*work):
    """Call each function (each runs its own queries) side by side; their results in the order given.
    Called from work already running side by side it runs them in turn: a worker waiting on the same pool
    could wait for ever once every worker waits."""
    if threading.current_thread().name.startswith("closeloop-query"):
        return [w() for w in work]
    futures = [_together.submit(w) for w in work]
    return [future.result() for future in futures]


KEPT_WINDOW = 365  # the window whose repeat flags every finding keeps on its row (terms.sql: kept_window)


def script(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> None:
    """Run queries/<name>.sql, a script of statements each ending with ';' at a line's end, binding each."""
    for statement in re.split(r";\s*$", sql(name), flags=re.MULTILINE):
        if _COMMENT.sub("", statement).strip():
            con.execute(statement, bind(statement, params or {}))


def ensure_repeats(con: duckdb.DuckDBPyConnection, window_days: int) -> None:
    """Compute the repeat flags for a window other than the kept one, once; refresh_findings keeps them true."""
    if window_days == KEPT_WINDOW:
        return
    with _repeats_lock:
        cur = con.cursor()
        try:
            known = cur.execute(
                "select count(*) from repeats where window_days = $w", {"w": window_days}
            ).fetchone()[0]
            if known:
                return
            try:
                with transaction(cur, local=True):
                    cur.execute(
                        "insert into repeats select $w, nonconformity, is_repeat, is_repeat_after_closure "
                        "from repeat_flags($w, null)",
                        {"w": window_days},
                    )
            except duckdb.InvalidInputException as e:
                if "read-only" not in str(e):
                    raise
                # the flags of a window are cached in the store: a read-only one has only those it keeps
                raise Refused("store_read_only_window", window=window_days, kept=KEPT_WINDOW) from None
        finally:
            cur.close()


def refresh_findings(con: duckdb.DuckDBPyConnection, units: list[str] | None = None) -> None:
    """Keep what each finding carries for the pages true after a write; call it inside the writing transaction.

    The findings of `units` (every finding when None: an import that changed units or criteria, a new
    store) get their unit's path, their criterion's category and the kept window's repeat flags again,
    their actions their finding's scope columns (any action without its finding's id gets it), and
    the flags cached for other windows are recomputed for those units (dropped, when None). Repeats
    never cross units: pass the units of every finding written, before and after the write, and of the
    finding of every action written.
    """
    bound = {"units": None if units is None else sorted(set(units))}
    script(con, "findings_refresh", bound)
    if units is None:
        con.execute("delete from repeats")
        return
    cached = [w for (w,) in con.execute("select distinct window_days from repeats").fetchall()]
    con.execute(
        "delete from repeats where nonconformity in (select id from nonconformities where list_contains($units, unit))",
        bound,
    )
    for window_days in cached:
        con.execute(
            "insert into repeats select $w, nonconformity, is_repeat, is_repeat_after_closure "
            "from repeat_flags($w, $units::varchar[])",
            bound | {"w": window_days},
        )


# ---------------------------------------------------------------------------------------------
# Faults of the disk under the store, said as such


def disk_full(error: BaseException) -> bool:
    """Whether an OS or DuckDB error is the disk (or the user's quota) running out of space."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    return os.strerror(errno.ENOSPC) in str(error) or os.strerror(errno.EDQUOT) in str(error)


def os_refusal(error: OSError, path: str | os.PathLike) -> Refused:
    """An OS error writing beside the store as a one-line refusal: a full disk says so."""
    if disk_full(error):
        return Refused("disk_full", path=str(path))
    return Refused("write_failed", path=str(path), reason=error.strerror or str(error))
@contextmanager
def sender_lock(con):
    """Held while notices are sent, so that one process sends them: an embedded DuckDB file has one writing
    process already; a PostgreSQL store takes an advisory lock (replica.Replica.sending)."""
    from closeloop import replica

    shared = replica.of(con)
    if shared is None:
        yield con
        return
    with shared.sending(con):
        yield con
