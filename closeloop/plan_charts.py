"""Plotly figures of the plan-and-check pages, from aggregated rows (graph_objects, as in closeloop.charts)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from closeloop.charts import BACKLOG, CLOSED, OPENED, OVERDUE, _figure, as_text, count_axis

STATUS_COLOURS = {"met": CLOSED, "at_risk": OVERDUE, "missed": BACKLOG}
NEUTRAL = "#BAB0AC"
STATUSES_ORDER = ("met", "at_risk", "missed")


def _floor(percents) -> float:
    """The score axis's start: ten points below the lowest score, on a multiple of ten (scores sit near 100 %,
    where an axis from 0 would show no difference at all); the diamonds are labelled with their values."""
    low = min((float(v) for v in percents if v is not None and v == v), default=0.0)
    return max(0.0, (low // 10) * 10 - 10)


def _bar_height(rows: pd.DataFrame) -> int:
    return max(240, 26 * len(rows) + 90)


def objective_scores(units: pd.DataFrame, t) -> go.Figure:
    """Each unit's weighted score (its subtree's) beside its objectives' counts by status, one row per unit."""
    rows = as_text(units, "label").iloc[::-1]
    data = [go.Bar(name=t(f"objective_status_{s}"), y=rows["label"], x=rows[s], orientation="h",
                   marker_color=STATUS_COLOURS[s], customdata=rows["unit"], xaxis="x",
                   hovertemplate="%{y}: %{x}<extra></extra>") for s in STATUSES_ORDER]
    data.append(go.Scatter(name=t("objective_score"), y=rows["label"], x=rows["score_pct"], xaxis="x2",
                           mode="markers+text", text=[t("none") if v is None else f"{v:.1f}%" for v in rows["score_pct"]],
                           textposition="middle left", marker=dict(color="#333", size=9, symbol="diamond"),
                           customdata=rows["unit"], hovertemplate="%{y}: %{x:.1f}%<extra></extra>"))
    return _figure(data, height=_bar_height(rows), barmode="stack",
                   xaxis=dict(domain=[0, 0.48], **count_axis([*rows["met"] + rows["at_risk"] + rows["missed"]],
                                                             title=t("objective_count_axis"))),
                   xaxis2=dict(domain=[0.55, 1], range=[_floor(rows["score_pct"]), 101],
                               title=t("objective_score_axis"), ticksuffix="%"),
                   yaxis=dict(type="category", automargin=True), margin=dict(l=8, r=8, t=32, b=8))



def planned_performed(monthly: pd.DataFrame, t) -> go.Figure:
    """Inspections due per month of their plan date against those performed."""
    months = [f"{d.year}-{d.month:02d}" for d in pd.to_datetime(monthly["month"])]
    data = [go.Bar(name=t("inspections_due"), x=months, y=monthly["due"], marker_color=NEUTRAL),
            go.Bar(name=t("inspections_performed"), x=months, y=monthly["performed"], marker_color=OPENED)]
    return _figure(data, barmode="group", xaxis=dict(type="category"),
                   yaxis=count_axis(monthly["due"], title=t("count")))


LOWEST = 20  # units on the score chart: the lowest scores, where a review looks first; the table lists them all


def inspection_scores(scores: pd.DataFrame, t) -> go.Figure:
    """The LOWEST units' checklist scores (points awarded / possible), lowest at the top."""
    rows = as_text(scores.dropna(subset=["score_pct"]).sort_values("score_pct").head(LOWEST).iloc[::-1], "label")
    colours = [BACKLOG if v < 90 else OVERDUE if v < 100 else CLOSED for v in rows["score_pct"]]
    data = go.Bar(y=rows["label"], x=rows["score_pct"], orientation="h", marker_color=colours,
                  customdata=rows["unit"], text=[f"{v:.1f}%" for v in rows["score_pct"]], textposition="outside",
                  cliponaxis=False, hovertemplate="%{y}: %{x:.1f}%<extra></extra>")
    low = float(rows["score_pct"].min()) if len(rows) else 0.0
    return _figure(data, height=_bar_height(rows),
                   xaxis=dict(range=[max(0.0, low - 10), 104], ticksuffix="%", title=t("inspection_score_axis")),
                   yaxis=dict(type="category", automargin=True), margin=dict(l=8, r=32, t=8, b=8))


