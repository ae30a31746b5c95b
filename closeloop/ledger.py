"""Ledger import: read sheets, map their headers, check every row, then merge all of it or none."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from closeloop import store, trail

KINDS = ("units", "criteria", "nonconformities", "actions")

# Canonical columns of each kind; the first is the key. Values in NORMALISED columns are codes or
# dates and get NFKC (full-width → half-width); free text is kept as entered, only trimmed.
COLUMNS = {
    "units": ("code", "name", "name_en", "parent"),
    "criteria": ("code", "title", "title_en", "category", "category_en"),
    "nonconformities": (
        "ref", "unit", "audit", "criterion", "source", "severity", "title", "description",
        "root_cause", "found_on", "due_on", "closed_on", "status", "verified_by",
    ),
    "actions": ("ref", "nc_ref", "kind", "description", "owner", "due_on", "done_on", "status", "evidence"),
}
REQUIRED = {
    "units": ("code", "name"),
    "criteria": ("code", "title", "category"),
    "nonconformities": ("ref", "unit", "source", "severity", "title", "found_on"),
    "actions": ("ref", "nc_ref", "kind"),
}
NORMALISED = {
    "code", "parent", "ref", "unit", "audit", "criterion", "source", "severity", "found_on",
    "due_on", "closed_on", "status", "nc_ref", "kind", "done_on",
}

# Header spellings seen in real ledgers, after NFKC and lower-casing.
HEADER_ALIASES = {
    "units": {"編號": "code", "编号": "code", "單位編號": "code", "单位编号": "code", "單位": "name",
              "单位": "name", "單位名稱": "name", "单位名称": "name", "上級單位": "parent",
              "上级单位": "parent", "parent_code": "parent"},
    "criteria": {"條款": "code", "条款": "code", "細則編號": "code", "细则编号": "code",
                 "考核細則": "title", "考核细则": "title", "類別": "category", "类别": "category"},
    "nonconformities": {
        "編號": "ref", "编号": "ref", "序號": "ref", "序号": "ref", "問題編號": "ref", "问题编号": "ref",
        "單位": "unit", "单位": "unit", "責任單位": "unit", "责任单位": "unit", "被檢查單位": "unit",
        "被检查单位": "unit", "問題來源": "source", "问题来源": "source", "來源": "source", "来源": "source",
        "檢查類型": "source", "检查类型": "source", "考核細則": "criterion", "考核细则": "criterion",
        "條款": "criterion", "条款": "criterion", "考核項目": "criterion", "考核项目": "criterion",
        "問題等級": "severity", "问题等级": "severity", "嚴重程度": "severity", "严重程度": "severity",
        "存在問題": "title", "存在问题": "title", "問題描述": "title", "问题描述": "title",
        "原因分析": "root_cause", "發現日期": "found_on", "发现日期": "found_on", "檢查日期": "found_on",
        "检查日期": "found_on", "整改期限": "due_on", "整改時限": "due_on", "整改时限": "due_on",
        "完成時間": "closed_on", "完成时间": "closed_on", "銷號日期": "closed_on", "销号日期": "closed_on",
        "整改完成日期": "closed_on", "整改狀態": "status", "整改状态": "status", "狀態": "status",
        "状态": "status", "驗證人": "verified_by", "验证人": "verified_by",
    },
    "actions": {"措施編號": "ref", "措施编号": "ref", "問題編號": "nc_ref", "问题编号": "nc_ref",
                "措施類型": "kind", "措施类型": "kind", "整改措施": "description", "責任人": "owner",
                "责任人": "owner", "整改期限": "due_on", "完成時間": "done_on", "完成时间": "done_on",
                "狀態": "status", "状态": "status", "佐證": "evidence", "佐证": "evidence"},
}

# Values in Chinese (and other spellings) for the enumerated columns, after NFKC.
VALUE_ALIASES = {
    "source": {"內部稽核": "internal_audit", "内部稽核": "internal_audit", "內部審核": "internal_audit",
               "内部审核": "internal_audit", "檢查": "inspection", "检查": "inspection", "督查": "inspection",
               "定期檢查": "inspection", "定期检查": "inspection", "不定期檢查": "inspection",
               "不定期检查": "inspection", "滿意度調查": "satisfaction_survey",
               "满意度调查": "satisfaction_survey", "管理評審": "management_review",
               "管理评审": "management_review", "上級考核": "superior_assessment",
               "上级考核": "superior_assessment"},
    "severity": {"嚴重": "major", "严重": "major", "一般": "minor", "觀察項": "observation",
                 "观察项": "observation", "觀察": "observation", "观察": "observation"},
    "nc_status": {"未整改": "open", "整改中": "in_progress", "待驗證": "awaiting_verification",
                  "待验证": "awaiting_verification", "待複查": "awaiting_verification",
                  "待复查": "awaiting_verification", "已整改": "closed", "已完成": "closed",
                  "已銷號": "closed", "已销号": "closed"},
    "action_status": {"計劃": "planned", "计划": "planned", "未開始": "planned", "未开始": "planned",
                      "進行中": "in_progress", "进行中": "in_progress", "整改中": "in_progress",
                      "已完成": "done", "已整改": "done", "已取消": "cancelled"},
    "kind": {"糾正": "correction", "纠正": "correction", "糾正措施": "corrective",
             "纠正措施": "corrective", "預防措施": "preventive", "预防措施": "preventive"},
}


class LedgerError(Exception):
    """A whole-file problem (encoding, headers); `key` names the catalog message."""

    def __init__(self, key: str, **details):
        super().__init__(key, details)
        self.key = key
        self.details = details


@dataclass
class Sheet:
    """One table read from a file: canonical column → text values, with the file's row numbers."""

    file: str
    kind: str
    columns: dict[str, list[str | None]]
    rows: list[int]
    sha256: str = ""


