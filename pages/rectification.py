"""Who owns which action, what is due and what awaits verification; and recording what happened."""

import streamlit as st

from closeloop import detail, filters, session
from closeloop.session import t

session.require_frame()

f = filters.current()
st.title(t("page_rectification"))
st.caption(filters.describe(f, t, session.unit_label(f.unit)))

view = detail.views(t)
actions = session.query("rectification_actions", f, view=view, me=session.me())
findings = session.query("rectification_nonconformities", f, view=view, me=session.me())

lists, record = st.columns(2)
with lists:
    on_actions, on_findings = st.tabs([t("tab_actions", n=f"{len(actions):,}"),
                                       t("tab_nonconformities", n=f"{len(findings):,}")])
    with on_actions:
        detail.listing(actions, t, "actions", "action_status_")
    with on_findings:
        detail.listing(findings, t, "nonconformities", "status_")
with record:
    opened = detail.panel(st.query_params.get("ref"), f, t)
if opened:
    detail.history(opened, f, t)
