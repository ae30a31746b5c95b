"""The DuckDB store: where it lives, its schema, and the runner for named queries."""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "queries"
SCHEMA = Path(__file__).with_name("schema")
DEFAULT_DB = ROOT / "data" / "closeloop.duckdb"

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT = re.compile(r"--[^\n]*")
_repeats_lock = threading.Lock()
# the migrations that added columns refresh_findings keeps: a store migrated past one gets them filled
KEPT_BY = (5, 6, 7, 8)


class StoreError(Exception):
    """A problem with the store that the user can act on; `key` names the catalog message."""

    def __init__(self, key: str, **details):
        super().__init__(key, details)
        self.key = key
        self.details = details


def db_path(path: str | os.PathLike | None = None) -> Path:
    """The store file: the argument, else $CLOSELOOP_DB, else the embedded default under data/."""
    chosen = path or os.environ.get("CLOSELOOP_DB") or DEFAULT_DB
    return Path(chosen).expanduser().resolve()


def upload_dir(db: Path) -> Path:
    return db.parent / "uploads"


def connect(path: str | os.PathLike | None = None, *, create: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the store read-write, migrate it, and confine DuckDB's file access to it.

    Raises StoreError("store_locked") when another process holds the file, and
    StoreError("store_missing") when it does not exist and `create` is false.
    """
    db = db_path(path)
    if not create and not db.exists():
        raise StoreError("store_missing", path=str(db))
    db.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db))
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise StoreError("store_locked", path=str(db)) from None
        raise StoreError("store_unreadable", path=str(db), reason=str(e).splitlines()[0]) from None
    migrate(con)
    uploads = upload_dir(db)
    uploads.mkdir(exist_ok=True)
    # Order matters: the allow-list first, then switch off external access, then lock it.
    con.execute("set allowed_directories = $dirs", {"dirs": [str(db.parent), str(uploads)]})
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the numbered schema files not yet applied, then re-create the business terms."""
    con.execute(
        "create table if not exists schema_version (version integer primary key, applied_at timestamptz default now())"
    )
    current = con.execute("select coalesce(max(version), 0) from schema_version").fetchone()[0]
    before = current
    for file in sorted(SCHEMA.glob("[0-9][0-9][0-9]_*.sql")):
        version = int(file.name[:3])
        if version <= current:
            continue
        with transaction(con):
            con.execute(file.read_text(encoding="utf-8"))
            con.execute("insert into schema_version (version) values ($v)", {"v": version})
        current = version
    with transaction(con):
        con.execute((SCHEMA / "terms.sql").read_text(encoding="utf-8"))
        if any(before < version <= current for version in KEPT_BY):
            refresh_findings(con)  # the records stored before these columns were kept
    return current


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """All of it or none of it."""
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


def bind(text: str, params: dict) -> dict:
    used = parameters(text)
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
    cur = con.cursor()
    try:
        return cur.execute(text, bound).df()
    finally:
        cur.close()


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
            with transaction(cur):
                cur.execute(
                    "insert into repeats select $w, nonconformity, is_repeat, is_repeat_after_closure "
                    "from repeat_flags($w, null)",
                    {"w": window_days},
                )
        finally:
            cur.close()


def refresh_findings(con: duckdb.DuckDBPyConnection, units: list[str] | None = None) -> None:
    """Keep what each finding carries for the pages true after a write; call it inside the writing transaction.

    The findings of `units` (every finding when None: an import that changed units or criteria, a new
    store) get their unit's path, their criterion's category and the kept window's repeat flags again,
    their actions (and any action without its finding's id) their finding's id and scope columns, and
    the flags cached for other windows are recomputed for those units (dropped, when None). Repeats
    never cross units: pass the units of every finding written, before and after the write.
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
