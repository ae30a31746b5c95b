"""The Import tab's steps: upload → detected sheets and mapping (editable) → every problem → commit."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from closeloop import clock, export, ledger, store, value_maps
from closeloop.identity import Identity
from closeloop.i18n import plain, plain_values
from closeloop.refusal import Refused

STEPS = ("upload", "mapping", "report", "done")
NOT_IMPORTED = ""


@dataclass
class Intake:
    """One import in progress: the files as saved, their sheets as detected (and as the user corrected them)."""

    step: str = "upload"
    files: list[Path] = field(default_factory=list)
    sources: list[ledger.Source] = field(default_factory=list)
    layouts: list[ledger.Layout | None] = field(default_factory=list)  # None: a worksheet passed over
    sheets: list[ledger.Sheet] = field(default_factory=list)
    outcome: ledger.Outcome | None = None
    error: tuple[str, dict] | None = None


def saved_name(name: str, raw: bytes) -> str:
    """The upload's file name, kept readable but stripped of any path, prefixed by its content's hash."""
    base = re.sub(r"[\\/:\0]", "_", Path(name).name).strip(" .") or "ledger"
    return f"{hashlib.sha256(raw).hexdigest()[:12]}-{base}"


def receive(uploads: list[tuple[str, bytes]], db: Path) -> Intake:
    """Keep each upload in the store's upload folder, read its sheets and find their headers."""
    intake = Intake()
    try:
        for name, raw in uploads:
            if len(raw) > ledger.MAX_UPLOAD_MB * 2**20:
                raise Refused("upload_too_large", file=name, mb=ledger.MAX_UPLOAD_MB)
            folder = store.upload_dir(db)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / saved_name(name, raw)
            path.write_bytes(raw)
            intake.files.append(path)
            sources = ledger.sources_of(Path(name).name, raw)
            for source in sources:
                intake.sources.append(source)
                intake.layouts.append(_detected(source, workbook=len(sources) > 1 or name.lower().endswith(".xlsx")))
        intake.step = "mapping"
    except Refused as e:
        intake.error = (e.key, e.details)
    return intake


def _detected(source: ledger.Source, workbook: bool) -> ledger.Layout | None:
    try:
        layout = ledger.detect(source)
        if ledger.KIND[layout.kind].plan:  # a plan-and-check form: the command line imports it (plan_ledger)
            raise Refused("kind_unknown", file=source.label)
        return layout
    except Refused:
        if workbook:
            return None
        raise


def mapping_table(layout: ledger.Layout) -> pd.DataFrame:
    """One row per column as written, with the canonical column it fills ("" for none)."""
    return pd.DataFrame({
        "header": [str(h) if h is not None else "" for h in layout.headers],
        "column": [c or NOT_IMPORTED for c in layout.columns],
    })


def relayout(source: ledger.Source, kind: str, header_row: int, columns: list[str] | None = None) -> ledger.Layout:
    """The layout the user chose: another kind or header row re-reads the headers; columns override them."""
    headers = source.head[header_row - 1] if header_row <= len(source.head) else []
    mapped = ledger.mapping_for(kind, headers)
    if columns is not None and len(columns) == len(headers):
        mapped = [c if c in ledger.COLUMNS[kind] else NOT_IMPORTED for c in columns]
    return ledger.Layout(header_row, kind, list(headers), mapped)


def check(intake: Intake, con, who: Identity | None = None) -> Intake:
    """Every problem of every sheet, storing nothing."""
    intake.error, intake.sheets = None, []
    try:
        for source, layout in zip(intake.sources, intake.layouts):
            if layout is not None:
                intake.sheets.append(ledger.sheet_from(source, layout))
        if not intake.sheets:
            raise Refused("kind_unknown", file=", ".join(p.name for p in intake.files))
    except Refused as e:
        intake.error = (e.key, e.details)
        return intake
    try:
        intake.outcome = ledger.check(con, intake.sheets, who)
    except Refused as e:
        intake.error = (e.key, e.details)
        return intake
    intake.step = "report"
    return intake


def map_values(intake: Intake, con, who: Identity | str, chosen: dict[tuple[str, str], str | None]) -> Intake:
    """Keep the mappings the user chose for unknown values ((column, value) → canonical; None: not yet), then check again."""
    mappings = [value_maps.Mapping(column, value, canonical) for (column, value), canonical in chosen.items() if canonical]
    if mappings and isinstance(who, Identity) and who.scope is not None:
        intake.error = ("refused_value_maps_scope", {})
        return intake
    if mappings:
        value_maps.save_now(con, mappings, who.actor if isinstance(who, Identity) else who)
    return check(intake, con, who if isinstance(who, Identity) else None)


