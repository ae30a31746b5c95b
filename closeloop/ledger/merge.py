"""Merge: the one transaction that writes an import (or, for check(), writes it and rolls it back), with its events."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable

from closeloop import identity, store, trail, value_maps
from closeloop.identity import Identity
from closeloop.ledger.kinds import KIND, ledger_kinds
from closeloop.ledger.layout import Problem, Sheet
from closeloop.ledger.problems import checked
from closeloop.refusal import Refused


@dataclass
class Outcome:
    """What an import did, or check() says it would do: records new and changed per kind, or every problem."""

    accepted: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    batch: int | None = None
    # (column, value, rows) of each value no alias or mapping names, for the user to map (value_maps)
    unknown_values: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _present(sheets: list[Sheet], kind: str) -> list[str]:
    """The canonical columns some sheet of this kind carries: only these may change a stored record."""
    seen = set()
    for sheet in sheets:
        if sheet.kind == kind:
            seen.update(sheet.columns)
        if kind == "actions" and sheet.kind == "nonconformities" and seen_actions(sheet):
            # a ledger sheet's actions: description, owner, kind, dates and status, as import_split.sql fills them
            seen.update({"nc_ref", "kind", "description", "owner", "due_on", "done_on", "status"})
            if "evidence" in sheet.columns:
                seen.add("evidence")
    # A status the ledger leaves out follows its closing date (import_typed.sql), so it changes with it.
    if seen & {"closed_on", "done_on"}:
        seen.add("status")
    return [c for c in KIND[kind].columns if c in seen]


def seen_actions(sheet: Sheet) -> bool:
    return any(c in sheet.columns for c in ("action", "owner", "action_ref"))


def _unknown_values(cur, outcome: Outcome) -> None:
    if any(p.reason == "unknown_value" for p in outcome.problems):
        outcome.unknown_values = [tuple(r) for r in cur.execute(store.sql("import_unknown_values")).fetchall()]


def check(con, sheets: list[Sheet], who: Identity | None = None,
          mappings: list[value_maps.Mapping] = ()) -> Outcome:
    """What load() would say, storing nothing: the problems, or how many records are new and how many stored."""
    who = who or identity.local_administrator()
    _may_import(who)
    outcome = Outcome()
    cur = con.cursor()
    try:
        with store.transaction(cur):
            outcome.problems = checked(cur, sheets, mappings)
            _unknown_values(cur, outcome)
            for kind in ledger_kinds():
                key = KIND[kind].key
                new, stored = cur.execute(
                    f"select count(*) filter (where o.{key} is null), count(o.{key}) "
                    f"from typed_{kind} as t left join {kind} as o on o.{key} = t.{key}"
                ).fetchone()
                outcome.accepted[kind], outcome.changed[kind] = new, stored
            if not outcome.problems and who.scope is not None:
                # the writer's scope is judged on the merged records: merge, look, and roll it all back
                store.script(cur, "import_scope_before", {"scope": who.scope})
                _merge(cur, sheets, who.actor, Outcome())
                outcome.problems = _scope_problems(cur, who)
            raise _Rejected
    except _Rejected:
        pass
    finally:
        cur.close()
    return outcome


def load(con, sheets: list[Sheet], actor: str | Identity,
         progress: Callable[[float], None] | None = None, mappings: list[value_maps.Mapping] = ()) -> Outcome:
    """Check every row of every sheet; if none has a problem, merge them all in one transaction.

    `actor` is who imports: an Identity is held to its role and subtree (in the same transaction as the
    merge); a bare name is the local administrator of the whole organisation. `mappings` (import --map)
    apply beside the store's own, and are kept with the import.
    """
    who = actor if isinstance(actor, Identity) else identity.local_administrator(actor)
    _may_import(who)
    if mappings and who.scope is not None:
        raise Refused("refused_value_maps_scope")  # a mapping applies to every unit's later imports
    outcome = Outcome()
    step = progress or (lambda done: None)
    # A cursor of its own: the caller's connection may be shared, or hold a result not fetched to the end.
    cur = con.cursor()
    try:
        with store.transaction(cur):
            step(0.1)
            outcome.problems = checked(cur, sheets, mappings)
            step(0.5)
            if outcome.problems:
                _unknown_values(cur, outcome)
                raise _Rejected
            value_maps.save(cur, list(mappings), who.actor, "import")  # sealed with the import's events
            if who.scope is not None:
                store.script(cur, "import_scope_before", {"scope": who.scope})
            outcome.batch = _merge(cur, sheets, who.actor, outcome)
            if who.scope is not None:
                outcome.problems = _scope_problems(cur, who)
                if outcome.problems:
                    outcome.accepted, outcome.changed, outcome.batch = {}, {}, None
                    raise _Rejected
            block = trail.seal(cur)
            step(0.9)
        trail.anchor(cur, block)
    except _Rejected:
        pass
    finally:
        cur.close()
    step(1.0)
    return outcome


def _may_import(who: Identity) -> None:
    if not who.may("import"):
        raise Refused("refused_role", role=who.role or "-", move="import")


def _scope_problems(cur, who: Identity) -> list[Problem]:
    """The rows that write outside the importer's subtree, before or after the merge (units, findings,
    actions), and every new or changed criterion: the checklist is the whole organisation's."""
    text = store.sql("import_scope_refusals")
    rows = cur.execute(text, store.bind(text, {"scope": who.scope})).fetchall()
    return [Problem(file, row, column, value, reason, sheet or None) for file, sheet, row, column, value, reason in rows]


