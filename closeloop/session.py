"""The browser session: the store it reads, the viewer's language and scope, and cached results."""

from __future__ import annotations

import functools
from contextlib import ExitStack, contextmanager, nullcontext
from contextvars import ContextVar

import pandas as pd
import streamlit as st

from closeloop import i18n, identity, lease, metrics, replica, screens, sidebar, store, tables, workflow
from closeloop.filters import Filters
from closeloop.refusal import Refused

DEMO_NCS = 3000


def _build_demo_if_empty(con) -> None:
    """The embedded default starts as the demo store; any other store is shown as it is."""
    path = store.db_path()
    empty = not con.execute("select count(*) from nonconformities").fetchone()[0]
    if empty and path == store.db_path(store.DEFAULT_DB):
        from closeloop import demo

        demo.build(con, ncs=DEMO_NCS)


@st.cache_resource(show_spinner=False, on_release=lambda held: held.close())
def _lease(path: str) -> lease.Lease:
    """One lease per store for the server's lifetime: its connection is handed over when a command asks."""
    return lease.Lease(path, opened=_build_demo_if_empty)


# The connection this script run holds (see holding()); queries take a cursor each.
_held: ContextVar = ContextVar("closeloop_connection", default=None)


@contextmanager
def holding():
    """Hold the store for one script run (dashboard.py) or one deferred download (later())."""
    if _held.get() is not None:
        yield _held.get()
        return
    if store.url():
        with _on_replica(store.url()) as con:
            yield con
        return
    path = store.db_path()
    shared = _lease(str(path))
    waiting = shared.waiting_for()
    if not path.exists() and path == store.db_path(store.DEFAULT_DB):
        notice = st.spinner(i18n.translate(language(), "building_demo"))
    elif waiting:
        notice = st.spinner(i18n.translate(language(), "store_waiting", command=store.command_of(waiting[0]) or "?"))
    else:
        notice = nullcontext()
    with ExitStack() as held:
        with notice:
            try:
                con = held.enter_context(shared.hold())
            except Refused as e:
                if _later.get():  # a deferred download: its button says it failed
                    raise
                st.error(t(e.key, **i18n.plain_values(e.details)))
                st.stop()
        token = _held.set(con)
        try:
            yield con
        finally:
            _held.reset(token)


@st.cache_resource(show_spinner=False, on_release=lambda con: con.close())
def _replica(url: str):
    """A PostgreSQL store's DuckDB replica (closeloop/replica.py), this server's for its lifetime: every process
    has its own, so there is nothing to hand over."""
    return store.connect(url)


@contextmanager
def _on_replica(url: str):
    try:
        con = _replica(url)
    except Refused as e:
        if _later.get():
            raise
        st.error(t(e.key, **i18n.plain_values(e.details)))
        st.stop()
    replica.catch_up(con)  # the writes of other processes, at most once a second
    token = _held.set(con)
    try:
        yield con
    finally:
        _held.reset(token)


def held(callback):
    """A widget's callback, which runs before the script does, holding the store as a run does."""

    @functools.wraps(callback)
    def run(*args, **kwargs):
        with holding():
            return callback(*args, **kwargs)

    return run


def connection():
    """The store as this script run holds it."""
    con = _held.get()
    if con is None:
        raise RuntimeError("session.connection() outside session.holding(): dashboard.py holds the store")
    return con


def language() -> str:
    """The language chosen in the sidebar, else the URL's ?lang=, else the browser's."""
    if _later.get():
        return _later.get()[1]
    chosen = st.session_state.get("lang") or st.query_params.get("lang")
    return i18n.language(chosen) or i18n.language_from_locale(st.context.locale)


def t(key: str, **values) -> str:
    return i18n.translate(language(), key, **values)


def scope() -> str | None:
    """The unit subtree the viewer may see; None is the whole organisation (an administrator of it)."""
    who = viewer()
    return identity.NOWHERE if who is None else who.scope


def _value(sql: str):
    """One value from the store, on a cursor of its own (one DuckDB connection is not thread-safe)."""
    cur = connection().cursor()
    try:
        return cur.execute(sql).fetchone()[0]
    finally:
        cur.close()


def generation() -> int:
    """Changes whenever the store does (every write appends events), so cached results expire."""
    return _value("select coalesce(max(id), 0) from events")


@st.cache_data(show_spinner=False, max_entries=1024)
def _query(name: str, params: dict, generation_key: int) -> pd.DataFrame:
    return store.run(connection(), name, params)


@st.cache_data(show_spinner=False, max_entries=256)
def _contract(f: Filters, viewer_scope: str | None, generation_key: int) -> dict:
    return metrics.contract(connection(), f, viewer_scope)


