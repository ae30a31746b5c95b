"""Plan-and-check ledgers (objectives, actuals, inspections, results, survey answers): read, check, merge all or none."""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from closeloop import identity, ledger, store, trail
from closeloop.identity import Identity
from closeloop.ledger import Outcome, Problem
from closeloop.refusal import Refused


@dataclass(frozen=True)
class Form:
    """One canonical file: its table, its columns with their types (the key's first), which are required."""

    table: str
    entity: str  # the events' word for one of its records
    key: tuple[str, ...]
    types: dict[str, str]  # column → text, code, int, number, date, or a value set's name in VALUES
    required: tuple[str, ...]


FORMS = {
    "objectives": Form(
        "objectives", "objective", ("unit", "year", "code"),
        {"unit": "code", "year": "int", "code": "code", "name": "text", "parent": "code", "measure": "text",
         "kind": "objective_kind", "direction": "direction", "target": "number", "weight": "number",
         "owner": "text"},
        ("unit", "year", "code", "name", "kind", "direction", "target"),
    ),
    "objective_actuals": Form(
        "objective_actuals", "objective_actual", ("unit", "year", "code", "month"),
        {"unit": "code", "year": "int", "code": "code", "month": "month", "actual": "number", "evidence": "text"},
        ("unit", "year", "code", "month", "actual"),
    ),
    "inspections": Form(
        "inspections", "inspection", ("ref",),
        {"ref": "code", "unit": "code", "kind": "inspection_kind", "planned_on": "date", "performed_on": "date",
         "inspector": "text"},
        ("ref", "unit", "kind", "planned_on"),
    ),
    "inspection_results": Form(
        "inspection_results", "inspection_result", ("inspection", "criterion"),
        {"inspection": "code", "criterion": "code", "points_possible": "number", "points_awarded": "number",
         "result": "result", "note": "text", "nonconformity": "code"},
        ("inspection", "criterion", "points_possible", "points_awarded", "result"),
    ),
    "survey_answers": Form(
        "survey_answers", "survey_answer", ("wave", "unit", "respondent", "item"),
        {"wave": "code", "unit": "code", "respondent": "code", "item": "code", "score": "score",
         "answered_on": "date"},
        ("wave", "unit", "respondent", "item", "score", "answered_on"),
    ),
}

# Allowed values, each with the spellings real sheets use (after NFKC, lower-cased).
VALUES = {
    "objective_kind": {"level": "level", "cumulative": "cumulative", "水平": "level", "时点": "level",
                       "時點": "level", "累计": "cumulative", "累計": "cumulative"},
    "direction": {"higher": "higher", "lower": "lower", "越高越好": "higher", "越低越好": "lower",
                  "正向": "higher", "反向": "lower"},
    "inspection_kind": {"periodic": "periodic", "ad_hoc": "ad_hoc", "定期": "periodic", "定期检查": "periodic",
                        "定期檢查": "periodic", "不定期": "ad_hoc", "不定期检查": "ad_hoc", "不定期檢查": "ad_hoc"},
    "result": {"pass": "pass", "fail": "fail", "合格": "pass", "通过": "pass", "通過": "pass",
               "不合格": "fail", "未通过": "fail", "未通過": "fail"},
    # 滿意 = 5, 基本滿意 = 3, 不滿意 = 1 (DESIGN.md); a Likert score as its digit
    "score": {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "满意": 5, "滿意": 5, "基本满意": 3, "基本滿意": 3,
              "不满意": 1, "不滿意": 1},
    "month": {str(m): m for m in range(1, 13)} | {f"{m}月": m for m in range(1, 13)},
}