@dataclass
class Problem:
    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str


@dataclass
class Outcome:
    accepted: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    batch: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def decode(raw: bytes, file: str) -> str:
    """UTF-8 with or without BOM, UTF-16 with BOM, GB18030 (a superset of GBK); else say so."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8):].decode("utf-8")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LedgerError("encoding_unknown", file=file)


def clean(value: str | None, normalise: bool) -> str | None:
    if value is None:
        return None
    if normalise and not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    value = value.strip().strip("\u3000")
    return value or None


def header_name(kind: str, header: str) -> str | None:
    key = clean(header, True)
    key = key.lower() if key else ""
    if key in COLUMNS[kind]:
        return key
    return HEADER_ALIASES[kind].get(key)


def guess_kind(file: str, headers: list[str]) -> str | None:
    stem = Path(file).stem.lower()
    if stem in KINDS:
        return stem
    scores = {
        kind: sum(header_name(kind, h) is not None for h in headers) for kind in KINDS
    }
    best = max(scores, key=scores.get)
    return best if scores[best] >= len(REQUIRED[best]) else None


def sheet_from_rows(file: str, records: list[list[str]], row_numbers: list[int], kind: str | None = None,
                    sha256: str = "") -> Sheet:
    """A sheet from a header row and data rows (the header is records[0])."""
    headers, body = records[0], records[1:]
    kind = kind or guess_kind(file, headers)
    if kind is None:
        raise LedgerError("kind_unknown", file=file)
    names = [header_name(kind, h) for h in headers]
    unknown = [h for h, n in zip(headers, names) if n is None and (h or "").strip()]
    if unknown:
        raise LedgerError("columns_unknown", file=file, columns=", ".join(unknown))
    missing = [c for c in REQUIRED[kind] if c not in names]
    if missing:
        raise LedgerError("columns_missing", file=file, columns=", ".join(missing))
    columns: dict[str, list[str | None]] = {}
    for index, name in enumerate(names):
        if name is None:
            continue
        normalise = name in NORMALISED
        columns[name] = [clean(r[index] if index < len(r) else None, normalise) for r in body]
    return Sheet(file, kind, columns, row_numbers[1:], sha256)


def read_csv(path: Path) -> Sheet:
    raw = path.read_bytes()
    text = decode(raw, path.name)
    records, rows = [], []
    # Row numbers as a spreadsheet shows the file: one per record, blank ones included, whatever
    # the line breaks inside quoted cells.
    for row, record in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if any(cell.strip() for cell in record):
            records.append(record)
            rows.append(row)
    if not records:
        raise LedgerError("file_empty", file=path.name)
    return sheet_from_rows(path.name, records, rows, sha256=hashlib.sha256(raw).hexdigest())


def read(paths: list[Path]) -> list[Sheet]:
    """Every sheet in the given files and folders (a folder means its CSV files)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv")
        elif path.exists():
            files.append(path)
        else:
            raise LedgerError("file_missing", file=str(path))
    sheets = []
    for file in files:
        if file.suffix.lower() == ".csv":
            sheets.append(read_csv(file))
        else:
            raise LedgerError("file_type_unknown", file=file.name)
    return sheets


