"""Plotly figures from aggregated rows: DataFrame in, figure out (graph_objects, which builds fast)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

OPENED, CLOSED, BACKLOG, OVERDUE = "#4C78A8", "#54A24B", "#E45756", "#F58518"
PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D"]
AGING_COLOURS = ("#9ECAE9", "#6BAED6", "#FDAE6B", "#F58518", "#E45756")
FONT = "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"


def _figure(data, height: int = 320, **extra) -> go.Figure:
    """The traces with the house layout, given whole: update_layout validates it key by key, 2–5× slower,
    and building figures was a third of a page's server time."""
    return go.Figure(data, layout={
        "margin": dict(l=8, r=8, t=8, b=8),
        "height": height,
        "font": dict(family=FONT),
        "legend": dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        **extra,
    })


def count_axis(values, **extra) -> dict:
    """An axis of counts: whole numbers only, and under five one tick per number (an empty chart's axis
    read 1, 1, 1, 0, 0, 0: ticks at fifths, each rounded to a whole number)."""
    top = max((float(v) for v in values if pd.notna(v)), default=0.0)
    axis = dict(rangemode="tozero", tickformat=",d", **extra)
    if top < 5:
        axis.update(dtick=1, range=[0, max(top, 1.0) * 1.15])
    return axis


def period_labels(starts, grain: str = "month", partial=None) -> list[str]:
    """"2026-03" for a month, "2026-Q1" for a quarter (one form on every chart); a period the chosen dates
    cut short ends in " *" (see `partial_note`): its low bar is the calendar's doing, not the units'."""
    starts = pd.to_datetime(pd.Series(starts, dtype="object"))
    if grain == "quarter":
        labels = [f"{d.year}-Q{(d.month - 1) // 3 + 1}" for d in starts]
    else:
        labels = [f"{d.year}-{d.month:02d}" for d in starts]
    flags = [False] * len(labels) if partial is None else [bool(p) for p in partial]
    return [label + " *" if flag else label for label, flag in zip(labels, flags)]


def partial_note(rows: pd.DataFrame, t) -> list[dict]:
    """The key to " *", at the top right beside the legend, when a period on the axis is partial (under
    the axis it ran into the month labels, which a narrow chart turns upright)."""
    if "partial" not in rows or not rows["partial"].any():
        return []
    return [dict(text=t("partial_period_note"), xref="paper", yref="paper", x=1, y=1.02, xanchor="right",
                 yanchor="bottom", showarrow=False, font=dict(size=11, color="#666"))]


def _partial_opacity(rows: pd.DataFrame):
    return [0.45 if flag else 1.0 for flag in rows["partial"]] if "partial" in rows else 1.0


def opened_closed(monthly: pd.DataFrame, t) -> go.Figure:
    """Bars of opened and closed per month; the open backlog at each month's end as a line. A month the
    period or the as-of date cuts short is drawn pale and marked (its low bars are not a drop)."""
    months = period_labels(monthly["month"], "month", monthly.get("partial")) if len(monthly) else []
    faded = _partial_opacity(monthly)
    starts = [str(m)[:10] for m in monthly["month"]]

    def clicked(measure: str) -> list:  # what a click hands back: the month and what was counted in it
        return [[start, measure] for start in starts]

    data = [
        go.Bar(name=t("opened"), x=months, y=monthly["opened"], marker=dict(color=OPENED, opacity=faded),
               customdata=clicked("opened")),
        go.Bar(name=t("closed"), x=months, y=monthly["closed"], marker=dict(color=CLOSED, opacity=faded),
               customdata=clicked("closed")),
        go.Scatter(name=t("backlog"), x=months, y=monthly["backlog"], mode="lines+markers",
                   line=dict(color=BACKLOG, width=2), yaxis="y2", customdata=clicked("backlog")),
    ]
    notes = partial_note(monthly, t)
    return _figure(
        data,
        barmode="group",
        xaxis=dict(type="category"),
        yaxis=count_axis([*monthly["opened"], *monthly["closed"]], title=t("count")),
        yaxis2=count_axis(monthly["backlog"], title=t("backlog"), overlaying="y", side="right", showgrid=False),
        annotations=notes,
    )


