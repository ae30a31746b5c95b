"""Management reviews: recorded with a frozen snapshot, their decisions as actions, and what changed since one."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from closeloop import clock, metrics, store, trail, workflow
from closeloop.filters import Filters
from closeloop.identity import Identity
from closeloop.refusal import Refused

# How a finding can have changed since the last review, in the order a meeting reads them.
CHANGES = ("new", "closed", "newly_overdue", "reopened", "new_repeat")
ALL_ROWS = 10_000_000
SEVERITIES = ("major", "minor", "observation")

_writing = threading.Lock()


@dataclass(frozen=True)
class Review:
    id: int
    held_on: date
    title: str
    attendees: tuple[str, ...]
    filters: Filters
    audit: str
    created_by: str
    created_at: datetime
    contract: dict
    digest: str

    @property
    def unit(self) -> str | None:
        return self.filters.unit

    @property
    def as_of(self) -> date:
        return self.filters.as_of


def filters_json(f: Filters) -> str:
    return json.dumps({k: v for k, v in f.params().items() if k != "scope"}, default=str, sort_keys=True)


def filters_from_json(text: str) -> Filters:
    raw = json.loads(text)
    return Filters(
        as_of=date.fromisoformat(raw["as_of"]), since=date.fromisoformat(raw["since"]),
        until=date.fromisoformat(raw["until"]), unit=raw["unit"], sources=tuple(raw["sources"]),
        severities=tuple(raw["severities"]), categories=tuple(raw["categories"]), window_days=int(raw["window_days"]),
    )


def may_record(who: Identity) -> bool:
    """Whoever may change records (add actions or verify) may record the review that looked at them."""
    return who.may("add_action") or who.may("verify")


# ---------------------------------------------------------------------------------------------
# Reading


def load(con, review_id: int, scope: str | None) -> Review | None:
    """The review with its frozen contract, or None when there is none the viewer may see."""
    rows = store.run(con, "review_record", {"review": int(review_id), "scope": scope})
    if rows.empty:
        return None
    r = rows.iloc[0]
    return Review(
        id=int(r["id"]), held_on=_day(r["held_on"]), title=r["title"], attendees=tuple(r["attendees"]),
        filters=filters_from_json(r["filters"]), audit=r["audit"], created_by=r["created_by"],
        created_at=r["created_at"], contract=json.loads(r["contract"]), digest=r["digest"],
    )


def last_before(con, unit: str | None, as_of: date, scope: str | None) -> Review | None:
    """The latest review of the same subtree whose as-of date is before `as_of`."""
    rows = store.run(con, "reviews_before", {"unit": unit, "as_of": as_of, "scope": scope, "limit": 1})
    return load(con, int(rows["id"].iloc[0]), scope) if len(rows) else None


def changes(con, previous_as_of: date, f: Filters, scope: str | None) -> dict[str, int]:
    """Findings new, closed, newly overdue, reopened and new repeats after previous_as_of up to f.as_of."""
    row = store.run(con, "since_review_counts", f.params(scope) | since_params(previous_as_of)).iloc[0]
    return {change: int(row[change]) for change in CHANGES}


def changed_rows(con, previous_as_of: date, f: Filters, scope: str | None, change: str, limit: int = ALL_ROWS):
    return store.run(con, "since_review_rows", f.params(scope) | since_params(previous_as_of)
                     | {"change": change, "limit": limit})


def since_params(previous_as_of: date) -> dict:
    """What the since-review queries take besides the filters: a reopening counts on the day it was recorded in
    the organisation's zone, as "today" and the as-of date are."""
    return {"previous_as_of": previous_as_of, "zone": clock.zone().key}


def decisions(con, review_id: int, as_of: date, scope: str | None):
    """The actions the review decided, with their status as of `as_of`."""
    return store.run(con, "review_decisions", {"review": int(review_id), "as_of": as_of, "scope": scope})


# ---------------------------------------------------------------------------------------------
# Writing: each one transaction with its events, sealed