def _staged(sheets: list[Sheet], kind: str) -> pa.Table:
    """All sheets of one kind as one Arrow table of text, every canonical column present."""
    names = ("file", "row_no") + COLUMNS[kind]
    parts = []
    for sheet in (s for s in sheets if s.kind == kind):
        n = len(sheet.rows)
        data = {"file": [sheet.file] * n, "row_no": sheet.rows}
        for column in COLUMNS[kind]:
            data[column] = sheet.columns.get(column, [None] * n)
        parts.append(pa.table({k: pa.array(data[k], pa.int64() if k == "row_no" else pa.string())
                               for k in names}))
    if not parts:
        return pa.table({k: pa.array([], pa.int64() if k == "row_no" else pa.string()) for k in names})
    return pa.concat_tables(parts)


def _present(sheets: list[Sheet], kind: str) -> list[str]:
    """The canonical columns some sheet of this kind carries: only these may change a stored record."""
    seen = set()
    for sheet in sheets:
        if sheet.kind == kind:
            seen.update(sheet.columns)
    # A status the ledger leaves out follows its closing date (import_typed.sql), so it changes with it.
    if seen & {"closed_on", "done_on"}:
        seen.add("status")
    return [c for c in COLUMNS[kind] if c in seen]


def _value_aliases() -> pa.Table:
    rows = [(column, alias, value) for column, aliases in VALUE_ALIASES.items() for alias, value in aliases.items()]
    return pa.table({
        "domain": [r[0] for r in rows], "alias": [r[1] for r in rows], "value": [r[2] for r in rows],
    })


def load(con, sheets: list[Sheet], actor: str) -> Outcome:
    """Check every row of every sheet; if none has a problem, merge them all in one transaction."""
    outcome = Outcome()
    # A cursor of its own: the caller's connection may be shared, or hold a result not fetched to the end.
    cur = con.cursor()
    try:
        for kind in KINDS:
            cur.register(f"staged_{kind}_arrow", _staged(sheets, kind))
        cur.register("value_aliases_arrow", _value_aliases())
        with store.transaction(cur):
            for kind in KINDS:
                cur.execute(f"create or replace temp table staged_{kind} as from staged_{kind}_arrow")
            cur.execute("create or replace temp table value_aliases as from value_aliases_arrow")
            cur.execute(store.sql("import_typed"))
            problems = cur.execute(store.sql("import_problems")).fetchall()
            outcome.problems = [Problem(*p) for p in problems]
            if outcome.problems:
                raise _Rejected
            outcome.batch = _merge(cur, sheets, actor, outcome)
    except _Rejected:
        pass
    finally:
        cur.close()
    return outcome


class _Rejected(Exception):
    """Raised inside the import transaction to roll it back."""