def aging(buckets: dict[str, int], t) -> go.Figure:
    """Open items by age bucket, youngest first."""
    data = go.Bar(
        x=list(buckets), y=list(buckets.values()), marker_color=list(AGING_COLOURS),
        text=list(buckets.values()), textposition="outside", customdata=[[bucket] for bucket in buckets],
    )
    top = max(buckets.values(), default=0)
    return _figure(data, xaxis=dict(title=t("age_days"), type="category"),
                   yaxis=count_axis(buckets.values(), title=t("count"), range=[0, max(top, 1) * 1.2]),
                   margin=dict(l=8, r=8, t=28, b=8))


def top_overdue(units: pd.DataFrame, label: str, t) -> go.Figure:
    """Horizontal bars, most overdue at the top; `label` names the column to show."""
    ordered = as_text(units, label).iloc[::-1]
    data = go.Bar(
        x=ordered["overdue"], y=ordered[label], orientation="h", marker_color=OVERDUE,
        text=ordered["overdue"], textposition="outside", cliponaxis=False, customdata=ordered["unit"],
        hovertemplate="%{y} (%{customdata}): %{x}<extra></extra>",
    )
    # room right of the longest bar for its number, and above the top bar for the chart's toolbar
    return _figure(data, xaxis=count_axis(ordered["overdue"], title=t("overdue"),
                                          range=[0, max(float(ordered["overdue"].max() or 0), 1) * 1.15]),
                   yaxis=dict(type="category"), margin=dict(l=8, r=24, t=32, b=8))


PARETO_ROWS = 20


def pareto(counts: pd.DataFrame, label: str, t, value: str = "opened", key: str | None = None) -> go.Figure:
    """Bars by count, most first from the top, with the cumulative share as a line on a 0–100 % axis above.

    Horizontal, so names read level in Chinese and English alike (rotated Chinese titles could not be
    read, and long English names squashed the plot); the first PARETO_ROWS, with the cumulative share
    still counted over all. `key` names the column whose value a click hands back (customdata).
    """
    counts = as_text(counts, label).head(PARETO_ROWS).iloc[::-1]
    custom = counts[[key]].to_numpy() if key else None
    data = [
        go.Bar(name=t("count"), y=counts[label], x=counts[value], orientation="h", marker_color=OPENED,
               customdata=custom, text=counts[value], textposition="outside", cliponaxis=False,
               hovertemplate="%{y}: %{x}<extra></extra>"),
        go.Scatter(name=t("cumulative_share"), y=counts[label], x=counts["cumulative_share"], xaxis="x2",
                   mode="lines+markers", line=dict(color=BACKLOG), customdata=custom,
                   hovertemplate="%{y}: %{x:.0%}<extra></extra>"),
    ]
    top = max(float(counts[value].max()), 1.0) if len(counts) else 1.0
    return _figure(
        data,
        height=max(264, 24 * len(counts) + 134),
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, x=0),
        # the share's axis along the top, and above it room for the chart's toolbar, which covered it
        margin=dict(l=8, r=24, t=60, b=64),
        yaxis=dict(type="category", automargin=True),
        xaxis=count_axis(counts[value], title=t("count"), range=[0, top * 1.15]),
        xaxis2=dict(overlaying="x", side="top", range=[0, 1.05], tickformat=".0%", tickmode="array",
                    tickvals=[0, 0.25, 0.5, 0.75, 1], showgrid=False),
    )


TREEMAP_LEVELS = 3


def unit_treemap(rollup: pd.DataFrame, label: str, t) -> go.Figure:
    """The unit tree sized by findings opened in the period, coloured by the share of open items overdue.

    Only the levels it draws are sent (a click chooses the unit, and the tree below it comes then): with
    tens of thousands of units, the rest was most of the figure and of the page's time.
    """
    shown = as_text(rollup, label)
    shown = shown[(shown["opened"] > 0) & (shown["depth"] < shown["depth"].min() + TREEMAP_LEVELS)]
    ids = set(shown["code"])
    parents = [p if p in ids else "" for p in shown["parent_code"]]
    data = go.Treemap(
        ids=shown["code"], labels=shown[label], parents=parents, values=shown["opened"],
        branchvalues="total", maxdepth=TREEMAP_LEVELS, customdata=shown[["code"]].to_numpy(),
        marker=dict(colors=shown["overdue_share"].fillna(0), colorscale="OrRd", cmin=0, cmax=1,
                    colorbar=dict(title=t("overdue_share"), tickformat=".0%")),
        hovertemplate="%{label}<br>" + t("opened") + ": %{value}<br>" + t("overdue_share")
                      + ": %{color:.0%}<extra></extra>",
    )
    return _figure(data, height=460)


