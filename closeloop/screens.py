"""Each page's numbers, tables and figures for one set of filters, viewer's scope and language: pages draw them,
the meeting pack prints them, the benchmark times them.

Each screen comes in two steps: `<screen>(con, f, scope, lang)` runs the queries, `<screen>_from(...)` turns
their rows into the screen. The benchmark feeds the second step from its own pandas baseline as well.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from pandas.io.formats.style import Styler

from closeloop import charts, i18n, kpis, metrics, plan_screens, review, store, tables, targets
from closeloop.filters import Filters

Charts = dict[str, go.Figure | None]  # catalog key of each chart's title → its figure; None: the card says "no data"


def runner(con, f: Filters, scope: str | None, lang: str | None = None):
    """run(name, **extra): queries/<name>.sql for the filters within the scope, names labelled in `lang` (the
    queries' `label` columns: terms.sql's label())."""
    params = f.params(scope) | ({} if lang is None else {"lang": lang})
    return lambda name, **extra: store.run(con, name, params | extra)


def goal(goals: dict | None, kpi: str, t) -> tuple[float, str] | None:
    """A KPI's target as a chart's goal line (its value and label), or None where none is set."""
    target = (goals or {}).get(kpi)
    return None if target is None else (target.target, t("target_goal", goal=targets.goal_text(target, t)))


def _unless(empty: bool, draw) -> go.Figure | None:
    return None if empty else draw()


def unit_names(tree: pd.DataFrame) -> dict[str, str]:
    """Code → the unit's name as the tree's query labelled it."""
    return dict(zip(tree["code"], tree["label"]))


# ---------------------------------------------------------------------------------------------
# Overview: what is open, what is late, what keeps coming back and how fast we close


@dataclass(frozen=True)
class Overview:
    contract: dict
    previous: dict  # the contract for the period of the same length just before
    opened_closed_monthly: pd.DataFrame
    overdue_by_unit: pd.DataFrame
    opened_by_category: pd.DataFrame
    charts: Charts


def overview(con, f: Filters, scope: str | None, lang: str) -> Overview:
    run, t = runner(con, f, scope, lang), i18n.translator(lang)

    def drawn(query: str, draw):
        # a chart is drawn as soon as its rows are in, while the contracts' queries still run: after every
        # query, the figures took 8 ms of the Overview's 129 at 1M findings
        rows = run(query)
        return rows, draw(rows, t)

    now, before, *drawings = store.together(
        lambda: metrics.contract(con, f, scope), lambda: metrics.contract(con, f.previous(), scope),
        *(lambda query=query, draw=draw: drawn(query, draw) for query, draw in OVERVIEW_CHARTS.values()))
    return _overview(now, before, dict(zip(OVERVIEW_CHARTS, drawings)), t)


def overview_from(now: dict, before: dict, monthly, overdue_units, by_category, lang: str) -> Overview:
    t = i18n.translator(lang)
    rows = (monthly, overdue_units, by_category)
    return _overview(now, before, {key: (r, draw(r, t)) for (key, (_, draw)), r in zip(OVERVIEW_CHARTS.items(), rows)}, t)


# the Overview's charts drawn from rows of their own: the chart's catalog key → its query, and how its rows are drawn
OVERVIEW_CHARTS = {
    "chart_opened_closed": ("opened_closed_monthly", lambda rows, t: charts.opened_closed(rows, t)),
    "chart_top_overdue": ("overdue_by_unit",
                          lambda rows, t: _unless(rows.empty, lambda: charts.top_overdue(rows, "label", t))),
    "chart_pareto_category": ("opened_by_category", lambda rows, t: _unless(
        rows.empty, lambda: charts.pareto(rows, "label", t, key="category"))),
}


def _overview(now: dict, before: dict, drawn: dict, t) -> Overview:
    """drawn: each key of OVERVIEW_CHARTS → its rows and its figure."""
    (monthly, opened_closed), (overdue_units, top_overdue), (by_category, pareto) = (
        drawn[key] for key in OVERVIEW_CHARTS)
    return Overview(now, before, monthly, overdue_units, by_category, {
        "chart_opened_closed": opened_closed,
        "chart_aging": charts.aging(now["aging"], t),
        "chart_top_overdue": top_overdue,
        "chart_pareto_category": pareto,
    })


# ---------------------------------------------------------------------------------------------
# Units: which units carry the most, and how one compares with its parent and its peers


@dataclass(frozen=True)
class Units:
    unit_tree: pd.DataFrame
    unit_rollup: pd.DataFrame
    kpis_by_child_unit: pd.DataFrame  # the units one level below the chosen one (its siblings when it has none)
    organisation: dict  # the contract for the whole organisation: the funnel's mean rate
    open_items: pd.DataFrame  # the first rows
    due_status_by_unit: pd.DataFrame  # the traffic lights of the units the funnel compares
    due_status: Styler  # the same, as the reader reads them, each count tinted with its colour
    names: dict[str, str]
    lineage: list[str]  # the codes from the top of the tree down to the chosen unit
    scorecard: pd.DataFrame | None  # None for the whole organisation
    outside: list[str]  # the names of the units outside the funnel's limits
    charts: Charts


def units(con, f: Filters, scope: str | None, lang: str, measure: str = "overdue") -> Units:
    run = runner(con, f, scope, lang)
    tree = run("unit_tree")
    parent, level = around(tree, f.unit)
    peers = None
    if f.unit is not None:
        above = f.replace(unit=parent)
        peers = tuple(store.together(
            lambda: metrics.contract(con, f, scope), lambda: metrics.contract(con, above, scope) if parent else None,
            lambda: runner(con, above, scope, lang)("kpis_by_child_unit"),
            lambda: runner(con, above, scope)("durations_by_group", split="unit")))
    level_run = runner(con, f.replace(unit=level), scope, lang)
    rollup, level_counts, organisation, items, lights, goals = store.together(
        lambda: run("unit_rollup", levels=charts.TREEMAP_LEVELS), lambda: level_run("kpis_by_child_unit"),
        lambda: metrics.contract(con, f.replace(unit=None), scope), lambda: run("open_items", limit=tables.SHOWN_ROWS),
        lambda: level_run("due_status_by_unit"), lambda: targets.for_unit(con, f.unit))
    return units_from(f, tree, rollup, level_counts, organisation, items, lights, lang, measure, peers, goals)


def around(tree: pd.DataFrame, unit: str | None) -> tuple[str | None, str | None]:
    """The chosen unit's parent, and the unit whose children the funnel compares: the chosen one, or its
    parent when it has none (a unit with no children is compared with its siblings)."""
    lineage = _lineage(tree, unit)
    parent = lineage[-2] if len(lineage) > 1 else None
    return parent, unit if _children(tree, unit) else parent


def units_from(f: Filters, tree, rollup, level_counts, organisation: dict, items, lights, lang: str,
               measure: str = "overdue", peers: tuple | None = None, goals: dict | None = None) -> Units:
    """`peers`, for a chosen unit: its contract, its parent's (None at the top), and the parent's children's
    counts and durations (kpis_by_child_unit, durations_by_group by unit): the scorecard's columns."""
    t = i18n.translator(lang)
    names = unit_names(tree)
    points = metrics.funnel_points(level_counts, measure)
    p0 = metrics.ratio(*((organisation["overdue"], organisation["open"]) if measure == "overdue"
                         else (organisation["repeat_in_period"], organisation["opened_in_period"]))) or 0.0
    points["outside"] = metrics.outside_limits(p0, points["volume"], points["rate"])
    limits = metrics.funnel_limits(p0, int(points["volume"].max()) if len(points) else 1)
    scorecard = None
    if peers is not None:
        mine, parent, counts, durations = peers
        siblings = metrics.unit_kpis(counts, metrics.quantiles_by(metrics.survival_by(durations)))
        scorecard = kpis.scorecard_table(metrics.scorecard(mine, parent, siblings, [k for k, _, _ in kpis.KPIS]), t)
    return Units(
        unit_tree=tree, unit_rollup=rollup, kpis_by_child_unit=level_counts, organisation=organisation,
        open_items=items, due_status_by_unit=lights, due_status=kpis.due_status_table(lights, "label", t),
        names=names, lineage=_lineage(tree, f.unit), scorecard=scorecard,
        outside=list(points.loc[points["outside"], "label"]),
        charts={"chart_unit_tree": charts.unit_treemap(rollup, "label", t),
                "chart_funnel": charts.funnel(points, limits, p0, "label", t, goal(
                    goals, "overdue_share" if measure == "overdue" else "recurrence_rate", t))},
    )


