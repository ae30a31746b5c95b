"""Targets for Closeloop's own KPIs, and the light (green, amber, red) a value earns against its target."""

from __future__ import annotations

import math
from dataclasses import dataclass

from closeloop import kpis, metrics, store
from closeloop.kpis import value_text
from closeloop.refusal import Refused

# The KPIs a target may be set for. overdue_share is overdue ÷ open (metrics.overdue_share): the target the
# organisation states ("overdue ≤ 5 %") is a share, while the Overview card its light shows on counts.
KPIS = ("on_time_closure_rate", "overdue_share", "recurrence_rate", "median_days_to_close_km", "actions_overdue")
CARDS = {"overdue_share": "overdue"}  # the card that shows a KPI's light, where it is not the one of its own name
# how each value reads, as the Overview's cards read it (kpis.MEASURES); the share as the overdue rate My unit ranks
KINDS = {key: kind for key, kind, _, _ in kpis.MEASURES if key in KPIS} | {"overdue_share": "rate"}
DIRECTIONS = ("higher", "lower")
WHOLE = "any"  # the unit column's word for the whole organisation's target
# the badge colour of each light (Streamlit's Markdown colours: amber reads as its orange)
COLOURS = {"green": "green", "amber": "orange", "red": "red"}


@dataclass(frozen=True)
class Target:
    kpi: str
    target: float
    direction: str  # higher: at or above the target is green; lower: at or below it
    amber: float = 0.0  # how far on the wrong side of the target is still amber
    unit: str = WHOLE


def light(value, target: Target | None) -> str | None:
    """green on the target's side of it (the target itself included); amber up to `amber` past it (that
    bound included); red beyond; None without a value or a target. The gap is compared at 9 places:
    0.90 − 0.85 is 0.05000000000000004 in binary, and 85 % against ≥ 90 % with a 5-point band is amber."""
    if target is None or value is None or value != value:
        return None
    gap = round(value - target.target if target.direction == "lower" else target.target - value, 9)
    if gap <= 0:
        return "green"
    return "amber" if gap <= round(target.amber, 9) else "red"


def values(contract: dict) -> dict:
    """Each targeted KPI's value in a contract (metrics.contract's dict); overdue_share from its counts."""
    return {kpi: metrics.overdue_share(contract) if kpi == "overdue_share" else contract.get(kpi) for kpi in KPIS}


def from_rows(rows) -> dict[str, Target]:
    """queries/kpi_targets_for.sql's rows as kpi → Target."""
    return {r.kpi: Target(r.kpi, float(r.target), r.direction, float(r.amber), r.unit)
            for r in rows.itertuples(index=False)}


def goal_text(target: Target, t) -> str:
    """"≥ 90.0%", "≤ 5.0%", "≤ 30": the target as the cards and the goal lines say it."""
    return ("≥ " if target.direction == "higher" else "≤ ") + value_text(target.target, KINDS[target.kpi], t)


ICONS = {"green": ":material/check_circle:", "amber": ":material/warning:", "red": ":material/error:"}


@dataclass(frozen=True)
class Badge:
    """What a card says under its number: the light in words, the target, in the light's colour with its icon."""

    label: str
    color: str
    icon: str


def badges(contract: dict, targets: dict[str, Target], t) -> dict[str, Badge]:
    """Card key → its badge (only the cards whose KPI has a target and a value): the light in words and the
    target, and for the overdue card the share it is judged on."""
    shown = {}
    for kpi, value in values(contract).items():
        target = targets.get(kpi)
        said = light(value, target)
        if said is None:
            continue
        card, kind = CARDS.get(kpi, kpi), KINDS[kpi]
        words = [t("target_light_" + said)]
        if card != kpi:  # the card shows another number: say the one judged
            words.append(t("target_share_of_open", share=value_text(value, kind, t)))
        words.append(goal_text(target, t))
        shown[card] = Badge(" · ".join(words), COLOURS[said], ICONS[said])
    return shown


def for_unit(con, unit: str | None) -> dict[str, Target]:
    """The targets that hold for a unit: each KPI's own for it, else the nearest unit's above, else the whole
    organisation's."""
    return from_rows(store.run(con, "kpi_targets_for", {"unit": unit}))


def set_target(con, who, kpi: str, target: float, direction: str | None = None, amber: float | None = None,
               unit: str | None = None) -> int:
    """Set a KPI's target (for a unit and the units below it; None: the whole organisation), an administrator's
    change like the notice settings: one transaction, an event per changed field, sealed. Returns the events."""
    from closeloop import notify

    if kpi not in KPIS:
        raise Refused("target_unknown_kpi", kpi=kpi, allowed=", ".join(KPIS))
    if direction is not None and direction not in DIRECTIONS:
        raise Refused("target_bad_direction", value=direction)
    kind = KINDS[kpi]
    if not _number(target) or target < 0 or (kind == "rate" and target > 1):
        raise Refused("target_bad_value", kpi=kpi, value=target)
    if amber is not None and (not _number(amber) or amber < 0):
        raise Refused("target_bad_amber", value=amber)
    keys = {"kpi": kpi, "unit": unit or WHOLE}
    if unit is not None and not con.execute("select count(*) from units where code = $unit",
                                            {"unit": unit}).fetchone()[0]:
        raise Refused("unknown_unit_arg", unit=unit)
    stored = con.execute("select direction from kpi_targets where kpi = $kpi and unit = $unit", keys).fetchone()
    # a unit's first target reads the whole organisation's way round, and its amber band, unless told otherwise
    whole = con.execute("select direction, amber from kpi_targets where kpi = $kpi and unit = $unit",
                        {"kpi": kpi, "unit": WHOLE}).fetchone()
    if stored is None and direction is None and whole is None:
        raise Refused("target_needs_direction", kpi=kpi)
    if stored is None:
        direction = direction or whole[0]
        amber = amber if amber is not None else whole[1] if whole else 0.0
    changes = {"target": float(target)}
    if direction is not None:
        changes["direction"] = direction
    if amber is not None:
        changes["amber"] = float(amber)
    insert = ("insert into kpi_targets (kpi, unit, target, direction, amber) "
              "values ($kpi, $unit, $target, $direction, $amber)")
    return notify._administer(con, who, "kpi_targets", f"{kpi}/{unit or WHOLE}",
                              "select target, direction, amber from kpi_targets where kpi = $kpi and unit = $unit",
                              keys, changes, insert)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