# Chinese headers (Traditional and Simplified) for the canonical columns, per form.
HEADERS = {
    "objectives": {"单位": "unit", "單位": "unit", "年度": "year", "编号": "code", "編號": "code",
                   "目标编号": "code", "目標編號": "code", "目标": "name", "目標": "name", "名称": "name",
                   "名稱": "name", "上级目标": "parent", "上級目標": "parent", "计量单位": "measure",
                   "計量單位": "measure", "类型": "kind", "類型": "kind", "方向": "direction",
                   "目标值": "target", "目標值": "target", "权重": "weight", "權重": "weight",
                   "责任人": "owner", "責任人": "owner"},
    "objective_actuals": {"单位": "unit", "單位": "unit", "年度": "year", "编号": "code", "編號": "code",
                          "目标编号": "code", "目標編號": "code", "月份": "month", "实际值": "actual",
                          "實際值": "actual", "佐证": "evidence", "佐證": "evidence", "佐证材料": "evidence",
                          "佐證材料": "evidence"},
    "inspections": {"编号": "ref", "編號": "ref", "检查编号": "ref", "檢查編號": "ref", "单位": "unit",
                    "單位": "unit", "被检查单位": "unit", "被檢查單位": "unit", "类型": "kind", "類型": "kind",
                    "计划日期": "planned_on", "計劃日期": "planned_on", "实施日期": "performed_on",
                    "實施日期": "performed_on", "检查人": "inspector", "檢查人": "inspector"},
    "inspection_results": {"检查编号": "inspection", "檢查編號": "inspection", "考核细则": "criterion",
                           "考核細則": "criterion", "条款": "criterion", "條款": "criterion", "分值": "points_possible",
                           "得分": "points_awarded", "结果": "result", "結果": "result", "备注": "note",
                           "備註": "note", "不合格项编号": "nonconformity", "不合格項編號": "nonconformity"},
    "survey_answers": {"批次": "wave", "单位": "unit", "單位": "unit", "受访者": "respondent",
                       "受訪者": "respondent", "题目": "item", "題目": "item", "评分": "score", "評分": "score",
                       "答卷日期": "answered_on", "日期": "answered_on"},
}
ARROW = {"text": pa.string(), "code": pa.string(), "int": pa.int64(), "number": pa.float64(), "date": pa.date32(),
         "month": pa.int64(), "score": pa.int64()}


@dataclass
class Rows:
    """One file's checked rows: canonical column → typed value, with the file's row numbers."""

    form: str
    file: str
    sha256: str
    rows: list[dict]
    numbers: list[int]


def form_of(path: Path) -> str | None:
    """The form a file is by its name (objectives.csv …), or None: a findings ledger's file."""
    return path.stem.lower() if path.suffix.lower() == ".csv" and path.stem.lower() in FORMS else None