# Store column ← typed staging column, per kind (a column missing from the ledger is left alone).
STORE_COLUMNS = {
    "units": {"name": "name", "name_en": "name_en", "parent_code": "parent"},
    "criteria": {"title": "title", "title_en": "title_en", "category": "category", "category_en": "category_en"},
    "nonconformities": {
        "unit": "unit", "audit": "audit", "criterion": "criterion", "source": "source",
        "severity": "severity", "title": "title", "description": "description", "root_cause": "root_cause",
        "found_on": "found_on", "due_on": "due_on", "status": "status", "closed_on": "closed_on",
        "verified_by": "verified_by",
    },
    "actions": {
        "nonconformity": "nc_ref", "kind": "kind", "description": "description", "owner": "owner",
        "due_on": "due_on", "status": "status", "done_on": "done_on", "evidence": "evidence",
    },
}
KEYS = {"units": "code", "criteria": "code", "nonconformities": "ref", "actions": "ref"}
ENTITY = {"units": "unit", "criteria": "criterion", "nonconformities": "nonconformity", "actions": "action"}


def _merge(con, sheets: list[Sheet], actor: str, outcome: Outcome) -> int:
    files = sorted({(s.file, s.sha256) for s in sheets})
    batch = con.execute(
        "insert into import_batches (file_name, sha256, actor, accepted, rejected) "
        "values ($file_name, $sha256, $actor, $accepted, 0) returning id",
        {
            "file_name": ", ".join(f for f, _ in files),
            "sha256": hashlib.sha256("".join(h for _, h in files).encode()).hexdigest(),
            "actor": actor,
            "accepted": sum(len(s.rows) for s in sheets),
        },
    ).fetchone()[0]
    params = {"actor": actor, "batch": batch}
    for kind in KINDS:
        # Identifiers below come from the fixed tables above, never from the file; values are bound.
        key = KEYS[kind]
        present = set(_present(sheets, kind))
        pairs = [(s, t) for s, t in STORE_COLUMNS[kind].items() if t in present]
        typed, table, entity = f"typed_{kind}", kind, ENTITY[kind]
        changed_fields = " union all ".join(
            f"select t.{key} as ref, '{s}' as field, o.{s}::varchar as old, t.{c}::varchar as new "
            f"from {typed} as t join {table} as o on o.{key} = t.{key} "
            f"where o.{s} is distinct from t.{c}"
            for s, c in pairs
        ) or "select null::varchar as ref, null::varchar as field, null as old, null as new where false"
        con.execute(f"create or replace temp table changes as {changed_fields}")
        con.execute(
            "insert into events (actor, entity, ref, field, old, new, batch) "
            "select $actor, $entity, ref, field, old, new, $batch from changes",
            params | {"entity": entity},
        )
        if pairs:
            assignments = ", ".join(f"{s} = t.{c}" for s, c in pairs)
            con.execute(
                f"update {table} set {assignments}, version = {table}.version + 1 from {typed} as t "
                f"where {table}.{key} = t.{key} and {table}.{key} in (select ref from changes)"
            )
        con.execute(
            f"create or replace temp table new_keys as "
            f"select t.{key} as ref from {typed} as t anti join {table} as o on o.{key} = t.{key}"
        )
        # A new record takes every column: the ones the ledger lacks are empty, its status derived.
        every = STORE_COLUMNS[kind].items()
        columns = "".join(f", {s}" for s, _ in every) + (", path, depth" if kind == "units" else "")
        values = "".join(f", t.{c}" for _, c in every) + (f", t.{key}, 0" if kind == "units" else "")
        con.execute(
            f"insert into {table} ({key}{columns}) select t.{key}{values} "
            f"from {typed} as t semi join new_keys as n on n.ref = t.{key}"
        )
        con.execute(
            "insert into events (actor, entity, ref, field, reason, batch) "
            "select $actor, $entity, ref, 'created', 'import', $batch from new_keys",
            params | {"entity": entity},
        )
        inserted = con.execute("select count(*) from new_keys").fetchone()[0]
        outcome.accepted[kind] = inserted
        outcome.changed[kind] = con.execute("select count(distinct ref) from changes").fetchone()[0]
    con.execute(store.sql("unit_paths_refresh"))
    store.forget_repeats(con)
    trail.seal(con)
    return batch
