"""Status changes of nonconformities and actions: the moves allowed, and each one with its events, sealed."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from closeloop import clock, store, trail
from closeloop.identity import Identity
from closeloop.refusal import Refused

NONCONFORMITY_STATUSES = ("open", "in_progress", "awaiting_verification", "closed")
ACTION_STATUSES = ("planned", "in_progress", "done", "cancelled")
TABLES = {"nonconformity": "nonconformities", "action": "actions", "user": "users"}
KEYS = {"nonconformity": "ref", "action": "ref", "user": "email"}
ACTION_KINDS = ("correction", "corrective", "preventive")


@dataclass(frozen=True)
class Move:
    """From each status: the status the move leads to, or the catalog key of why it is refused."""

    to: dict[str, str]
    refused: dict[str, str]


# The state machine. Every status of the entity appears once, in `to` or in `refused`.
MOVES: dict[tuple[str, str], Move] = {
    ("action", "start"): Move(
        {"planned": "in_progress"},
        {"in_progress": "refused_already_started", "done": "refused_action_done",
         "cancelled": "refused_action_cancelled"},
    ),
    ("action", "done"): Move(
        {"planned": "done", "in_progress": "done"},
        {"done": "refused_action_done", "cancelled": "refused_action_cancelled"},
    ),
    ("action", "extend"): Move(
        {"planned": "planned", "in_progress": "in_progress"},
        {"done": "refused_action_done", "cancelled": "refused_action_cancelled"},
    ),
    ("action", "cancel"): Move(
        {"planned": "cancelled", "in_progress": "cancelled"},
        {"done": "refused_action_done", "cancelled": "refused_action_cancelled"},
    ),
    # Adding an action to a finding that awaited verification puts it back to work.
    ("nonconformity", "add_action"): Move(
        {"open": "open", "in_progress": "in_progress", "awaiting_verification": "in_progress"},
        {"closed": "refused_nc_closed"},
    ),
    # Verified effective: closed. Not effective: open again, waiting for a new action.
    ("nonconformity", "verify"): Move(
        {"awaiting_verification": "closed"},
        {"open": "refused_actions_not_done", "in_progress": "refused_actions_not_done",
         "closed": "refused_nc_already_closed"},
    ),
    ("nonconformity", "reopen"): Move(
        {"closed": "open"},
        {"open": "refused_nc_not_closed", "in_progress": "refused_nc_not_closed",
         "awaiting_verification": "refused_nc_not_closed"},
    ),
}

_writing = threading.Lock()  # one move at a time in this process; other processes collide on the seal


class StaleRecord(Refused):
    """Someone saved the record after the caller read it: who and when, so the caller can reload."""

    def __init__(self, ref: str, who: str, when):
        super().__init__("refused_stale", ref=ref, who=who, when=when)
        self.who, self.when = who, when


def refusal(entity: str, move: str, status: str) -> str | None:
    """Why the move is refused from this status, or None when it is allowed."""
    return MOVES[(entity, move)].refused.get(status)


def today(now: datetime | None = None) -> date:
    """Today in the organisation's zone (clock.today): the default day of a move, and the latest allowed."""
    return clock.today(now)


# ---------------------------------------------------------------------------------------------
# The moves of an action


def start(con, who: Identity, ref: str, *, version: int | None = None, note: str | None = None) -> dict:
    return _act(con, who, "start", ref, version, {}, note)


def done(con, who: Identity, ref: str, *, evidence: str, on: date | None = None, version: int | None = None,
         attachment: tuple[str, bytes] | None = None) -> dict:
    """Mark an action done with a note of the evidence, and optionally a file kept beside the store."""
    evidence = (evidence or "").strip()
    if not evidence:
        raise Refused("refused_evidence_required")
    on = on or today()
    if on > today():
        raise Refused("refused_future_date", on=on)
    _allowed(who, "done")  # before a file is written
    stored = _keep(con, attachment) if attachment else None
    return _act(con, who, "done", ref, version, {"done_on": on, "evidence": evidence}, None, stored)


