"""What keeps coming back, where, and did the corrective action hold?"""

from datetime import date

import streamlit as st

from closeloop import charts, drill, filters, session, sidebar
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

st.title(t("page_recurrence"))
window, grain_column = st.columns([1, 2])
window.number_input(t("window_days"), *filters.WINDOW_LIMITS, step=1, help=t("window_days_help"),
                    **sidebar.remembered("window_days"))
f = sidebar.current()
label = session.label()
title = "title_en" if label == "name_en" else "title"
st.caption(plain(filters.describe(f, t, session.unit_label(f.unit)) + " " + t("window_sentence", days=f.window_days)))

grain = grain_column.segmented_control(t("grain"), ["month", "quarter"], default="month", required=True,
                                       format_func=lambda g: t(f"grain_{g}"), key="recurrence_grain")
trend = session.query("recurrence_by_period", f, grain=grain)
cells = session.query("repeats_by_unit_criterion", f)
by_criterion = session.query("repeats_by_criterion", f)
systemic = session.query("systemic_criteria", f)

with st.container(border=True):
    st.markdown("##### " + t("chart_recurrence_trend"))
    picked_period = drill.point(st.plotly_chart(charts.recurrence_trend(trend, t, grain), key="recurrence-trend",
                                                on_select="rerun", selection_mode="points"))
if picked_period:
    start = date.fromisoformat(picked_period[0][:10])
    drill.show(f, drill.Drill(found_from=max(start, f.since), found_to=drill.period_end(start, grain, f.until),
                              repeat=True), t, "trend-rows", picked_period[0])

# One above the other, each the page's width: side by side, the grid's numbers overlapped and the
# Pareto's names were squashed.
with st.container(border=True):
    st.markdown("##### " + t("chart_repeat_heatmap"))
    picked_cell = None
    if cells.empty:
        st.info(t("no_data"))
    else:
        picked_cell = drill.point(st.plotly_chart(charts.repeat_heatmap(cells, "unit_name_en" if label == "name_en"
                                                                        else "unit_name", t),
                                                  key="repeat-heatmap", on_select="rerun", selection_mode="points"))
with st.container(border=True):
    st.markdown("##### " + t("chart_repeat_pareto"))
    picked_criterion = None
    if by_criterion.empty:
        st.info(t("no_data"))
    else:
        picked_criterion = drill.point(st.plotly_chart(
            charts.pareto(by_criterion, title, t, value="repeats", key="criterion"),
            key="repeat-pareto", on_select="rerun", selection_mode="points"))

chain_unit, chain_criterion = (picked_cell or [None, None])[:2]
chain_criterion = chain_criterion or (picked_criterion or [None])[0]
if picked_cell or picked_criterion:
    with st.container(border=True, key="repeat-chains"):
        st.markdown("##### " + t("chains_title"))
        chains = session.query("repeat_chains", f, chain_unit=chain_unit, chain_criterion=chain_criterion,
                               limit=drill.SHOWN_ROWS)
        drill.grid(drill.shown(chains, t), t)
        drill.downloads(lambda: drill.shown(session.query("repeat_chains", f, chain_unit=chain_unit,
                                                             chain_criterion=chain_criterion, limit=drill.ALL_ROWS), t),
                        "repeat-chains", t, "repeat-chains")

with st.container(border=True):
    st.markdown("##### " + t("chart_systemic"))
    st.caption(t("systemic_help"))
    if systemic.empty:
        st.info(t("no_data"))
    else:
        picked_systemic = drill.point(st.plotly_chart(charts.systemic(systemic, title, t), key="systemic",
                                                      on_select="rerun", selection_mode="points"))
        if picked_systemic:
            drill.show(f, drill.Drill(criterion=picked_systemic[0], found_from=f.since, found_to=f.until), t,
                       "systemic-rows", picked_systemic[0])
