"""From a chart point to the findings behind it: the conditions, the rows, and their downloads."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from closeloop import export, session, sidebar, tables
from closeloop.filters import Filters
from closeloop.i18n import plain

SHOWN_ROWS, ALL_ROWS = tables.SHOWN_ROWS, tables.ALL_ROWS


@dataclass(frozen=True)
class Drill:
    """Conditions added to the filters; None or False means any."""

    unit: str | None = None  # the unit and every unit below it
    criterion: str | None = None
    category: str | None = None
    severity: str | None = None
    source: str | None = None
    found_from: date | None = None
    found_to: date | None = None
    closed_from: date | None = None
    closed_to: date | None = None
    days_from: int | None = None
    days_to: int | None = None
    open: bool = False
    overdue: bool = False
    repeat: bool = False
    own_unit: str | None = None  # the unit's own findings, as a bar by unit counts them
    aging: str | None = None  # an aging bucket of the open ones: '0-30' … '181+'
    closed_with_due_date: bool = False
    closed_on_time: bool = False

    def params(self) -> dict:
        return {f"drill_{name}": value for name, value in asdict(self).items()}


def point(event) -> list | None:
    """The customdata of the first selected chart point (a treemap node: its id), or None."""
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if not points:
        return None
    data = points[0].get("customdata", points[0].get("id"))
    return data if isinstance(data, list) else [data]


def shown(rows: pd.DataFrame, t, **options) -> pd.DataFrame:
    """A list as the viewer reads it (tables.readable), its units named in their language, an empty cell "none"."""
    return tables.readable(session.named(rows), t, blank=t("none"), **options)


def downloads(rows_for_download, name: str, t, key: str, xlsx=None) -> None:
    """CSV and XLSX buttons; the file is built only when someone clicks. `xlsx`: the workbook's maker.

    A click does not rerun the page (on_click="ignore"): a rerun it started could clear the server's
    outgoing queue just as the built file's answer sat in it, leaving the button spinning for minutes."""
    make_xlsx = xlsx or (lambda rows: export.xlsx_bytes(rows, name))
    later = session.later(rows_for_download)  # built after the run: keep this run's viewer

    def rows() -> pd.DataFrame:
        return spelled(later(), t)

    row = st.container(horizontal=True)
    row.download_button(t("download_csv"), lambda: export.csv_bytes(rows()),
                        file_name=f"{name}.csv", mime="text/csv", key=f"{key}-csv", icon=":material/download:",
                        on_click="ignore")
    row.download_button(t("download_xlsx"), lambda: make_xlsx(rows()),
                        file_name=f"{name}.xlsx", key=f"{key}-xlsx", icon=":material/download:", on_click="ignore",
                        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def show(f: Filters, drill: Drill, t, key: str, title: str) -> None:
    """The findings behind a clicked point, newest first, with downloads of all of them."""
    show_counted(Counted("nonconformity_rows", f, drill), t, key, title)


def count(query: str, f: Filters, drill: Drill) -> int:
    """How many rows the drill holds (the rows queries say so on each row)."""
    return total(session.query(query, f, **drill.params(), limit=1))


def total(rows: pd.DataFrame) -> int:
    return int(rows["rows_in_view"].iloc[0]) if len(rows) else 0


def show_counted(counted: Counted, t, key: str, title: str, note: str | None = None) -> None:
    """The rows a number counted, with how many there are (the number clicked), the first SHOWN_ROWS of
    them, and downloads of all of them."""
    params = counted.drill.params()
    rows = session.query(counted.query, counted.f, **params, limit=SHOWN_ROWS)
    n = total(rows)
    status = "action_status_" if counted.query == "action_rows" else "status_"
    with st.container(border=True, key=f"rows-{key}"):
        words = t("rows_counted", n=f"{n:,}") + ("" if n <= len(rows) else " " + t("rows_first", shown=len(rows)))
        st.markdown(f"**{plain(title)}** · " + words)
        if note:
            st.caption(note)
        grid(shown(rows, t, status_prefix=status), t, key=f"{key}-table")
        downloads(lambda: shown(session.query(counted.query, counted.f, **params, limit=ALL_ROWS), t,
                                status_prefix=status), key, t, key)


def unit_from(chart_key: str):
    """An on_select callback: the unit clicked in the chart becomes the unit filter on every page."""
    def choose() -> None:
        clicked = point(st.session_state.get(chart_key))
        if clicked and clicked[0]:
            sidebar.choose_unit(clicked[0])

    return choose


def period_end(start: date, grain: str, until: date) -> date:
    """The last day of the month or quarter starting on `start`, not past `until`."""
    months = 3 if grain == "quarter" else 1
    year, month = divmod(start.month - 1 + months, 12)
    return min(date(start.year + year, month + 1, 1) - timedelta(days=1), until)


def spelled(rows: pd.DataFrame, t) -> pd.DataFrame:
    """A file's yes/no columns in words (是/否, Yes/No), not the True/False a spreadsheet would show."""
    flags = [c for c in rows.columns if str(rows[c].dtype) in ("bool", "boolean")]
    return rows.assign(**{c: rows[c].map(lambda v: None if pd.isna(v) else t("yes") if v else t("no")) for c in flags})


def grid(table: pd.DataFrame, t, **options):
    """A table, or the catalog's "no rows" where it has none: the grid itself would say "empty" in English
    (Streamlit draws that word on its canvas, where no setting or style reaches)."""
    if table.empty:
        st.caption(t("table_empty"))
        return None
    return st.dataframe(table, hide_index=True, placeholder=t("none"), **options)


# ---------------------------------------------------------------------------------------------
# What each number on the Overview counted: a KPI card, a bar, a point. Each is the drill of the same
# business terms the number reads (queries/contract.sql and the charts' queries), so the rows a click
# opens are as many as the number clicked.


@dataclass(frozen=True)
class Counted:
    """The rows behind a number: `query` (nonconformity_rows or action_rows) for the filters `f` narrowed by
    `drill`. For a rate, `part` narrows them to its numerator (the rows are its denominator); for the
    median, to the findings closed by the as-of date (the rows are the curve's findings)."""

    query: str
    f: Filters
    drill: Drill
    part: Drill | None = None


def kpi_counted(key: str, f: Filters) -> Counted:
    """What the KPI card of contract key `key` counted, for the filters `f`."""
    found = {"found_from": f.since, "found_to": f.until}
    closed = {"closed_from": f.since, "closed_to": f.until, "closed_with_due_date": True}
    rows = "nonconformity_rows"
    return {
        "open": lambda: Counted(rows, f, Drill(open=True)),
        "overdue": lambda: Counted(rows, f, Drill(overdue=True)),
        "opened_in_period": lambda: Counted(rows, f, Drill(**found)),
        "closed_in_period": lambda: Counted(rows, f, Drill(closed_from=f.since, closed_to=f.until)),
        "on_time_closure_rate": lambda: Counted(rows, f, Drill(**closed), Drill(**closed, closed_on_time=True)),
        # the Kaplan–Meier curve's findings: opened in the period and found by the as-of date
        "median_days_to_close_km": lambda: Counted(
            rows, f, Drill(found_from=f.since, found_to=min(f.until, f.as_of)),
            Drill(found_from=f.since, found_to=min(f.until, f.as_of), closed_to=f.as_of)),
        "recurrence_rate": lambda: Counted(rows, f, Drill(**found), Drill(**found, repeat=True)),
        "actions_overdue": lambda: Counted("action_rows", f, Drill(open=True, overdue=True)),
    }[key]()


def month_end(start: date, f: Filters) -> date:
    """The last day of the month starting on `start` that the opened-and-closed chart counts: not past the
    period's end nor the as-of date (queries/opened_closed_monthly.sql)."""
    return min(period_end(start, "month", f.until), f.as_of)


def chart_counted(chart: str, clicked: list, f: Filters) -> Counted:
    """What a clicked point of an Overview chart counted: `clicked` is its customdata (drill.point)."""
    rows = "nonconformity_rows"
    if chart == "opened-closed":
        start, measure = date.fromisoformat(str(clicked[0])[:10]), clicked[1]
        first, last = max(start, f.since), month_end(start, f)
        if measure == "opened":
            return Counted(rows, f, Drill(found_from=first, found_to=last))
        if measure == "closed":
            return Counted(rows, f, Drill(closed_from=first, closed_to=last))
        # the backlog at the month's end: what was open then
        return Counted(rows, f.replace(as_of=last), Drill(open=True))
    if chart == "aging":
        return Counted(rows, f, Drill(aging=clicked[0]))
    if chart == "top-overdue":
        return Counted(rows, f, Drill(own_unit=clicked[0], overdue=True))
    if chart == "pareto-category":
        return Counted(rows, f, Drill(category=clicked[0], found_from=f.since, found_to=f.until))
    raise ValueError(f"no rows for the chart {chart}")


def picker(state_key: str, kind: str, chart: str | None = None):
    """A callback that remembers in st.session_state[state_key] what was clicked last: (kind, chart) for a
    chart's on_select; for a card's button, (kind, its key), or nothing when that card was already open."""
    if chart is not None:
        def chosen() -> None:
            st.session_state[state_key] = (kind, chart)
        return chosen

    def toggled(key: str) -> None:
        st.session_state[state_key] = None if st.session_state.get(state_key) == (kind, key) else (kind, key)
    return toggled


def show_kpi(key: str, f: Filters, t) -> None:
    """The rows the KPI card of `key` counted, with the count it shows (for a rate: its part and whole)."""
    counted = kpi_counted(key, f)
    note = None
    if counted.part is not None:
        whole, part = count(counted.query, f, counted.drill), count(counted.query, f, counted.part)
        share = f"{part / whole:.1%}" if whole else t("none")
        note = t(f"kpi_rows_note_{key}", part=f"{part:,}", whole=f"{whole:,}", share=share)
    show_counted(counted, t, f"kpi-{key}", t(f"kpi_{key}"), note)


def show_picked(picked: tuple, events: dict, f: Filters, s, t) -> None:
    """Under a row of Overview charts: the rows behind the point last clicked, if it is one of theirs."""
    kind, chart = picked
    clicked = point(events.get(chart)) if kind == "chart" else None
    if clicked:
        show_counted(chart_counted(chart, clicked, f), t, chart, chart_title(chart, clicked, s, t))


def chart_title(chart: str, clicked: list, s, t) -> str:
    """What a clicked point shows, in words: its month and measure, bucket, unit or category by name."""
    if chart == "opened-closed":
        return f"{str(clicked[0])[:7]} · {t(clicked[1])}"
    if chart == "aging":
        return f"{t('kpi_open')} · {clicked[0]} {t('days_unit')}"
    if chart == "top-overdue":
        return f"{session.unit_names().get(clicked[0], clicked[0])} · {t('kpi_overdue')}"
    rows = s.opened_by_category
    names = dict(zip(rows["category"], rows["label"]))
    return names.get(clicked[0]) or t("none")


# ---------------------------------------------------------------------------------------------
# Recurrence: a bar or a cell opens the repeats it counted; the systemic bar, the units it counted


def criterion_name(rows: pd.DataFrame, code: str) -> str:
    """A criterion's title in the viewer's language from rows that carry its `label` beside its code
    (`criterion`); the code where they have none."""
    names = rows.drop_duplicates("criterion").set_index("criterion")["label"]
    return names.get(code) or code


def repeats_counted(f: Filters, unit: str | None, criterion: str | None, tree: pd.DataFrame) -> Drill:
    """The repeats opened in the period that a Pareto bar (unit None) or a grid cell counted. A cell's unit
    is the one below the chosen unit on the way to the findings (queries/repeats_by_unit_criterion.sql):
    its subtree, or only its own findings when it is the chosen unit itself (or, for the whole
    organisation, a top unit), where the findings recorded on that unit itself are counted. `tree`: the
    units (unit_tree), for their depths."""
    tops = set(tree.loc[tree["depth"] == 0, "code"]) if f.unit is None else {f.unit}
    own = unit in tops
    return Drill(unit=None if own else unit, own_unit=unit if own else None, criterion=criterion,
                 found_from=f.since, found_to=f.until, repeat=True)


def show_units(f: Filters, criterion: str, t, title: str) -> None:
    """The units whose findings of a criterion opened in the period a systemic bar counted, with how many."""
    rows = session.query("units_failing_criterion", f, **Drill(criterion=criterion).params())
    with st.container(border=True, key="rows-systemic"):
        st.markdown(f"**{plain(title)}** · " + t("rows_counted", n=f"{len(rows):,}"))
        grid(shown(rows, t), t, key="systemic-table")
        downloads(lambda: shown(rows, t), "units-failing", t, "systemic-rows")
