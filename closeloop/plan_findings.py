"""Findings the plan-and-check records raise: a failed checklist item, a dissatisfied survey item, and its closure."""

from __future__ import annotations

from closeloop import store, trail
from closeloop.identity import Identity
from closeloop.refusal import Refused

SEVERITY = "minor"  # a raised finding's, until someone grades it: its due date is that severity's deadline
# who may raise and close them: those who record findings (auditors) and administrators
MOVES = ("verify", "import")


def raise_from_inspections(con, who: Identity, only: set[tuple[str, str]] | None = None) -> list[str]:
    """Each failed item of a performed inspection in the writer's scope that names no nonconformity raises one
    (source inspection, the inspection as its audit, the item's criterion as its criterion), and the item then
    names it. `only`: just these (inspection, criterion) items (a page's button). One transaction; the refs raised."""
    _allowed(who)
    raised = []
    cur = con.cursor()
    try:
        with store.transaction(cur):
            for item in _rows(cur, "inspection_items_to_raise", {"scope": who.scope}):
                if only is not None and (item["inspection"], item["criterion"]) not in only:
                    continue
                ref = f"NC-{item['inspection']}-{item['criterion']}"
                _audit(cur, item["inspection"], "inspection", item["unit"], item["performed_on"], item["inspector"])
                if not _exists(cur, ref):  # raised before, and the item's link taken back since: linked again
                    _finding(cur, who, ref, item["unit"], item["inspection"], item["criterion"], "inspection",
                             item["criterion_title"] or item["criterion"], item["note"], item["performed_on"],
                             "raised_by_inspection")
                key = {"inspection": item["inspection"], "criterion": item["criterion"], "ref": ref}
                cur.execute("update inspection_results set nonconformity = $ref, version = version + 1 "
                            "where inspection = $inspection and criterion = $criterion", key)
                _event(cur, who, "inspection_result", f"{item['inspection']}/{item['criterion']}", "nonconformity",
                       None, ref, "raised_by_inspection")
                raised.append((ref, item["unit"]))
            block = _settle(cur, [unit for _, unit in raised])
        trail.anchor(cur, block)
    finally:
        cur.close()
    return [ref for ref, _ in raised]


def raise_from_surveys(con, who: Identity, only: set[tuple[str, str, str]] | None = None) -> tuple[list[str], list[str]]:
    """Each (unit, wave, item) in scope whose mean score is below 3 raises one nonconformity (source
    satisfaction_survey); each open one a later wave's mean of 3 or more for the same unit and item answers is
    closed on that wave's last answer day, the wave named as the evidence. `only`: raise just these (unit,
    wave, item) (a page's button); closing is always done. One transaction; (raised, closed)."""
    _allowed(who)
    raised, closed = [], []
    cur = con.cursor()
    try:
        with store.transaction(cur):
            for item in _rows(cur, "survey_items_to_raise", {"scope": who.scope}):
                if only is not None and (item["unit"], item["wave"], item["item"]) not in only:
                    continue
                ref = f"SAT-{item['unit']}-{item['wave']}-{item['item']}"
                audit = f"SAT-{item['wave']}-{item['unit']}"
                _audit(cur, audit, "satisfaction_survey", item["unit"], item["wave_began_on"], None)
                title = f"满意度调查 {item['wave']}：{item['item']} 平均分 {item['mean_score']:.2f}（低于 3）"
                _finding(cur, who, ref, item["unit"], audit, None, "satisfaction_survey", title, None,
                         item["wave_ended_on"], "raised_by_survey")
                cur.execute("insert into survey_item_findings (unit, wave, item, nonconformity) "
                            "values ($unit, $wave, $item, $ref)",
                            {"unit": item["unit"], "wave": item["wave"], "item": item["item"], "ref": ref})
                raised.append((ref, item["unit"]))
            for found in _rows(cur, "survey_findings_to_close", {"scope": who.scope}):
                old = cur.execute("select status::varchar, closed_on, verified_by from nonconformities "
                                  "where ref = $ref", {"ref": found["ref"]}).fetchone()
                by = who.name or who.actor
                cur.execute("update nonconformities set status = 'closed', closed_on = $on, verified_by = $by, "
                            "version = version + 1 where ref = $ref",
                            {"on": found["evidence_on"], "by": by, "ref": found["ref"]})
                reason = f"follow_up_survey:{found['evidence_wave']}"
                for field, before, after in (("status", old[0], "closed"), ("closed_on", old[1], found["evidence_on"]),
                                             ("verified_by", old[2], by)):
                    _event(cur, who, "nonconformity", found["ref"], field, before, after, reason)
                closed.append((found["ref"], found["unit"]))
            block = _settle(cur, [unit for _, unit in raised + closed])
        trail.anchor(cur, block)
    finally:
        cur.close()
    return [ref for ref, _ in raised], [ref for ref, _ in closed]


