"""What changed since the last management review, where its decisions stand, and the pack for this one."""

import streamlit as st

from closeloop import filters, meeting, session, sidebar
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
with st.container(border=True, key="review-since"):
    st.markdown("##### " + t("pack_since_review"))
    meeting.since(last, shown, s.changes, t)
with st.container(border=True, key="review-previous-decisions"):
    st.markdown("##### " + t("decisions_previous"))
    meeting.decisions(last, shown.as_of, t, "previous-decisions")
with st.container(border=True, key="review-decisions"):
    if opened:
        st.markdown("##### " + t("decisions_this"))
        meeting.decisions(opened, f.as_of, t, "this-decisions")
        meeting.decision_form(opened, t)
    else:
        meeting.record_form(f, t)
with st.container(border=True, key="review-pack"):
    st.markdown("##### " + t("pack_title"))
    meeting.pack(shown, t)
