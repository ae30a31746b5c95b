"""What is open, what is late, what keeps coming back and how fast we close: the review's first screen."""

import streamlit as st

from closeloop import cards, drill, filters, session, sidebar, targets
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
s = session.screen("overview", f)

st.title(t("page_overview"))
st.caption(plain(filters.describe(f, t, session.unit_label(f.unit))))

# Each card and each chart opens the rows it counted, under it; the last one clicked is the one open.
picked = st.session_state.get("overview_picked") or (None, None)
goals = targets.from_rows(session.query("kpi_targets_for", f))
cards.kpi_row(s.contract, s.previous, f.window_days, targets.badges(s.contract, goals, t),
              on_open=drill.picker("overview_picked", "kpi"), opened=picked[1] if picked[0] == "kpi" else None)
if s.contract["no_due_date_open"]:
    st.caption(t("no_due_date_note", n=f"{s.contract['no_due_date_open']:,}"))
if picked[0] == "kpi":
    drill.show_kpi(picked[1], f, t)


def selectable(key: str) -> dict:
    return {"on_select": drill.picker("overview_picked", "chart", key), "selection_mode": "points"}


left, right = st.columns(2)
clicked = {"opened-closed": cards.chart(s, "chart_opened_closed", "opened-closed", left, **selectable("opened-closed")),
           "aging": cards.chart(s, "chart_aging", "aging", right, **selectable("aging"))}
drill.show_picked(picked, clicked, f, s, t)

left, right = st.columns(2)
clicked = {"top-overdue": cards.chart(s, "chart_top_overdue", "top-overdue", left, **selectable("top-overdue")),
           "pareto-category": cards.chart(s, "chart_pareto_category", "pareto-category", right,
                                          **selectable("pareto-category"))}
drill.show_picked(picked, clicked, f, s, t)
