"""Which units meet their objectives, and which objectives and monthly actuals are behind each unit's score?"""

import streamlit as st

from closeloop import drill, plan_actions, plan_charts, plan_screens, session
from closeloop.session import t

f, names, _ = plan_actions.head("objectives", lambda f: t("objectives_year", year=f.as_of.year))

drilled = st.session_state.get("objective_unit") or None
screen = plan_screens.objectives(lambda name, **extra: session.query(name, f, **extra), names, t, drilled)

with st.container(border=True):
    st.markdown("##### " + t("chart_objective_scores"))
    st.caption(t("objective_scores_help"))
    plan_actions.chart("objective-scores", plan_charts.objective_scores, screen["chart_units"], picker="objective_unit")
    drill.grid(plan_screens.objective_units_table(screen["units"], t), t, key="objective-units")

with st.container(border=True, key="objective-drill"):
    st.markdown("##### " + t("objective_drill_title"))
    plan_actions.unit_picker(screen["units"], "objective_drill_unit", "objective_unit")
    drill.grid(plan_screens.objective_rows_table(screen["rows"], t), t, key="objective-rows")
    st.markdown("###### " + t("objective_actuals_title"))
    drill.grid(plan_screens.objective_actuals_table(screen["actuals"], t), t, key="objective-actuals")

with st.container(border=True, key="objective-enter"):
    st.markdown("##### " + t("actual_enter_title", year=f.as_of.year))
    plan_actions.actual_form(plan_screens.objective_choices(screen["rows"], names), f.as_of, t)

with st.container(border=True, key="objective-raise"):
    st.markdown("##### " + t("objective_raise_title"))
    missed = session.query("objectives_to_raise", f)
    plan_actions.raise_control(plan_screens.missed_choices(missed, names), "objective", "raise_objective", t,
                               as_of=f.as_of)
