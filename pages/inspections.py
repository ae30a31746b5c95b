"""Were the planned inspections done, what did they cover, and which failed items are behind each unit's score?"""

import streamlit as st

from closeloop import drill, plan_actions, plan_charts, plan_screens, session
from closeloop.session import t

f, names, _ = plan_actions.head("inspections")

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
    plan_actions.chart("coverage", plan_charts.coverage, screen["coverage"])

with st.container(border=True):
    st.markdown("##### " + t("chart_inspection_scores"))
    st.caption(t("inspection_scores_help"))
    if screen["scores"]["score"].notna().any():
        st.plotly_chart(plan_charts.inspection_scores(screen["scores"], t), key="inspection-scores",
                        on_select=plan_actions.drill_to("inspection-scores", "inspection_unit"), selection_mode="points")
    drill.grid(plan_screens.scores_table(screen["scores"], t), t, key="scores-table")
with st.container(border=True, key="failed-items"):
    st.markdown("##### " + t("failed_items_title"))
    plan_actions.unit_picker(screen["scores"], "inspection_drill_unit", "inspection_unit")
    if screen["failed"].empty:
        st.caption(t("failed_items_none"))
    else:
        drill.grid(plan_screens.failed_table(screen["failed"], t), t, key="failed-table")
        plan_actions.raise_control(plan_screens.unlinked_choices(screen["failed"]), "inspection", "raise_inspection", t)
