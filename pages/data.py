"""How do ledgers get in and out, and how clean are they?"""

import streamlit as st

from closeloop import drill, export, filters, intake, session, sidebar, store
from closeloop.i18n import plain
from closeloop.session import t

session.require_frame()

f = sidebar.current()
who = session.viewer()

st.title(t("page_data"))
st.caption(plain(filters.describe(f, t, session.unit_label(f.unit))))

importing, exporting, quality = st.tabs([t("tab_import"), t("tab_export"), t("tab_quality")])

with importing:
    # an import writes to every unit's records: administrators only
    intake.show(t, store.db_path(), session.connection(), who, allowed=who.role == "administrator")

with exporting:
    st.caption(t("export_caption"))
    drill.downloads(lambda: export.ledger_table(session.query("ledger_rows", f), session.language()),
                    t("ledger_file"), t, "ledger", xlsx=export.ledger_xlsx)
    st.caption(t("export_cli", db=store.location()))

with quality:
    st.caption(t("quality_caption"))
    gaps = session.screen("data_quality", f).data_quality
    counts = dict(zip(gaps["check"], gaps["n"]))
    chosen = st.pills(t("quality_checks"), list(counts), format_func=lambda c: f"{t(f'quality_{c}')} · {counts[c]:,}",
                      key="quality-check")
    if chosen:
        rows = session.query("data_quality_rows", f, check=chosen, limit=drill.SHOWN_ROWS)
        st.markdown(f"**{t(f'quality_{chosen}')}** · " + t("rows_shown", n=len(rows)))
        drill.grid(drill.shown(rows, t), t, key="quality-rows")
        every = {"check": chosen, "limit": drill.ALL_ROWS}
        drill.downloads(lambda: drill.shown(session.query("data_quality_rows", f, **every), t),
                        f"quality-{chosen}", t, "quality-download")
