"""The Rectification page's parts: its lists, and a record's detail panel with its moves and its history."""

from __future__ import annotations

import mimetypes
from functools import partial

import pandas as pd
import streamlit as st

from closeloop import clock, drill, session, workflow
from closeloop.filters import Filters
from closeloop.i18n import plain, plain_values
from closeloop.refusal import Refused
from closeloop.tables import known, readable, tracking_first, widths

VIEWS = ("open", "overdue", "due_soon", "awaiting_verification", "mine", "all")
NONCONFORMITY_MOVES = ("add_action", "verify", "reopen")
ACTION_MOVES = ("start", "done", "extend", "cancel")


def listing(rows: pd.DataFrame, t, key: str, status_prefix: str, every) -> None:
    """The first rows of a list, a selected one opening in the detail panel (and in the URL, so the view can
    be shared); `every()` gives all of them, for the download, when someone clicks it."""
    total = rows_in_view(rows)
    st.caption(t("rows_shown", n=f"{len(rows):,}") if total > len(rows) else t("rows_count", n=f"{total:,}"))
    table = tracking_first(rows)
    drill.grid(readable(table, t, status_prefix), t, on_select=partial(_open, key, list(rows["ref"])),
               selection_mode="single-row", key=key, column_config=widths(table, t))
    drill.downloads(lambda: readable(tracking_first(every()), t, status_prefix), key, t, f"{key}-download")


def rows_in_view(rows: pd.DataFrame) -> int:
    """How many rows a list's view holds, of which its query returned the first."""
    return int(rows["rows_in_view"].iloc[0]) if len(rows) else 0


def _open(key: str, refs: list[str]) -> None:
    picked = st.session_state[key]["selection"]["rows"]
    if picked:
        st.query_params["ref"] = refs[picked[0]]


def panel(ref: str | None, f: Filters, t) -> str | None:
    """One finding (or the finding of one action): its fields, its actions, what may be recorded.

    Returns the finding's ref; None when no row is chosen, or the viewer may not see it (the attempt is logged).
    """
    if not ref:
        st.info(t("pick_a_row"))
        return None
    found = session.query("record_nonconformity", f, ref=ref, lang=session.language())
    if found.empty:
        session.refuse("ref", ref)
        st.warning(t("record_out_of_scope", ref=plain(ref)))
        return None
    nc = found.iloc[0]
    actions = session.query("record_actions", f, ref=nc["ref"])
    with st.container(border=True, key="detail"):
        flash = st.session_state.pop("_flash", None)
        if flash:
            getattr(st, flash[0])(flash[1])
        st.subheader(plain(f"{nc['ref']} · {nc['title']}"))
        facts = [t(f"status_{nc['status']}"), f"{nc['unit_label']} ({nc['unit']})", t(f"severity_{nc['severity']}"),
                 t("found_due", found=_day(nc["found_on"], t), due=_day(nc["due_on"], t))]
        if pd.notna(nc["days_overdue"]):
            facts.append(t("overdue_by", n=int(nc["days_overdue"])))
        if nc["status"] == "closed":
            facts.append(t("closed_by", on=_day(nc["closed_on"], t), who=nc["verified_by"] or t("none")))
        st.markdown(plain(" · ".join(facts)))
        if nc["description"]:
            st.caption(plain(nc["description"]))
        st.markdown("###### " + t("actions_of_finding"))
        if actions.empty:
            st.info(t("no_actions"))
        else:
            brief = actions[["ref", "owner", "due_on", "status", "days_overdue", "description", "kind", "done_on",
                             "evidence"]]
            drill.grid(readable(brief, t, "action_status_"), t, key="detail-actions", column_config=widths(brief, t))
        evidence_files(nc["ref"], f, t)
        moves(nc, actions, ref, t)
    return nc["ref"]


def history(ref: str, f: Filters, t) -> None:
    """Every change to the finding and its actions, oldest first, with downloads."""
    rows = trail_rows(session.query("record_history", f, ref=ref), t)
    with st.container(border=True, key="history"):
        st.markdown("##### " + t("history_of", ref=plain(ref)))
        st.dataframe(rows, hide_index=True, placeholder=t("none"), key="detail-history")
        drill.downloads(lambda: rows, f"history-{ref}", t, "history-download")


