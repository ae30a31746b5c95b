"""Which units meet their objectives, and which objectives and monthly actuals are behind each unit's score?"""

import streamlit as st

from closeloop import drill, filters, plan_actions, plan_charts, plan_screens, session, sidebar
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
names = session.unit_names()
st.title(t("page_objectives"))
st.caption(plain(filters.describe(f, t, names.get(f.unit))) + " · " + t("objectives_year", year=f.as_of.year))
plan_actions.flash()

now, before = session.plan_check(f)
plan_actions.kpi_row(plan_screens.kpis("objectives", now, before, t), "objectives", t)

drilled = st.session_state.get("objective_unit") or None
screen = plan_screens.objectives(lambda name, **extra: session.query(name, f, **extra), names, t, drilled)

with st.container(border=True):
    st.markdown("##### " + t("chart_objective_scores"))
    st.caption(t("objective_scores_help"))
    if screen["chart_units"].empty:
        st.info(t("no_data"))
    else:
        st.plotly_chart(plan_charts.objective_scores(screen["chart_units"], t), key="objective-scores",
                        on_select=plan_actions.drill_to("objective-scores", "objective_unit"), selection_mode="points")
    drill.grid(plan_screens.objective_units_table(screen["units"], t), t, key="objective-units")

with st.container(border=True, key="objective-drill"):
    st.markdown("##### " + t("objective_drill_title"))
    units = list(screen["units"]["unit"])
    labels = dict(zip(units, screen["units"]["label"]))
    st.selectbox(t("objective_drill_unit"), [None, *units], key="objective_unit",
                 format_func=lambda u: t("objective_drill_all") if u is None else plain(labels.get(u, u)))
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