FUNNEL_NAMED = 8


def funnel(units: pd.DataFrame, limits: pd.DataFrame, p0: float, label: str, t,
           goal: tuple[float, str] | None = None) -> go.Figure:
    """Each unit's rate against its volume, inside 95 % and 99.8 % limits around the organisation's rate; the
    rate's target as a goal line where one is set."""
    units = as_text(units, label)
    data = [
        go.Scatter(
            x=limits["n"], y=limits[f"{side}_{coverage}"], mode="lines", hoverinfo="skip",
            line=dict(color="#888", dash=dash, width=1), showlegend=side == "upper",
            name=t(f"limit_{coverage.replace('.', '_')}"),
        )
        for coverage, dash in (("0.95", "dash"), ("0.998", "dot"))
        for side in ("lower", "upper")
    ]
    colours = [BACKLOG if flag else OPENED for flag in units["outside"]]
    # Names of flagged units overlapped when many were flagged: the FUNNEL_NAMED farthest from the
    # organisation's rate are named, every point names itself on hover.
    distance = (units["rate"] - p0).abs().where(units["outside"], -1.0)
    named = set(distance.nlargest(FUNNEL_NAMED).index[distance.nlargest(FUNNEL_NAMED) >= 0])
    data.append(go.Scatter(
        x=units["volume"], y=units["rate"], mode="markers+text", name=t("units_label"),
        text=[name if i in named else "" for i, name in zip(units.index, units[label])],
        textposition=["top center" if rate >= p0 else "bottom center" for rate in units["rate"]],
        marker=dict(color=colours, size=9), customdata=units[["unit", label]].to_numpy(),
        hovertemplate="%{customdata[0]} %{customdata[1]}<br>n=%{x}<br>%{y:.1%}<extra></extra>",
    ))
    fig = _figure(data, height=420, xaxis=dict(title=t("volume"), rangemode="tozero"),
                  yaxis=dict(title=t("rate"), tickformat=".0%", rangemode="tozero"))
    return goal_line(fig.add_hline(y=p0, line=dict(color="#444", width=1)), goal)


def recurrence_trend(periods: pd.DataFrame, t, grain: str = "month", goal: tuple[float, str] | None = None) -> go.Figure:
    """Recurrence rate and repeat-after-closure rate per month or quarter; a partial period is marked; the
    recurrence target's goal line where one is set."""
    x = period_labels(periods["period_start"], grain, periods.get("partial")) if len(periods) else []
    custom = periods[["period_start"]].astype(str).to_numpy()
    data = [
        go.Scatter(name=t("kpi_recurrence_rate"), x=x, y=periods["recurrence_rate"], mode="lines+markers",
                   line=dict(color=OPENED), customdata=custom),
        go.Scatter(name=t("repeat_after_closure_rate"), x=x, y=periods["repeat_after_closure_rate"],
                   mode="lines+markers", line=dict(color=BACKLOG), customdata=custom),
    ]
    notes = partial_note(periods, t)
    return goal_line(_figure(data, xaxis=dict(type="category"), yaxis=dict(tickformat=".0%", rangemode="tozero"),
                             annotations=notes), goal)


def repeat_heatmap(cells: pd.DataFrame, label: str, t) -> go.Figure:
    """Criteria (rows, by name) × units (columns), repeats in each cell.

    Criteria run down the side so their names read level in either script (codes along the bottom
    were half unlabelled and said little). Drawn as square scatter markers rather than go.Heatmap:
    Streamlit reports clicks on scatter points, not on heatmap cells, and a click here opens the
    repeat chains behind the cell. Dark cells carry white numbers: one trace per text colour, sharing
    one colour axis (a colour per point is validated point by point, most of the figure's time at a
    thousand cells).
    """
    cells = as_text(cells, label)
    names = cells["criterion_label"] if "criterion_label" in cells else pd.Series([""] * len(cells), index=cells.index)
    rows = [f"{code} {_svg_text(_short(name))}".strip() for code, name in zip(cells["criterion"], names)]
    cells = cells.assign(row=rows)
    order = cells.groupby("row", sort=False)["repeats"].sum().sort_values(ascending=False, kind="stable")
    units = list(cells.groupby(label, sort=False)["repeats"].sum().sort_values(ascending=False, kind="stable").index)
    dark = cells["repeats"] > cells["repeats"].max() / 2
    data = [
        go.Scatter(
            x=part[label], y=part["row"], mode="markers+text", text=part["repeats"], showlegend=False,
            marker=dict(symbol="square", size=24, color=part["repeats"], coloraxis="coloraxis",
                        line=dict(color="#fff", width=1)),
            textfont=dict(color=colour, size=11), customdata=part[["unit", "criterion"]].to_numpy(),
            hovertemplate="%{x} · %{y}: %{text}<extra></extra>",
        )
        for colour, part in (("#222", cells[~dark]), ("#fff", cells[dark]))
        if len(part)
    ]
    return _figure(data, height=max(320, 28 * len(order) + 150),
                   margin=dict(l=8, r=8, t=8, b=8),
                   coloraxis=dict(colorscale="Reds", cmin=0, colorbar=dict(title=t("repeats"))),
                   xaxis=dict(type="category", categoryorder="array", categoryarray=units, side="top",
                              tickangle=-30, automargin=True),
                   yaxis=dict(type="category", autorange="reversed", categoryorder="array",
                              categoryarray=list(order.index), title=t("criterion"), automargin=True))


