"""What changed since the last management review, where its decisions stand, and the pack for this one."""

import streamlit as st

from closeloop import filters, meeting, review, session, sidebar
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
st.title(t("page_review"))
st.caption(plain(filters.describe(f, t, session.unit_label(f.unit))))
meeting.flash()

opened = meeting.pick(session.query("review_list", f), t)
shown = opened.filters if opened else f
last = review.last_before(session.connection(), shown.unit, shown.as_of, session.scope())

if opened:
    meeting.header(opened, t)
with st.container(border=True, key="review-kpis"):
    st.markdown("##### " + t("review_kpis"))
    now = opened.contract if opened else session.contract(f)
    meeting.compare(now, t("review_this") if opened else t("pack_now"), last, t)
with st.container(border=True, key="review-since"):
    st.markdown("##### " + t("pack_since_review"))
    meeting.since(last, shown, t)
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
