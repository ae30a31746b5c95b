"""Rows as a reader sees them: codes in their language, dates as dates, columns named in it."""

from __future__ import annotations

import pandas as pd

from closeloop.i18n import CATALOG

SHOWN_ROWS = 500  # a list on a page; its download has every row
ALL_ROWS = 10_000_000
# The catalog prefix of each coded column; a free-text value with no catalog word is shown as it is.
WORDS = {"severity": "severity_", "source": "source_", "nonconformity_status": "status_", "kind": "action_kind_",
         "due_status": "due_status_"}
HIDDEN = ("version", "rows_in_view")  # what the lists need for themselves, not for the reader


def known(t, prefix: str, value):
    """The catalog's word for a code, or the code itself when the catalog has none (free text)."""
    return t(prefix + value) if isinstance(value, str) and prefix + value in CATALOG else value


def readable(rows: pd.DataFrame, t, status_prefix: str = "status_", missing: dict[str, str] | None = None,
             blank: str | None = None) -> pd.DataFrame:
    """`rows` in the reader's language. `status_prefix`: a finding's status ("status_") or an action's
    ("action_status_"). `missing`: what an empty cell of a number column means (a Kaplan–Meier median not
    reached); such a column becomes text throughout (53.0 reads "53"), one type per column as Arrow needs.
    `blank`: the word for an empty cell of a text column (a grid and a CSV would say None or nothing)."""
    rows = rows.drop(columns=[c for c in HIDDEN if c in rows])
    for column, text in (missing or {}).items():
        rows[column] = [text if pd.isna(v) else f"{v:,.1f}".removesuffix(".0") for v in rows[column]]
    for column in rows.select_dtypes("datetime").columns:
        rows[column] = rows[column].dt.date
    if blank is not None:
        for column in rows.select_dtypes("object").columns:
            rows[column] = rows[column].map(lambda v: blank if v is None else v)
    for column, prefix in (WORDS | {"status": status_prefix}).items():
        if column in rows:
            rows[column] = rows[column].map(lambda v, p=prefix: known(t, p, v))
    return rows.rename(columns={c: t(f"col_{c}") for c in rows.columns})


def named(rows: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Rows whose unit_name is the unit's name in the reader's language (`names`: code → name); the queries
    give the stored name, which stays where `names` has none."""
    if not {"unit", "unit_name"} <= set(rows.columns):
        return rows
    return rows.assign(unit_name=rows["unit"].map(names).fillna(rows["unit_name"]))


# What tracking reads first, before any text: who owns it, by when, where it stands, how late it is.
TRACKING = ("ref", "owner", "owners", "due_on", "status", "days_overdue", "due_status")
# Pixel widths that keep those on screen beside a record's detail; long text is cut at its column's edge
# (the whole of it is in the detail and the downloads).
WIDTHS = {"ref": 88, "owner": 72, "owners": 88, "due_on": 84, "status": 140, "days_overdue": 92, "due_status": 104,
          "description": 160, "title": 160, "evidence": 160, "nonconformity": 84, "unit": 60}


def tracking_first(rows: pd.DataFrame) -> pd.DataFrame:
    """The columns of TRACKING that `rows` has, in that order, then the others as they were."""
    first = [c for c in TRACKING if c in rows.columns]
    return rows[first + [c for c in rows.columns if c not in first]]


def widths(rows: pd.DataFrame, t) -> dict[str, dict]:
    """A grid's column settings (st.dataframe's column_config, as plain dicts): WIDTHS for the columns of
    `rows` (code names), keyed by the names readable() gives them."""
    return {t(f"col_{c}"): {"width": WIDTHS[c]} for c in rows.columns if c in WIDTHS}
