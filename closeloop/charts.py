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
    return go.Figure(data, layout=dict(
        margin=dict(l=8, r=8, t=8, b=8),
        height=height,
        font=dict(family=FONT),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        **extra,
    ))


def opened_closed(monthly: pd.DataFrame, t) -> go.Figure:
    """Bars of opened and closed per month; the open backlog at each month's end as a line."""
    months = monthly["month"].dt.strftime("%Y-%m") if len(monthly) else []
    data = [
        go.Bar(name=t("opened"), x=months, y=monthly["opened"], marker_color=OPENED),
        go.Bar(name=t("closed"), x=months, y=monthly["closed"], marker_color=CLOSED),
        go.Scatter(name=t("backlog"), x=months, y=monthly["backlog"], mode="lines+markers",
                   line=dict(color=BACKLOG, width=2), yaxis="y2"),
    ]
    return _figure(
        data,
        barmode="group",
        xaxis=dict(type="category"),
        yaxis=dict(title=t("count"), rangemode="tozero", tickformat=",d"),
        yaxis2=dict(title=t("backlog"), overlaying="y", side="right", rangemode="tozero", showgrid=False,
                    tickmode="auto", tickformat=",d"),
    )


def aging(buckets: dict[str, int], t) -> go.Figure:
    """Open items by age bucket, youngest first."""
    data = go.Bar(
        x=list(buckets), y=list(buckets.values()), marker_color=list(AGING_COLOURS),
        text=list(buckets.values()), textposition="outside",
    )
    return _figure(data, xaxis=dict(title=t("age_days"), type="category"),
                   yaxis=dict(title=t("count"), rangemode="tozero", tickformat=",d"))


def top_overdue(units: pd.DataFrame, label: str, t) -> go.Figure:
    """Horizontal bars, most overdue at the top; `label` names the column to show."""
    ordered = as_text(units, label).iloc[::-1]
    data = go.Bar(
        x=ordered["overdue"], y=ordered[label], orientation="h", marker_color=OVERDUE,
        text=ordered["overdue"], textposition="outside", customdata=ordered["unit"],
        hovertemplate="%{y} (%{customdata}): %{x}<extra></extra>",
    )
    return _figure(data, xaxis=dict(title=t("overdue"), rangemode="tozero"), yaxis=dict(type="category"))