def raise_from_objective(con, who: Identity, as_of, unit: str, year: int, code: str) -> str:
    """A missed objective of as_of's year in the writer's scope raises one nonconformity (source
    superior_assessment, found on as_of, its ref objective_finding_ref's, the link back); one transaction, with
    its event on the objective. Refused if it is not missed, outside the scope, or raised before."""
    _allowed(who)
    cur = con.cursor()
    try:
        with store.transaction(cur):
            rows = [o for o in _rows(cur, "objectives_to_raise", {"as_of": as_of, "scope": who.scope})
                    if (o["unit"], o["year"], o["code"]) == (unit, year, code)]
            if not rows:
                raise Refused("refused_objective_not_missed", objective=f"{unit} {year} {code}")
            o = rows[0]
            audit = f"OBJ-{year}-{unit}"
            _audit(cur, audit, "superior_assessment", unit, as_of, o["owner"])
            title = f"目标未达成 {o['code']} {o['name']}：完成 {o['value']:g}，应达 {o['target_to_date']:g}"
            _finding(cur, who, o["finding_ref"], unit, audit, None, "superior_assessment", title, None, as_of,
                     "raised_by_objective")
            _event(cur, who, "objective", f"{unit}/{year}/{code}", "nonconformity", None, o["finding_ref"],
                   "raised_by_objective")
            block = _settle(cur, [unit])
        trail.anchor(cur, block)
    finally:
        cur.close()
    return o["finding_ref"]


def _allowed(who: Identity) -> None:
    if not any(who.may(move) for move in MOVES):
        raise Refused("refused_role", role=who.role or "-", move="raise")


def _rows(cur, name: str, params: dict) -> list[dict]:
    return store.run(cur, name, params).to_dict("records")


def _exists(cur, ref: str) -> bool:
    return bool(cur.execute("select count(*) from nonconformities where ref = $ref", {"ref": ref}).fetchone()[0])


def _audit(cur, ref: str, source: str, unit: str, started_on, lead: str | None) -> None:
    """The audit a raised finding names: the inspection, or the survey wave of a unit; written once."""
    if cur.execute("select count(*) from audits where ref = $ref", {"ref": ref}).fetchone()[0]:
        return
    cur.execute("insert into audits (ref, source, unit, started_on, lead) values ($ref, $source, $unit, $on, $lead)",
                {"ref": ref, "source": source, "unit": unit, "on": started_on, "lead": lead})


def _finding(cur, who: Identity, ref: str, unit: str, audit: str, criterion: str | None, source: str, title: str,
             description: str | None, found_on, reason: str) -> None:
    """A new open finding, due by its severity's (and source's) deadline from the day it was found."""
    cur.execute(
        "insert into nonconformities (ref, unit, audit, criterion, source, severity, title, description, found_on, "
        "due_on, status) "
        "select $ref, $unit, $audit, $criterion, $source, $severity, $title, $description, $found_on, "
        "$found_on::date + d.finding_days, 'open' "
        "from deadline_days() as d where d.severity = $severity::severity and d.source = $source::source",
        {"ref": ref, "unit": unit, "audit": audit, "criterion": criterion, "source": source, "severity": SEVERITY,
         "title": title, "description": description, "found_on": found_on},
    )
    _event(cur, who, "nonconformity", ref, "created", None, None, reason)


def _event(cur, who: Identity, entity: str, ref: str, field: str, old, new, reason: str) -> None:
    cur.execute(
        "insert into events (actor, entity, ref, field, old, new, reason) "
        "values ($actor, $entity, $ref, $field, $old, $new, $reason)",
        {"actor": who.actor, "entity": entity, "ref": ref, "field": field,
         "old": None if old is None else str(old), "new": None if new is None else str(new), "reason": reason},
    )


def _settle(cur, units: list[str]) -> int | None:
    """What every writer of findings does before it commits: the kept terms of their units, then the seal."""
    if units:
        store.refresh_findings(cur, sorted(set(units)))
    return trail.seal(cur)
