"""The filters every page shares: a frozen value, its SQL parameters and its sentence."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

DEFAULT_WINDOW_DAYS = 365


def year_ending(as_of: date) -> tuple[date, date]:
    """The 12 months ending on as_of, both ends included: 2026-06-30 → 2025-07-01 … 2026-06-30."""
    try:
        a_year_before = as_of.replace(year=as_of.year - 1)
    except ValueError:  # 29 February
        a_year_before = as_of.replace(year=as_of.year - 1, day=28)
    return a_year_before + timedelta(days=1), as_of


@dataclass(frozen=True)
class Filters:
    as_of: date
    since: date
    until: date
    unit: str | None = None
    sources: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    window_days: int = DEFAULT_WINDOW_DAYS

    @classmethod
    def default(cls, as_of: date | None = None, **changes) -> Filters:
        as_of = as_of or date.today()
        since, until = year_ending(as_of)
        return cls(as_of=as_of, since=since, until=until, **changes)

    def params(self, scope: str | None = None) -> dict:
        """Every SQL parameter a page query may use; the runner binds the ones it needs."""
        return {
            "as_of": self.as_of,
            "since": self.since,
            "until": self.until,
            "unit": self.unit,
            "sources": list(self.sources),
            "severities": list(self.severities),
            "categories": list(self.categories),
            "window_days": self.window_days,
            "scope": scope,
        }

    def previous(self) -> Filters:
        """The period of the same length just before this one, as of its last day."""
        length = self.until - self.since + timedelta(days=1)
        until = self.since - timedelta(days=1)
        return dataclasses.replace(self, as_of=until, since=self.since - length, until=until)

    def replace(self, **changes) -> Filters:
        return dataclasses.replace(self, **changes)


# The sidebar: keyed widgets drawn once by dashboard.py; pages call current(). Every filter is synced
# to the URL by hand, as codes (?as_of=2026-06-30&unit=DH&sources=inspection,internal_audit&lang=en),
# rather than with bind="query-params": a bound select puts its translated label in the URL, so a link
# made in Chinese would not open in English, and writing st.query_params for the unbound ones drops the
# bound ones from the browser's URL.

SOURCES = ("internal_audit", "inspection", "satisfaction_survey", "management_review", "superior_assessment")
SEVERITIES = ("major", "minor", "observation")
WINDOW_LIMITS = (1, 3650)
# The dates a filter, a link or an argument may name. The real ledgers reach back to 1904; past these a
# date is a typo (0202 for 2026), and the period's arithmetic (a year before as-of, the period before
# this one) stays well inside what Python's dates and DuckDB's hold.
DATE_LIMITS = (date(1900, 1, 1), date(2199, 12, 31))
# Each option of a select costs the browser on every page load: all 17,087 units of the 1M demo were
# 0.65 MB per run and ~1.5 s of the browser's CPU. Past this many units the picker offers the tree
# opened along the chosen unit's path, and a search box finds any unit by name or code.
UNITS_LISTED_WHOLE = 500
UNIT_MATCHES_LISTED = 100


def _parsed(key: str, raw: str, allowed: set | None):
    """A URL value as the widget's value, or None when it is not one the widget can hold."""
    try:
        if key in ("as_of", "since", "until"):
            day = date.fromisoformat(raw)
            return day if DATE_LIMITS[0] <= day <= DATE_LIMITS[1] else None
        if key == "window_days":
            days = int(raw)
            return days if WINDOW_LIMITS[0] <= days <= WINDOW_LIMITS[1] else None
    except ValueError:
        return None
    if key in ("sources", "severities", "categories"):
        return [code for code in raw.split(",") if code in allowed]
    return raw if raw in allowed else None


def _encoded(value) -> str | None:
    if isinstance(value, (list, tuple)):
        return ",".join(value) or None
    if isinstance(value, date):
        return value.isoformat()
    return None if value in (None, "") else str(value)


def remembered(key: str) -> dict:
    """Keyword arguments for a filter widget that keeps its value on every page.

    Streamlit starts a widget afresh when its label or default changes (switching the language
    changes every label), so a plain session key remembers the value and hands it back before the
    widget is drawn.
    """
    import streamlit as st

    kept = f"_kept_{key}"
    if kept in st.session_state:
        st.session_state[key] = st.session_state[kept]
    elif key in st.session_state:
        # Assigning the value again makes the widget redraw its label in the new language
        # (a select keeps the old text otherwise).
        st.session_state[key] = st.session_state[key]
    return {"key": key, "on_change": remember, "args": (key,)}


def remember(key: str) -> None:
    import streamlit as st

    st.session_state[f"_kept_{key}"] = st.session_state.get(key)


