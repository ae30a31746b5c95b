"""What is open, what is late, what keeps coming back and how fast we close: the review's first screen."""

import streamlit as st

from closeloop import cards, charts, filters, session, sidebar
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
label = "name_en" if session.language() == "en" else "name"

st.title(t("page_overview"))
st.caption(plain(filters.describe(f, t, session.unit_label(f.unit))))

now, before = session.contract(f), session.contract(f.previous())
monthly = session.query("opened_closed_monthly", f)
overdue_units = session.query("overdue_by_unit", f)
by_category = session.query("opened_by_category", f)

cards.kpi_row(now, before, t, f.window_days)
if now["no_due_date_open"]:
    st.caption(t("no_due_date_note", n=f"{now['no_due_date_open']:,}"))

left, right = st.columns(2)
with left.container(border=True):
    st.markdown("##### " + t("chart_opened_closed"))
    st.plotly_chart(charts.opened_closed(monthly, t), key="opened-closed")
with right.container(border=True):
    st.markdown("##### " + t("chart_aging"))
    st.plotly_chart(charts.aging(now["aging"], t), key="aging")
with left.container(border=True):
    st.markdown("##### " + t("chart_top_overdue"))
    if overdue_units.empty:
        st.info(t("no_data"))
    else:
        st.plotly_chart(charts.top_overdue(overdue_units, label, t), key="top-overdue")
with right.container(border=True):
    st.markdown("##### " + t("chart_pareto_category"))
    if by_category.empty:
        st.info(t("no_data"))
    else:
        st.plotly_chart(charts.pareto(by_category, "category_en" if label == "name_en" else "category", t),
                        key="pareto-category")
