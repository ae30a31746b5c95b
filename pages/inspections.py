"""Were the planned inspections done, what did they cover, and which failed items are behind each unit's score?"""

import streamlit as st

from closeloop import drill, filters, plan_actions, plan_charts, plan_screens, session, sidebar
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
names = session.unit_names()
st.title(t("page_inspections"))
st.caption(plain(filters.describe(f, t, names.get(f.unit))))
plan_actions.flash()

now, before = session.plan_check(f)
plan_actions.kpi_row(plan_screens.kpis("inspections", now, before, t), "inspections", t)

drilled = st.session_state.get("inspection_unit") or None
screen = plan_screens.inspections(lambda name, **extra: session.query(name, f, **extra), names, t, drilled,
                                  session.language())

left, right = st.columns(2)
with left.container(border=True):
    st.markdown("##### " + t("chart_planned_performed"))
    st.plotly_chart(plan_charts.planned_performed(screen["monthly"], t), key="planned-performed")
with right.container(border=True, key="overdue-inspections"):
    st.markdown("##### " + t("overdue_inspections_title", n=len(screen["overdue"])))
    drill.grid(plan_screens.overdue_table(screen["overdue"], t), t, key="overdue-table", height=320)

with st.container(border=True):
    st.markdown("##### " + t("chart_coverage"))
    st.caption(t("coverage_help"))
    if screen["coverage"].empty:
        st.info(t("no_data"))
    else:
        st.plotly_chart(plan_charts.coverage(screen["coverage"], t), key="coverage")

with st.container(border=True):
    st.markdown("##### " + t("chart_inspection_scores"))
    st.caption(t("inspection_scores_help"))
    if screen["scores"]["score"].notna().any():
        st.plotly_chart(plan_charts.inspection_scores(screen["scores"], t), key="inspection-scores",
                        on_select=plan_actions.drill_to("inspection-scores", "inspection_unit"), selection_mode="points")
    drill.grid(plan_screens.scores_table(screen["scores"], t), t, key="scores-table")
with st.container(border=True, key="failed-items"):
    st.markdown("##### " + t("failed_items_title"))
    units = list(screen["scores"]["unit"])
    labels = dict(zip(units, screen["scores"]["label"]))
    st.selectbox(t("inspection_drill_unit"), [None, *units], key="inspection_unit",
                 format_func=lambda u: t("objective_drill_all") if u is None else plain(labels.get(u, u)))
    if screen["failed"].empty:
        st.caption(t("failed_items_none"))
    else:
        drill.grid(plan_screens.failed_table(screen["failed"], t), t, key="failed-table")
        plan_actions.raise_control(plan_screens.unlinked_choices(screen["failed"]), "inspection", "raise_inspection", t)