def coverage(cells: pd.DataFrame, t) -> go.Figure:
    """Units (rows) × criteria (columns): covered by a result in the period, or not."""
    grid = cells.pivot_table(index="label", columns="criterion", values="results", aggfunc="sum", sort=False)
    order = list(dict.fromkeys(as_text(cells, "label")["label"]))
    grid.index = [as_text(pd.DataFrame({"label": [v]}), "label")["label"].iloc[0] for v in grid.index]
    grid = grid.reindex(order)
    data = go.Heatmap(z=(grid.to_numpy() > 0).astype(int), x=list(grid.columns), y=list(grid.index),
                      zmin=0, zmax=1, showscale=False, colorscale=[[0, "#F2F2F2"], [1, OPENED]],
                      xgap=1, ygap=1, customdata=grid.to_numpy(),
                      hovertemplate="%{y} · %{x}: %{customdata}<extra></extra>")
    return _figure(data, height=max(240, 16 * len(grid) + 80), xaxis=dict(type="category", side="top"),
                   yaxis=dict(type="category", autorange="reversed", automargin=True),
                   margin=dict(l=8, r=8, t=36, b=8))


def satisfaction_index(latest: pd.DataFrame, overall: float | None, t) -> go.Figure:
    """Each unit's index in its latest wave with its 95 % interval (a small sample's is wide), highest first;
    the dashed line is the whole selection's index. A unit below two respondents has no interval."""
    rows = as_text(latest.sort_values("index"), "label")
    has = rows["lower"].notna()
    data = go.Scatter(
        y=rows["label"], x=rows["index"], mode="markers", marker=dict(color=OPENED, size=10),
        error_x=dict(type="data", symmetric=False, array=(rows["upper"] - rows["index"]).where(has, 0),
                     arrayminus=(rows["index"] - rows["lower"]).where(has, 0), color=OPENED, thickness=2),
        customdata=rows[["unit", "wave", "respondents"]].to_numpy(),
        hovertemplate="%{y} · %{customdata[1]}: %{x:.1f} (n=%{customdata[2]})<extra></extra>",
    )
    shapes = [] if overall is None else [dict(type="line", x0=overall, x1=overall, yref="paper", y0=0, y1=1,
                                              line=dict(color=BACKLOG, dash="dash"))]
    return _figure(data, height=_bar_height(rows), shapes=shapes,
                   xaxis=dict(range=[0, 100], dtick=20, title=t("satisfaction_index_axis")),
                   yaxis=dict(type="category", automargin=True))


def satisfaction_trend(waves: pd.DataFrame, t) -> go.Figure:
    """Each unit's index wave by wave, with its interval."""
    data = []
    for unit, rows in as_text(waves, "label").groupby("unit", sort=False):
        has = rows["lower"].notna()
        data.append(go.Scatter(
            name=rows["label"].iloc[0], x=rows["wave"], y=rows["index"], mode="lines+markers",
            error_y=dict(type="data", symmetric=False, array=(rows["upper"] - rows["index"]).where(has, 0),
                         arrayminus=(rows["index"] - rows["lower"]).where(has, 0), thickness=1),
            hovertemplate="%{x}: %{y:.1f}<extra>%{fullData.name}</extra>"))
    return _figure(data, height=380, xaxis=dict(type="category", title=t("survey_wave")),
                   yaxis=dict(range=[0, 105], title=t("satisfaction_index_axis")),
                   legend=dict(orientation="v", x=1.02, y=1))


def satisfaction_shares(latest: pd.DataFrame, t) -> go.Figure:
    """Satisfied, neither, dissatisfied shares of each unit's answers in its latest wave."""
    rows = as_text(latest.sort_values("satisfied_pct"), "label")
    middle = 100 - rows["satisfied_pct"] - rows["dissatisfied_pct"]
    data = [go.Bar(name=t("answer_satisfied"), y=rows["label"], x=rows["satisfied_pct"], orientation="h",
                   marker_color=CLOSED),
            go.Bar(name=t("answer_neither"), y=rows["label"], x=middle.round(1), orientation="h", marker_color=NEUTRAL),
            go.Bar(name=t("answer_dissatisfied"), y=rows["label"], x=rows["dissatisfied_pct"], orientation="h",
                   marker_color=BACKLOG)]
    return _figure(data, height=_bar_height(rows), barmode="stack", legend=dict(orientation="h", yanchor="bottom",
                                                                                 y=1.02, x=0, traceorder="normal"),
                   xaxis=dict(range=[0, 100], dtick=20, ticksuffix="%"), yaxis=dict(type="category", automargin=True))
