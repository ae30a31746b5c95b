"""How long does closing take, counting what is still open, and where does the time go?"""

from datetime import date

import streamlit as st

from closeloop import cards, drill, filters, session, sidebar
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
st.title(t("page_time_to_close"))
st.caption(plain(filters.describe(f, t, session.unit_label(f.unit))))

split = st.segmented_control(t("split_by"), ["severity", "source", "unit"], default="severity", required=True,
                             format_func=lambda s: t(f"split_{s}"), key="time_split")
s = session.screen("time_to_close", f, split=split)
selectable = {"on_select": "rerun", "selection_mode": "points"}

with st.container(border=True, key="km-curves"):
    st.markdown("##### " + t("chart_km"))
    st.caption(t("km_help"))
    picked_group = drill.point(st.plotly_chart(s.charts["chart_km"], key="km", **selectable))
    st.dataframe(s.quantile_table, hide_index=True, placeholder=t("none"),
                 column_config={t(f"col_{c}"): st.column_config.TextColumn(alignment="right")
                                for c in ("median", "p90")})  # days, as text: right as numbers
if picked_group:
    condition = {"unit": picked_group[0]} if split == "unit" else {split: picked_group[0]}
    drill.show(f, drill.Drill(found_from=f.since, found_to=min(f.until, f.as_of), **condition), t, "km-rows",
               s.group_names.get(picked_group[0], picked_group[0]))

left, right = st.columns(2)
picked_quarter = drill.point(cards.chart(s, "chart_quarterly_quantiles", "quarterly", left, **selectable))
picked_on_time = drill.point(cards.chart(s, "chart_on_time", "on-time", right, **selectable))
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
phases = s.closure_phases
with left.container(border=True, key="phases"):
    st.markdown("##### " + t("chart_phases"))
    if phases["findings"]:
        st.plotly_chart(s.charts["chart_phases"], key="phases-chart")
        st.caption(t("phases_help", n=f"{int(phases['findings']):,}", total=f"{phases['found_to_verified']:.0f}"))
    else:
        st.info(t("no_data"))
picked_bin = drill.point(cards.chart(s, "chart_days_to_close", "days-histogram", right, **selectable))
if picked_bin:
    drill.show(f, drill.Drill(closed_from=f.since, closed_to=f.until, days_from=int(picked_bin[0]),
                              days_to=int(picked_bin[1])), t, "days-rows", f"{picked_bin[0]}–{picked_bin[1]}")