# A resource, not data: every run gets the same object, not an unpickled copy. A copy's figure serialises
# differently (its template's keys come back in another order), which made each chart a new widget on the run
# after a click, losing the selection (a heatmap cell clicked opened no chains). Pages only read a screen.
@st.cache_resource(show_spinner=False, max_entries=256)
def _screen(name: str, f: Filters, viewer_scope: str | None, lang: str, options: tuple, generation_key: int):
    return getattr(screens, name)(connection(), f, viewer_scope, lang, **dict(options))


def screen(name: str, f: Filters, **options):
    """closeloop.screens.<name> for the filters, in the viewer's scope and language; every session asking
    for the same ones shares one computation until the store changes."""
    return _screen(name, f, scope(), language(), tuple(sorted(options.items())), generation())


def query(name: str, f: Filters | None = None, **extra) -> pd.DataFrame:
    """queries/<name>.sql for the filters, within the viewer's scope (part of the cache key)."""
    params = (f or Filters.default()).params(scope()) | extra
    return _query(name, params, generation())


def contract(f: Filters) -> dict:
    return _contract(f, scope(), generation())


@st.cache_data(show_spinner=False, max_entries=256)
def _plan_check(f: Filters, viewer_scope: str | None, generation_key: int) -> dict:
    return metrics.plan_check(connection(), f, viewer_scope)


def plan_check(f: Filters) -> tuple[dict, dict]:
    """The plan-and-check numbers for the filters and for the period before, cached like the contract."""
    return _plan_check(f, scope(), generation()), _plan_check(f.previous(), scope(), generation())


def units() -> pd.DataFrame:
    """The units the viewer may see, in tree order, labelled in the viewer's language."""
    return query("unit_tree", lang=language())


def categories() -> pd.DataFrame:
    return query("category_list", lang=language())


def unit_names() -> dict[str, str]:
    """Code → the unit's name in the viewer's language."""
    return screens.unit_names(units())


