"""The shared filters as sidebar widgets, kept in the session and the URL; only dashboard.py and pages draw them."""

from __future__ import annotations

from datetime import date

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from closeloop import clock, filters
from closeloop.i18n import plain

# Keyed widgets drawn once by dashboard.py; pages call current(). Every filter is synced
# to the URL by hand, as codes (?as_of=2026-06-30&unit=DH&sources=inspection,internal_audit&lang=en),
# rather than with bind="query-params": a bound select puts its translated label in the URL, so a link
# made in Chinese would not open in English, and writing st.query_params for the unbound ones drops the
# bound ones from the browser's URL.


def remembered(key: str) -> dict:
    """Keyword arguments for a filter widget that keeps its value on every page.

    Streamlit starts a widget afresh when its label or default changes (switching the language
    changes every label), so a plain session key remembers the value and hands it back before the
    widget is drawn.
    """
    kept = f"_kept_{key}"
    if kept in st.session_state:
        st.session_state[key] = st.session_state[kept]
    elif key in st.session_state:
        # Assigning the value again makes the widget redraw its label in the new language
        # (a select keeps the old text otherwise).
        st.session_state[key] = st.session_state[key]
    return {"key": key, "on_change": remember, "args": (key,)}


def remember(key: str) -> None:
    st.session_state[f"_kept_{key}"] = st.session_state.get(key)


def seed_from_url(allowed: dict[str, set | None]) -> None:
    """On a session's first run, set each keyed widget from the URL where it holds a value it allows."""
    seeded = st.session_state.setdefault("_seeded_from_url", set())
    for key, codes in allowed.items():
        if key in seeded:
            continue
        seeded.add(key)
        raw = st.query_params.get(key)
        value = filters.parsed(key, raw, codes) if raw else None
        if value is not None:
            st.session_state[key] = value
            st.session_state[f"_kept_{key}"] = value
        ignored = raw if value is None else ",".join(c for c in raw.split(",") if c not in codes) \
            if isinstance(value, list) else ""
        if ignored:  # said by url_notes() on every run of the session
            st.session_state.setdefault("_url_ignored", {})[key] = ignored


def url_notes(t) -> None:
    """One note for each value of the link that no filter could hold (each filter keeps its default)."""
    for key, raw in st.session_state.get("_url_ignored", {}).items():
        st.caption(t("url_value_ignored", name=key, value=plain(raw[:100])))


def write_to_url(defaults: dict) -> None:
    """Put each widget's value in the URL, or take it out where it holds the default."""
    for key, default in defaults.items():
        value = filters.encoded(st.session_state.get(key))
        if value is None or value == filters.encoded(default):
            st.query_params.pop(key, None)
        elif st.query_params.get(key) != value:
            st.query_params[key] = value


def draw(units, categories, t, data_dates: tuple[date | None, date | None] = (None, None),
         scope: str | None = None) -> None:
    """Draw the shared filters. `units`: one row per unit in tree order (code, label, depth, parent_code,
    name, name_en); `data_dates`: the first and last day of the data (session.data_dates), shown under
    the as-of date, which opens on the last one when it is before today (opening_as_of); `scope`: the unit
    whose subtree the viewer may see (None: the whole organisation), the picker's first choice."""
    labels = dict(zip(units["code"], units["label"]))
    depths = dict(zip(units["code"], units["depth"]))
    category_labels = dict(zip(categories["category"], categories["label"]))
    seed_from_url({"as_of": None, "since": None, "until": None, "window_days": None, "unit": set(labels),
                   "sources": set(filters.SOURCES), "severities": set(filters.SEVERITIES),
                   "categories": set(category_labels)})
    st.session_state.setdefault("window_days", filters.DEFAULT_WINDOW_DAYS)  # its widget is on the Recurrence page
    opening = filters.opening_as_of(data_dates[1])
    # neither the URL nor an earlier run has set one, or Back came to a URL without one
    if "as_of" not in st.session_state or st.session_state.pop("_as_of_reset", False):
        st.session_state["as_of"] = opening
        if opening != clock.today():
            st.session_state["_as_of_on_data_end"] = opening
    with st.sidebar:
        st.subheader(t("filters"))
        st.date_input(t("as_of"), **remembered("as_of"))
        if data_dates[0] is not None:
            st.caption(t("data_range", first=data_dates[0], last=data_dates[1]))
        st.date_input(t("since"), value=None, help=t("period_help"), **remembered("since"))
        st.date_input(t("until"), value=None, help=t("period_help"), **remembered("until"))
        whole = len(units) <= filters.UNITS_LISTED_WHOLE
        search = "" if whole else st.session_state.get("unit_search", "")
        chosen = st.session_state.get("unit") or None
        offered, matching = filters.unit_options(units, chosen, search)
        top = labels.get(scope, scope) if scope else t("whole_organisation")
        st.selectbox(
            t("unit"),
            # "" is all the viewer may see: None would read as "nothing chosen". A scoped viewer's own unit is
            # that first choice, named for it, so it is not listed a second time.
            ["", *(c for c in offered if c != scope or c == chosen)],
            format_func=lambda code: top if not code else "\u3000" * int(depths[code]) + labels[code],
            help=None if whole else t("unit_picker_help"),
            **(remembered("unit") | {"on_change": _unit_chosen}),
        )
        if not whole:
            st.text_input(t("unit_search"), key="unit_search", type="search", label_visibility="collapsed",
                          placeholder=t("unit_search_placeholder"), on_change=_unit_searched, args=(units,))
            if search.strip():
                st.caption(filters.matches_note(search.strip(), matching, t))
        st.multiselect(t("sources"), filters.SOURCES, format_func=lambda s: t(f"source_{s}"), placeholder=t("all"),
                       **remembered("sources"))
        st.multiselect(t("severities"), filters.SEVERITIES, format_func=lambda s: t(f"severity_{s}"),
                       placeholder=t("all"), **remembered("severities"))
        st.multiselect(t("categories"), list(category_labels), format_func=category_labels.get,
                       placeholder=t("all"), **remembered("categories"))
        url_notes(t)
    write_to_url({"as_of": clock.today(), "since": None, "until": None, "unit": None, "sources": None,
                  "severities": None, "categories": None, "window_days": filters.DEFAULT_WINDOW_DAYS})