def _lineage(tree: pd.DataFrame, code: str | None) -> list[str]:
    parents = dict(zip(tree["code"], tree["parent_code"]))
    chain = []
    while code is not None and code in parents:
        chain.append(code)
        code = parents[code]
    return chain[::-1]


def _children(tree: pd.DataFrame, code: str | None) -> list[str]:
    if code is None:
        return list(tree.loc[tree["depth"] == tree["depth"].min(), "code"])
    return list(tree.loc[tree["parent_code"] == code, "code"])


# ---------------------------------------------------------------------------------------------
# Recurrence: what keeps coming back, where, and did the corrective action hold


@dataclass(frozen=True)
class Recurrence:
    recurrence_by_period: pd.DataFrame
    repeats_by_unit_criterion: pd.DataFrame
    repeats_by_criterion: pd.DataFrame
    systemic_criteria: pd.DataFrame
    charts: Charts


def recurrence(con, f: Filters, scope: str | None, lang: str, grain: str = "month") -> Recurrence:
    run = runner(con, f, scope, lang)
    return recurrence_from(run("recurrence_by_period", grain=grain), run("repeats_by_unit_criterion"),
                           run("repeats_by_criterion"), run("systemic_criteria"), lang, grain,
                           targets.for_unit(con, f.unit))