def seed_from_url(allowed: dict[str, set | None]) -> None:
    """On a session's first run, set each keyed widget from the URL where it holds a value it allows."""
    import streamlit as st

    seeded = st.session_state.setdefault("_seeded_from_url", set())
    for key, codes in allowed.items():
        if key in seeded:
            continue
        seeded.add(key)
        raw = st.query_params.get(key)
        value = _parsed(key, raw, codes) if raw else None
        if value is not None:
            st.session_state[key] = value
            st.session_state[f"_kept_{key}"] = value
        ignored = raw if value is None else ",".join(c for c in raw.split(",") if c not in codes) \
            if isinstance(value, list) else ""
        if ignored:  # said by url_notes() on every run of the session
            st.session_state.setdefault("_url_ignored", {})[key] = ignored


def url_notes(t) -> None:
    """One note for each value of the link that no filter could hold (each filter keeps its default)."""
    import streamlit as st

    from closeloop.i18n import plain

    for key, raw in st.session_state.get("_url_ignored", {}).items():
        st.caption(t("url_value_ignored", name=key, value=plain(raw[:100])))


def write_to_url(defaults: dict) -> None:
    """Put each widget's value in the URL, or take it out where it holds the default."""
    import streamlit as st

    for key, default in defaults.items():
        value = _encoded(st.session_state.get(key))
        if value is None or value == _encoded(default):
            st.query_params.pop(key, None)
        elif st.query_params.get(key) != value:
            st.query_params[key] = value


def sidebar(units, categories, t, data_dates: tuple[date | None, date | None] = (None, None)) -> None:
    """Draw the shared filters. `units`: one row per unit in tree order (code, label, depth, parent_code,
    name, name_en); `data_dates`: the first and last day of the data (session.data_dates), shown under
    the as-of date, which opens on the last one when it is before today (opening_as_of)."""
    import streamlit as st

    labels = dict(zip(units["code"], units["label"]))
    depths = dict(zip(units["code"], units["depth"]))
    category_labels = dict(zip(categories["category"], categories["label"]))
    seed_from_url({"as_of": None, "since": None, "until": None, "window_days": None, "unit": set(labels),
                   "sources": set(SOURCES), "severities": set(SEVERITIES), "categories": set(category_labels)})
    st.session_state.setdefault("window_days", DEFAULT_WINDOW_DAYS)  # its widget is on the Recurrence page
    opening = opening_as_of(data_dates[1])
    # neither the URL nor an earlier run has set one, or Back came to a URL without one
    if "as_of" not in st.session_state or st.session_state.pop("_as_of_reset", False):
        st.session_state["as_of"] = opening
        if opening != date.today():
            st.session_state["_as_of_on_data_end"] = opening
    with st.sidebar:
        st.subheader(t("filters"))
        st.date_input(t("as_of"), **remembered("as_of"))
        if data_dates[0] is not None:
            st.caption(t("data_range", first=data_dates[0], last=data_dates[1]))
        st.date_input(t("since"), value=None, help=t("period_help"), **remembered("since"))
        st.date_input(t("until"), value=None, help=t("period_help"), **remembered("until"))
        whole = len(units) <= UNITS_LISTED_WHOLE
        search = "" if whole else st.session_state.get("unit_search", "")
        offered, matching = unit_options(units, st.session_state.get("unit") or None, search)
        st.selectbox(
            t("unit"),
            ["", *offered],  # "" is the whole organisation: None would read as "nothing chosen"
            format_func=lambda code: t("whole_organisation") if not code
            else "\u3000" * int(depths[code]) + labels[code],
            help=None if whole else t("unit_picker_help"),
            **(remembered("unit") | {"on_change": _unit_chosen}),
        )
        if not whole:
            st.text_input(t("unit_search"), key="unit_search", type="search", label_visibility="collapsed",
                          placeholder=t("unit_search_placeholder"), on_change=_unit_searched, args=(units,))
            if search.strip():
                st.caption(_matches_note(search.strip(), matching, t))
        st.multiselect(t("sources"), SOURCES, format_func=lambda s: t(f"source_{s}"), placeholder=t("all"),
                       **remembered("sources"))
        st.multiselect(t("severities"), SEVERITIES, format_func=lambda s: t(f"severity_{s}"),
                       placeholder=t("all"), **remembered("severities"))
        st.multiselect(t("categories"), list(category_labels), format_func=category_labels.get,
                       placeholder=t("all"), **remembered("categories"))
        url_notes(t)
    write_to_url({"as_of": date.today(), "since": None, "until": None, "unit": None, "sources": None,
                  "severities": None, "categories": None, "window_days": DEFAULT_WINDOW_DAYS})


def unit_options(units, chosen: str | None, search: str = "") -> tuple[list[str], int]:
    """The unit codes the picker offers, in tree order, and how many units the search matches.

    A small tree is offered whole. A large one is offered opened along the chosen unit's path: the
    top units, the children of each unit from the top down to the chosen one, and the chosen one's own.
    A search offers instead the units whose code or name, in either language, contains it (at most
    UNIT_MATCHES_LISTED, the closest), and the chosen unit.
    """
    codes, parents = units["code"], units["parent_code"]
    if len(units) <= UNITS_LISTED_WHOLE:
        return list(codes), 0
    needle = _folded(search)
    if needle:
        distance = pd.concat([_distance(field, needle) for field in (codes, units["name"], units["name_en"])],
                             axis=1).min(axis=1)
        closest = distance.dropna().sort_values(kind="stable").index[:UNIT_MATCHES_LISTED]
        return list(codes[distance.index.isin(closest) | (codes == chosen)]), int(distance.notna().sum())
    parent_of = dict(zip(codes, parents))
    opened = set(codes[~parents.isin(parent_of)])
    while chosen in parent_of:
        opened.add(chosen)
        chosen = parent_of[chosen]
    return list(codes[~parents.isin(parent_of) | parents.isin(opened)]), 0