def value_maps_table(con, t) -> pd.DataFrame:
    """The store's mappings as the Data page shows them: column, value as written, read as, who and when."""
    rows = value_maps.table(con)
    return pd.DataFrame({
        t("col_column"): [column_label(c, t) for c in rows["column_name"]],
        t("col_value"): rows["value"],
        t("col_map_canonical"): [value_label(c, v, t) for c, v in zip(rows["column_name"], rows["canonical"])],
        t("col_actor"): rows["set_by"],
        t("col_at"): clock.shown_column(rows["set_at"]),
    })


def value_label(column: str, canonical: str, t) -> str:
    """"督查 (inspection)": the catalog's word for a canonical value, and the value itself."""
    return f"{t(value_maps.CHOICES[column][0] + canonical)} ({canonical})"


def commit(intake: Intake, con, who: Identity | str, progress=None) -> Intake:
    """All of it or none: a new batch, or the problems found since the check (the importer's scope among them)."""
    intake.outcome = ledger.load(con, intake.sheets, who, progress)
    intake.step = "done" if intake.outcome.ok else "report"
    return intake


def problems_table(outcome: ledger.Outcome, t) -> pd.DataFrame:
    """The report users read and download: file, sheet, Excel row, column, value and reason, in their language."""
    rows = [(p.file, p.sheet or "", p.row, column_label(p.column, t), p.value or "", t(f"reason_{p.reason}"))
            for p in outcome.problems]
    return pd.DataFrame(rows, columns=[t(f"col_{c}") for c in ("file", "sheet", "excel_row", "column", "value", "reason")])


def column_label(column: str | None, t) -> str:
    """"整改期限 (due_on)": the template's header for a canonical column, and the name itself."""
    if column in export.LEDGER_HEADERS:
        return f"{export.LEDGER_HEADERS[column]} ({column})"
    return column or ""


def sheet_rows(sheet: ledger.Sheet) -> int:
    return len(sheet.rows)


# ---------------------------------------------------------------------------------------------
# Drawing the steps


