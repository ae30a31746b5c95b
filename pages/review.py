"""What changed since the last management review, how objectives, satisfaction and inspections compare with it,
the chair's conclusions, where its decisions stand, and the pack for this one."""

import streamlit as st

from closeloop import filters, meeting, review, session, sidebar
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
st.title(t("page_review"))
st.caption(plain(filters.describe(f, t, session.unit_label(f.unit))))
meeting.flash()

s = session.screen("management_review", f, review_id=meeting.pick(session.query("review_list", f), t))
opened, shown, last = s.opened, s.shown, s.last

if opened:
    meeting.header(opened, t)
with st.container(border=True, key="review-kpis"):
    st.markdown("##### " + t("review_kpis"))
    st.dataframe(s.comparison, hide_index=True, placeholder=t("none"), key="review-compare")
    meeting.conclusion(opened, "findings", s.conclusions, t)
with st.container(border=True, key="review-since"):
    st.markdown("##### " + t("pack_since_review"))
    meeting.since(last, shown, s.changes, t)
with st.container(border=True, key="review-previous-decisions"):
    st.markdown("##### " + t("decisions_previous"))
    meeting.decisions(last, shown.as_of, t, "previous-decisions")
for section in review.PLAN_SECTIONS:
    with st.container(border=True, key=f"review-{section}"):
        st.markdown("##### " + t(f"review_section_{section}"))
        meeting.plan_section(section, s.plan_tables, s.satisfaction_units, last, shown, t)
        meeting.conclusion(opened, section, s.conclusions, t)
with st.container(border=True, key="review-decisions"):
    if opened:
        st.markdown("##### " + t("decisions_this"))
        meeting.decisions(opened, f.as_of, t, "this-decisions")
        meeting.decision_form(opened, t)
        meeting.conclusion(opened, "decisions", s.conclusions, t)
    else:
        meeting.record_form(f, t)
with st.container(border=True, key="review-pack"):
    st.markdown("##### " + t("pack_title"))
    meeting.pack(shown, t)