def record(con, who: Identity, f: Filters, *, held_on: date, title: str, attendees: list[str]) -> int:
    """Record a review of f's subtree held on `held_on`, freezing the contract and the open list as of f.as_of."""
    title = (title or "").strip()
    attendees = [a.strip() for a in attendees if a and a.strip()]
    if not title or not attendees:
        raise Refused("review_incomplete")
    if held_on > workflow.today():
        raise Refused("refused_future_date", on=held_on)
    if not may_record(who):
        raise Refused("refused_role", role=who.role or "-", move="record_review")
    if who.scope is not None and (f.unit is None or not _in_subtree(con, f.unit, who.scope)):
        raise Refused("refused_out_of_scope", ref=f.unit or "-")
    contract = metrics.contract(con, f, who.scope)
    open_items = store.run(con, "open_items", f.params(who.scope) | {"limit": ALL_ROWS})
    digest = hashlib.sha256(json.dumps(
        {"contract": contract, "open": open_items.to_dict("records")}, default=str, sort_keys=True,
        ensure_ascii=False,
    ).encode()).hexdigest()

    def write(cur) -> int:
        # again inside the transaction: the unit tree may have changed since the check above
        if who.scope is not None and not workflow._in_scope(cur, f.unit, who.scope):
            raise Refused("refused_out_of_scope", ref=f.unit)
        review_id = cur.execute("select nextval('review_id')").fetchone()[0]
        audit = _free_ref(cur, "audits", f"REV-{review_id}")
        cur.execute(
            "insert into reviews (id, held_on, title, attendees, unit, as_of, since, until, filters, audit, created_by) "
            "values ($id, $held_on, $title, $attendees, $unit, $as_of, $since, $until, $filters, $audit, $actor)",
            {"id": review_id, "held_on": held_on, "title": title, "attendees": attendees, "unit": f.unit,
             "as_of": f.as_of, "since": f.since, "until": f.until, "filters": filters_json(f), "audit": audit,
             "actor": who.actor},
        )
        cur.execute(
            "insert into audits (ref, source, unit, started_on, lead, title) "
            "values ($ref, 'management_review', coalesce($unit, (select code from units where parent_code is null "
            "order by path limit 1)), $held_on, $actor, $title)",
            {"ref": audit, "unit": f.unit, "held_on": held_on, "actor": who.actor, "title": title},
        )
        cur.execute(
            "insert into review_snapshots (review, contract, digest) values ($id, $contract, $digest)",
            {"id": review_id, "contract": json.dumps(contract, ensure_ascii=False), "digest": digest},
        )
        cur.register("review_open_list", open_items)
        try:
            cur.execute(
                "insert into review_open_items select $id, ref, unit, title, severity, status, found_on, due_on, "
                "age_days, days_overdue, owners from review_open_list",
                {"id": review_id},
            )
        finally:
            cur.unregister("review_open_list")
        fields = {"held_on": held_on.isoformat(), "title": title, "attendees": ", ".join(attendees),
                  "unit": f.unit, "as_of": f.as_of.isoformat(), "filters": filters_json(f),
                  "snapshot": f"{len(open_items)} open, sha256:{digest}"}
        _events(cur, who, [("review", str(review_id), "created", None, None)]
                + [("review", str(review_id), k, None, v) for k, v in fields.items() if v is not None]
                + [("audit", audit, "created", None, None)], "record_review")
        return review_id

    return _transaction(con, write)