def pareto(counts: pd.DataFrame, label: str, t, value: str = "opened", key: str | None = None) -> go.Figure:
    """Bars by count, most first, with the cumulative share as a line on a 0–100 % axis.

    `key` names the column whose value a click hands back (customdata).
    """
    custom = counts[key] if key else None
    counts = as_text(counts, label)
    data = [
        go.Bar(name=t("count"), x=counts[label], y=counts[value], marker_color=OPENED, customdata=custom),
        go.Scatter(name=t("cumulative_share"), x=counts[label], y=counts["cumulative_share"],
                   mode="lines+markers", yaxis="y2", line=dict(color=BACKLOG), customdata=custom),
    ]
    return _figure(
        data,
        xaxis=dict(type="category"),
        yaxis=dict(title=t("count"), rangemode="tozero", tickformat=",d"),
        yaxis2=dict(title=t("cumulative_share"), overlaying="y", side="right", range=[0, 1.05],
                    tickformat=".0%", tickmode="array", tickvals=[0, 0.25, 0.5, 0.75, 1], showgrid=False),
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


def funnel(units: pd.DataFrame, limits: pd.DataFrame, p0: float, label: str, t) -> go.Figure:
    """Each unit's rate against its volume, inside 95 % and 99.8 % limits around the organisation's rate."""
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
    data.append(go.Scatter(
        x=units["volume"], y=units["rate"], mode="markers+text", name=t("units_label"),
        text=[name if flag else "" for name, flag in zip(units[label], units["outside"])],
        textposition="top center", marker=dict(color=colours, size=9), customdata=units[["unit"]].to_numpy(),
        hovertemplate="%{customdata[0]} %{text}<br>n=%{x}<br>%{y:.1%}<extra></extra>",
    ))
    fig = _figure(data, height=420, xaxis=dict(title=t("volume"), rangemode="tozero"),
                  yaxis=dict(title=t("rate"), tickformat=".0%", rangemode="tozero"))
    return fig.add_hline(y=p0, line=dict(color="#444", width=1))


def recurrence_trend(periods: pd.DataFrame, t) -> go.Figure:
    """Recurrence rate and repeat-after-closure rate per month or quarter."""
    x = periods["period_start"].astype(str)
    custom = periods[["period_start"]].astype(str).to_numpy()
    data = [
        go.Scatter(name=t("kpi_recurrence_rate"), x=x, y=periods["recurrence_rate"], mode="lines+markers",
                   line=dict(color=OPENED), customdata=custom),
        go.Scatter(name=t("repeat_after_closure_rate"), x=x, y=periods["repeat_after_closure_rate"],
                   mode="lines+markers", line=dict(color=BACKLOG), customdata=custom),
    ]
    return _figure(data, xaxis=dict(type="category"), yaxis=dict(tickformat=".0%", rangemode="tozero"))


def repeat_heatmap(cells: pd.DataFrame, label: str, t) -> go.Figure:
    """Units (rows) × criteria (columns), repeats in each cell.

    Drawn as square scatter markers rather than go.Heatmap: Streamlit reports clicks on scatter
    points, not on heatmap cells, and a click here opens the repeat chains behind the cell. Dark
    cells carry white numbers: one trace per text colour, sharing one colour axis (a colour per
    point is validated point by point, most of the figure's time at a thousand cells).
    """
    cells = as_text(cells, label)
    units = list(dict.fromkeys(cells[label]))
    dark = cells["repeats"] > cells["repeats"].max() / 2
    data = [
        go.Scatter(
            x=part["criterion"], y=part[label], mode="markers+text", text=part["repeats"], showlegend=False,
            marker=dict(symbol="square", size=30, color=part["repeats"], coloraxis="coloraxis",
                        line=dict(color="#fff", width=1)),
            textfont=dict(color=colour), customdata=part[["unit", "criterion"]].to_numpy(),
            hovertemplate="%{y} · %{x}: %{text}<extra></extra>",
        )
        for colour, part in (("#222", cells[~dark]), ("#fff", cells[dark]))
        if len(part)
    ]
    return _figure(data, height=max(320, 34 * len(units) + 100),
                   coloraxis=dict(colorscale="Reds", cmin=0, colorbar=dict(title=t("repeats"))),
                   xaxis=dict(type="category", title=t("criterion"), categoryorder="category ascending"),
                   yaxis=dict(type="category", autorange="reversed", categoryorder="array", categoryarray=units))


def systemic(criteria: pd.DataFrame, label: str, t) -> go.Figure:
    """Criteria by how many units failed them in the period, most widespread on top."""
    top = as_text(criteria.head(15), label).iloc[::-1]
    data = go.Bar(
        x=top["units"], y=top[label], orientation="h", marker_color=OVERDUE, customdata=top[["criterion"]].to_numpy(),
        text=[f"{u:,} ({s:.0%})" for u, s in zip(top["units"], top["unit_share"])], textposition="outside",
        cliponaxis=False, hovertemplate="%{y}: %{x}<extra></extra>",
    )
    # room on the right for the longest bar's label, which was cut off at the plot's edge
    widest = float(top["units"].max()) if len(top) else 1.0
    return _figure(data, height=max(320, 26 * len(top) + 80),
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


def on_time_trend(quarters: pd.DataFrame, t) -> go.Figure:
    x = quarters["quarter_start"].astype(str)
    data = go.Bar(x=x, y=quarters["on_time_rate"], marker_color=CLOSED,
                           customdata=quarters[["quarter_start"]].astype(str).to_numpy(),
                           text=["" if pd.isna(r) else f"{r:.0%}" for r in quarters["on_time_rate"]], textposition="outside")
    return _figure(data, xaxis=dict(type="category"), yaxis=dict(tickformat=".0%", range=[0, 1.1]))


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
                   yaxis=dict(title=t("count"), rangemode="tozero"))


def _svg_text(value):
    """Plotly reads <a href>, <b> … in a label as markup: stored text shows as written with its marks as
    entities (a unit named with a link is not a live link in the chart)."""
    if not isinstance(value, str):
        return value
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def as_text(rows: pd.DataFrame, label: str) -> pd.DataFrame:
    """`rows` with its `label` column of stored names made safe to show in a figure."""
    return rows.assign(**{label: rows[label].map(_svg_text)}) if len(rows) else rows
