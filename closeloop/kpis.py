"""The Overview's KPI row: which contract keys, how each reads, and which way is good."""

from __future__ import annotations

# The contract's measures the pages show, each once: (key, how it reads, the Overview card's delta colour,
# which way is better when My unit ranks siblings on it). The colour is "inverse" where a rise is bad news;
# None: not an Overview card. Rank 1 is the best; None: not ranked (opened and closed in the period say how
# much there was, not how well it went).
MEASURES = (
    ("open", "count", "inverse", "lower"),
    ("overdue", "count", "inverse", "lower"),
    ("overdue_rate", "rate", None, "lower"),
    ("opened_in_period", "count", "off", None),
    ("closed_in_period", "count", "normal", None),
    ("on_time_closure_rate", "rate", "normal", "higher"),
    ("median_days_to_close_km", "days", "inverse", "lower"),
    ("recurrence_rate", "rate", "inverse", "lower"),
    ("actions_overdue", "count", "inverse", "lower"),
)
# The Overview's KPI row, in its order: (key, kind, delta colour)
KPIS = tuple((key, kind, colour) for key, kind, colour, _ in MEASURES if colour)


def value_text(value, kind: str, t) -> str:
    if value is None or value != value:  # None, or NaN from a table
        return t("none")
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "days":
        return f"{value:.0f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"  # a median of counts can fall between two


def delta_text(now, before, kind: str) -> str | None:
    """The change since the previous period as shown, or None when there is none to show: a change that
    rounds to nothing drew a red "↑ +0"."""
    if now is None or before is None:
        return None
    if kind == "rate":
        text = f"{(now - before) * 100:+.1f} pp"
    else:
        text = f"{now - before:+,.0f}"
    return None if text.lstrip("+-").startswith(("0 ", "0.0 ")) or text.lstrip("+-") in ("0", "0.0") else text


def scorecard_table(table, t):
    """metrics.scorecard rows as text in the viewer's language."""
    kinds = {key: kind for key, kind, _ in KPIS}
    return table.assign(
        kpi=[t(f"kpi_{k}") for k in table["kpi"]],
        unit=[value_text(v, kinds[k], t) for k, v in zip(table["kpi"], table["unit"])],
        parent=[value_text(v, kinds[k], t) for k, v in zip(table["kpi"], table["parent"])],
        peers_median=[value_text(v, kinds[k], t) for k, v in zip(table["kpi"], table["peers_median"])],
    ).rename(columns={"kpi": t("col_kpi"), "unit": t("col_this_unit"), "parent": t("col_parent"),
                      "peers_median": t("col_peers_median")})


# 三色督办's colours as cell tints, light enough for the counts written on them to read
DUE_STATUS_TINTS = {"on_track": "#c8e6c9", "due_soon": "#fff59d", "overdue": "#ffcdd2"}


def due_status_table(rows, label: str, t):
    """queries/due_status_by_unit.sql as a table in the viewer's language, each count tinted with its colour
    (a zero left plain, so the colours mark where the items are)."""
    columns, tints = {}, {}
    for kind in ("findings", "actions"):
        for status, colour in DUE_STATUS_TINTS.items():
            columns[f"{kind}_{status}"] = f"{t('due_status_' + kind)} · {t('due_status_' + status)}"
            tints[columns[f"{kind}_{status}"]] = colour
    table = rows[[label, *columns]].rename(columns={label: t("col_unit_name"), **columns})
    return table.style.apply(
        lambda column: [f"background-color: {tints[column.name]}; color: #1b1b1b" if v else "" for v in column],
        subset=list(tints),
    )


# myunit: the KPIs a unit is ranked on among its siblings: (key, kind, which way is better)
RANKED = tuple((key, kind, better) for key, kind, _, better in MEASURES if better)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st (English)."""
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def rank_text(place: tuple[int, int] | None, lang: str, t) -> str:
    """"3rd of 7" / "第3名/共7"; the catalog's "not ranked" without a place."""
    if place is None:
        return t("rank_none")
    return t("rank_of", rank=ordinal(place[0]) if lang == "en" else place[0], of=place[1])
