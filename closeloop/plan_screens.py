"""What the Objectives, Inspection programme and Satisfaction pages show, from their queries (no Streamlit)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from closeloop import metrics

# (plan_check key, kind, delta colour) per section: the KPI rows, which read the same numbers as `metrics`.
KPIS = {
    "objectives": (("with_status", "count", "off"), ("met", "count", "normal"), ("at_risk", "count", "inverse"),
                   ("missed", "count", "inverse"), ("score", "rate", "normal")),
    "inspections": (("due", "count", "off"), ("performed", "count", "normal"), ("performed_rate", "rate", "normal"),
                    ("overdue", "count", "inverse"), ("coverage", "rate", "normal"), ("score", "rate", "normal")),
    "satisfaction": (("answers", "count", "off"), ("index", "index", "normal"),
                     ("satisfied_share", "rate", "normal"), ("dissatisfied_share", "rate", "inverse")),
}
STATUSES = ("met", "at_risk", "missed")


@dataclass(frozen=True)
class Kpi:
    key: str
    value: str
    delta: str | None
    colour: str


def kpi_text(value, kind: str, t) -> str:
    """A plan-and-check number as its card shows it: rates as percentages to one place, the index to two."""
    if value is None or value != value:
        return t("none")
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "index":
        return f"{value:.2f}"
    return f"{int(value):,}"


def kpi_delta(now, before, kind: str) -> str | None:
    if now is None or before is None or now != now or before != before:
        return None
    text = f"{(now - before) * 100:+.1f} pp" if kind == "rate" else f"{now - before:+,.2f}" if kind == "index" \
        else f"{now - before:+,.0f}"
    return None if text.lstrip("+-").split(" ")[0].strip("0.") == "" else text


def kpis(section: str, now: dict, before: dict, t) -> list[Kpi]:
    """The section's cards from metrics.plan_check for the period and the one before it."""
    return [Kpi(key, kpi_text(now[section][key], kind, t), kpi_delta(now[section][key], before[section][key], kind),
                colour) for key, kind, colour in KPIS[section]]


def _named(rows: pd.DataFrame, names: dict, stored: str = "unit_name") -> pd.Series:
    """Each row's unit as the viewer reads it (its label), else the stored name, else its code."""
    return rows["unit"].map(names).fillna(rows[stored] if stored in rows else rows["unit"])


def table(rows: pd.DataFrame, columns: list[str], t) -> pd.DataFrame:
    """The columns, dates as dates (not midnight timestamps), headed in the viewer's language (plan_col_<name>)."""
    shown = rows[columns].copy()
    for column in shown.select_dtypes("datetime").columns:
        shown[column] = shown[column].dt.date
    return shown.rename(columns={c: t(f"plan_col_{c}") for c in columns})


def _percent(values) -> list:
    return [None if v is None or v != v else round(float(v) * 100, 1) for v in values]


# ---------------------------------------------------------------------------------------------
# Objectives


def objectives(query, names: dict, t, drilled: str | None) -> dict:
    """Each unit's weighted score rolled up its subtree with status counts; for the drilled unit (None: the
    filter's), the objectives behind its score, their monthly actuals and the links to findings raised."""
    units = query("objective_scores_by_unit")
    units = units.assign(label=_named(units, names, "name"), score_pct=_percent(units["score"]))
    # the chart compares the units one level below the top one (its own numbers are the KPI row)
    below = units[units["depth"] == units["depth"].min() + 1] if len(units) else units
    shown = below if len(below) else units
    extra = {} if drilled is None else {"unit": drilled}
    rows = query("objective_rows", **extra)
    links = query("objective_findings", **extra)
    rows = rows.merge(links, on=["unit", "code"], how="left")
    rows = rows.assign(
        unit_name=_named(rows, names),
        status_text=[t(f"objective_status_{s}") if isinstance(s, str) else t("objective_status_none")
                     for s in rows["status"]],
        attainment_pct=_percent(rows["attainment"]),
        direction_text=[t(f"objective_direction_{d}") for d in rows["direction"]],
        nonconformity_status_text=[t(f"status_{s}") if isinstance(s, str) else None
                                   for s in rows["nonconformity_status"]],
    )
    actuals = query("objective_actual_rows", **extra)
    return {"units": units, "chart_units": shown, "rows": rows, "actuals": actuals.assign(unit_name=_named(actuals, names))}


def objective_rows_table(rows: pd.DataFrame, t) -> pd.DataFrame:
    return table(rows,
                 ["unit_name", "code", "name", "status_text", "attainment_pct", "value", "target_to_date", "month",
                  "nonconformity", "nonconformity_status_text", "direction_text", "weight", "owner", "target",
                  "measure"], t)


def objective_actuals_table(actuals: pd.DataFrame, t) -> pd.DataFrame:
    return table(actuals,
                 ["unit_name", "code", "name", "month", "actual", "evidence"], t)


def objective_units_table(units: pd.DataFrame, t) -> pd.DataFrame:
    indented = units.assign(unit_name=["\u3000" * int(d - units["depth"].min()) + str(n)
                                       for d, n in zip(units["depth"], units["label"])])
    return table(indented, ["unit_name", "objectives", "with_status", "met", "at_risk", "missed", "score_pct"], t)


def objective_choices(rows: pd.DataFrame, names: dict) -> dict[tuple[str, str], str]:
    """The year's objectives shown, to enter an actual for: (unit, code) → how the picker names it."""
    return {(u, c): f"{names.get(u, u)} · {c} {n}" for u, c, n in zip(rows["unit"], rows["code"], rows["name"])}