def split(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(the findings ledger's files and folders, the plan-and-check files) of the arguments; a folder holding
    both is split into its files."""
    others, plans = [], []
    for path in map(Path, paths):
        inside = sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".xlsx")) if path.is_dir() else []
        if any(form_of(p) for p in inside):
            plans += [p for p in inside if form_of(p)]
            others += [p for p in inside if not form_of(p)]
        elif form_of(path):
            plans.append(path)
        else:
            others.append(path)
    return others, plans


def read(path: Path, problems: list[Problem]) -> Rows:
    """A canonical CSV in any encoding the findings' ledgers take, checked cell by cell into `problems`."""
    raw = path.read_bytes()
    name = path.name
    form = FORMS[form_of(path)]
    records = list(csv.reader(io.StringIO(ledger.decode(raw, name))))
    header = records[0] if records else []
    columns = []
    for cell in header:
        text = unicodedata.normalize("NFKC", cell or "").strip().lower()
        column = text if text in form.types else HEADERS[form_of(path)].get(text)
        if column is None and text:
            problems.append(Problem(name, 1, cell, cell, "unknown_column"))
        columns.append(column)
    for column in form.required:
        if column not in columns:
            problems.append(Problem(name, 1, column, None, "missing_column"))
    rows, numbers = [], []
    for number, record in enumerate(records[1:], start=2):
        if not any((c or "").strip() for c in record):
            continue
        row = {}
        for column, cell in zip(columns, record):
            if column is not None:
                row[column] = typed(form.types[column], cell, Problem(name, number, column, cell, ""), problems)
        for column in form.required:
            if column in columns and row.get(column) is None and not _reported(problems, name, number, column):
                problems.append(Problem(name, number, column, None, "missing"))
        rows.append(row)
        numbers.append(number)
    return Rows(form_of(path), name, hashlib.sha256(raw).hexdigest(), rows, numbers)


def _reported(problems: list[Problem], file: str, row: int, column: str) -> bool:
    return any(p.file == file and p.row == row and p.column == column for p in problems)


def typed(kind: str, cell: str | None, at: Problem, problems: list[Problem]):
    """A cell's value as its column's type; None when empty, or when it is not one (said in `problems`)."""
    text = ledger.clean(cell, kind != "text")
    if text is None or text == "":
        return None

    def refuse(reason: str):
        problems.append(Problem(at.file, at.row, at.column, cell, reason))

    if text.startswith("="):
        return refuse("formula")  # formula text: stored, it could come back live in an export
    if kind in ("text", "code"):
        return text
    if kind == "date":
        try:
            return date.fromisoformat(text)
        except ValueError:
            return refuse("not_a_date")
    if kind in ("int", "number"):
        try:
            value = float(text)
        except ValueError:
            return refuse("not_a_number")
        if kind == "int":
            return int(value) if value.is_integer() else refuse("not_a_number")
        return value
    value = VALUES[kind].get(text.lower())
    return value if value is not None else refuse("unknown_value")


def check(con, files: list[Rows], problems: list[Problem], units: set[str] = frozenset(),
          criteria: set[str] = frozenset(), scope: str | None = None) -> None:
    """Each row against the others and the store: duplicate keys, unknown units, criteria, inspections and
    objectives, points awarded over those possible, and a unit outside the writer's `scope` (its subtree).
    `units`, `criteria`: those the same import adds."""
    known_units = units | {u for (u,) in con.execute("select code from units").fetchall()}
    known_criteria = criteria | {c for (c,) in con.execute("select code from criteria").fetchall()}
    inspections = dict(con.execute("select ref, unit from inspections").fetchall())
    objectives = set(con.execute("select unit, year, code from objectives").fetchall())
    allowed = None if scope is None else {u for (u,) in con.execute(
        "select code from unit_subtree($scope)", {"scope": scope}).fetchall()}
    for rows in files:
        if rows.form == "inspections":
            inspections |= {row.get("ref"): row.get("unit") for row in rows.rows}
        if rows.form == "objectives":
            objectives |= {(row.get("unit"), row.get("year"), row.get("code")) for row in rows.rows}
    seen: dict[tuple, int] = {}
    for rows in files:
        form = FORMS[rows.form]
        for row, number in zip(rows.rows, rows.numbers):
            def refuse(column, reason):
                problems.append(Problem(rows.file, number, column, _text(row.get(column)), reason))

            key = (rows.form, *(row.get(k) for k in form.key))
            if None not in key:
                if key in seen:
                    refuse(form.key[-1], "duplicate_key")
                seen[key] = number
            if "unit" in form.types and row.get("unit") is not None and row["unit"] not in known_units:
                refuse("unit", "unknown_unit")
            unit = inspections.get(row.get("inspection")) if rows.form == "inspection_results" else row.get("unit")
            if allowed is not None and unit is not None and unit not in allowed:
                refuse("inspection" if rows.form == "inspection_results" else "unit", "out_of_scope")
            if rows.form == "inspection_results":
                if row.get("criterion") is not None and row["criterion"] not in known_criteria:
                    refuse("criterion", "unknown_criterion")
                if row.get("inspection") is not None and row["inspection"] not in inspections:
                    refuse("inspection", "unknown_inspection")
                possible, awarded = row.get("points_possible"), row.get("points_awarded")
                if possible is not None and awarded is not None and not 0 <= awarded <= possible:
                    refuse("points_awarded", "points_out_of_range")
            if rows.form == "objective_actuals" and None not in key[1:4] and key[1:4] not in objectives:
                refuse("code", "unknown_objective")
            if rows.form == "objectives" and (row.get("weight") or 0) < 0:
                refuse("weight", "points_out_of_range")


def _text(value) -> str | None:
    return None if value is None else str(value)


def load(con, paths: list[Path], actor: str | Identity, *, units: set[str] = frozenset(),
         criteria: set[str] = frozenset(), write: bool = True) -> Outcome:
    """Read and check every file; with no problem at all (and `write`), merge them in one transaction.

    `actor`: an Identity is held to its role and subtree; a bare name is the local administrator.

    A record already stored takes the file's values, each changed field an event; a new one is added with its
    'created' event; nothing is deleted. Re-importing the same files changes nothing.
    """
    who = actor if isinstance(actor, Identity) else identity.local_administrator(actor)
    if not who.may("import"):
        raise Refused("refused_role", role=who.role or "-", move="import")
    actor = who.actor
    outcome = Outcome()
    files = [read(path, outcome.problems) for path in map(Path, paths)]  # a whole-file problem: Refused
    check(con, files, outcome.problems, set(units), set(criteria), who.scope)
    if outcome.problems or not write:
        return outcome
    with store.transaction(con):
        outcome.batch = con.execute(
            "insert into import_batches (file_name, sha256, actor, accepted, rejected) "
            "values ($file_name, $sha256, $actor, $accepted, 0) returning id",
            {"file_name": ", ".join(f.file for f in files),
             "sha256": hashlib.sha256("".join(f.sha256 for f in files).encode()).hexdigest(),
             "actor": actor, "accepted": sum(len(f.rows) for f in files)},
        ).fetchone()[0]
        for name, form in FORMS.items():
            rows = [row for f in files if f.form == name for row in f.rows]
            outcome.accepted[name], outcome.changed[name] = _merge(con, form, rows, actor, outcome.batch)
        block = trail.seal(con)
    trail.anchor(con, block)
    return outcome


def _merge(con, form: Form, rows: list[dict], actor: str, batch: int) -> tuple[int, int]:
    """Write one form's rows; returns (records added, records changed). Identifiers come from FORMS, never input."""
    if not rows:
        return 0, 0
    columns = list(form.types)
    # a weight left empty is 1: the same on a new record and a stored one, so re-importing changes nothing
    filled = [row | {"weight": 1.0} if "weight" in columns and row.get("weight") is None else row for row in rows]
    data = {c: pa.array([row.get(c) for row in filled], ARROW.get(form.types[c], pa.string())) for c in columns}
    data["record_ref"] = pa.array(["/".join(str(row[k]) for k in form.key) for row in rows], pa.string())
    con.register("plan_rows", pa.table(data))
    try:
        on = " and ".join(f"o.{k} = t.{k}" for k in form.key)
        fields = [c for c in columns if c not in form.key] + ["withdrawn"]
        changes = " union all ".join(
            f"select t.record_ref as ref, '{c}' as field, o.{c}::varchar as old, "
            + ("'false'" if c == "withdrawn" else f"t.{c}::varchar") + " as new "
            f"from plan_rows as t join {form.table} as o on {on} where o.{c} is distinct from "
            + ("false" if c == "withdrawn" else f"t.{c}")
            for c in fields
        )
        con.execute(f"create or replace temp table plan_changes as {changes}")
        changed = con.execute("select count(distinct ref) from plan_changes").fetchone()[0]
        if changed:
            con.execute("insert into events (actor, entity, ref, field, old, new, batch) "
                        "select $actor, $entity, ref, field, old, new, $batch from plan_changes",
                        {"actor": actor, "entity": form.entity, "batch": batch})
            assignments = ", ".join(f"{c} = t.{c}" for c in fields if c != "withdrawn")
            con.execute(f"update {form.table} set {assignments}, withdrawn = false, version = {form.table}.version + 1 "
                        f"from plan_rows as t where {' and '.join(f'{form.table}.{k} = t.{k}' for k in form.key)} "
                        "and t.record_ref in (select ref from plan_changes)")
        new = con.execute(f"select count(*) from plan_rows as t anti join {form.table} as o on {on}").fetchone()[0]
        if new:
            con.execute("insert into events (actor, entity, ref, field, reason, batch) "
                        f"select $actor, $entity, t.record_ref, 'created', 'import', $batch "
                        f"from plan_rows as t anti join {form.table} as o on {on}",
                        {"actor": actor, "entity": form.entity, "batch": batch})
            listed = ", ".join(columns)
            values = ", ".join(f"t.{c}" for c in columns)
            con.execute(f"insert into {form.table} ({listed}) select {values} "
                        f"from plan_rows as t anti join {form.table} as o on {on}")
        return new, changed
    finally:
        con.execute("drop table if exists plan_changes")
        con.unregister("plan_rows")
