"""How satisfied are the people each unit serves, compared fairly, and which dissatisfied items were followed up?"""

import streamlit as st

from closeloop import drill, plan_actions, plan_charts, plan_screens, session
from closeloop.session import t

f, names, now = plan_actions.head("satisfaction")

screen = plan_screens.satisfaction(lambda name, **extra: session.query(name, f, **extra), names, t)

left, right = st.columns(2)
with left.container(border=True):
    st.markdown("##### " + t("chart_satisfaction_index"))
    st.caption(t("satisfaction_index_help"))
    plan_actions.chart("satisfaction-index", plan_charts.satisfaction_index, screen["latest"],
                       now["satisfaction"]["index"])
with right.container(border=True):
    st.markdown("##### " + t("chart_satisfaction_shares"))
    plan_actions.chart("satisfaction-shares", plan_charts.satisfaction_shares, screen["latest"])

with st.container(border=True):
    st.markdown("##### " + t("chart_satisfaction_trend"))
    if not screen["waves"].empty:
        st.plotly_chart(plan_charts.satisfaction_trend(screen["waves"], t), key="satisfaction-trend")
    drill.grid(plan_screens.waves_table(screen["waves"], t), t, key="waves-table")

with st.container(border=True, key="dissatisfied-items"):
    st.markdown("##### " + t("dissatisfied_items_title"))
    st.caption(t("dissatisfied_items_help"))
    if screen["dissatisfied"].empty:
        st.caption(t("dissatisfied_items_none"))
    else:
        drill.grid(plan_screens.dissatisfied_table(screen["dissatisfied"], t), t, key="dissatisfied-table")
        plan_actions.raise_control(plan_screens.dissatisfied_choices(screen["dissatisfied"]), "survey", "raise_survey", t)
    closing = session.query("survey_findings_to_close", f)
    if len(closing):
        st.markdown("###### " + t("follow_up_title", n=len(closing)))
        drill.grid(plan_screens.table(closing.assign(evidence_mean=closing["evidence_mean"].round(2)),
                                      ["ref", "unit", "evidence_wave", "evidence_mean", "evidence_on"], t), t,
                   key="closing-table")
        if plan_actions.may_raise():
            st.button(t("follow_up_close"), key="follow-up-close", icon=":material/task_alt:",
                      on_click=plan_actions.close_followed_up)
