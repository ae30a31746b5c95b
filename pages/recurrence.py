"""What keeps coming back, where, and did the corrective action hold?"""

from datetime import date

import streamlit as st

from closeloop import cards, drill, filters, session, sidebar
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

st.title(t("page_recurrence"))
window, grain_column = st.columns([1, 2])
window.number_input(t("window_days"), *filters.WINDOW_LIMITS, step=1, help=t("window_days_help"),
                    **sidebar.remembered("window_days"))
f = sidebar.current()
st.caption(plain(filters.describe(f, t, session.unit_label(f.unit)) + " " + t("window_sentence", days=f.window_days)))

grain = grain_column.segmented_control(t("grain"), ["month", "quarter"], default="month", required=True,
                                       format_func=lambda g: t(f"grain_{g}"), key="recurrence_grain")
s = session.screen("recurrence", f, grain=grain)
selectable = {"on_select": "rerun", "selection_mode": "points"}

picked_period = drill.point(cards.chart(s, "chart_recurrence_trend", "recurrence-trend", **selectable))
if picked_period:
    start = date.fromisoformat(picked_period[0][:10])
    drill.show(f, drill.Drill(found_from=max(start, f.since), found_to=drill.period_end(start, grain, f.until),
                              repeat=True), t, "trend-rows", picked_period[0])

# One above the other, each the page's width: side by side, the grid's numbers overlapped and the
# Pareto's names were squashed.
picked_cell = drill.point(cards.chart(s, "chart_repeat_heatmap", "repeat-heatmap", **selectable))
picked_criterion = drill.point(cards.chart(s, "chart_repeat_pareto", "repeat-pareto", **selectable))

chain_unit, chain_criterion = (picked_cell or [None, None])[:2]
chain_criterion = chain_criterion or (picked_criterion or [None])[0]
if picked_cell or picked_criterion:
    # the repeats the bar or cell counted, as many as it shows; then how each repeats an earlier finding
    name = drill.criterion_name(s.repeats_by_criterion, chain_criterion)
    if picked_cell:
        name += " · " + session.unit_names().get(chain_unit, chain_unit)
    drill.show(f, drill.repeats_counted(f, chain_unit, chain_criterion, session.units()), t, "repeat-rows",
               t("repeats_of", name=name))
    with st.container(border=True, key="repeat-chains"):
        st.markdown("##### " + t("chains_title"))
        st.caption(t("chains_pairs"))
        chain = {"chain_unit": chain_unit, "chain_criterion": chain_criterion}
        drill.grid(drill.shown(session.query("repeat_chains", f, **chain, limit=drill.SHOWN_ROWS), t), t)
        drill.downloads(lambda: drill.shown(session.query("repeat_chains", f, **chain, limit=drill.ALL_ROWS), t),
                        "repeat-chains", t, "repeat-chains")

picked_systemic = drill.point(cards.chart(s, "chart_systemic", "systemic", caption=t("systemic_help"), **selectable))
if picked_systemic:
    drill.show_units(f, picked_systemic[0], t,
                     t("units_failing_of", name=drill.criterion_name(s.systemic_criteria, picked_systemic[0])))
