"""Closeloop's frame: page setup, the store, language, the shared filters and the site map."""

import logging

import streamlit as st

from closeloop import i18n, session, sidebar, store
from closeloop.session import t

# The icon is an emoji, drawn in the browser: a :material/…: page icon is fetched from fonts.gstatic.com.
st.set_page_config(page_title="Closeloop · 闭环", page_icon="🔄", layout="wide")

sidebar.follow_history(i18n.language_from_locale(st.context.locale))
session.language_picker()
session.uploader_words()
# The site map before the store is held: on a fresh server the demo store takes a while to build, and until
# st.navigation has run Streamlit lists the pages/ folder's file names ("overview", "units") in the sidebar.
overview = st.Page("pages/overview.py", title=t("page_overview"), icon=":material/dashboard:", url_path="",
                   default=True)


def overview_link() -> None:
    """/overview, typed or shared, opens the Overview at the app's root, its URL, with the link's filters.
    (Streamlit serves the default page at the root only, and answered any other path with an English
    "Page not found".)"""
    st.switch_page(overview, query_params=st.query_params.to_dict())


my_unit = st.Page("pages/my_unit.py", title=t("page_my_unit"), icon=":material/person_pin:", url_path="my_unit")
pages = [
    overview,
    st.Page("pages/review.py", title=t("page_review"), icon=":material/groups:", url_path="review"),
    st.Page("pages/units.py", title=t("page_units"), icon=":material/account_tree:", url_path="units"),
    st.Page("pages/rectification.py", title=t("page_rectification"), icon=":material/task_alt:",
            url_path="rectification"),
    st.Page("pages/recurrence.py", title=t("page_recurrence"), icon=":material/autorenew:", url_path="recurrence"),
    st.Page("pages/time_to_close.py", title=t("page_time_to_close"), icon=":material/timer:",
            url_path="time_to_close"),
    st.Page("pages/data.py", title=t("page_data"), icon=":material/table_view:", url_path="data"),
    st.Page("pages/objectives.py", title=t("page_objectives"), icon=":material/flag:", url_path="objectives"),
    st.Page("pages/inspections.py", title=t("page_inspections"), icon=":material/fact_check:",
            url_path="inspections"),
    st.Page("pages/satisfaction.py", title=t("page_satisfaction"), icon=":material/sentiment_satisfied:",
            url_path="satisfaction"),
    my_unit,
    st.Page(overview_link, title=t("page_overview"), url_path="overview", visibility="hidden"),
]
site = st.navigation(pages)

# Held for the whole run, handed over between runs when a command asks for the store (closeloop/lease.py).
with session.holding():
    session.sign_in()
    if session.my_unit():  # "My unit", one click away for a viewer who has one
        st.sidebar.page_link(my_unit, label=t("page_my_unit"), icon=":material/person_pin:")
    session.refuse_links_outside_scope(session.units())
    # Bound to this run's language: a picker's format_func is called again later, outside the run.
    data_dates = session.data_dates()
    sidebar.draw(session.units(), session.categories(), i18n.translator(session.language()), data_dates,
                 session.scope())
    if sidebar.opened_on_data_end():
        st.info(t("as_of_data_end", last=sidebar.opened_on_data_end()))
    if session.is_demo():
        st.info(t("demo_notice", ncs=f"{session.store_counts()['nonconformities']:,}", db=store.location()))

    st.session_state["_framed"] = True
    try:
        site.run()
    except Exception:
        # The viewer gets one line in their language; the traceback, with its paths and SQL, goes to the log.
        logging.getLogger("closeloop").exception("page failed: %s", st.context.url)
        st.error(t("page_failed"))
    finally:
        st.session_state["_framed"] = False
