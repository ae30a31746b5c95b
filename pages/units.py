"""Which units carry the most, and how does one unit compare with its parent and its peers?"""

import streamlit as st

from closeloop import cards, drill, filters, session, sidebar
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
measure = st.session_state.get("funnel_measure") or "overdue"  # its control is drawn in the funnel's card
s = session.screen("units", f, measure=measure)

st.title(t("page_units"))
in_view = session.unit_label(f.unit)  # for a viewer held to a unit, with none chosen: that unit
st.caption(plain(filters.describe(f, t, in_view)))
with st.container(horizontal=True, key="breadcrumb"):
    top = session.unit_label(None)
    st.button(plain(top) if top else t("whole_organisation"), on_click=sidebar.choose_unit, args=(None,),
              type="tertiary")
    for code in (c for c in s.lineage if c != session.my_unit()):
        st.button("› " + plain(s.names[code]), on_click=sidebar.choose_unit, args=(code,), type="tertiary",
                  disabled=code == f.unit, key=f"crumb-{code}")

cards.chart(s, "chart_unit_tree", "unit-tree", caption=t("unit_tree_help"), on_select=drill.unit_from("unit-tree"),
            selection_mode="points")

left, right = st.columns([1, 1])
with left.container(border=True, key="scorecard"):
    st.markdown("##### " + t("scorecard_title", unit=plain(in_view or t("whole_organisation"))))
    if s.scorecard is None:
        st.info(t("scorecard_choose_unit"))
    else:
        st.dataframe(s.scorecard, hide_index=True, placeholder=t("none"))

with right.container(border=True):
    st.markdown("##### " + t("chart_funnel"))
    st.segmented_control(t("funnel_measure"), ["overdue", "repeat"], default="overdue", required=True,
                         format_func=lambda m: t(f"funnel_{m}"), key="funnel_measure")
    funnel = st.plotly_chart(s.charts["chart_funnel"], key="funnel", on_select="rerun", selection_mode="points")
    st.caption(t("funnel_outside", units=plain(", ".join(s.outside))) if s.outside else t("funnel_none_outside"))

clicked = drill.point(funnel)
if clicked:
    drill.show(f, drill.Drill(unit=clicked[0], open=measure == "overdue", overdue=measure == "overdue",
                              repeat=measure == "repeat",
                              found_from=f.since if measure == "repeat" else None,
                              found_to=f.until if measure == "repeat" else None),
               t, "funnel-rows", s.names.get(clicked[0], clicked[0]))

with st.container(border=True, key="open-items"):
    st.markdown("##### " + t("open_items_title"))
    drill.grid(drill.shown(s.open_items, t), t)
    drill.downloads(lambda: drill.shown(session.query("open_items", f, limit=drill.ALL_ROWS), t),
                    "open-items", t, "open-items")

with st.container(border=True, key="due-status"):
    st.markdown("##### " + t("due_status_by_unit_title"))
    st.caption(t("due_status_by_unit_help"))
    if s.due_status_by_unit.empty:
        st.caption(t("table_empty"))
    else:
        st.dataframe(s.due_status, hide_index=True, placeholder=t("none"))