def extend(con, who: Identity, ref: str, *, due_on: date, reason: str, version: int | None = None) -> dict:
    if not (reason or "").strip():
        raise Refused("refused_reason_required")
    return _act(con, who, "extend", ref, version, {"due_on": due_on}, reason.strip())


def cancel(con, who: Identity, ref: str, *, reason: str, version: int | None = None) -> dict:
    if not (reason or "").strip():
        raise Refused("refused_reason_required")
    return _act(con, who, "cancel", ref, version, {}, reason.strip())


def _act(con, who, move, ref, version, changes, reason, attachment=None) -> dict:
    def change(cur, action, nc):
        if nc["status"] == "closed":
            raise Refused("refused_nc_closed", ref=nc["ref"])
        if move == "done" and changes["done_on"] < nc["found_on"]:
            raise Refused("refused_before_found", on=changes["done_on"], found_on=nc["found_on"])
        if move == "extend":
            if changes["due_on"] < nc["found_on"]:
                raise Refused("refused_before_found", on=changes["due_on"], found_on=nc["found_on"])
            if action["due_on"] and changes["due_on"] <= action["due_on"]:
                raise Refused("refused_due_not_later", due_on=action["due_on"])
        status = MOVES[("action", move)].to[action["status"]]
        events = _update(cur, who, "action", action, changes | {"status": status}, reason or move)
        if attachment:
            events += _attach(cur, who, "action", ref, attachment, reason or move)
        events += _follow(cur, who, nc["ref"], reason or move)
        return events

    return _write(con, who, "action", move, ref, version, change)


# ---------------------------------------------------------------------------------------------
# The moves of a nonconformity


def add_action(con, who: Identity, nc_ref: str, *, kind: str, description: str, owner: str,
               due_on: date | None, version: int | None = None) -> str:
    """A new action on a finding; returns its ref."""
    if kind not in ACTION_KINDS:
        raise Refused("refused_unknown_kind", kind=kind)
    if not (description or "").strip() or not (owner or "").strip():
        raise Refused("refused_action_incomplete")
    made = {}

    def change(cur, nc, _):
        if due_on is not None and due_on < nc["found_on"]:
            raise Refused("refused_before_found", on=due_on, found_on=nc["found_on"])
        ref = _new_action_ref(cur, nc_ref)
        row = {"ref": ref, "nonconformity": nc_ref, "kind": kind, "description": description.strip(),
               "owner": owner.strip(), "due_on": due_on, "status": "planned"}
        cur.execute(
            "insert into actions (ref, nonconformity, kind, description, owner, due_on, status) "
            "values ($ref, $nonconformity, $kind, $description, $owner, $due_on, $status)", row,
        )
        made["ref"] = ref
        events = [("action", ref, "created", None, None, "add_action")]
        events += [("action", ref, f, None, _text(row[f]), "add_action")
                   for f in ("nonconformity", "kind", "description", "owner", "due_on", "status")
                   if row[f] is not None]
        _insert_events(cur, who, events)
        status = MOVES[("nonconformity", "add_action")].to[nc["status"]]
        return len(events) + _update(cur, who, "nonconformity", nc, {"status": status}, "add_action")

    _write(con, who, "nonconformity", "add_action", nc_ref, version, change)
    return made["ref"]


def verify(con, who: Identity, ref: str, *, effective: bool, note: str | None = None, on: date | None = None,
           version: int | None = None) -> dict:
    """Verify a finding whose actions are done: effective closes it; not effective opens it for a new action."""
    note = (note or "").strip() or None
    if not effective and not note:
        raise Refused("refused_note_required")
    on = on or today()
    if on > today():
        raise Refused("refused_future_date", on=on)

    def change(cur, nc, actions):
        owners = [o for (o,) in cur.execute(
            "select owner from unnest($owners::varchar[]) as o(owner) where is_owned_by(owner, $names::varchar[])",
            {"owners": [a["owner"] for a in actions if a["status"] != "cancelled"], "names": who.names}).fetchall()]
        if owners:
            raise Refused("refused_verifier_is_owner", who=owners[0])
        if effective:
            if on < nc["found_on"]:
                raise Refused("refused_before_found", on=on, found_on=nc["found_on"])
            changes = {"status": "closed", "closed_on": on, "verified_by": who.name or who.actor}
            return _update(cur, who, "nonconformity", nc, changes, note or "verified_effective")
        _insert_events(cur, who, [("nonconformity", nc["ref"], "verification", None, "not_effective", note)])
        return 1 + _update(cur, who, "nonconformity", nc, {"status": "open"}, note)

    return _write(con, who, "nonconformity", "verify", ref, version, change)