def evidence_files(ref: str, f: Filters, t) -> None:
    """The files kept as evidence on the finding and its actions, each a download under its name."""
    files = session.query("record_attachments", f, ref=ref)
    if files.empty:
        return
    st.markdown("###### " + t("evidence_files"))
    folder = workflow.attachments_dir(session.connection())
    for i, file in enumerate(files.itertuples()):
        kept = folder / file.sha256
        about = t("evidence_file_about", ref=plain(file.ref), size=f"{file.bytes:,}", who=plain(file.actor),
                  on=clock.local(file.at).strftime("%Y-%m-%d"))  # the organisation's day, as today() is
        if not kept.is_file():  # a replica still copying it, or a folder moved without its files
            st.caption(plain(file.file_name) + " · " + about + " · " + t("evidence_file_missing"))
            continue
        with st.container(horizontal=True, vertical_alignment="center"):
            st.download_button(plain(file.file_name), lambda path=kept: path.read_bytes(), file_name=file.file_name,
                               mime=mimetypes.guess_type(file.file_name)[0] or "application/octet-stream",
                               icon=":material/attach_file:", on_click="ignore", key=f"evidence-{i}-{file.sha256}")
            st.caption(about)


def trail_rows(history: pd.DataFrame, t) -> pd.DataFrame:
    rows = history.drop(columns=["batch"]).copy()
    rows["at"] = clock.shown_column(rows["at"])
    status = rows["field"] == "status"
    prefixes = rows["entity"].map({"nonconformity": "status_", "action": "action_status_"})
    for column in ("old", "new"):
        rows.loc[status, column] = [known(t, p, v) if isinstance(p, str) else v
                                    for p, v in zip(prefixes[status], rows.loc[status, column])]
    rows["field"] = rows["field"].map(lambda v: known(t, "field_", v))
    rows["entity"] = rows["entity"].map(lambda v: known(t, "entity_", v))
    rows["reason"] = rows["reason"].map(lambda v: known(t, "trail_reason_", v))
    return rows.rename(columns={c: t(f"col_{c}") for c in rows.columns})


def _day(value, t) -> str:
    return value.isoformat()[:10] if pd.notna(value) else t("none")


# ---------------------------------------------------------------------------------------------
# Recording what happened: one form per move, each saved in one transaction by closeloop.workflow


def offered(nc_status: str, action_statuses: list[str]) -> dict[str, str | None]:
    """Each move on a finding and its actions: None where workflow.MOVES allows it from these statuses (an
    action's move: from at least one action's), else the catalog key of the short line that says why not."""
    why = {m: known_why(workflow.refusal("nonconformity", m, nc_status)) for m in NONCONFORMITY_MOVES}
    for m in ACTION_MOVES:
        if nc_status == "closed":  # a verified finding's actions stay as they were verified (workflow._act)
            why[m] = "why_refused_nc_closed"
        elif not action_statuses:
            why[m] = "why_no_actions"
        elif all(workflow.refusal("action", m, s) for s in action_statuses):
            why[m] = "why_action_state"
        else:
            why[m] = None
    return why


def known_why(refusal: str | None) -> str | None:
    return None if refusal is None else f"why_{refusal}"


def not_offered(why: dict[str, str | None], t) -> list[str]:
    """One short line per reason a move is not offered, naming the moves it keeps away."""
    lines: dict[str, list[str]] = {}
    for move, key in why.items():
        if key == "why_action_state":
            allowed = workflow.MOVES[("action", move)].to
            text = t(key, statuses=t("why_or").join(t(f"action_status_{s}") for s in allowed))
        elif key is not None:
            text = t(key)
        else:
            continue
        lines.setdefault(text, []).append(t(f"move_{move}"))
    return [t("why_line", moves=t("why_moves_sep").join(names), why=text) for text, names in lines.items()]


def moves(nc, actions: pd.DataFrame, ref: str, t) -> None:
    who = session.viewer()
    why = {m: reason for m, reason in offered(str(nc["status"]), [str(s) for s in actions["status"]]).items()
           if who.may(m)}
    if not why:
        st.caption(t("read_only_role", role=known(t, "role_", who.role)))
        return
    choices = [m for m, reason in why.items() if reason is None]
    if st.session_state.get("move") not in choices:
        st.session_state["move"] = None  # chosen before the record moved to a status that no longer allows it
    move = st.segmented_control(t("record_what"), choices, format_func=lambda m: t(f"move_{m}"), key="move") \
        if choices else None
    for line in not_offered(why, t):
        st.caption(line)
    if move is None:
        return
    if move in ACTION_MOVES:
        refs = [r for r, s in zip(actions["ref"], actions["status"]) if workflow.refusal("action", move, str(s)) is None]
        chosen = st.selectbox(t("field_action"), refs, index=refs.index(ref) if ref in refs else 0,
                              format_func=lambda r: f"{r} · {actions.set_index('ref').at[r, 'description']}",
                              key="move-action")
        action = actions.set_index("ref").loc[chosen]
        entity, target, status, version = "action", chosen, action["status"], int(action["version"])
    else:
        entity, target, status, version = "nonconformity", nc["ref"], nc["status"], int(nc["version"])
    why = workflow.refusal(entity, move, status)
    if why is None and move in ACTION_MOVES and nc["status"] == "closed":
        why = "refused_nc_closed"
    if why:
        st.info(t(why, ref=plain(target), status=status))
        return
    with st.form(f"form-{move}", clear_on_submit=True, border=False):
        FORMS[move](t)
        st.form_submit_button(t("save"), type="primary", on_click=_save, args=(move, target, version))