def recurrence_from(trend, cells, by_criterion, systemic, lang: str, grain: str = "month",
                    goals: dict | None = None) -> Recurrence:
    t = i18n.translator(lang)
    return Recurrence(trend, cells, by_criterion, systemic, {
        "chart_recurrence_trend": charts.recurrence_trend(trend, t, grain, goal(goals, "recurrence_rate", t)),
        "chart_repeat_heatmap": _unless(cells.empty, lambda: charts.repeat_heatmap(cells, "unit_label", t)),
        "chart_repeat_pareto": _unless(by_criterion.empty, lambda: charts.pareto(
            by_criterion, "label", t, value="repeats", key="criterion")),
        "chart_systemic": _unless(systemic.empty, lambda: charts.systemic(systemic, "label", t)),
    })


# ---------------------------------------------------------------------------------------------
# Time to close: how long closing takes, counting what is still open (Kaplan–Meier), and where the time goes


@dataclass(frozen=True)
class TimeToClose:
    unit_tree: pd.DataFrame
    quantiles: pd.DataFrame  # one row per group: median and 90th percentile days (None: not reached)
    quarterly: pd.DataFrame
    on_time_by_quarter: pd.DataFrame
    closure_phases: dict
    closed_by_days: pd.DataFrame
    group_names: dict[str, str]
    quantile_table: pd.DataFrame  # the quantiles as the reader reads them
    charts: Charts


def time_to_close(con, f: Filters, scope: str | None, lang: str, split: str = "severity") -> TimeToClose:
    run = runner(con, f, scope, lang)
    return time_to_close_from(run("unit_tree"), run("durations_by_group", split=split),
                              run("durations_by_group", split="quarter"), run("on_time_by_quarter"),
                              run("closure_phases"), run("closed_by_days"), lang, split,
                              targets.for_unit(con, f.unit))


