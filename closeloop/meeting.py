"""The Management review page's parts: which review, what changed since the last one, its decisions, the pack."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from closeloop import clock, drill, filters, i18n, report, review, session, tables, workflow
from closeloop.filters import Filters
from closeloop.i18n import plain
from closeloop.refusal import Refused

PACK_ICONS = {"pdf": ":material/picture_as_pdf:", "pptx": ":material/slideshow:", "xlsx": ":material/table_view:"}
PACK_MIME = {"pdf": "application/pdf",
             "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def bound():
    """A translator bound to this run's language: a picker's format_func is called again after the run."""
    return i18n.translator(session.language())


def pick(reviews: pd.DataFrame, t) -> int:
    """The id of the recorded review chosen (kept in the URL as ?review=ID), or 0: the meeting being prepared now."""
    t = bound()
    ids = [int(i) for i in reviews["id"]]
    asked = st.query_params.get("review")
    if st.session_state.get("review") not in (0, *ids):
        st.session_state["review"] = int(asked) if asked and asked.isdigit() and int(asked) in ids else 0
    held = dict(zip(ids, zip(reviews["held_on"], reviews["title"])))
    chosen = st.selectbox(
        t("review_pick"), [0, *ids], key="review", on_change=_to_url,
        format_func=lambda i: f"{held[i][0]:%Y-%m-%d} · {held[i][1]}" if i else t("review_now"),
    )
    return chosen


def _to_url() -> None:
    chosen = st.session_state.get("review")
    if chosen:
        st.query_params["review"] = str(chosen)
    else:
        st.query_params.pop("review", None)


def header(opened: review.Review, t) -> None:
    """Who met when, and what they looked at."""
    scope = session.unit_label(opened.unit) if opened.unit else t("whole_organisation")
    st.markdown(f"**{plain(opened.title)}** · " + t("review_held", held_on=opened.held_on,
                                                             who=plain(", ".join(opened.attendees))))
    st.caption(t("review_frozen", as_of=opened.as_of, since=opened.filters.since, until=opened.filters.until,
                 scope=plain(scope), by=plain(opened.created_by), at=clock.shown(opened.created_at, seconds=False),
                 digest=opened.digest[:12]))


def since(last: review.Review | None, f: Filters, counts: dict[str, int], t) -> None:
    """Each way a finding changed since the last review, as a count that opens its rows."""
    t = bound()
    if last is None:
        st.info(t("review_none_before", as_of=f.as_of))
        return
    st.caption(t("since_review_caption", title=plain(last.title), held_on=last.held_on, previous_as_of=last.as_of,
                 as_of=f.as_of))
    change = st.pills(t("since_review_pick"), review.CHANGES, key="since-change",
                      format_func=lambda c: f"{t(f'change_{c}')} · {int(counts[c]):,}")
    if change is None:
        return
    extra = review.since_params(last.as_of) | {"change": change}
    rows = session.query("since_review_rows", f, **extra, limit=drill.SHOWN_ROWS)
    st.caption(t(f"change_help_{change}"))
    drill.grid(tables.readable(session.named(rows), t), t, key="since-rows")
    # The file is made after the run, when clicked: the store and the viewer's scope are taken now.
    con, scope = session.connection(), session.scope()
    drill.downloads(lambda: tables.readable(session.named(review.changed_rows(con, last.as_of, f, scope, change)), t),
                    f"since-review-{change}", t, "since-rows-download")


def decisions(of: review.Review | None, as_of: date, t, key: str) -> None:
    """The actions a review decided and where each stands as of `as_of`."""
    if of is None:
        st.info(t("decisions_no_review"))
        return
    rows = session.query("review_decisions", Filters.default(as_of), review=of.id)
    if rows.empty:
        st.info(t("decisions_none"))
        return
    done = int((rows["status"] == "done").sum())
    st.caption(t("decisions_summary", n=len(rows), done=done, overdue=int(rows["is_overdue"].sum()), as_of=as_of))
    st.dataframe(tables.readable(session.named(rows.drop(columns=["is_overdue"])), t, "action_status_"),
                 hide_index=True, placeholder=t("none"), key=key)


# ---------------------------------------------------------------------------------------------
# Recording: the review itself, then its decisions


def record_form(f: Filters, t) -> None:
    who = session.viewer()
    st.markdown("##### " + t("review_record"))
    open_now = session.contract(f)["open"]
    st.caption(t("review_record_help", as_of=f.as_of, n=f"{open_now:,}",
                 scope=session.unit_label(f.unit) or t("whole_organisation")))
    if not review.may_record(who):
        st.info(t("refused_role", role=who.role or "-", move=t("review_record")))
        return
    with st.form("review-record", border=False):
        st.date_input(t("review_held_on"), value=workflow.today(), max_value=workflow.today(), key="r-held-on")
        st.text_input(t("review_title"), value=t("review_default_title", as_of=f.as_of), key="r-title")
        st.text_area(t("review_attendees"), help=t("review_attendees_help"), key="r-attendees")
        st.form_submit_button(t("review_record_button"), type="primary", on_click=_record, args=(f,))


@session.held
def _record(f: Filters) -> None:
    s, t = st.session_state, session.t
    attendees = [a for line in (s["r-attendees"] or "").splitlines() for a in line.replace("，", ",").split(",")]
    try:
        made = review.record(session.connection(), session.viewer(), f, held_on=s["r-held-on"], title=s["r-title"],
                             attendees=attendees)
    except Refused as e:
        s["_review_flash"] = ("error", t(e.key, **i18n.plain_values(e.details)))
        return
    s["review"] = made
    st.query_params["review"] = str(made)
    s["_review_flash"] = ("success", t("review_recorded", id=made))


def decision_form(opened: review.Review, t) -> None:
    t = bound()
    who = session.viewer()
    if not who.may("add_action"):
        st.info(t("refused_role", role=who.role or "-", move=t("decision_add")))
        return
    open_list = session.query("review_open_items", Filters.default(opened.as_of), review=opened.id)
    titles = dict(zip(open_list["ref"], open_list["title"]))
    units = session.units()
    labels = dict(zip(units["code"], units["label"]))
    # A review of one unit raises findings for it or a unit just below; one of the whole organisation, for
    # any unit of a small tree, else for the top units and those just below (not 17,000 options at 1M).
    unit_choices = (filters.unit_options(units, None)[0] if opened.unit is None
                    else session.children(opened.unit) + [opened.unit])
    with st.expander(t("decision_add"), icon=":material/add_task:"), st.form("review-decide", clear_on_submit=True,
                                                                              border=False):
        st.caption(t("decision_help"))
        st.text_input(t("decision_topic"), key="d-topic")
        st.selectbox(t("decision_finding"), [None, *titles], format_func=lambda r: t("decision_finding_none")
                     if r is None else f"{r} · {titles[r]}", key="d-finding")
        left, right = st.columns(2)
        left.selectbox(t("unit"), unit_choices, index=len(unit_choices) - 1 if opened.unit else 0,
                       format_func=labels.get, key="d-unit")
        right.selectbox(t("severities"), review.SEVERITIES, index=2, format_func=lambda s: t(f"severity_{s}"),
                        key="d-severity")
        st.selectbox(t("field_kind"), workflow.ACTION_KINDS, index=1, format_func=lambda k: t(f"action_kind_{k}"),
                     key="d-kind")
        st.text_area(t("field_description"), key="d-description")
        left, right = st.columns(2)
        left.text_input(t("field_owner"), key="d-owner")
        right.date_input(t("field_due"), value=None, min_value=opened.held_on, key="d-due")
        st.form_submit_button(t("decision_save"), type="primary", on_click=_decide, args=(opened.id,))


@session.held
def _decide(review_id: int) -> None:
    s, t = st.session_state, session.t
    try:
        made = review.decide(session.connection(), session.viewer(), review_id, topic=s["d-topic"],
                             nonconformity=s["d-finding"], unit=s["d-unit"], severity=s["d-severity"],
                             kind=s["d-kind"], description=s["d-description"], owner=s["d-owner"], due_on=s["d-due"])
    except Refused as e:
        s["_review_flash"] = ("error", t(e.key, **i18n.plain_values(e.details)))
        return
    s["_review_flash"] = ("success", t("decision_saved", ref=made))


def flash() -> None:
    """What the last save did, said once."""
    said = st.session_state.pop("_review_flash", None)
    if said:
        getattr(st, said[0])(said[1])


# ---------------------------------------------------------------------------------------------
# The meeting pack


def pack(f: Filters, t) -> None:
    """A button per format; the file is built (with a progress bar) when asked, then offered for download."""
    st.caption(t("pack_help"))
    lang = session.language()
    columns = dict(zip(report.KINDS, st.columns(len(report.KINDS))))
    for kind, column in columns.items():
        column.button(t(f"pack_build_{kind}"), key=f"pack-{kind}", icon=PACK_ICONS[kind], on_click=_ask, args=(kind,))
    asked = st.session_state.pop("_pack_asked", None)
    if asked:
        bar = st.progress(0.0, text=t("pack_step_queries"))
        try:
            built = report.build(session.connection(), f, lang, asked, session.scope(),
                                 progress=lambda fraction, text: bar.progress(fraction, text=text))
        except Refused as e:
            st.error(t(e.key, **i18n.plain_values(e.details)))
        else:
            st.session_state[f"_pack_{asked}"] = (f, lang, built)
        bar.empty()
    for kind, column in columns.items():
        kept = st.session_state.get(f"_pack_{kind}")
        if kept and kept[0] == f and kept[1] == lang:
            column.download_button(t("pack_download", kind=kind.upper(), size=f"{len(kept[2]) / 1024:,.0f}"),
                                   kept[2], file_name=f"closeloop-{f.as_of}-{lang}.{kind}", mime=PACK_MIME[kind],
                                   key=f"pack-{kind}-download", icon=":material/download:", on_click="ignore")


def _ask(kind: str) -> None:
    st.session_state["_pack_asked"] = kind


# ---------------------------------------------------------------------------------------------
# review17: the plan-and-check inputs against the last review, and the chair's conclusion on each section


def plan_section(section: str, plan_tables: dict, satisfaction_units: pd.DataFrame, last: review.Review | None,
                 f: Filters, t) -> None:
    """A section's numbers as of the review's date and as of the last review's, recomputed at each date."""
    st.caption(t("review_plan_caption", as_of=f.as_of, since=f.since, until=f.until) + " " + (
        t("review_plan_then", title=plain(last.title), previous_as_of=last.as_of) if last
        else t("review_none_before", as_of=f.as_of)))
    st.dataframe(plan_tables[section], hide_index=True, placeholder=t("none"), key=f"review-{section}-compare")
    if section == "satisfaction":
        st.markdown("###### " + t("review_satisfaction_units"))
        st.caption(t("review_satisfaction_units_help"))
        st.dataframe(satisfaction_units, hide_index=True, placeholder=t("none"), key="review-satisfaction-units")


