"""What is open, what is late, what keeps coming back and how fast we close: the review's first screen."""

import streamlit as st

from closeloop import cards, filters, session, sidebar, targets
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
s = session.screen("overview", f)

st.title(t("page_overview"))
st.caption(plain(filters.describe(f, t, session.unit_label(f.unit))))

goals = targets.from_rows(session.query("kpi_targets_for", f))
cards.kpi_row(s.contract, s.previous, f.window_days, targets.badges(s.contract, goals, t))
if s.contract["no_due_date_open"]:
    st.caption(t("no_due_date_note", n=f"{s.contract['no_due_date_open']:,}"))

left, right = st.columns(2)
cards.chart(s, "chart_opened_closed", "opened-closed", left)
cards.chart(s, "chart_aging", "aging", right)
cards.chart(s, "chart_top_overdue", "top-overdue", left)
cards.chart(s, "chart_pareto_category", "pareto-category", right)
