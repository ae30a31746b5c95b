"""How is my unit doing: its rank among its sibling units, whose actions are late, and what falls due this week."""

from datetime import timedelta

import streamlit as st

from closeloop import drill, filters, session, sidebar
from closeloop.i18n import plain
from closeloop.screens import DUE_WITHIN_DAYS
from closeloop.session import t

session.require_frame()

chosen = sidebar.current()
f = chosen.replace(unit=session.my_unit() or chosen.unit)
s = session.screen("my_unit", f)
name = plain(session.unit_label(f.unit)) if f.unit else t("whole_organisation")

st.title(t("page_my_unit"))
st.caption(plain(filters.describe(f, t, session.unit_label(f.unit))))
if chosen.unit not in (None, f.unit):
    st.caption(t("my_unit_sidebar_differs", unit=plain(session.unit_label(chosen.unit))))

with st.container(border=True, key="ranks"):
    st.markdown("##### " + t("rank_title"))
    if f.unit is None:
        st.info(t("my_unit_choose"))
    elif s.parent is None:
        st.info(t("rank_top", unit=name))
    else:
        st.caption(t("rank_caption", n=s.siblings, parent=plain(s.parent_name)) if s.parent_name
                   else t("rank_caption_siblings", n=s.siblings))
        for column, row in zip(st.columns(4) + st.columns(4), s.ranks.itertuples()):
            with column.container(border=True, key=f"rank-{row.kpi}", height="stretch"):
                st.metric(row.label, row.rank_text)
                st.caption(t("rank_value", value=row.value_text, better=row.better_text))

with st.container(border=True, key="owners"):
    st.markdown("##### " + t("owners_title"))
    st.caption(t("owners_help"))
    if s.overdue_by_owner.empty:
        st.caption(t("owners_empty"))
    for owner, items in zip(s.overdue_by_owner.itertuples(), s.owner_items):
        label = t("owner_row", owner=plain(owner.owner) if isinstance(owner.owner, str) else t("owner_none"),
                  n=f"{owner.actions:,}", days=f"{owner.oldest_days_overdue:,}")
        with st.expander(label):
            drill.grid(drill.shown(items, t), t)
            if owner.actions > len(items):
                st.caption(t("owner_rows_cut", shown=len(items), n=f"{owner.actions:,}"))
    if len(s.overdue_by_owner) > len(s.owner_items):
        st.caption(t("owners_more", n=f"{len(s.overdue_by_owner) - len(s.owner_items):,}"))

with st.container(border=True, key="due-within"):
    st.markdown("##### " + t("due_within_title", days=DUE_WITHIN_DAYS))
    st.caption(t("due_within_caption", first=f.as_of, last=f.as_of + timedelta(days=DUE_WITHIN_DAYS - 1),
                 n=f"{s.due_count:,}"))
    drill.grid(drill.shown(s.due_within, t), t)