def conclusion(opened: review.Review | None, section: str, written: dict[str, dict], t) -> None:
    """The chair's conclusion on the section, as plain text; a form to write it for whoever may record reviews."""
    if opened is None:
        return
    said = written.get(section)
    st.markdown("###### " + t("conclusion_title"))
    if said:
        st.markdown("  \n".join(plain(line) for line in said["text"].splitlines()))
        st.caption(t("conclusion_by", by=plain(said["written_by"]), at=f"{said['written_at']:%Y-%m-%d %H:%M} UTC",
                     version=said["version"]))
    else:
        st.caption(t("conclusion_none"))
    if not review.may_record(session.viewer()):
        return
    with st.expander(t("conclusion_edit") if said else t("conclusion_add"), icon=":material/edit_note:"), \
            st.form(f"conclusion-{section}", border=False):
        st.text_area(t("conclusion_text"), value=said["text"] if said else "", key=f"c-{section}")
        st.form_submit_button(t("conclusion_save"), type="primary", on_click=_conclude, args=(opened.id, section))


@session.held
def _conclude(review_id: int, section: str) -> None:
    s, t = st.session_state, session.t
    try:
        version = review.conclude(session.connection(), session.viewer(), review_id, section=section,
                                  text=s[f"c-{section}"])
    except Refused as e:
        s["_review_flash"] = ("error", t(e.key, **i18n.plain_values(e.details)))
        return
    s["_review_flash"] = ("success", t("conclusion_saved", section=t(f"review_section_{section}"), version=version))