def _add_action_form(t) -> None:
    st.selectbox(t("field_kind"), workflow.ACTION_KINDS, index=1, format_func=lambda k: t(f"action_kind_{k}"),
                 key="f-kind")
    st.text_area(t("field_description"), key="f-description")
    st.text_input(t("field_owner"), key="f-owner")
    st.date_input(t("field_due"), value=None, key="f-due")


def _done_form(t) -> None:
    st.text_area(t("field_evidence"), key="f-evidence")
    st.file_uploader(t("field_evidence_file"), key="f-file")
    st.date_input(t("field_done_on"), value=workflow.today(), max_value=workflow.today(), key="f-on")


def _extend_form(t) -> None:
    st.date_input(t("field_new_due"), value=None, key="f-due")
    st.text_input(t("field_reason"), key="f-reason")


def _reason_form(t) -> None:
    st.text_input(t("field_reason"), key="f-reason")


def _verify_form(t) -> None:
    st.radio(t("field_effective"), ["yes", "no"], format_func=lambda v: t(f"effective_{v}"), horizontal=True,
             key="f-effective")
    st.text_input(t("field_note"), key="f-note", help=t("field_note_help"))
    st.date_input(t("field_verified_on"), value=workflow.today(), max_value=workflow.today(), key="f-on")


def _start_form(t) -> None:
    st.caption(t("start_help"))


FORMS = {"add_action": _add_action_form, "start": _start_form, "done": _done_form, "extend": _extend_form,
         "cancel": _reason_form, "verify": _verify_form, "reopen": _reason_form}


@session.held
def _save(move: str, ref: str, version: int) -> None:
    """The form's values, the record's version when it was drawn, and the move: saved or refused, said once."""
    s, t, con, who = st.session_state, session.t, session.connection(), session.viewer()
    try:
        if move == "add_action":
            made = workflow.add_action(con, who, ref, kind=s["f-kind"], description=s["f-description"],
                                       owner=s["f-owner"], due_on=s["f-due"], version=version)
            s["_flash"] = ("success", t("action_added", ref=made, nc=ref))
            return
        if move == "start":
            done = workflow.start(con, who, ref, version=version)
        elif move == "done":
            upload = s.get("f-file")
            done = workflow.done(con, who, ref, evidence=s["f-evidence"], on=s["f-on"], version=version,
                                 attachment=(upload.name, upload.getvalue()) if upload else None)
        elif move == "extend":
            if s["f-due"] is None:
                raise Refused("refused_due_required")
            done = workflow.extend(con, who, ref, due_on=s["f-due"], reason=s["f-reason"], version=version)
        elif move == "cancel":
            done = workflow.cancel(con, who, ref, reason=s["f-reason"], version=version)
        elif move == "verify":
            done = workflow.verify(con, who, ref, effective=s["f-effective"] == "yes", note=s["f-note"],
                                   on=s["f-on"], version=version)
        else:
            done = workflow.reopen(con, who, ref, reason=s["f-reason"], version=version)
        message = t("move_recorded", ref=ref, events=done["events"], block=done["block"])
        if move == "verify" and s["f-effective"] == "no":
            message += " " + t("not_effective_next")
        s["_flash"] = ("success", message)
        s["move"] = "add_action" if move == "verify" and s["f-effective"] == "no" and who.may("add_action") else None
    except workflow.StaleRecord as e:
        s["_flash"] = ("error", t(e.key, **plain_values(e.details)))
    except Refused as e:  # a full disk too: said, nothing saved
        s["_flash"] = ("error", t(e.key, **plain_values(e.details)))


def views(t) -> str:
    return st.segmented_control(t("quick_view"), VIEWS, default="open", required=True,
                                format_func=lambda v: t(f"view_{v}"), key="rectification_view")
