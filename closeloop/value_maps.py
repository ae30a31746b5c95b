"""Value mappings: a ledger's own word for a source, severity, status or action kind, mapped once per store."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from closeloop import store, trail
from closeloop.refusal import Refused

# Column (as the ledger template and the mapping file name it) → its canonical values and catalog prefix.
CHOICES = {
    "source": ("source_", ("internal_audit", "inspection", "satisfaction_survey", "management_review",
                           "superior_assessment")),
    "severity": ("severity_", ("major", "minor", "observation")),
    "status": ("status_", ("open", "in_progress", "awaiting_verification", "closed")),
    "action_kind": ("action_kind_", ("correction", "corrective", "preventive")),
    "action_status": ("action_status_", ("planned", "in_progress", "done", "cancelled")),
}
# The value columns a findings sheet declares (ledger.kinds: the nonconformities kind's `values`).
DOMAINS = {"source": "source", "severity": "severity", "status": "nc_status", "action_kind": "kind",
           "action_status": "action_status"}


@dataclass(frozen=True)
class Mapping:
    column: str
    value: str
    canonical: str


def written(value: str) -> str:
    """A value as the importer compares it: NFKC (full-width → half-width), trimmed."""
    return unicodedata.normalize("NFKC", value).strip().strip("\u3000")


def checked(mappings: list[Mapping], file: str = "") -> list[Mapping]:
    """Each mapping names a known column, a value and one of that column's canonical values; one per value."""
    seen: dict[tuple[str, str], str] = {}
    for number, m in enumerate(mappings, start=1):
        if m.column not in CHOICES:
            raise Refused("map_bad_column", file=file, row=number, column=m.column, allowed=", ".join(CHOICES))
        if not m.value:
            raise Refused("map_bad_value", file=file, row=number)
        allowed = CHOICES[m.column][1]
        if m.canonical not in allowed:
            raise Refused("map_bad_canonical", file=file, row=number, value=m.canonical, allowed=", ".join(allowed))
        key = (m.column, m.value.lower())
        if seen.setdefault(key, m.canonical) != m.canonical:
            raise Refused("map_conflict", file=file, row=number, column=m.column, value=m.value)
    return mappings


def read_file(path: Path) -> list[Mapping]:
    """A mapping file: CSV lines `column,value,canonical` (a first line of those three words is a header)."""
    from closeloop import ledger

    if not path.exists():
        raise Refused("map_file_missing", file=str(path))
    text = ledger.decode(path.read_bytes(), path.name)
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)]
    if rows and [c.strip().lower() for c in rows[0]] == ["column", "value", "canonical"]:
        rows = rows[1:]
    mappings = []
    for number, row in enumerate(rows, start=1):
        if len(row) != 3:
            raise Refused("map_bad_line", file=path.name, row=number)
        column, value, canonical = (written(c) for c in row)
        mappings.append(Mapping(column.lower(), value, canonical.lower()))
    return checked(mappings, path.name)


def stored(con) -> list[Mapping]:
    rows = con.execute("select column_name, value, canonical from value_maps order by column_name, value").fetchall()
    return [Mapping(*row) for row in rows]


def table(con):
    """The store's mappings with who set them and when, for the Data page."""
    return con.execute(
        "select column_name, value, canonical, set_by, set_at from value_maps order by column_name, value"
    ).df()


def save(cur, mappings: list[Mapping], actor: str, reason: str) -> int:
    """Keep each mapping, inside the caller's transaction, with an event for each one new or changed."""
    written_events = 0
    for m in checked(mappings):
        row = cur.execute(
            "select value, canonical from value_maps where column_name = $column and lower(value) = lower($value)",
            {"column": m.column, "value": m.value},
        ).fetchone()
        if row and row[1] == m.canonical:
            continue
        if row:
            cur.execute(
                "update value_maps set canonical = $canonical, set_by = $actor, set_at = now(), version = version + 1 "
                "where column_name = $column and value = $value",
                {"canonical": m.canonical, "actor": actor, "column": m.column, "value": row[0]},
            )
        else:
            cur.execute(
                "insert into value_maps (column_name, value, canonical, set_by) values ($column, $value, $canonical, $actor)",
                {"column": m.column, "value": m.value, "canonical": m.canonical, "actor": actor},
            )
        cur.execute(
            "insert into events (actor, entity, ref, field, old, new, reason) "
            "values ($actor, 'value_map', $ref, 'canonical', $old, $new, $reason)",
            {"actor": actor, "ref": f"{m.column}:{row[0] if row else m.value}", "old": row[1] if row else None,
             "new": m.canonical, "reason": reason},
        )
        written_events += 1
    return written_events


def save_now(con, mappings: list[Mapping], actor: str) -> int:
    """save() in a transaction of its own, sealed into the trail: the Data page's mapping step."""
    cur = con.cursor()
    try:
        with store.transaction(cur):
            written_events = save(cur, mappings, actor, "value_map")
            block = trail.seal(cur)
        trail.anchor(cur, block)
    finally:
        cur.close()
    return written_events
