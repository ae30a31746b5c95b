"""Who owns which action, what is due and what awaits verification; and recording what happened."""

import streamlit as st

from closeloop import detail, drill, filters, session, sidebar
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
st.title(t("page_rectification"))
st.caption(plain(filters.describe(f, t, session.unit_label(f.unit))))

view = detail.views(t)
s = session.screen("rectification", f, view=view, me=tuple(session.me()))
actions, findings = s.rectification_actions, s.rectification_nonconformities


def every(name: str):
    return session.query(name, f, view=view, me=session.me(), limit=drill.ALL_ROWS)


lists, record = st.columns([3, 2])  # the list's owner, due date and status beside the detail, not scrolled to
with lists:
    on_actions, on_findings = st.tabs([t("tab_actions", n=f"{detail.rows_in_view(actions):,}"),
                                       t("tab_nonconformities", n=f"{detail.rows_in_view(findings):,}")])
    with on_actions:
        detail.listing(actions, t, "actions", "action_status_", lambda: every("rectification_actions"))
    with on_findings:
        detail.listing(findings, t, "nonconformities", "status_",
                       lambda: every("rectification_nonconformities"))
with record:
    opened = detail.panel(st.query_params.get("ref"), f, t)
if opened:
    detail.history(opened, f, t)
