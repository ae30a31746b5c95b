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

    unit: str | None = None
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
    params = drill.params()
    rows = session.query("nonconformity_rows", f, **params, limit=SHOWN_ROWS)
    with st.container(border=True, key=f"rows-{key}"):
        st.markdown(f"**{plain(title)}** · " + t("rows_shown", n=len(rows)))
        grid(shown(rows, t), t, key=f"{key}-table")
        downloads(lambda: shown(session.query("nonconformity_rows", f, **params, limit=ALL_ROWS), t),
                  key, t, key)


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