def missed_choices(to_raise: pd.DataFrame, names: dict) -> dict[tuple, str]:
    """The missed objectives still to raise a finding: (unit, year, code) → how the picker names it."""
    return {(u, int(y), c): f"{names.get(u, u)} · {c} {n} · {a:.1%}"
            for u, y, c, n, a in zip(to_raise["unit"], to_raise["year"], to_raise["code"], to_raise["name"],
                                     to_raise["attainment"])}


# ---------------------------------------------------------------------------------------------
# The inspection programme


def inspections(query, names: dict, t, drilled: str | None, lang: str = "zh-Hans") -> dict:
    """Planned against performed by month, overdue inspections, units × criteria coverage, each unit's score,
    and for the drilled unit the failed items behind its score with their findings (得分反查), each criterion
    titled in `lang` (the stored title where it has no English one)."""
    rows = query("inspection_rows")
    rows = rows.assign(unit_name=_named(rows, names), score_pct=_percent(rows["score"]),
                       kind_text=[t(f"inspection_kind_{k}") for k in rows["kind"]])
    months = pd.to_datetime(rows["planned_on"]).dt.to_period("M").dt.start_time
    monthly = (rows.assign(month=months, performed=~rows["is_overdue"].astype(bool))
               .groupby("month", as_index=False).agg(due=("ref", "size"), performed=("performed", "sum")))
    scores = query("inspection_scores_by_unit")
    scores = scores.assign(label=_named(scores, names), score_pct=_percent(scores["score"]))
    coverage = query("inspection_coverage")
    coverage = coverage.assign(label=_named(coverage, names))
    failed = query("inspection_failed_items", lang=lang, **({} if drilled is None else {"unit": drilled}))
    failed = failed.assign(unit_name=_named(failed, names), criterion_title=failed["criterion_label"],
                           nonconformity_status_text=[t(f"status_{s}") if isinstance(s, str) else None
                                                      for s in failed["nonconformity_status"]])
    return {"rows": rows, "overdue": rows[rows["is_overdue"].astype(bool)], "monthly": monthly, "scores": scores,
            "coverage": coverage, "failed": failed}


def overdue_table(overdue: pd.DataFrame, t) -> pd.DataFrame:
    return table(overdue.rename(columns={"ref": "inspection"}),
                 ["inspection", "unit_name", "kind_text", "planned_on", "inspector", "days_overdue"], t)


def scores_table(scores: pd.DataFrame, t) -> pd.DataFrame:
    return table(scores.drop(columns="unit_name").rename(columns={"label": "unit_name"}),
                 ["unit_name", "due", "performed", "overdue", "failed", "unlinked_failures", "score_pct"], t)


def failed_table(failed: pd.DataFrame, t) -> pd.DataFrame:
    return table(failed,
                 ["unit_name", "inspection", "performed_on", "criterion", "criterion_title", "points_awarded",
                  "points_possible", "note", "nonconformity", "nonconformity_status_text"], t)


def unlinked_choices(failed: pd.DataFrame) -> dict[tuple[str, str], str]:
    """The failed items that name no finding yet: (inspection, criterion) → how the picker names it."""
    open_ = failed[failed["nonconformity"].isna()]
    return {(i, c): f"{u} · {i} · {c} {title or ''}".rstrip()
            for i, c, u, title in zip(open_["inspection"], open_["criterion"], open_["unit_name"],
                                      open_["criterion_title"])}


# ---------------------------------------------------------------------------------------------
# Satisfaction


def satisfaction(query, names: dict, t) -> dict:
    """Per (unit, wave) the index with its 95 % interval (none below two respondents) and the satisfied and
    dissatisfied shares; each unit's latest wave in the period for the fair comparison; the items and their
    findings."""
    waves = metrics.satisfaction_intervals(query("satisfaction_by_unit_wave"))
    shares = query("satisfaction_shares_by_unit_wave")
    waves = waves.merge(shares, on=["unit", "wave"], how="left")
    waves = waves.assign(label=_named(waves, names, "name"),
                         satisfied_pct=_percent(waves["satisfied_share"]),
                         dissatisfied_pct=_percent(waves["dissatisfied_share"]))
    latest = waves.groupby("unit", sort=False).tail(1)
    items = query("survey_item_rows")
    items = items.assign(unit_name=_named(items, names),
                         nonconformity_status_text=[t(f"status_{s}") if isinstance(s, str) else None
                                                    for s in items["nonconformity_status"]])
    return {"waves": waves, "latest": latest, "items": items,
            "dissatisfied": items[items["is_dissatisfied_item"].astype(bool)]}


def waves_table(waves: pd.DataFrame, t) -> pd.DataFrame:
    shown = waves.assign(index=waves["index"].round(2), lower=waves["lower"].round(2), upper=waves["upper"].round(2))
    return table(shown.rename(columns={"label": "unit_name"}),
                 ["unit_name", "wave", "respondents", "answers", "index", "lower", "upper", "satisfied_pct",
                  "dissatisfied_pct"], t)


def dissatisfied_table(items: pd.DataFrame, t) -> pd.DataFrame:
    shown = items.assign(mean_score=items["mean_score"].round(2))
    return table(shown,
                 ["unit_name", "wave", "item", "answers", "mean_score", "nonconformity", "nonconformity_status_text",
                  "nonconformity_closed_on"], t)


def dissatisfied_choices(items: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """The dissatisfied (unit, wave, item) that have raised no finding yet → how the picker names each."""
    open_ = items[items["is_dissatisfied_item"].astype(bool) & items["nonconformity"].isna()]
    return {(u, w, i): f"{name} · {w} · {i} · {m:.2f}"
            for u, w, i, name, m in zip(open_["unit"], open_["wave"], open_["item"], open_["unit_name"],
                                        open_["mean_score"])}
