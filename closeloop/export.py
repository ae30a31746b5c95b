"""Tables out: CSV (UTF-8 with BOM, so Excel reads it) and XLSX, never with a live formula in a cell."""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_LEADS = ("=", "+", "-", "@")


def defused(value):
    """Text a spreadsheet would read as a formula gets a leading apostrophe (shown, never run)."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def csv_bytes(table: pd.DataFrame) -> bytes:
    return table.map(defused).to_csv(index=False).encode("utf-8-sig")


def xlsx_bytes(table: pd.DataFrame, sheet: str) -> bytes:
    """One sheet: bold frozen header with an autofilter, dates as dates, text kept as text."""
    return xlsx_book({sheet: table})


def xlsx_book(sheets: dict[str, pd.DataFrame]) -> bytes:
    """A workbook of several such sheets, in the order given (names cut to Excel's 31 characters)."""
    book = Workbook(write_only=True)
    for sheet, table in sheets.items():
        _sheet(book, table, sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book: Workbook, table: pd.DataFrame, sheet: str) -> None:
    ws = book.create_sheet(sheet[:31])
    ws.freeze_panes = "A2"
    for index, column in enumerate(table.columns, start=1):
        width = max([len(str(column))] + [len(str(v)) for v in table[column].head(200)]) + 2
        ws.column_dimensions[get_column_letter(index)].width = min(width * 1.2, 60)
    header = []
    for name in table.columns:
        cell = WriteOnlyCell(ws, value=str(name))
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for row in table.itertuples(index=False):
        ws.append([_cell(ws, v) for v in row])
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(table.columns), 1))}{len(table) + 1}"


def _cell(ws, value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.date()
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
    if hasattr(value, "year"):
        cell.number_format = "yyyy-mm-dd"
    return cell
