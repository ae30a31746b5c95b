"""How long does closing take, counting what is still open, and where does the time go?"""

from datetime import date

import streamlit as st

from closeloop import charts, drill, filters, metrics, session, sidebar
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
names = dict(zip(session.units()["code"], session.units()["label"]))

st.title(t("page_time_to_close"))
st.caption(plain(filters.describe(f, t, names.get(f.unit))))

split = st.segmented_control(t("split_by"), ["severity", "source", "unit"], default="severity", required=True,
                             format_func=lambda s: t(f"split_{s}"), key="time_split")
curves = metrics.survival_by(session.query("durations_by_group", f, split=split))
quantiles = metrics.quantiles_by(curves)
quarterly = metrics.quantiles_by(metrics.survival_by(session.query("durations_by_group", f, split="quarter")))
on_time = session.query("on_time_by_quarter", f)
phases = session.query("closure_phases", f).iloc[0].to_dict()
closed = session.query("closed_by_days", f)
group_names = names if split == "unit" else {g: t(f"{split}_{g}") for g in quantiles["grp"]}

with st.container(border=True, key="km-curves"):
    st.markdown("##### " + t("chart_km"))
    st.caption(t("km_help"))
    picked_group = drill.point(st.plotly_chart(charts.survival_curves(curves, quantiles, group_names, t),
                                               key="km", on_select="rerun", selection_mode="points"))
    st.dataframe(drill.shown(quantiles.assign(grp=quantiles["grp"].map(lambda g: group_names.get(g, g))), t,
                                missing={"median": t("km_not_reached"), "p90": t("km_not_reached")}),
                 hide_index=True, placeholder=t("none"),
                 column_config={t(f"col_{c}"): st.column_config.TextColumn(alignment="right")
                                for c in ("median", "p90")})  # days, as text: right as numbers
if picked_group:
    condition = {"unit": picked_group[0]} if split == "unit" else {split: picked_group[0]}
    drill.show(f, drill.Drill(found_from=f.since, found_to=min(f.until, f.as_of), **condition), t, "km-rows",
               group_names.get(picked_group[0], picked_group[0]))

left, right = st.columns(2)
with left.container(border=True):
    st.markdown("##### " + t("chart_quarterly_quantiles"))
    picked_quarter = drill.point(st.plotly_chart(charts.quarterly_quantiles(quarterly, t), key="quarterly",
                                                 on_select="rerun", selection_mode="points"))
with right.container(border=True):
    st.markdown("##### " + t("chart_on_time"))
    picked_on_time = drill.point(st.plotly_chart(charts.on_time_trend(on_time, t), key="on-time",
                                                 on_select="rerun", selection_mode="points"))
if picked_quarter:
    year, quarter = picked_quarter[0].split("-Q")
    start = date(int(year), 3 * int(quarter) - 2, 1)
    drill.show(f, drill.Drill(found_from=max(start, f.since), found_to=drill.period_end(start, "quarter", f.until)),
               t, "quarter-rows", picked_quarter[0])
if picked_on_time:
    start = date.fromisoformat(picked_on_time[0][:10])
    drill.show(f, drill.Drill(closed_from=max(start, f.since), closed_to=drill.period_end(start, "quarter", f.until)),
               t, "on-time-rows", picked_on_time[0])

left, right = st.columns(2)
with left.container(border=True, key="phases"):
    st.markdown("##### " + t("chart_phases"))
    if phases["findings"]:
        st.plotly_chart(charts.phases(phases, t), key="phases-chart")
        st.caption(t("phases_help", n=f"{int(phases['findings']):,}", total=f"{phases['found_to_verified']:.0f}"))
    else:
        st.info(t("no_data"))
with right.container(border=True):
    st.markdown("##### " + t("chart_days_to_close"))
    picked_bin = None
    if closed.empty:
        st.info(t("no_data"))
    else:
        picked_bin = drill.point(st.plotly_chart(charts.days_to_close_histogram(closed, t), key="days-histogram",
                                                 on_select="rerun", selection_mode="points"))
if picked_bin:
    drill.show(f, drill.Drill(closed_from=f.since, closed_to=f.until, days_from=int(picked_bin[0]),
                              days_to=int(picked_bin[1])), t, "days-rows", f"{picked_bin[0]}–{picked_bin[1]}")