class _Rejected(Exception):
    """Raised inside the import transaction to roll it back."""


# What store.refresh_findings keeps on a record, given to a new one as it is inserted: updating a
# million rows afterwards cost more than the insert (columns, values, joins on the typed row `t`).
# A new finding also takes the id drawn for it in new_keys.
KEPT_ON_INSERT = {
    "units": (", path, depth", ", t.code, 0", ""),  # the walk from the roots (unit_paths_refresh) sets them
    "nonconformities": (
        ", id, unit_path, category", ", k.id, u.path, c.category",
        "join new_keys as k on k.ref = t.ref "
        "left join units as u on u.code = t.unit left join criteria as c on c.code = t.criterion",
    ),
    "actions": (
        ", nonconformity_id, nc_unit_path, nc_source, nc_severity, nc_category, nc_found_on",
        ", n.id, n.unit_path, n.source, n.severity, n.category, n.found_on",
        "left join nonconformities as n on n.ref = t.nc_ref",
    ),
}


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
    # every unit a finding of this import is in, before and after it, and the units of the findings whose
    # actions it writes (their counts of actions are kept on them): store.refresh_findings
    touched = [unit for (unit,) in con.execute(
        "select o.unit from typed_nonconformities as t join nonconformities as o on o.ref = t.ref "
        "union select unit from typed_nonconformities "
        "union select n.unit from typed_actions as t join nonconformities as n on n.ref = t.nc_ref "
        "union select n.unit from typed_actions as t join actions as a on a.ref = t.ref "
        "join nonconformities as n on n.ref = a.nonconformity"
    ).fetchall()]
    for kind in ledger_kinds():
        # Identifiers below come from the declared kinds and the fixed SQL here, never from the file; values are bound.
        key = KIND[kind].key
        present = set(_present(sheets, kind))
        pairs = [(s, t) for s, t in KIND[kind].store.items() if t in present]
        typed, table, entity = f"typed_{kind}", kind, KIND[kind].entity
        changed_fields = " union all ".join(
            f"select t.{key} as ref, '{s}' as field, o.{s}::varchar as old, t.{c}::varchar as new "
            f"from {typed} as t join {table} as o on o.{key} = t.{key} "
            f"where o.{s} is distinct from t.{c}"
            for s, c in pairs
        ) or "select null::varchar as ref, null::varchar as field, null as old, null as new where false"
        con.execute(f"create or replace temp table changes as {changed_fields}")
        # No insert of nothing: after one, DuckDB 2.0 hid the rows of the next large insert into that table
        # from the rest of the transaction (the seal missed the actions' events of a 1M ledger).
        changed = con.execute("select count(*) from changes").fetchone()[0]
        if changed:
            con.execute(
                "insert into events (actor, entity, ref, field, old, new, batch) "
                "select $actor, $entity, ref, field, old, new, $batch from changes",
                params | {"entity": entity},
            )
        if pairs and changed:
            assignments = ", ".join(f"{s} = t.{c}" for s, c in pairs)
            if kind == "actions" and "nc_ref" in present:
                assignments += ", nonconformity_id = null"  # store.refresh_findings looks it up again
            con.execute(
                f"update {table} set {assignments}, version = {table}.version + 1 from {typed} as t "
                f"where {table}.{key} = t.{key} and {table}.{key} in (select ref from changes)"
            )
        # Each new record's event id, and a finding's own id, drawn from their sequences here: a sequence
        # in the insert itself (a column's default) keeps all of that insert on one core.
        finding_id = ", nextval('nonconformity_id') as id" if kind == "nonconformities" else ""
        con.execute(
            f"create or replace temp table new_keys as select t.{key} as ref, nextval('event_id') as event{finding_id} "
            f"from {typed} as t anti join {table} as o on o.{key} = t.{key}"
        )
        inserted = con.execute("select count(*) from new_keys").fetchone()[0]
        # A new record takes every column: the ones the ledger lacks are empty, its status derived.
        every = KIND[kind].store.items()
        kept, kept_values, joins = KEPT_ON_INSERT.get(kind, ("", "", ""))
        columns = "".join(f", {s}" for s, _ in every) + kept
        values = "".join(f", t.{c}" for _, c in every) + kept_values
        # The stored ones left out by an anti join (the new keys' own join was slower), and none when all
        # are new: the anti join's guess of what it leaves made the join below build on the larger side.
        if inserted < con.execute(f"select count(*) from {typed}").fetchone()[0]:
            joins = f"anti join {table} as o on o.{key} = t.{key} {joins}"
        if inserted:
            con.execute(f"insert into {table} ({key}{columns}) select t.{key}{values} from {typed} as t {joins}")
            con.execute(
                "insert into events (id, actor, entity, ref, field, reason, batch) "
                "select event, $actor, $entity, ref, 'created', 'import', $batch from new_keys",
                params | {"entity": entity},
            )
        outcome.accepted[kind] = inserted
        outcome.changed[kind] = con.execute("select count(distinct ref) from changes").fetchone()[0]
        if kind == "units":
            con.execute(store.sql("unit_paths_refresh"))  # the new findings below take their unit's path
    # a unit's path or a criterion's category may have changed under findings this import did not write
    everything = any(outcome.accepted[k] or outcome.changed[k] for k in ("units", "criteria"))
    store.refresh_findings(con, None if everything else touched)
    return batch