def decide(con, who: Identity, review_id: int, *, description: str, owner: str, due_on: date | None,
           kind: str = "corrective", topic: str | None = None, nonconformity: str | None = None,
           unit: str | None = None, severity: str = "observation") -> str:
    """Record a decision of the review as an action; returns the action's ref.

    A decision on a new topic raises the review's own finding (source management_review, found on the day
    the review was held) and gives it the action; a decision on an existing finding adds the action to it.
    The action is added by workflow.add_action, in its own transaction, so every check and event of an
    action added anywhere else applies; everything that can refuse it is checked before the finding is
    written, and the link from the review to the action is written last.
    """
    review = load(con, review_id, who.scope)
    if review is None:
        raise Refused("review_unknown", id=review_id)
    topic = (topic or "").strip() or None
    nonconformity = (nonconformity or "").strip() or None
    if (topic is None) == (nonconformity is None):
        raise Refused("decision_topic_or_finding")
    if kind not in workflow.ACTION_KINDS:
        raise Refused("refused_unknown_kind", kind=kind)
    if not (description or "").strip() or not (owner or "").strip():
        raise Refused("refused_action_incomplete")
    if not who.may("add_action"):
        raise Refused("refused_role", role=who.role or "-", move="add_action")
    if topic is not None:
        nonconformity = _raise_finding(con, who, review, topic, unit, severity, due_on)
    action = workflow.add_action(con, who, nonconformity, kind=kind, description=description, owner=owner,
                                 due_on=due_on)

    def link(cur) -> None:
        if not workflow._in_scope(cur, _unit_of(cur, nonconformity), who.scope):
            raise Refused("refused_out_of_scope", ref=nonconformity)
        cur.execute("insert into review_decisions (review, action, nonconformity) values ($review, $action, $nc)",
                    {"review": review.id, "action": action, "nc": nonconformity})
        _events(cur, who, [("review", str(review.id), "decision", None, action)], "review_decision")

    _transaction(con, link)
    return action


def _raise_finding(con, who: Identity, review: Review, topic: str, unit: str | None, severity: str,
                   due_on: date | None) -> str:
    if severity not in SEVERITIES:
        raise Refused("decision_bad_severity", severity=severity)
    if due_on is not None and due_on < review.held_on:
        raise Refused("refused_before_found", on=due_on, found_on=review.held_on)
    unit = unit or review.unit or _root(con)
    if not _in_subtree(con, unit, review.unit) or not _in_subtree(con, unit, who.scope):
        raise Refused("refused_out_of_scope", ref=unit)

    def write(cur) -> str:
        if not workflow._in_scope(cur, unit, review.unit) or not workflow._in_scope(cur, unit, who.scope):
            raise Refused("refused_out_of_scope", ref=unit)
        ref = _free_ref(cur, "nonconformities", f"{review.audit}-01", numbered=True)
        row = {"ref": ref, "unit": unit, "audit": review.audit, "source": "management_review", "severity": severity,
               "title": topic, "found_on": review.held_on, "due_on": due_on, "status": "open"}
        cur.execute(
            "insert into nonconformities (ref, unit, audit, source, severity, title, found_on, due_on, status) "
            "values ($ref, $unit, $audit, $source, $severity, $title, $found_on, $due_on, $status)", row,
        )
        _events(cur, who, [("nonconformity", ref, "created", None, None)]
                + [("nonconformity", ref, k, None, v if isinstance(v, str) else v.isoformat())
                   for k, v in row.items() if k != "ref" and v is not None], "review_decision")
        store.refresh_findings(cur, [unit])
        return ref

    return _transaction(con, write)


def _transaction(con, write):
    """Run write(cursor) in one transaction that ends with the trail's seal."""
    with _writing:
        cur = con.cursor()
        try:
            try:
                with store.transaction(cur):
                    result = write(cur)
                    block = trail.seal(cur)
                trail.anchor(cur, block)
            except duckdb.TransactionException:
                raise Refused("review_store_busy") from None
        finally:
            cur.close()
    return result


def _events(cur, who: Identity, rows: list[tuple], reason: str) -> None:
    for entity, ref, field, old, new in rows:
        cur.execute(
            "insert into events (actor, entity, ref, field, old, new, reason) "
            "values ($actor, $entity, $ref, $field, $old, $new, $reason)",
            {"actor": who.actor, "entity": entity, "ref": ref, "field": field, "old": old, "new": new,
             "reason": reason},
        )


def _free_ref(cur, table: str, ref: str, numbered: bool = False) -> str:
    """`ref`, or the next free one: REV-7 → REV-7-2 …; REV-7-01 → REV-7-02 … when numbered."""
    stem, n = (ref.rsplit("-", 1)[0], int(ref.rsplit("-", 1)[1])) if numbered else (ref, 1)
    # `table` is one of this module's literals, never input.
    while cur.execute(f"select count(*) from {table} where ref = $ref", {"ref": ref}).fetchone()[0]:
        n += 1
        ref = f"{stem}-{n:02d}" if numbered else f"{stem}-{n}"
    return ref


