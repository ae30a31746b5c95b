"""Plan-and-check ledgers (objectives, actuals, inspections, results, survey answers): typed, checked, merged all or none.

Their files and sheets are read and recognised by closeloop.ledger, where each form is a kind (kinds.TABLE)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from closeloop import identity, ledger, store, trail
from closeloop.identity import Identity
from closeloop.ledger import KIND, Outcome, Problem, Sheet
from closeloop.refusal import Refused


@dataclass(frozen=True)
class Form:
    """One canonical file: its table, its key, its columns (the kind's, in its order) with their types."""

    table: str
    key: tuple[str, ...]
    types: dict[str, str]  # column → text, code, int, number, date, or a value set's name in VALUES

    @property
    def entity(self) -> str:  # the events' word for one of its records
        return KIND[self.table].entity

    @property
    def required(self) -> tuple[str, ...]:
        return KIND[self.table].required


FORMS = {
    "objectives": Form(
        "objectives", ("unit", "year", "code"),
        {"unit": "code", "year": "int", "code": "code", "name": "text", "parent": "code", "measure": "text",
         "kind": "objective_kind", "direction": "direction", "target": "number", "weight": "number",
         "owner": "text"},
    ),
    "objective_actuals": Form(
        "objective_actuals", ("unit", "year", "code", "month"),
        {"unit": "code", "year": "int", "code": "code", "month": "month", "actual": "number", "evidence": "text"},
    ),
    "inspections": Form(
        "inspections", ("ref",),
        {"ref": "code", "unit": "code", "kind": "inspection_kind", "planned_on": "date", "performed_on": "date",
         "inspector": "text"},
    ),
    "inspection_results": Form(
        "inspection_results", ("inspection", "criterion"),
        {"inspection": "code", "criterion": "code", "points_possible": "number", "points_awarded": "number",
         "result": "result", "note": "text", "nonconformity": "code"},
    ),
    "survey_answers": Form(
        "survey_answers", ("wave", "unit", "respondent", "item"),
        {"wave": "code", "unit": "code", "respondent": "code", "item": "code", "score": "score",
         "answered_on": "date"},
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


def rows_of(sheet: Sheet, problems: list[Problem]) -> Rows:
    """A form's sheet as read by closeloop.ledger, checked cell by cell into `problems` (with its reading's own)."""
    form = FORMS[sheet.kind]
    found: list[Problem] = []
    columns = {c: v.to_pylist() if hasattr(v, "to_pylist") else list(v) for c, v in sheet.columns.items()}
    rows, numbers = [], [int(n) for n in sheet.rows]
    for index, number in enumerate(numbers):
        row = {}
        for column, values in columns.items():
            at = Problem(sheet.file, number, column, values[index], "", sheet.sheet)
            row[column] = typed(form.types[column], values[index], at, found)
        for column in form.required:
            if column in columns and row.get(column) is None and not _reported(found, sheet.file, number, column):
                found.append(Problem(sheet.file, number, column, None, "missing", sheet.sheet))
        rows.append(row)
    # a workbook's formula without a cached value is found as it is read, and again as its text is typed
    said = {(p.row, p.column, p.reason) for p in sheet.problems}
    problems += sheet.problems + [p for p in found if (p.row, p.column, p.reason) not in said]
    return Rows(sheet.kind, sheet.file, sheet.sha256, rows, numbers)


def _reported(problems: list[Problem], file: str, row: int, column: str) -> bool:
    return any(p.file == file and p.row == row and p.column == column for p in problems)


def typed(kind: str, cell: str | None, at: Problem, problems: list[Problem]):
    """A cell's value as its column's type; None when empty, or when it is not one (said in `problems`)."""
    text = ledger.clean(cell, kind != "text")
    if text is None or text == "":
        return None

    def refuse(reason: str):
        problems.append(Problem(at.file, at.row, at.column, cell, reason, at.sheet))

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


def load(con, paths: list[Path] | list[Sheet], actor: str | Identity, *, units: set[str] = frozenset(),
         criteria: set[str] = frozenset(), write: bool = True) -> Outcome:
    """Read and check every file (or the forms' sheets of ledger.read_files); with no problem at all (and
    `write`), merge them in one transaction.

    `actor`: an Identity is held to its role and subtree; a bare name is the local administrator.

    A record already stored takes the file's values, each changed field an event; a new one is added with its
    'created' event; nothing is deleted. Re-importing the same files changes nothing.
    """
    who = actor if isinstance(actor, Identity) else identity.local_administrator(actor)
    if not who.may("import"):
        raise Refused("refused_role", role=who.role or "-", move="import")
    actor = who.actor
    outcome = Outcome()
    sheets = [p for p in paths if isinstance(p, Sheet)] or ledger.read_files(paths).plans  # a whole-file problem: Refused
    files = [rows_of(sheet, outcome.problems) for sheet in sheets]
    check(con, files, outcome.problems, set(units), set(criteria), who.scope)
    if outcome.problems or not write:
        return outcome
    with store.transaction(con):
        outcome.batch = con.execute(
            "insert into import_batches (file_name, sha256, actor, accepted, rejected) "
            "values ($file_name, $sha256, $actor, $accepted, 0) returning id",
            {"file_name": ", ".join(dict.fromkeys(f.file for f in files)),  # a workbook's sheets: its name once
             "sha256": hashlib.sha256("".join(dict.fromkeys(f.sha256 for f in files)).encode()).hexdigest(),
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


# ---------------------------------------------------------------------------------------------
# A monthly actual entered on the Objectives page


ENTER_MOVES = ("add_action", "import")  # who keeps a unit's records (its editors) and administrators


def enter_actual(con, who: Identity, unit: str, year: int, code: str, month: int, actual: str,
                 evidence: str | None) -> int:
    """One objective's actual for one month, as typed on the page, with its evidence: checked as the import
    checks a cell (a number, no formula text, full-width digits read), refused whole in one line if anything is
    wrong; else written in one transaction with an event per changed field, and sealed. Returns the events."""
    if not any(who.may(move) for move in ENTER_MOVES):
        raise Refused("refused_role", role=who.role or "-", move="enter_actual")
    problems: list[Problem] = []
    at = Problem("", 0, "actual", actual, "")
    value = typed("number", actual, at, problems)
    if problems or value is None:
        raise Refused("actual_not_a_number", value=actual or "")
    if not math.isfinite(value):
        raise Refused("actual_not_a_number", value=actual)
    note = typed("text", evidence, Problem("", 0, "evidence", evidence, ""), problems)
    if problems:
        raise Refused("actual_evidence_formula")
    if month not in range(1, 13):
        raise Refused("actual_bad_month", month=month)
    objective = f"{unit} {year} {code}"
    keys = {"unit": unit, "year": int(year), "code": code, "month": int(month)}
    cur = con.cursor()
    try:
        with store.transaction(cur):
            known = cur.execute(
                "select count(*) from objectives where unit = $unit and year = $year and code = $code "
                "and not withdrawn and unit in (select code from unit_subtree($scope))",
                {k: keys[k] for k in ("unit", "year", "code")} | {"scope": who.scope}).fetchone()[0]
            if not known:
                raise Refused("actual_unknown_objective", objective=objective)
            old = cur.execute("select actual, evidence, withdrawn from objective_actuals where unit = $unit "
                              "and year = $year and code = $code and month = $month", keys).fetchone()
            ref = f"{unit}/{year}/{code}/{month}"
            new = {"actual": value, "evidence": note}
            if old is None:
                cur.execute("insert into objective_actuals (unit, year, code, month, actual, evidence) "
                            "values ($unit, $year, $code, $month, $actual, $evidence)", keys | new)
                changed = [("created", None, None)] + [(k, None, v) for k, v in new.items() if v is not None]
            else:
                before = {"actual": old[0], "evidence": old[1]}
                changed = [(k, before[k], v) for k, v in new.items() if before[k] != v] + \
                    ([("withdrawn", True, False)] if old[2] else [])
                if changed:
                    cur.execute("update objective_actuals set actual = $actual, evidence = $evidence, "
                                "withdrawn = false, version = version + 1 where unit = $unit and year = $year "
                                "and code = $code and month = $month", keys | new)
            for field, before_value, after_value in changed:
                cur.execute("insert into events (actor, entity, ref, field, old, new, reason) "
                            "values ($actor, 'objective_actual', $ref, $field, $old, $new, 'entered')",
                            {"actor": who.actor, "ref": ref, "field": field,
                             "old": None if before_value is None else _text(before_value),
                             "new": None if after_value is None else _text(after_value)})
            block = trail.seal(cur)
        trail.anchor(cur, block)
    finally:
        cur.close()
    return len(changed)