def _short(name: str, limit: int = 24) -> str:
    """A name cut to `limit` characters with an ellipsis; the hover and the chains below give it whole."""
    if not isinstance(name, str):
        return ""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def systemic(criteria: pd.DataFrame, label: str, t) -> go.Figure:
    """Criteria by how many units failed them in the period, most widespread on top."""
    top = as_text(criteria.head(15), label).iloc[::-1]
    data = go.Bar(
        x=top["units"], y=top[label], orientation="h", marker_color=OVERDUE, customdata=top[["criterion"]].to_numpy(),
        text=[f"{u:,} ({s:.0%})" for u, s in zip(top["units"], top["unit_share"])], textposition="outside",
        cliponaxis=False, hovertemplate="%{y}: %{x}<extra></extra>",
    )
    # room on the right for the longest bar's label, which was cut off at the plot's edge, and above the
    # top bar for the chart's toolbar, which covered that label
    widest = float(top["units"].max()) if len(top) else 1.0
    return _figure(data, height=max(320, 26 * len(top) + 104), margin=dict(l=8, r=8, t=32, b=8),
                   xaxis=dict(title=t("units_failing"), range=[0, widest * 1.18]), yaxis=dict(type="category"))


def survival_curves(curves: pd.DataFrame, quantiles: pd.DataFrame, names: dict, t) -> go.Figure:
    """Kaplan–Meier step curves per group, each median marked where the curve reaches it."""
    data = []
    names = {grp: _svg_text(name) for grp, name in names.items()}
    for colour, (grp, curve) in zip(PALETTE * 10, curves.groupby("grp", sort=True)):
        x = [0, *curve["duration"]]
        y = [1.0, *curve["survival"]]
        data.append(go.Scatter(x=x, y=y, mode="lines", line_shape="hv", name=names.get(grp, grp),
                               line=dict(color=colour), customdata=[[grp]] * len(x),
                               hovertemplate="%{x} " + t("days_unit") + ": %{y:.0%}<extra>%{fullData.name}</extra>"))
        median = quantiles.loc[quantiles["grp"] == grp, "median"]
        if len(median) and pd.notna(median.iloc[0]):
            data.append(go.Scatter(x=[median.iloc[0]], y=[0.5], mode="markers", showlegend=False,
                                   marker=dict(color=colour, size=10, symbol="diamond"), customdata=[[grp]],
                                   hovertemplate=t("median") + ": %{x} " + t("days_unit") + "<extra></extra>"))
    fig = _figure(data, height=420, xaxis=dict(title=t("days_since_found"), rangemode="tozero"),
                  yaxis=dict(title=t("share_still_open"), tickformat=".0%", range=[0, 1.02]))
    return fig.add_hline(y=0.5, line=dict(color="#999", dash="dot", width=1))


def quarterly_quantiles(quantiles: pd.DataFrame, t) -> go.Figure:
    """Median and 90th percentile days to close of the findings opened in each quarter."""
    custom = quantiles[["grp"]].to_numpy()
    data = [
        go.Scatter(name=t("median"), x=quantiles["grp"], y=quantiles["median"], mode="lines+markers",
                   line=dict(color=OPENED), customdata=custom),
        go.Scatter(name=t("p90"), x=quantiles["grp"], y=quantiles["p90"], mode="lines+markers",
                   line=dict(color=BACKLOG, dash="dash"), customdata=custom),
    ]
    return _figure(data, xaxis=dict(type="category"), yaxis=dict(title=t("days_unit"), rangemode="tozero"))