def _unit_chosen(key: str) -> None:
    """A unit picked in the list: remembered for every page, and the search that listed it done with."""
    remember(key)
    st.session_state["unit_search"] = ""


def _unit_searched(units) -> None:
    """A search naming one unit chooses it."""
    code = filters.searched_unit(units, st.session_state.get("unit_search") or "")
    if code is not None:
        choose_unit(code)
        st.session_state["unit_search"] = ""


def current() -> filters.Filters:
    """The filters as the sidebar (and so the URL) has them; an empty period means the 12 months to as-of."""
    state = st.session_state
    f = filters.Filters.default(
        state.get("as_of") or clock.today(),
        unit=state.get("unit") or None,
        sources=tuple(state.get("sources") or ()),
        severities=tuple(state.get("severities") or ()),
        categories=tuple(state.get("categories") or ()),
        window_days=int(state.get("window_days") or filters.DEFAULT_WINDOW_DAYS),
    )
    since, until = state.get("since") or f.since, state.get("until") or f.until
    return f.replace(since=since, until=until) if since <= until else f


def choose_unit(code: str | None) -> None:
    """Make `code` the unit filter for every page; call from a widget callback, before the sidebar draws."""
    st.session_state["unit"] = code or ""
    remember("unit")


def opened_on_data_end() -> date | None:
    """The data's last day while the view is as of it because the dashboard opened there (the page says
    so); None once another as-of date is chosen, or when the dashboard opened on today."""
    opened = st.session_state.get("_as_of_on_data_end")
    return opened if opened is not None and st.session_state.get("as_of") == opened else None


def follow_history(lang_default: str) -> None:
    """On Back or Forward, take the filters from the URL again; call before any filter widget is drawn.

    Each change of a filter writes the URL, which Streamlit makes a new browser history entry (a drill
    into a unit is one). The filters live in the session, seeded from the URL once: without this, the
    run after Back would draw the old values and write them over the URL it came back to. Streamlit
    marks such a run (is_history_navigation) for the widgets it binds to the URL itself, which these
    are not (see seed_from_url). A value the URL leaves out is the default, set here explicitly: the
    browser sends the widgets' old values with the run."""
    if not getattr(get_script_run_ctx(), "is_history_navigation", False):
        return
    st.session_state["_seeded_from_url"] = set()
    defaults = {"lang": lang_default, "since": None, "until": None, "unit": "", "sources": [], "severities": [],
                "categories": [], "window_days": filters.DEFAULT_WINDOW_DAYS}
    for key, value in defaults.items():
        st.session_state.pop(f"_kept_{key}", None)
        st.session_state[key] = value
    st.session_state.pop("_kept_as_of", None)
    if "as_of" not in st.query_params:
        st.session_state["_as_of_reset"] = True  # the sidebar knows the day the dashboard opens on