def reopen(con, who: Identity, ref: str, *, reason: str, version: int | None = None) -> dict:
    if not (reason or "").strip():
        raise Refused("refused_reason_required")

    def change(cur, nc, _):
        changes = {"status": "open", "closed_on": None, "verified_by": None}
        return _update(cur, who, "nonconformity", nc, changes, reason.strip())

    return _write(con, who, "nonconformity", "reopen", ref, version, change)


def set_user(con, who: Identity, email: str, *, role: str, unit: str | None, name: str | None = None,
             version: int | None = None, language: str | None = None) -> int:
    """Give a person a role and a unit (within the administrator's own subtree); returns the events written."""
    from closeloop.identity import ROLES

    _allowed(who, "manage_users")
    email = (email or "").strip().lower()
    if "@" not in email or role not in ROLES:
        raise Refused("refused_bad_user", email=email, role=role)
    with _writing:
        cur = con.cursor()
        try:
            with store.transaction(cur):
                if unit is not None and not cur.execute(
                    "select count(*) from units where code = $unit", {"unit": unit}
                ).fetchone()[0]:
                    raise Refused("unknown_unit_arg", unit=unit)
                if who.scope is not None and (unit is None or not _in_scope(cur, unit, who.scope)):
                    raise Refused("refused_out_of_scope", ref=unit or "-")
                found = cur.execute("select email as ref, role::varchar as role, unit, name, language, version from users "
                                    "where email = $email", {"email": email})
                row = found.fetchone()
                names = [d[0] for d in found.description]
                # nor may they take over, or demote, someone whose scope is wider than or outside their own
                if row is not None and who.scope is not None and (
                        row[2] is None or not _in_scope(cur, row[2], who.scope)):
                    raise Refused("refused_out_of_scope", ref=email)
                if row is None:
                    cur.execute("insert into users (email, role, unit, name, language) "
                                "values ($email, $role, $unit, $name, $language)",
                                {"email": email, "role": role, "unit": unit, "name": name,
                                 "language": language}).fetchall()
                    rows = [("user", email, "created", None, None, "set_user")]
                    rows += [("user", email, f, None, v, "set_user") for f, v in
                             (("role", role), ("unit", unit), ("name", name), ("language", language))
                             if v is not None]
                    _insert_events(cur, who, rows)
                    written = len(rows)
                else:
                    record = dict(zip(names, row))
                    if version is not None and record["version"] != version:
                        raise _stale(cur, "user", email)
                    changes = {"role": role, "unit": unit, "name": name}
                    if language is not None:
                        changes["language"] = language
                    written = _update(cur, who, "user", record, changes, "set_user")
                block = trail.seal(cur)
            trail.anchor(cur, block)
        finally:
            cur.close()
    return written


def log_refused(con, who: Identity, what: str, value: str, where: str) -> None:
    """A link to something outside the viewer's scope (or to nothing): one event, sealed like every other."""
    with _writing:
        cur = con.cursor()
        try:
            with store.transaction(cur):
                _insert_events(cur, who, [("access", str(value)[:200], what, None, where, "out_of_scope")])
                block = trail.seal(cur)
            trail.anchor(cur, block)
        finally:
            cur.close()


# ---------------------------------------------------------------------------------------------
# One transaction per move: check, change, write the events, refresh the finding's unit, seal.