def on_time_trend(quarters: pd.DataFrame, t, goal: tuple[float, str] | None = None) -> go.Figure:
    """The on-time closure rate of each quarter's closures; a partial quarter is marked; the target's goal line
    (`goal`: its value and label) where one is set."""
    x = period_labels(quarters["quarter_start"], "quarter", quarters.get("partial")) if len(quarters) else []
    data = go.Bar(x=x, y=quarters["on_time_rate"], marker_color=CLOSED,
                           customdata=quarters[["quarter_start"]].astype(str).to_numpy(),
                           text=["" if pd.isna(r) else f"{r:.0%}" for r in quarters["on_time_rate"]], textposition="outside")
    notes = partial_note(quarters, t)
    return goal_line(_figure(data, xaxis=dict(type="category"), yaxis=dict(tickformat=".0%", range=[0, 1.1]),
                             annotations=notes), goal)


def phases(medians: dict, t) -> go.Figure:
    """The median days of each phase from finding to verified closure, end to end."""
    names = ("found_to_first_action", "first_to_last_action", "last_action_to_verified")
    data = [
        go.Bar(name=t(f"phase_{n}"), x=[medians[n] or 0], y=[""], orientation="h", marker_color=c,
               text=[f"{medians[n] or 0:.0f}"], textposition="inside")
        for n, c in zip(names, (OPENED, OVERDUE, CLOSED))
    ]
    return _figure(data, height=160, barmode="stack", xaxis=dict(title=t("days_unit")))


def days_to_close_histogram(closed: pd.DataFrame, t, bin_days: int = 15) -> go.Figure:
    """Closed findings by days to close in bins of `bin_days`; a click hands back the bin's first and last day."""
    start = (closed["days_to_close"] // bin_days) * bin_days
    bins = closed.assign(start=start).groupby("start", as_index=False)["closed"].sum()
    data = go.Bar(
        x=bins["start"] + bin_days / 2, y=bins["closed"], width=bin_days * 0.95, marker_color=OPENED,
        customdata=list(zip(bins["start"], bins["start"] + bin_days - 1)),
        hovertemplate="%{customdata[0]}–%{customdata[1]} " + t("days_unit") + ": %{y}<extra></extra>",
    )
    return _figure(data, xaxis=dict(title=t("days_to_close"), rangemode="tozero"),
                   yaxis=count_axis(bins["closed"], title=t("count")))


def _svg_text(value):
    """Plotly reads <a href>, <b> … in a label as markup: stored text shows as written with its marks as
    entities (a unit named with a link is not a live link in the chart)."""
    if not isinstance(value, str):
        return value
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def as_text(rows: pd.DataFrame, label: str) -> pd.DataFrame:
    """`rows` with its `label` column of stored names made safe to show in a figure."""
    return rows.assign(**{label: rows[label].map(_svg_text)}) if len(rows) else rows


def review_trend(rows: pd.DataFrame, t) -> go.Figure:
    """The counts a meeting follows (open, overdue, overdue actions) at each review's as-of date, then now:
    one line each, every point labelled with its value."""
    x = [str(d) for d in rows["as_of"]]
    # overdue findings and overdue actions run close: one labels above its points, the other below
    data = [
        go.Scatter(name=t(f"kpi_{key}"), x=x, y=rows[key], mode="lines+markers+text", text=rows[key],
                   textposition=where, line=dict(color=colour, width=2), cliponaxis=False)
        for key, colour, where in (("open", OPENED, "top center"), ("overdue", BACKLOG, "top center"),
                                   ("actions_overdue", OVERDUE, "bottom center"))
    ]
    values = [*rows["open"], *rows["overdue"], *rows["actions_overdue"]]
    # no title on the count axis: the legend names each line, and a rotated Chinese title could not be read
    return _figure(data, xaxis=dict(type="category", title=t("as_of")), yaxis=count_axis(values))


GOAL = "#2E7D32"


def goal_line(fig: go.Figure, goal: tuple[float, str] | None) -> go.Figure:
    """A target across the chart, dashed, labelled at its right end ("target ≥ 90.0%"); the figure unchanged
    without one."""
    if goal is None:
        return fig
    value, label = goal
    return fig.add_hline(y=value, line=dict(color=GOAL, dash="dash", width=1.5), annotation_text=label,
                         annotation_position="top right", annotation_font=dict(color=GOAL, size=11))