def time_to_close_from(tree, by_group, by_quarter, on_time, phases, closed, lang: str,
                       split: str = "severity", goals: dict | None = None) -> TimeToClose:
    t = i18n.translator(lang)
    curves = metrics.survival_by(by_group)
    quantiles = metrics.quantiles_by(curves)
    quarterly = metrics.quantiles_by(metrics.survival_by(by_quarter))
    phases = phases.iloc[0].to_dict()
    names = unit_names(tree) if split == "unit" \
        else {g: t(f"{split}_{g}") for g in quantiles["grp"]}
    not_reached = {"median": t("km_not_reached"), "p90": t("km_not_reached")}
    table = tables.readable(quantiles.assign(grp=quantiles["grp"].map(lambda g: names.get(g, g))), t,
                            missing=not_reached, blank=t("none"))
    return TimeToClose(tree, quantiles, quarterly, on_time, phases, closed, names, table, {
        "chart_km": charts.survival_curves(curves, quantiles, names, t),
        "chart_quarterly_quantiles": charts.quarterly_quantiles(quarterly, t),
        "chart_on_time": charts.on_time_trend(on_time, t, goal(goals, "on_time_closure_rate", t)),
        "chart_phases": _unless(not phases["findings"], lambda: charts.phases(phases, t)),
        "chart_days_to_close": _unless(closed.empty, lambda: charts.days_to_close_histogram(closed, t)),
    })


# ---------------------------------------------------------------------------------------------
# Rectification lists: who owns which action, what is due and what awaits verification


@dataclass(frozen=True)
class Rectification:
    rectification_actions: pd.DataFrame  # the first rows of the view; rows_in_view says how many it holds
    rectification_nonconformities: pd.DataFrame
    charts: Charts


def rectification(con, f: Filters, scope: str | None, lang: str, view: str = "open",
                  me: tuple[str, ...] = ()) -> Rectification:
    run = runner(con, f, scope)
    extra = {"view": view, "me": list(me), "limit": tables.SHOWN_ROWS}
    return Rectification(run("rectification_actions", **extra), run("rectification_nonconformities", **extra), {})


# ---------------------------------------------------------------------------------------------
# Data quality: how many rows each check finds


@dataclass(frozen=True)
class DataQuality:
    data_quality: pd.DataFrame  # one row per check: its name and how many rows it finds
    charts: Charts


def data_quality(con, f: Filters, scope: str | None, lang: str) -> DataQuality:
    return DataQuality(runner(con, f, scope)("data_quality"), {})


# ---------------------------------------------------------------------------------------------
# Management review: the KPIs against those frozen at the last review, and what changed since it


@dataclass(frozen=True)
class ManagementReview:
    opened: review.Review | None  # a recorded review looked at again; None: the meeting being prepared now
    shown: Filters  # the opened review's filters, or the ones asked for
    last: review.Review | None  # the review before the one shown
    contract: dict
    comparison: pd.DataFrame  # one row per KPI: now (or as recorded), at the last review, the change
    changes: dict[str, int]  # each way a finding changed since the last review; empty without one
    charts: Charts
    # review17: the plan-and-check inputs, each section's numbers now and at the last review, and the conclusions
    plan_now: dict | None = None  # metrics.plan_check as of the shown date
    plan_before: dict | None = None  # the same as of the last review's date; None without one
    plan_tables: dict[str, pd.DataFrame] | None = None  # section → one row per number: now, then, the change
    satisfaction_units: pd.DataFrame | None = None  # each unit's latest wave: index, interval, index then
    conclusions: dict[str, dict] | None = None  # section → the opened review's latest conclusion


def management_review(con, f: Filters, scope: str | None, lang: str, review_id: int = 0) -> ManagementReview:
    t = i18n.translator(lang)
    opened = review.load(con, review_id, scope) if review_id else None
    shown = opened.filters if opened else f
    last = review.last_before(con, shown.unit, shown.as_of, scope)
    now = opened.contract if opened else metrics.contract(con, f, scope)
    now_label = t("review_this") if opened else t("pack_now")
    rows = []
    for key, kind, _ in kpis.KPIS:
        before = last.contract[key] if last else None
        rows.append({t("col_kpi"): t(f"kpi_{key}"), now_label: kpis.value_text(now[key], kind, t),
                     t("review_then"): kpis.value_text(before, kind, t) if last else t("none"),
                     t("pack_change"): kpis.delta_text(now[key], before, kind) or t("none")})
    changes = review.changes(con, last.as_of, shown, scope) if last else {}
    plan_now, plan_before = review.plan_check(con, shown, last, scope)
    names = unit_names(store.run(con, "unit_tree", shown.params(scope) | {"lang": lang}))
    return ManagementReview(
        opened, shown, last, now, pd.DataFrame(rows), changes, {}, plan_now, plan_before,
        {section: plan_comparison(section, plan_now, plan_before, t, now_label) for section in review.PLAN_SECTIONS},
        satisfaction_units(con, shown, last, scope, names, t),
        review.conclusions(con, opened.id, scope) if opened else {},
    )