def _folded(text: str) -> str:
    """Text as the unit search compares it: full-width forms half-width, case folded."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _distance(names: pd.Series, needle: str) -> pd.Series:
    """How far each name is from the search, NaN where it does not contain it: a match that ends a word
    comes first ("party branch no. 12" is No. 12, not No. 1210), then the shorter name."""
    folded = names.str.casefold()
    ends_a_word = folded.str.contains(re.escape(needle) + r"(?!\w)")
    return (names.str.len() + 10_000 * ~ends_a_word).where(folded.str.contains(needle, regex=False))


def _matches_note(search: str, matching: int, t) -> str:
    if not matching:
        return t("unit_search_none", text=search)
    if matching > UNIT_MATCHES_LISTED:
        return t("unit_search_more", n=f"{matching:,}", shown=UNIT_MATCHES_LISTED)
    return t("unit_search_matches", n=matching)


def _unit_chosen(key: str) -> None:
    """A unit picked in the list: remembered for every page, and the search that listed it done with."""
    import streamlit as st

    remember(key)
    st.session_state["unit_search"] = ""


def _unit_searched(units) -> None:
    """A search naming one unit (its code or name exactly, or the only one that matches) chooses it."""
    import streamlit as st

    needle = _folded(st.session_state.get("unit_search") or "")
    if not needle:
        return
    exact = units[(units["code"].str.casefold() == needle) | (units["name"].str.casefold() == needle)
                  | (units["name_en"].str.casefold() == needle)]
    found, matching = (list(exact["code"]), len(exact)) if len(exact) else unit_options(units, None, needle)
    if matching == 1:
        choose_unit(found[0])
        st.session_state["unit_search"] = ""


def current() -> Filters:
    """The filters as the sidebar (and so the URL) has them; an empty period means the 12 months to as-of."""
    import streamlit as st

    state = st.session_state
    f = Filters.default(
        state.get("as_of") or date.today(),
        unit=state.get("unit") or None,
        sources=tuple(state.get("sources") or ()),
        severities=tuple(state.get("severities") or ()),
        categories=tuple(state.get("categories") or ()),
        window_days=int(state.get("window_days") or DEFAULT_WINDOW_DAYS),
    )
    since, until = state.get("since") or f.since, state.get("until") or f.until
    return f.replace(since=since, until=until) if since <= until else f


def describe(f: Filters, t, unit_label: str | None) -> str:
    """The sentence that tells a meeting what it is looking at."""
    scope = t("units_below", name=unit_label) if f.unit else t("whole_organisation")
    parts = [t("overview_caption", as_of=f.as_of, since=f.since, until=f.until, scope=scope)]
    if f.sources:
        parts.append(t("filter_sentence_sources", v=", ".join(t(f"source_{s}") for s in f.sources)))
    if f.severities:
        parts.append(t("filter_sentence_severities", v=", ".join(t(f"severity_{s}") for s in f.severities)))
    if f.categories:
        parts.append(t("filter_sentence_categories", v=", ".join(f.categories)))
    return " ".join(parts)


def choose_unit(code: str | None) -> None:
    """Make `code` the unit filter for every page; call from a widget callback, before the sidebar draws."""
    import streamlit as st

    st.session_state["unit"] = code or ""
    remember("unit")


def opening_as_of(last_on: date | None, today: date | None = None) -> date:
    """The as-of date the dashboard opens on: today, or the data's last day when the data ends before
    today (a store of past data would otherwise open on an empty period: nothing opened or closed)."""
    today = today or date.today()
    return last_on if last_on is not None and last_on < today else today


def opened_on_data_end() -> date | None:
    """The data's last day while the view is as of it because the dashboard opened there (the page says
    so); None once another as-of date is chosen, or when the dashboard opened on today."""
    import streamlit as st

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
    import streamlit as st
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if not getattr(get_script_run_ctx(), "is_history_navigation", False):
        return
    st.session_state["_seeded_from_url"] = set()
    defaults = {"lang": lang_default, "since": None, "until": None, "unit": "", "sources": [], "severities": [],
                "categories": [], "window_days": DEFAULT_WINDOW_DAYS}
    for key, value in defaults.items():
        st.session_state.pop(f"_kept_{key}", None)
        st.session_state[key] = value
    st.session_state.pop("_kept_as_of", None)
    if "as_of" not in st.query_params:
        st.session_state["_as_of_reset"] = True  # the sidebar knows the day the dashboard opens on