def _allowed(who: Identity, move: str) -> None:
    if not who.may(move):
        raise Refused("refused_role", role=who.role or "-", move=move)


def _write(con, who: Identity, entity: str, move: str, ref: str, version: int | None, change) -> dict:
    _allowed(who, move)
    with _writing:
        cur = con.cursor()
        try:
            try:
                with store.transaction(cur):
                    record = _record(cur, entity, ref)
                    nc = record if entity == "nonconformity" else _record(cur, "nonconformity", record["nonconformity"])
                    if not _in_scope(cur, nc["unit"], who.scope):
                        raise Refused("refused_out_of_scope", ref=ref)
                    for checked in {(entity, ref), ("nonconformity", nc["ref"])}:
                        tampered = trail.record_problem(cur, *checked)
                        if tampered:
                            raise Refused(tampered.key, **tampered.details)
                    if version is not None and record["version"] != version:
                        raise _stale(cur, entity, ref)
                    why = refusal(entity, move, record["status"])
                    if why:
                        raise Refused(why, ref=ref, status=record["status"])
                    if entity == "nonconformity":
                        written = change(cur, record, _actions_of(cur, ref))
                    else:
                        written = change(cur, record, nc)
                    store.refresh_findings(cur, [nc["unit"]])
                    block = trail.seal(cur)
                trail.anchor(cur, block)
            except duckdb.Error as e:
                # Another process saved the same record, or sealed, first; or the disk is full: this move
                # is rolled back either way.
                try:
                    cur.execute("rollback")
                except duckdb.Error:
                    pass
                if store.disk_full(e):
                    raise Refused("disk_full", path=_folder_of(cur)) from None
                if not isinstance(e, duckdb.TransactionException):
                    raise
                raise _stale(cur, entity, ref) from None
        finally:
            cur.close()
    return {"ref": ref, "events": written, "block": block}


def _folder_of(cur) -> str:
    try:
        return str(attachments_dir(cur).parent)
    except duckdb.Error:  # a connection the failed commit invalidated
        return "?"


def _record(cur, entity: str, ref: str) -> dict:
    found = cur.execute(f"select * from {TABLES[entity]} where ref = $ref", {"ref": ref})
    row = found.fetchone()
    if row is None:
        raise Refused(f"refused_unknown_{entity}", ref=ref)
    record = dict(zip([d[0] for d in found.description], row))
    return {k: (str(v) if k in ("status", "kind", "source", "severity") and v is not None else v)
            for k, v in record.items()}


def _actions_of(cur, nc_ref: str) -> list[dict]:
    found = cur.execute(
        "select ref, owner, status::varchar as status from actions where nonconformity = $ref order by ref",
        {"ref": nc_ref},
    )
    names = [d[0] for d in found.description]
    return [dict(zip(names, row)) for row in found.fetchall()]


def _in_scope(cur, unit: str, scope: str | None) -> bool:
    return cur.execute(
        "select count(*) > 0 from unit_subtree($scope) where code = $unit", {"scope": scope, "unit": unit}
    ).fetchone()[0]


def _stale(cur, entity: str, ref: str) -> StaleRecord:
    last = store_last_change(cur, entity, ref)
    return StaleRecord(ref, *(last or ("?", "?")))


def store_last_change(con, entity: str, ref: str):
    """(actor, at) of the latest event on a record, or None."""
    last = con.execute(
        "select actor, \"at\" from events where entity = $entity and ref = $ref order by id desc limit 1",
        {"entity": entity, "ref": ref},
    ).fetchone()
    return (last[0], clock.shown(last[1])) if last else None