def plan_comparison(section: str, now: dict, before: dict | None, t, now_label: str | None = None) -> pd.DataFrame:
    """One row per number of a plan-and-check section: as of now, as of the last review, and the change."""
    rows = []
    for key, kind, _ in plan_screens.KPIS[section]:
        then = before[section][key] if before else None
        rows.append({t("col_kpi"): t(f"{section}_kpi_{key}"),
                     now_label or t("pack_now"): plan_screens.kpi_text(now[section][key], kind, t),
                     t("review_then"): plan_screens.kpi_text(then, kind, t) if before else t("none"),
                     t("pack_change"): plan_screens.kpi_delta(now[section][key], then, kind) or t("none")})
    return pd.DataFrame(rows)


def satisfaction_units(con, f: Filters, last, scope: str | None, names: dict, t) -> pd.DataFrame:
    """Each unit's latest wave in the period: index with its 95 % interval, and its latest wave's index as of
    the last review (over that review's period)."""
    latest = review.satisfaction_by_unit(con, f, scope)
    then = review.satisfaction_by_unit(con, last.filters, scope) if last else latest.iloc[0:0]
    before = dict(zip(then["unit"], then["index"]))

    def shown(value) -> str:
        return t("none") if value is None or value != value else f"{value:.2f}"

    rows = [{t("plan_col_unit_name"): names.get(unit, unit), t("plan_col_wave"): wave,
             t("plan_col_respondents"): int(n), t("plan_col_index"): shown(index),
             t("review_interval"): t("none") if lower != lower else f"{lower:.2f} – {upper:.2f}",
             t("review_then"): shown(before.get(unit)),
             t("pack_change"): plan_screens.kpi_delta(index, before.get(unit), "index")}
            for unit, wave, n, index, lower, upper in zip(latest["unit"], latest["wave"], latest["respondents"],
                                                          latest["index"], latest["lower"], latest["upper"])]
    columns = [t("plan_col_unit_name"), t("plan_col_wave"), t("plan_col_respondents"), t("plan_col_index"),
               t("review_interval"), t("review_then"), t("pack_change")]
    return pd.DataFrame(rows, columns=columns).fillna(t("none"))


# ---------------------------------------------------------------------------------------------
# myunit: the unit head's view: where the unit ranks among its siblings, whose actions are late, what falls due


OWNERS_SHOWN = 20  # owners listed with their overdue actions; the rest are counted
OWNER_ROWS = 50  # overdue actions listed per owner, the most overdue first
DUE_WITHIN_DAYS = 7  # "due this week": the as-of day and the six after it


@dataclass(frozen=True)
class MyUnit:
    parent: str | None  # None: the whole organisation, or a unit at the top (no siblings to rank against)
    parent_name: str | None  # None too where the parent is outside the viewer's scope
    siblings: int  # the units under the parent, this one included
    ranks: pd.DataFrame  # one row per kpis.RANKED: the unit's value and place, and both as the reader reads them
    overdue_by_owner: pd.DataFrame  # one row per owner with overdue actions, most first
    owner_items: tuple[pd.DataFrame, ...]  # the overdue actions of each of the first OWNERS_SHOWN owners
    due_within: pd.DataFrame  # actions due within DUE_WITHIN_DAYS of the as-of date, soonest first
    due_count: int  # how many there are (the list shows the first tables.SHOWN_ROWS)
    charts: Charts


