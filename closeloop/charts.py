"""Plotly figures from aggregated rows: DataFrame in, figure out (graph_objects, which builds fast)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

OPENED, CLOSED, BACKLOG, OVERDUE = "#4C78A8", "#54A24B", "#E45756", "#F58518"
AGING_COLOURS = ("#9ECAE9", "#6BAED6", "#FDAE6B", "#F58518", "#E45756")
FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"


def _layout(fig: go.Figure, **extra) -> go.Figure:
    fig.update_layout(
        margin=dict(l=8, r=8, t=8, b=8),
        height=320,
        font=dict(family=FONT),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        **extra,
    )
    return fig


def opened_closed(monthly: pd.DataFrame, t) -> go.Figure:
    """Bars of opened and closed per month; the open backlog at each month's end as a line."""
    months = monthly["month"].dt.strftime("%Y-%m") if len(monthly) else []
    fig = go.Figure([
        go.Bar(name=t("opened"), x=months, y=monthly["opened"], marker_color=OPENED),
        go.Bar(name=t("closed"), x=months, y=monthly["closed"], marker_color=CLOSED),
        go.Scatter(name=t("backlog"), x=months, y=monthly["backlog"], mode="lines+markers",
                   line=dict(color=BACKLOG, width=2), yaxis="y2"),
    ])
    return _layout(
        fig,
        barmode="group",
        xaxis=dict(type="category"),
        yaxis=dict(title=t("count"), rangemode="tozero", tickformat=",d"),
        yaxis2=dict(title=t("backlog"), overlaying="y", side="right", rangemode="tozero", showgrid=False,
                    tickmode="auto", tickformat=",d"),
    )


def aging(buckets: dict[str, int], t) -> go.Figure:
    """Open items by age bucket, youngest first."""
    fig = go.Figure(go.Bar(
        x=list(buckets), y=list(buckets.values()), marker_color=list(AGING_COLOURS),
        text=list(buckets.values()), textposition="outside",
    ))
    return _layout(fig, xaxis=dict(title=t("age_days"), type="category"),
                   yaxis=dict(title=t("count"), rangemode="tozero", tickformat=",d"))


def top_overdue(units: pd.DataFrame, label: str, t) -> go.Figure:
    """Horizontal bars, most overdue at the top; `label` names the column to show."""
    ordered = units.iloc[::-1]
    fig = go.Figure(go.Bar(
        x=ordered["overdue"], y=ordered[label], orientation="h", marker_color=OVERDUE,
        text=ordered["overdue"], textposition="outside", customdata=ordered["unit"],
        hovertemplate="%{y} (%{customdata}): %{x}<extra></extra>",
    ))
    return _layout(fig, xaxis=dict(title=t("overdue"), rangemode="tozero"), yaxis=dict(type="category"))


def pareto(counts: pd.DataFrame, label: str, t) -> go.Figure:
    """Bars by count, most first, with the cumulative share as a line on a 0–100 % axis."""
    fig = go.Figure([
        go.Bar(name=t("count"), x=counts[label], y=counts["opened"], marker_color=OPENED),
        go.Scatter(name=t("cumulative_share"), x=counts[label], y=counts["cumulative_share"],
                   mode="lines+markers", yaxis="y2", line=dict(color=BACKLOG)),
    ])
    return _layout(
        fig,
        xaxis=dict(type="category"),
        yaxis=dict(title=t("count"), rangemode="tozero", tickformat=",d"),
        yaxis2=dict(title=t("cumulative_share"), overlaying="y", side="right", range=[0, 1.05],
                    tickformat=".0%", showgrid=False),
    )