def _in_subtree(con, unit: str, root: str | None) -> bool:
    cur = con.cursor()
    try:
        return cur.execute("select count(*) > 0 from unit_subtree($root) where code = $unit",
                           {"root": root, "unit": unit}).fetchone()[0]
    finally:
        cur.close()


def _unit_of(cur, nonconformity: str) -> str | None:
    found = cur.execute("select unit from nonconformities where ref = $ref", {"ref": nonconformity}).fetchone()
    return found[0] if found else None


def _root(con) -> str:
    cur = con.cursor()
    try:
        return cur.execute("select code from units where parent_code is null order by path limit 1").fetchone()[0]
    finally:
        cur.close()


def _day(value) -> date:
    return value.date() if hasattr(value, "date") else value


# ---------------------------------------------------------------------------------------------
# review17: the plan-and-check inputs (objectives met, satisfaction, inspections) and the chair's conclusions

# The sections a chair concludes on, in the order the page and the pack show them (migration 013 checks them).
SECTIONS = ("findings", "objectives", "satisfaction", "inspections", "decisions")
PLAN_SECTIONS = ("objectives", "satisfaction", "inspections")


def plan_check(con, f: Filters, last: Review | None, scope: str | None) -> tuple[dict, dict | None]:
    """metrics.plan_check as of f.as_of, and as of the last review's as-of date over its period (None without one).

    Recomputed at both dates rather than frozen: every one of these numbers holds at any as-of date, so a
    review opened again shows what the store says of its date, as `metrics --as-of` does.
    """
    now = metrics.plan_check(con, f, scope)
    return now, (metrics.plan_check(con, last.filters, scope) if last else None)


def satisfaction_by_unit(con, f: Filters, scope: str | None):
    """Each unit's latest wave in f's period: its index and 95 % interval (metrics.satisfaction_intervals)."""
    waves = metrics.satisfaction_intervals(store.run(con, "satisfaction_by_unit_wave", f.params(scope)))
    return waves.groupby("unit", sort=False).tail(1).reset_index(drop=True)


def recorded_at(con, f: Filters, scope: str | None) -> Review | None:
    """The review recorded of f's subtree as of exactly f.as_of (the latest such), whose conclusions a pack shows."""
    rows = store.run(con, "review_at", {"unit": f.unit, "as_of": f.as_of, "scope": scope})
    return load(con, int(rows["id"].iloc[0]), scope) if len(rows) else None


def conclusions(con, review_id: int, scope: str | None) -> dict[str, dict]:
    """Section → its latest conclusion (text, version, written_by, written_at); sections not concluded are absent."""
    rows = store.run(con, "review_conclusions", {"review": int(review_id), "scope": scope})
    return {r["section"]: {k: r[k] for k in ("text", "version", "written_by", "written_at")}
            for r in rows.to_dict("records")}


def conclude(con, who: Identity, review_id: int, *, section: str, text: str) -> int:
    """Record the chair's conclusion on one section of a review (a new version when there is one); its version."""
    text = (text or "").strip()
    if section not in SECTIONS:
        raise Refused("conclusion_bad_section", section=section)
    if not text:
        raise Refused("conclusion_empty")
    if not may_record(who):
        raise Refused("refused_role", role=who.role or "-", move="conclude_review")
    review = load(con, review_id, who.scope)
    if review is None:
        raise Refused("review_unknown", id=review_id)

    def write(cur) -> int:
        before = cur.execute(
            "select version, text from review_conclusions where review = $review and section = $section "
            "order by version desc limit 1", {"review": review.id, "section": section}).fetchall()
        version = before[0][0] + 1 if before else 1
        cur.execute(
            "insert into review_conclusions (review, section, version, text, written_by) "
            "values ($review, $section, $version, $text, $actor)",
            {"review": review.id, "section": section, "version": version, "text": text, "actor": who.actor},
        )
        _events(cur, who, [("review", str(review.id), f"conclusion_{section}", before[0][1] if before else None,
                            text)], "review_conclusion")
        return version

    return _transaction(con, write)
