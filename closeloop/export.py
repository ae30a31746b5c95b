"""Tables out: CSV (UTF-8 with BOM, so Excel reads it) and XLSX, never with a live formula in a cell."""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from closeloop import value_maps

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def defused(value):
    """Text a spreadsheet would read as a formula gets a leading apostrophe (shown, never run).

    So does text whose own leading apostrophes come before such a character ("'=x" → "''=x"): the importer
    takes exactly one away (ledger.undefused), and every text reads back as it was.
    """
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_LEADS):
        return "'" + value
    return value


def csv_bytes(table: pd.DataFrame) -> bytes:
    # Only text can hold a formula; mapping a whole-number column with gaps would write 13 as "13.0".
    text = table.select_dtypes("object").columns
    return table.assign(**{c: table[c].map(defused) for c in text}).to_csv(index=False).encode("utf-8-sig")


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


# ---------------------------------------------------------------------------------------------
# The ledger: the template users fill in, and the filtered ledger in the same shape

# Column → its Chinese header (one the importer knows): the template and every ledger export head
# their columns "中文\ncanonical", so either language reads back.
LEDGER_HEADERS = {
    "ref": "问题编号", "unit": "单位", "audit": "审核编号", "criterion": "考核细则", "source": "问题来源",
    "severity": "严重程度", "title": "存在问题", "description": "具体情况", "root_cause": "原因分析",
    "found_on": "发现日期", "due_on": "整改期限", "closed_on": "销号日期", "status": "整改状态",
    "verified_by": "验证人", "action_ref": "措施编号", "action_kind": "措施类型", "action": "整改措施",
    "owner": "责任人", "action_due_on": "措施期限", "action_done_on": "措施完成日期", "action_status": "措施状态",
    "evidence": "佐证",
}
# Columns an export adds after the template's, which an import reads past: the colour (三色督办) and the due
# date a finding without one is given by its severity's deadline (notify).
EXPORT_HEADERS = {"due_status": "督办状态", "default_due_on": "默认期限"}
LEDGER_SHEET = "整改台账"
# Enumerated columns: the catalog prefix of their labels and their values (the drop-downs, the exported words):
# those a value mapping can name, and the colour.
LEDGER_CHOICES = value_maps.CHOICES | {"due_status": ("due_status_", ("on_track", "due_soon", "overdue"))}
TEMPLATE_ROWS = 2000


def ledger_header(column: str, lang: str = "zh-Hans") -> str:
    return f"{in_script((LEDGER_HEADERS | EXPORT_HEADERS)[column], lang)}\n{column}"


def in_script(text: str, lang: str) -> str:
    """The template's Chinese words in the script of the language asked (English keeps the Simplified)."""
    from closeloop import i18n

    return i18n.to_traditional(text) if lang == "zh-Hant" else text


def choices(column: str, lang: str = "zh-Hans") -> list[str]:
    from closeloop import i18n

    prefix, values = LEDGER_CHOICES[column]
    return [i18n.translate(lang, prefix + v) for v in values]


def ledger_table(rows: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The ledger's rows with enumerations in words and bilingual headers, ready for ledger_xlsx or csv_bytes."""
    from closeloop import i18n

    rows = rows.copy()
    for column, (prefix, _) in LEDGER_CHOICES.items():
        if column in rows:
            rows[column] = rows[column].map(lambda v: i18n.translate(lang, prefix + v) if isinstance(v, str) else v)
    return rows.rename(columns={c: ledger_header(c, lang) for c in rows.columns if c in LEDGER_HEADERS | EXPORT_HEADERS})


def ledger_xlsx(table: pd.DataFrame) -> bytes:
    """The ledger sheet as the template has it: wrapped bilingual header, frozen, filtered, dates as dates."""
    book = Workbook(write_only=True)
    ws = book.create_sheet(LEDGER_SHEET)
    ws.freeze_panes = "B2"
    for index, column in enumerate(table.columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = _width(column, table[column])
    ws.row_dimensions[1].height = 32
    ws.append([_header_cell(ws, name) for name in table.columns])
    for row in table.itertuples(index=False):
        ws.append([_cell(ws, v) for v in row])
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(table.columns), 1))}{len(table) + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_bytes(lang: str = "zh-Hans") -> bytes:
    """An empty ledger to fill in: the ledger sheet with drop-downs for the enumerations, and how to fill it."""
    from openpyxl.worksheet.datavalidation import DataValidation

    from closeloop import i18n

    book = Workbook()
    ws = book.active
    ws.title = in_script(LEDGER_SHEET, lang)
    columns = list(LEDGER_HEADERS)
    ws.append([ledger_header(c, lang) for c in columns])
    for index, column in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font, cell.alignment, cell.fill = Font(bold=True), Alignment(wrap_text=True, vertical="top"), HEADER_FILL
        ws.column_dimensions[get_column_letter(index)].width = 22 if column in ("title", "action", "description") else 14
        letter = get_column_letter(index)
        if column in LEDGER_CHOICES:
            listed = DataValidation(type="list", formula1='"' + ",".join(choices(column, lang)) + '"', allow_blank=True,
                                    showErrorMessage=True)
            listed.add(f"{letter}2:{letter}{TEMPLATE_ROWS}")
            ws.add_data_validation(listed)
        if column.endswith("_on"):
            for row in range(2, TEMPLATE_ROWS + 1):
                ws.cell(row=row, column=index).number_format = "yyyy-mm-dd"
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}1"
    notes = book.create_sheet(i18n.translate(lang, "template_notes_sheet"))
    for line in i18n.translate(lang, "template_notes").split("\n"):
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def _header_cell(ws, name: str):
    cell = WriteOnlyCell(ws, value=str(name))
    cell.font, cell.alignment, cell.fill = Font(bold=True), Alignment(wrap_text=True, vertical="top"), HEADER_FILL
    return cell


def _width(column: str, values: pd.Series) -> float:
    longest = max([len(line) for line in str(column).split("\n")] + [len(str(v)) for v in values.head(200)])
    return min(max(longest * 1.6, 10), 60)  # Chinese characters are about twice as wide as Latin ones