def named(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows whose unit_name is the one the charts beside them use (the unit's label in the viewer's language);
    the queries give the stored name."""
    if not {"unit", "unit_name"} <= set(rows.columns):
        return rows
    return tables.named(rows, unit_names())


def unit_label(code: str | None) -> str | None:
    """The unit's name in the viewer's language. No unit chosen is all the viewer may see: for a viewer held to
    a unit, that unit (its name, not "whole organisation", in every caption); None for the whole organisation."""
    code = code or my_unit()
    if code is None:
        return None
    tree = units()
    match = tree.loc[tree["code"] == code, "label"]
    return match.iloc[0] if len(match) else code


def is_demo() -> bool:
    return _value("select exists (select 1 from events where reason = 'demo')")


def language_picker() -> None:
    """The first widget: everything drawn after it speaks the chosen language (?lang= in the URL)."""
    default = i18n.language_from_locale(st.context.locale)
    if st.query_params.get("lang") in i18n.ALIASES:  # an old link's ?lang=zh
        st.query_params["lang"] = i18n.ALIASES[st.query_params["lang"]]
    sidebar.seed_from_url({"lang": set(i18n.LANGUAGES)})
    st.session_state.setdefault("lang", default)
    st.sidebar.segmented_control(
        " / ".join(i18n.translate(lang, "language") for lang in i18n.LANGUAGES),
        i18n.LANGUAGES,
        required=True,
        format_func=lambda lang: i18n.translate(lang, "language_name"),  # 简体 / 繁體 / English
        **sidebar.remembered("lang"),
    )
    sidebar.write_to_url({"lang": default})


def store_counts() -> dict:
    return query("store_counts").iloc[0].to_dict()






def children(code: str | None) -> list[str]:
    tree = units()
    if code is None:
        return list(tree.loc[tree["depth"] == tree["depth"].min(), "code"])
    return list(tree.loc[tree["parent_code"] == code, "code"])




def require_frame() -> None:
    """Rerun through dashboard.py when a page was started without it.

    On a fresh server, Streamlit's legacy discovery of a pages/ folder runs the first request's page
    on its own (no sidebar, no filters) until st.navigation has run once. Pages call this first.
    """
    if st.session_state.get("_framed"):
        return
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    st.rerun()


# ---------------------------------------------------------------------------------------------
# Who is looking, and what they may see


def viewer() -> identity.Identity | None:
    """Who is looking: from st.user and the users table, never from a widget, the URL or session state."""
    if _later.get():
        return _later.get()[0]
    return signed_in(connection())


def auth_configured() -> bool:
    """Whether .streamlit/secrets.toml has an [auth] section (then st.login decides who the viewer is)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False


def signed_in(con) -> identity.Identity | None:
    """The viewer of this browser session: None while nobody has signed in."""
    if not auth_configured():
        return identity.local_administrator()
    if not st.user.is_logged_in:
        return None
    email = (st.user.get("email") or "").strip().lower()
    if not email:
        return identity.Identity(actor=str(st.user.get("sub") or "?"), role=None)
    return identity.lookup(con, email) or identity.from_claims(email, st.user.to_dict())


# Who was looking, and in which language, when a deferred callable was made (see later()).
_later: ContextVar[tuple | None] = ContextVar("closeloop_later", default=None)


def later(make):
    """`make`, to run after this script run (a download built when clicked), as this run's viewer.

    Outside a script run there is no st.user to ask, so the identity established now, in this run, goes
    with the callable; nothing the browser sends can change it.
    """
    seen = (viewer(), language())

    def run():
        token = _later.set(seen)
        try:
            with holding():
                return make()
        finally:
            _later.reset(token)

    return run


def me() -> list[str]:
    """The names an action's owner may carry for the viewer (the "mine" view)."""
    who = viewer()
    return who.names if who else []


def sign_in() -> identity.Identity:
    """The viewer, named in the sidebar; without one, a sign-in screen and nothing else."""
    who = viewer()
    if who is None:
        st.title(t("app_title"))
        st.info(t("sign_in_prompt"))
        st.button(t("sign_in"), on_click=st.login, type="primary", icon=":material/login:")
        st.stop()
    if who.local:
        st.sidebar.caption(t("admin_local"))
        return who
    role = t(f"role_{who.role}") if who.role else t("role_none")
    st.sidebar.caption(t("signed_in_as", who=i18n.plain(who.name or who.actor), role=role,
                         scope=i18n.plain(unit_label(who.unit)) if who.unit else t("whole_organisation")))
    st.sidebar.button(t("sign_out"), on_click=st.logout, icon=":material/logout:")
    if who.role is None:
        st.error(t("not_registered", email=i18n.plain(who.actor)))
        st.stop()
    return who


def refuse(what: str, value: str) -> None:
    """Log a link outside the viewer's scope, once per session and value."""
    logged = st.session_state.setdefault("_refused_links", set())
    if (what, value) in logged:
        return
    logged.add((what, value))
    workflow.log_refused(connection(), viewer(), what, value, st.context.url or "")


def refuse_links_outside_scope(tree: pd.DataFrame) -> None:
    """A ?unit= the viewer may not see shows nothing, and is logged."""
    asked = st.query_params.get("unit")
    if asked and asked not in set(tree["code"]):
        refuse("unit", asked)
        st.warning(t("unit_out_of_scope", unit=i18n.plain(asked)))
        st.stop()


# ---------------------------------------------------------------------------------------------
# Streamlit's own words


def uploader_words() -> None:
    """Put the catalog's words where every file uploader says "Upload" and "50MB per file • XLSX, CSV".

    st.file_uploader takes no text for them (Streamlit 1.67), so a style hides the English and writes
    ours after it; the accepted types are in each uploader's label already. English keeps Streamlit's."""
    lang = language()
    if lang == "en":
        return
    limit = i18n.translate(lang, "uploader_limit", mb=st.get_option("server.maxUploadSize"))
    button = i18n.translate(lang, "uploader_button")
    dropzone = '[data-testid="stFileUploaderDropzone"]'
    st.html(
        "<style>"
        f'{dropzone} button [data-testid="stMarkdownContainer"] p,'
        f' {dropzone} [data-testid="stFileUploaderDropzoneInstructions"] span {{font-size: 0}}'
        f'{dropzone} button [data-testid="stMarkdownContainer"] p::after {{content: {_css_text(button)};'
        " font-size: 14px}"
        f' {dropzone} [data-testid="stFileUploaderDropzoneInstructions"] span::after {{content: {_css_text(limit)};'
        " font-size: 14px}"
        "</style>"
    )


def _css_text(text: str) -> str:
    """A CSS string holding `text` as it is (every character escaped by its code point)."""
    return '"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):x} " for c in text) + '"'


def data_dates() -> tuple:
    """The first day found and the last day anything happened in the viewer's part of the store (None, None
    in an empty one)."""
    row = query("data_dates").iloc[0]
    return tuple(None if pd.isna(row[c]) else pd.Timestamp(row[c]).date() for c in ("first_on", "last_on"))


def my_unit() -> str | None:
    """The viewer's own unit (the root of what they may see); None for someone who sees the whole organisation."""
    who = viewer()
    return who.unit if who is not None and who.role is not None else None
