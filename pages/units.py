"""Which units carry the most, and how does one unit compare with its parent and its peers?"""

import streamlit as st

from closeloop import charts, drill, filters, kpis, metrics, session, sidebar
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
label = session.label()
names = dict(zip(session.units()["code"], session.units()["label"]))
lineage = session.lineage(f.unit)
parent = lineage[-2] if len(lineage) > 1 else None
# The funnel compares the units one level below the chosen one; a unit with none is compared with its siblings.
level = f.unit if session.children(f.unit) else parent

st.title(t("page_units"))
st.caption(plain(filters.describe(f, t, names.get(f.unit))))
with st.container(horizontal=True, key="breadcrumb"):
    st.button(t("whole_organisation"), on_click=sidebar.choose_unit, args=(None,), type="tertiary")
    for code in lineage:
        st.button("› " + plain(names[code]), on_click=sidebar.choose_unit, args=(code,), type="tertiary",
                  disabled=code == f.unit, key=f"crumb-{code}")

rollup = session.query("unit_rollup", f, levels=charts.TREEMAP_LEVELS)
level_counts = session.query("kpis_by_child_unit", f.replace(unit=level))
organisation = session.contract(f.replace(unit=None))

with st.container(border=True):
    st.markdown("##### " + t("chart_unit_tree"))
    st.caption(t("unit_tree_help"))
    st.plotly_chart(charts.unit_treemap(rollup, label, t), key="unit-tree", on_select=drill.unit_from("unit-tree"),
                    selection_mode="points")

left, right = st.columns([1, 1])
with left.container(border=True, key="scorecard"):
    st.markdown("##### " + t("scorecard_title", unit=plain(names.get(f.unit, t("whole_organisation")))))
    if f.unit is None:
        st.info(t("scorecard_choose_unit"))
    else:
        peers = session.unit_kpis(f.replace(unit=parent))
        table = metrics.scorecard(session.contract(f), session.contract(f.replace(unit=parent)) if parent else None,
                                  peers, [k for k, _, _ in kpis.KPIS])
        st.dataframe(kpis.scorecard_table(table, t), hide_index=True, placeholder=t("none"))

with right.container(border=True):
    st.markdown("##### " + t("chart_funnel"))
    measure = st.segmented_control(t("funnel_measure"), ["overdue", "repeat"], default="overdue", required=True,
                                   format_func=lambda m: t(f"funnel_{m}"), key="funnel_measure")
    points = metrics.funnel_points(level_counts, measure)
    p0 = metrics.ratio(*((organisation["overdue"], organisation["open"]) if measure == "overdue"
                         else (organisation["repeat_in_period"], organisation["opened_in_period"]))) or 0.0
    points["outside"] = metrics.outside_limits(p0, points["volume"], points["rate"])
    limits = metrics.funnel_limits(p0, int(points["volume"].max()) if len(points) else 1)
    funnel = st.plotly_chart(charts.funnel(points, limits, p0, label, t), key="funnel", on_select="rerun",
                             selection_mode="points")
    flagged = points[points["outside"]]
    st.caption(t("funnel_outside", units=plain(", ".join(flagged[label]))) if len(flagged) else t("funnel_none_outside"))

clicked = drill.point(funnel)
if clicked:
    drill.show(f, drill.Drill(unit=clicked[0], open=measure == "overdue", overdue=measure == "overdue",
                              repeat=measure == "repeat",
                              found_from=f.since if measure == "repeat" else None,
                              found_to=f.until if measure == "repeat" else None),
               t, "funnel-rows", names.get(clicked[0], clicked[0]))

with st.container(border=True, key="open-items"):
    st.markdown("##### " + t("open_items_title"))
    items = session.query("open_items", f, limit=drill.SHOWN_ROWS)
    drill.grid(drill.shown(items, t), t)
    drill.downloads(lambda: drill.shown(session.query("open_items", f, limit=drill.ALL_ROWS), t),
                    "open-items", t, "open-items")

with st.container(border=True, key="due-status"):
    st.markdown("##### " + t("due_status_by_unit_title"))
    st.caption(t("due_status_by_unit_help"))
    lights = session.query("due_status_by_unit", f.replace(unit=level))
    if lights.empty:
        st.caption(t("table_empty"))
    else:
        st.dataframe(kpis.due_status_table(lights, label, t), hide_index=True, placeholder=t("none"))
