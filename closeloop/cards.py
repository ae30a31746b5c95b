"""The pages' bordered cards: the KPI row, and a chart card that says so when it has no data."""

from __future__ import annotations

import streamlit as st

from closeloop.kpis import KPIS, delta_text, value_text
from closeloop.session import t


def kpi_row(now: dict, before: dict, window_days: int, badges: dict | None = None, on_open=None,
            opened: str | None = None) -> None:
    """Two rows of four bordered metrics, each in a container keyed kpi-<contract key>; under a card whose KPI
    has a target, its light and the target (targets.badges). With `on_open`, a button under each (keyed
    kpi-rows-<key>) calls on_open(key): the page opens the rows it counted (`opened`: the card whose rows are
    open, whose button closes them)."""
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
            if badges and key in badges:
                st.badge(badges[key].label, color=badges[key].color, icon=badges[key].icon)
            if on_open is not None:
                st.button(t("kpi_hide_rows" if key == opened else "kpi_show_rows"), key=f"kpi-rows-{key}",
                          type="tertiary", icon=":material/table_rows:", on_click=on_open, args=(key,))


def chart(s, title: str, key: str, container=st, caption: str | None = None, **options):
    """A bordered card: its title, then the screen's figure for it, or the catalog's "no data" where it has none.
    Returns the chart's selection event (None without a figure); `options` go to st.plotly_chart."""
    with container.container(border=True):
        st.markdown("##### " + t(title))
        if caption:
            st.caption(caption)
        figure = s.charts[title]
        if figure is None:
            st.info(t("no_data"))
            return None
        return st.plotly_chart(figure, key=key, **options)