def show(t, db: Path, con, actor: Identity, allowed: bool) -> None:
    """The Import tab: one step at a time, kept in session state."""
    intake: Intake = st.session_state.setdefault("intake", Intake())
    from closeloop import session

    template = session.later(lambda: export.template_bytes(session.language()))  # in the viewer's language
    st.download_button(t("template_download"), template, file_name=t("template_file"),
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/download:", key="template", on_click="ignore")
    _stored_value_maps(t, con)
    if not allowed:
        st.info(t("import_administrators_only"))
        return
    if intake.error:
        st.error(t(intake.error[0], **plain_values(intake.error[1])))
    {"upload": _upload, "mapping": _mapping, "report": _report, "done": _done}[intake.step](intake, t, db, con, actor)


def _restart() -> None:
    st.session_state["intake"] = Intake()
    st.session_state["intake_round"] = st.session_state.get("intake_round", 0) + 1  # a fresh, empty uploader


def _upload(intake: Intake, t, db, con, actor) -> None:
    files = st.file_uploader(t("upload_label"), type=["xlsx", "csv"], accept_multiple_files=True,
                             help=t("upload_help", mb=ledger.MAX_UPLOAD_MB),
                             key=f"upload-{st.session_state.get('intake_round', 0)}")
    if st.button(t("upload_read"), type="primary", disabled=not files, key="intake-read"):
        with st.spinner(t("upload_reading")):
            st.session_state["intake"] = receive([(f.name, f.getvalue()) for f in files], db)
        st.rerun()


def _mapping(intake: Intake, t, db, con, actor) -> None:
    st.markdown("##### " + t("mapping_title"))
    for index, (source, layout) in enumerate(zip(intake.sources, intake.layouts)):
        if layout is None:
            st.caption(t("import_skipped_sheet", sheet=plain(source.label)))
            continue
        with st.container(border=True, key=f"sheet-{index}"):
            st.markdown(f"**{plain(source.label)}**")
            left, right = st.columns(2)
            kind = left.selectbox(t("mapping_kind"), ledger.KINDS, index=ledger.KINDS.index(layout.kind),
                                  format_func=lambda k: t(f"kind_{k}"), key=f"kind-{index}")
            header_row = right.number_input(t("mapping_header_row"), 1, ledger.HEADER_SCAN_ROWS, layout.header_row,
                                            key=f"header-{index}")
            # the editor starts from what the headers say for this kind and row (the same on every rerun)
            detected = relayout(source, kind, int(header_row))
            edited = st.data_editor(
                mapping_table(detected), hide_index=True, placeholder=t("none"),
                key=f"mapping-{index}-{kind}-{header_row}",
                disabled=["header"], use_container_width=True,
                column_config={
                    "header": st.column_config.TextColumn(t("mapping_header")),
                    "column": st.column_config.SelectboxColumn(
                        t("mapping_column"), options=[NOT_IMPORTED, *ledger.COLUMNS[kind]], required=False,
                        format_func=lambda c, kind=kind: t(f"target_{kind}_{c}") if c else c),
                },
            )
            intake.layouts[index] = relayout(source, kind, int(header_row),
                                             [c or NOT_IMPORTED for c in edited["column"].fillna(NOT_IMPORTED)])
            if kind == "nonconformities" and "unit" not in intake.layouts[index].columns:
                st.caption(t("mapping_unit_from_name", name=plain(source.sheet or Path(source.file).stem)))
    row = st.container(horizontal=True)
    if row.button(t("mapping_check"), type="primary", key="intake-check"):
        with st.spinner(t("checking")):
            check(intake, con, actor)
        st.rerun()
    row.button(t("start_over"), on_click=_restart, key="intake-restart-mapping")


def _report(intake: Intake, t, db, con, actor) -> None:
    from closeloop import drill

    outcome = intake.outcome
    sheets = ", ".join(f"{s.file}{' › ' + s.sheet if s.sheet else ''} ({sheet_rows(s):,})" for s in intake.sheets)
    st.caption(t("report_read", sheets=plain(sheets)))
    if outcome.unknown_values:
        _unknown_values(intake, t, con, actor)
    if outcome.problems:
        st.error(t("report_problems", n=f"{len(outcome.problems):,}"))
        table = problems_table(outcome, t)
        st.dataframe(table, hide_index=True, placeholder=t("none"), key="problems")
        drill.downloads(lambda: table, t("report_file"), t, "problems-download")
        row = st.container(horizontal=True)
        row.button(t("back_to_mapping"), on_click=lambda: setattr(intake, "step", "mapping"), key="intake-back")
        row.button(t("start_over"), on_click=_restart, key="intake-restart-report")
        return
    counts = " · ".join(t("report_kind_counts", kind=t(f"kind_{k}"), new=f"{outcome.accepted[k]:,}",
                          stored=f"{outcome.changed[k]:,}") for k in ledger.KINDS if outcome.accepted[k] or outcome.changed[k])
    st.success(t("report_ready", counts=counts))
    row = st.container(horizontal=True)
    if row.button(t("commit"), type="primary", key="intake-commit"):
        bar = st.progress(0.0, text=t("committing"))
        commit(intake, con, actor, lambda done: bar.progress(done, text=t("committing")))
        st.rerun()
    row.button(t("start_over"), on_click=_restart, key="intake-restart-ready")


def _done(intake: Intake, t, db, con, actor) -> None:
    outcome = intake.outcome
    summary = " · ".join(t("done_kind_counts", kind=t(f"kind_{k}"), new=f"{outcome.accepted[k]:,}",
                           changed=f"{outcome.changed[k]:,}") for k in ledger.KINDS)
    st.success(t("import_committed", batch=outcome.batch, summary=summary))
    st.button(t("import_another"), on_click=_restart, key="intake-again")


def _stored_value_maps(t, con) -> None:
    table = value_maps_table(con, t)
    if table.empty:
        return
    with st.expander(t("value_maps_title", n=len(table)), key="value-maps"):
        st.caption(t("value_maps_caption"))
        st.dataframe(table, hide_index=True, placeholder=t("none"), key="value-maps-table")


def _unknown_values(intake: Intake, t, con, actor) -> None:
    """Each value no alias or mapping names, with its rows: the user maps it (or leaves it), nothing is guessed."""
    with st.container(border=True, key="unknown-values"):
        st.markdown("##### " + t("unknown_values_title"))
        st.caption(t("unknown_values_caption"))
        chosen = {}
        for index, (column, value, n) in enumerate(intake.outcome.unknown_values):
            options = value_maps.CHOICES[column][1]
            chosen[(column, value)] = st.selectbox(
                t("unknown_value_label", column=column_label(column, t), value=value, n=f"{n:,}"), options, index=None,
                format_func=lambda v, c=column: value_label(c, v, t), placeholder=t("unknown_value_choose"),
                key=f"unknown-value-{index}",
            )
        if st.button(t("unknown_values_save"), type="primary", disabled=not any(chosen.values()), key="unknown-values-save"):
            with st.spinner(t("checking")):
                map_values(intake, con, actor, chosen)
            st.rerun()