def _text(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _update(cur, who: Identity, entity: str, record: dict, changes: dict, reason: str) -> int:
    """Write the fields that change (and bump the version); one event per changed field."""
    changed = {k: v for k, v in changes.items() if _text(record[k]) != _text(v)}
    if not changed:
        return 0
    assignments = ", ".join(f"{field} = ${field}" for field in changed)  # fields from this module, not input
    cur.execute(
        f"update {TABLES[entity]} set {assignments}, version = version + 1 where {KEYS[entity]} = $ref",
        changed | {"ref": record["ref"]},
    )
    _insert_events(cur, who, [
        (entity, record["ref"], field, _text(record[field]), _text(value), reason) for field, value in changed.items()
    ])
    return len(changed)


def _insert_events(cur, who: Identity, rows: list[tuple]) -> None:
    for entity, ref, field, old, new, reason in rows:
        cur.execute(
            "insert into events (actor, entity, ref, field, old, new, reason) "
            "values ($actor, $entity, $ref, $field, $old, $new, $reason)",
            {"actor": who.actor, "entity": entity, "ref": ref, "field": field, "old": old, "new": new,
             "reason": reason},
        )


def _follow(cur, who: Identity, nc_ref: str, reason: str) -> int:
    """A finding follows its actions forward: all live ones done → awaiting verification; work started on an
    open one → in progress; work added to one awaiting verification → in progress. It never moves back to open."""
    nc = _record(cur, "nonconformity", nc_ref)
    live = [a["status"] for a in _actions_of(cur, nc_ref) if a["status"] != "cancelled"]
    status = nc["status"]
    if live and all(s == "done" for s in live):
        status = "awaiting_verification"
    elif status == "awaiting_verification" or (status == "open" and any(s != "planned" for s in live)):
        status = "in_progress"
    return _update(cur, who, "nonconformity", nc, {"status": status}, reason)


def _new_action_ref(cur, nc_ref: str) -> str:
    stem = "CA-" + re.sub(r"^NC-", "", nc_ref)
    n = cur.execute("select count(*) from actions where nonconformity = $ref", {"ref": nc_ref}).fetchone()[0] + 1
    while cur.execute("select count(*) from actions where ref = $ref", {"ref": f"{stem}-{n}"}).fetchone()[0]:
        n += 1
    return f"{stem}-{n}"


# ---------------------------------------------------------------------------------------------
# Evidence files: content-addressed, beside the store


def attachments_dir(con) -> Path:
    path = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0]
    return Path(path).parent / "attachments"


def _keep(con, attachment: tuple[str, bytes]) -> dict:
    """Write the file as attachments/<sha256> (before the transaction: an orphan file harms nothing).

    A file already under that name is reused only when it holds exactly these bytes: a crash or a full
    disk mid-write could have left a truncated one there before files were written as below.
    """
    name, data = attachment
    digest = hashlib.sha256(data).hexdigest()
    folder = attachments_dir(con)
    target = folder / digest
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not _holds(target, data, digest):
            _write_whole(folder, target, data, digest)
    except OSError as e:
        raise store.os_refusal(e, folder) from None
    return {"sha256": digest, "file_name": Path(name).name, "bytes": len(data)}


def _holds(path: Path, data: bytes, digest: str) -> bool:
    try:
        return path.stat().st_size == len(data) and hashlib.sha256(path.read_bytes()).hexdigest() == digest
    except FileNotFoundError:
        return False


def _write_whole(folder: Path, target: Path, data: bytes, digest: str) -> None:
    """A temporary name in the same folder, synced and checked, then renamed: the full name only ever
    holds the whole file, and the rename is made durable by syncing the folder."""
    part = folder / f".{digest}.{uuid.uuid4().hex}.part"
    try:
        with open(part, "xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if not _holds(part, data, digest):
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(part))
        os.replace(part, target)
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
    finally:
        part.unlink(missing_ok=True)


def _attach(cur, who: Identity, entity: str, ref: str, stored: dict, reason: str) -> int:
    cur.execute(
        "insert into attachments (sha256, entity, ref, file_name, bytes, actor) "
        "values ($sha256, $entity, $ref, $file_name, $bytes, $actor)",
        stored | {"entity": entity, "ref": ref, "actor": who.actor},
    )
    _insert_events(cur, who, [(entity, ref, "attachment", None, f"{stored['file_name']} sha256:{stored['sha256']}",
                               reason)])
    return 1
