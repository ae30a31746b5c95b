"""The plan-and-check pages' KPI rows and their one-click findings: a failed item, a dissatisfied item, a missed objective."""

from __future__ import annotations

import streamlit as st

from closeloop import filters, plan_findings, plan_screens, session, sidebar
from closeloop.i18n import plain, plain_values
from closeloop.refusal import Refused

FLASH = "_plan_flash"


def kpi_row(cards: list[plan_screens.Kpi], section: str, t) -> None:
    """Bordered metrics, each in a container keyed kpi-<key>, with the change since the period before."""
    for column, card in zip(st.columns(len(cards)), cards):
        with column.container(key=f"kpi-{card.key}"):
            st.metric(t(f"{section}_kpi_{card.key}"), card.value, card.delta, delta_color=card.colour,
                      delta_description=t("vs_previous"), help=t(f"{section}_kpi_help_{card.key}"), border=True)


def drill_to(chart_key: str, picker_key: str):
    """An on_select callback: the unit of the clicked bar becomes the unit the drill below shows."""
    from closeloop import drill

    def choose() -> None:
        clicked = drill.point(st.session_state.get(chart_key))
        if clicked and clicked[0]:
            st.session_state[picker_key] = clicked[0]

    return choose


def may_raise() -> bool:
    who = session.viewer()
    return who is not None and any(who.may(move) for move in plan_findings.MOVES)


def flash() -> None:
    """The last raise's outcome, said once."""
    said = st.session_state.pop(FLASH, None)
    if said:
        (st.success if said[0] == "success" else st.error)(said[1])


def raise_control(choices: dict, key: str, move: str, t, **extra) -> None:
    """A picker of what may raise a finding (key → its name) and the button that raises it; only for those
    who may, and only over their scope (plan_findings checks both again)."""
    if not choices:
        st.caption(t(f"{move}_none_left"))
        return
    if not may_raise():
        st.caption(t("plan_raise_not_allowed"))
        return
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.selectbox(t(f"{move}_pick"), list(choices), format_func=lambda k: plain(choices.get(k, " · ".join(map(str, k)))),
                     key=f"{key}-pick")
        st.button(t("plan_raise_button"), key=f"{key}-button", type="primary", icon=":material/flag:",
                  on_click=_raise, args=(move, key), kwargs=extra)


@session.held
def _raise(move: str, key: str, **extra) -> None:
    s, t, con, who = st.session_state, session.t, session.connection(), session.viewer()
    chosen = s.get(f"{key}-pick")
    try:
        if move == "raise_inspection":
            refs = plan_findings.raise_from_inspections(con, who, only={tuple(chosen)})
        elif move == "raise_survey":
            refs, _ = plan_findings.raise_from_surveys(con, who, only={tuple(chosen)})
        else:
            refs = [plan_findings.raise_from_objective(con, who, extra["as_of"], *chosen)]
        s[FLASH] = ("success", t("plan_raised", refs=plain(", ".join(refs))) if refs else ("error", t("plan_raised_none")))
    except Refused as e:  # a full disk too (the store refuses with its own reason): said, nothing saved
        s[FLASH] = ("error", t(e.key, **plain_values(e.details)))


@session.held
def close_followed_up() -> None:
    """Close every open survey finding in scope that a later wave's satisfied mean answers."""
    s, t, con, who = st.session_state, session.t, session.connection(), session.viewer()
    try:
        _, closed = plan_findings.raise_from_surveys(con, who, only=set())
        s[FLASH] = ("success", t("plan_closed", refs=plain(", ".join(closed))))
    except Refused as e:  # a full disk too (the store refuses with its own reason): said, nothing saved
        s[FLASH] = ("error", t(e.key, **plain_values(e.details)))


def may_enter() -> bool:
    from closeloop import plan_ledger

    who = session.viewer()
    return who is not None and any(who.may(move) for move in plan_ledger.ENTER_MOVES)


def actual_form(choices: dict, as_of, t) -> None:
    """A month's actual of one of the year's objectives, with its evidence: only for those who may enter them
    (plan_ledger.enter_actual checks that, the scope and the value again)."""
    if not choices:
        st.caption(t("actual_enter_none"))
        return
    if not may_enter():
        st.caption(t("actual_enter_not_allowed"))
        return
    with st.form("actual-form", border=False):
        with st.container(horizontal=True, vertical_alignment="bottom"):
            st.selectbox(t("actual_objective"), list(choices), key="actual-objective",
                         format_func=lambda k: plain(choices.get(k, " · ".join(map(str, k)))))
            months = {m: t("actual_month_name", month=m) for m in range(1, 13)}  # named now, in this run's language
            st.selectbox(t("actual_month"), list(months), index=as_of.month - 1, key="actual-month",
                         format_func=months.get, width=140)
            st.text_input(t("actual_value"), key="actual-value", width=180)
        st.text_area(t("actual_evidence"), key="actual-evidence", height=80)
        st.form_submit_button(t("actual_save"), type="primary", icon=":material/save:", key="actual-save",
                              on_click=_enter, kwargs={"year": as_of.year})


@session.held
def _enter(year: int) -> None:
    from closeloop import plan_ledger

    s, t, con, who = st.session_state, session.t, session.connection(), session.viewer()
    unit, code = s.get("actual-objective")
    month = s.get("actual-month")
    try:
        plan_ledger.enter_actual(con, who, unit, year, code, month, s.get("actual-value") or "",
                                 s.get("actual-evidence") or None)
        s[FLASH] = ("success", t("actual_saved", objective=plain(f"{unit} {year} {code}"), month=month))
    except Refused as e:  # a full disk too (the store refuses with its own reason): said, nothing saved
        s[FLASH] = ("error", t(e.key, **plain_values(e.details)))


def head(section: str, more=None):
    """The top of a plan-and-check page: its title, the filters' sentence (and `more(f)` after it), the last
    raise's outcome and the section's KPI row. Returns the filters, the units' names and this period's numbers."""
    t = session.t
    session.require_frame()
    f = sidebar.current()
    names = session.unit_names()
    st.title(t(f"page_{section}"))
    st.caption(plain(filters.describe(f, t, session.unit_label(f.unit))) + (" · " + more(f) if more else ""))
    flash()
    now, before = session.plan_check(f)
    kpi_row(plan_screens.kpis(section, now, before, t), section, t)
    return f, names, now


def chart(key: str, draw, rows, *args, picker: str | None = None) -> None:
    """The figure `draw(rows, *args, t)`, or the catalog's "no data" where there are no rows; with a picker, a
    click on a unit's bar drills to that unit."""
    t = session.t
    if rows.empty:
        st.info(t("no_data"))
        return
    drilling = {"on_select": drill_to(key, picker), "selection_mode": "points"} if picker else {}
    st.plotly_chart(draw(rows, *args, t), key=key, **drilling)


def unit_picker(units, label: str, key: str) -> None:
    """The picker of the unit a drill shows, from a table's unit and label columns; none means all."""
    t, codes = session.t, list(units["unit"])
    labels = dict(zip(codes, units["label"]))
    st.selectbox(t(label), [None, *codes], key=key,
                 format_func=lambda u: t("objective_drill_all") if u is None else plain(labels.get(u, u)))