def my_unit(con, f: Filters, scope: str | None, lang: str) -> MyUnit:
    """The view of f.unit and everything below it within the viewer's scope.

    A unit head's scope is their own unit, and their siblings lie outside it: the places are computed over the
    parent's children, while the screen keeps only this unit's values and places (no sibling's name or number)."""
    run = runner(con, f, scope)
    parent = None
    if f.unit is not None:
        found = store.run(con, "unit_parent", {"code": f.unit})["parent_code"]
        parent = found.iloc[0] if len(found) and pd.notna(found.iloc[0]) else None
    outside = scope is not None and scope == f.unit  # the siblings and the parent lie outside the viewer's scope
    above = runner(con, f.replace(unit=parent), parent if outside else scope, lang)
    ranked = (lambda: above("unit_tree"), lambda: above("kpis_by_child_unit"),
              lambda: above("durations_by_group", split="unit")) if parent is not None else ()
    owners, due, *ranking = store.together(lambda: run("overdue_actions_by_owner"),
                                           lambda: run("actions_due_within", days=DUE_WITHIN_DAYS,
                                                       limit=tables.SHOWN_ROWS), *ranked)
    shown = owners.head(OWNERS_SHOWN)
    items = run("overdue_actions_of_owners", owners=[o for o in shown["owner"] if pd.notna(o)],
                unowned=bool(shown["owner"].isna().any()), limit=OWNER_ROWS)
    shown = my_unit_from(f, parent, tuple(ranking) or None, owners, items, due, lang)
    return dataclasses.replace(shown, parent_name=None) if outside else shown


COUNTED = ("open", "overdue", "opened_in_period", "closed_in_period", "closed_on_time_in_period",
           "closed_with_due_date_in_period", "repeat_in_period", "actions_overdue")


def sibling_kpis(tree: pd.DataFrame, counts: pd.DataFrame, durations: pd.DataFrame, parent: str) -> pd.DataFrame:
    """kpis.RANKED for every child of `parent`, one with no findings too (zero counts, no rates): kpis_by_child_unit
    rows (one per child with findings, and the parent's own when findings sit on it) and durations by unit."""
    children = pd.DataFrame({"unit": tree.loc[tree["parent_code"] == parent, "code"].to_list()})
    table = children.merge(counts[["unit", *COUNTED]], on="unit", how="left").fillna(dict.fromkeys(COUNTED, 0))
    table = metrics.unit_kpis(table.astype(dict.fromkeys(COUNTED, "int64")),
                              metrics.quantiles_by(metrics.survival_by(durations)))
    table["overdue_rate"] = [metrics.overdue_share(row) for row in table[["overdue", "open"]].to_dict("records")]
    return table


def my_unit_from(f: Filters, parent, ranking, owners, items, due, lang: str) -> MyUnit:
    """`ranking`: None, or the parent's unit_tree, kpis_by_child_unit and durations_by_group by unit."""
    t = i18n.translator(lang)
    rows, parent_name, siblings = [], None, 0
    if ranking is not None:
        tree, counts, durations = ranking
        table = sibling_kpis(tree, counts, durations, parent)
        parent_name, siblings = unit_names(tree).get(parent, parent), len(table)
        for key, kind, better in kpis.RANKED:
            values = dict(zip(table["unit"], table[key]))
            value = values.get(f.unit)
            value = None if value is None or value != value else value
            place = metrics.rank(values, f.unit, better)
            rows.append({"kpi": key, "value": value, "rank": place[0] if place else None,
                         "of": place[1] if place else None, "better": better, "label": t(f"kpi_{key}"),
                         "value_text": kpis.value_text(value, kind, t), "rank_text": kpis.rank_text(place, lang, t),
                         "better_text": t(f"better_{better}")})
    columns = ["kpi", "value", "rank", "of", "better", "label", "value_text", "rank_text", "better_text"]
    groups = list(owners["owner_group"].head(OWNERS_SHOWN))
    owner_items = tuple(
        items[items["owner_group"].isna() if pd.isna(g) else items["owner_group"] == g]
        .drop(columns="owner_group").reset_index(drop=True)
        for g in groups
    )
    return MyUnit(parent, parent_name, siblings, pd.DataFrame(rows, columns=columns), owners, owner_items,
                  due, int(due["rows_in_view"].iloc[0]) if len(due) else 0, {})
