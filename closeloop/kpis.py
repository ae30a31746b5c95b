"""The Overview's KPI row: which contract keys, how each reads, and which way is good."""

from __future__ import annotations

import streamlit as st

# (contract key, kind, delta colour): "inverse" where a rise is bad news.
KPIS = (
    ("open", "count", "inverse"),
    ("overdue", "count", "inverse"),
    ("opened_in_period", "count", "off"),
    ("closed_in_period", "count", "normal"),
    ("on_time_closure_rate", "rate", "normal"),
    ("median_days_to_close_km", "days", "inverse"),
    ("recurrence_rate", "rate", "inverse"),
    ("actions_overdue", "count", "inverse"),
)


def value_text(value, kind: str, t) -> str:
    if value is None:
        return t("none")
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "days":
        return f"{value:.0f}"
    return f"{value:,}"


def delta_text(now, before, kind: str) -> str | None:
    if now is None or before is None:
        return None
    if kind == "rate":
        return f"{(now - before) * 100:+.1f} pp"
    return f"{now - before:+,.0f}"


def row(now: dict, before: dict, t, window_days: int) -> None:
    """Two rows of four bordered metrics, each in a container keyed kpi-<contract key>."""
    columns = st.columns(4) + st.columns(4)
    for column, (key, kind, colour) in zip(columns, KPIS):
        with column.container(key=f"kpi-{key}"):
            st.metric(
                t(f"kpi_{key}"),
                value_text(now[key], kind, t),
                delta_text(now[key], before[key], kind),
                delta_color=colour,
                delta_description=t("median_not_reached") if kind == "days" and now[key] is None
                else t("vs_previous"),
                help=t(f"kpi_help_{key}", window=window_days, open=now["actions_open"]),
                border=True,
            )
