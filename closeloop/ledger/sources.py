"""Read: a file's bytes as sources (a CSV file, each worksheet of a workbook): first rows, and a way to read the rest.

A CSV is read by Arrow where it can (UTF-8 or decoded to it, each record's spreadsheet row number found from
where its records end) and by Python's csv module where it cannot; a workbook only after its safety checks.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from closeloop.ledger.headers import score
from closeloop.ledger.kinds import KIND
from closeloop.ledger.text import cell_text, decoded
from closeloop.refusal import Refused

HEADER_SCAN_ROWS = 30
# The upload limit (also .streamlit/config.toml's server.maxUploadSize), and what a workbook may
# unpack to: a declared total over either bound is refused before any XML is parsed.
MAX_UPLOAD_MB = 50
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_UNPACK_RATIO = 200


@dataclass
class Source:
    """One worksheet or CSV file: its first rows (to find the header) and a way to read all of it."""

    file: str
    sheet: str | None
    head: list[list[str | None]]  # the first HEADER_SCAN_ROWS rows; head[i] is spreadsheet row i + 1
    sha256: str
    body: Callable[[int], tuple[pa.Table, np.ndarray]]  # header row → (that row and all below, row numbers)
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column index) → formula text
    defused: bool = False  # a CSV: a leading apostrophe may be an exporter's, put before text like a formula

    @property
    def label(self) -> str:
        return f"{self.file} › {self.sheet}" if self.sheet else self.file


def _records_table(records: list[list], first_row: int) -> tuple[pa.Table, np.ndarray]:
    """Rows of cells (ragged, any types) as a table of text columns f0…, rows numbered from first_row."""
    width = max((len(r) for r in records), default=0)
    columns = [[cell_text(r[i]) if i < len(r) else None for r in records] for i in range(width)]
    table = pa.table({f"f{i}": pa.array(c, pa.string()) for i, c in enumerate(columns)}) if width else pa.table({})
    return table, np.arange(first_row, first_row + len(records))


def rows_source(file: str, records: list[list], row_numbers: list[int] | None = None, sheet: str | None = None,
                sha256: str = "", formulas: dict[tuple[int, int], str] | None = None) -> Source:
    """A source from rows already in memory (row_numbers default to 1, 2, …); formulas: (row, column index) → text."""
    numbers = np.asarray(row_numbers if row_numbers is not None else range(1, len(records) + 1))
    by_number = dict(zip(numbers.tolist(), records))
    head = [list(by_number.get(n, [])) for n in range(1, HEADER_SCAN_ROWS + 1)]

    def body(header_row: int):
        keep = numbers >= header_row
        table, _ = _records_table([r for r, k in zip(records, keep) if k], header_row)
        return table, numbers[keep]

    return Source(file, sheet, [[cell_text(c) for c in r] for r in head], sha256, body, formulas or {})


# ---------------------------------------------------------------------------------------------
# CSV


def _delimiter(text: str) -> str:
    """Comma, or the tab of Excel's "Unicode text", or a semicolon: whichever finds the best header."""
    lines = text[:100_000].splitlines()[:HEADER_SCAN_ROWS]
    scores = {}
    for delimiter in (",", "\t", ";"):
        rows = list(csv.reader(lines, delimiter=delimiter))
        scores[delimiter] = max((score(k, r) for r in rows for k in KIND if not KIND[k].plan), default=0)
    return max(scores, key=lambda d: (scores[d], d == ","))


def csv_source(name: str, raw: bytes) -> Source:
    # Python's reader refuses a cell over 131,072 characters with a bare csv.Error while Arrow's reads any:
    # both read it whole, and body() refuses it in one line naming its row and column.
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    text, encoding, whole = _head_decoded(raw, name)
    delimiter = _delimiter(text)
    head = _head(text, delimiter, whole)
    if head is None:  # the first rows go on past the first megabyte
        (text, encoding), whole = decoded(raw, name), True
        head = _head(text, delimiter, whole)
    if not any(any(c.strip() for c in r) for r in head):
        raise Refused("file_empty", file=name)

    def body(header_row: int):
        table, numbers = read_body(header_row)
        _refuse_long_cells(name, head[header_row - 1], table, numbers)
        return table, numbers

    def read_body(header_row: int):
        width = len(head[header_row - 1])
        if encoding == "utf-8":
            # Arrow reads UTF-8 and refuses a cell that is not: only then is all of the file decoded here
            found = _csv_fast(raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw,
                              delimiter, header_row, width)
            if found:
                return found
        full, used = (text, encoding) if whole else decoded(raw, name)
        if used == "utf-8":
            return _csv_slow(full, delimiter, header_row)
        return _csv_fast(full.encode("utf-8"), delimiter, header_row, width) or _csv_slow(full, delimiter, header_row)

    return Source(name, None, head, hashlib.sha256(raw).hexdigest(), body, defused=True)


# The longest cell a ledger may hold, in characters: Python's csv reader's default limit, far past any
# finding's text, and the point past which a cell is more likely a broken quote than a description.
CELL_LIMIT = 131_072


def _refuse_long_cells(file: str, header: list[str], table: pa.Table, numbers: np.ndarray) -> None:
    for i, column in enumerate(table.columns):
        too_long = pc.greater(pc.utf8_length(column), CELL_LIMIT)
        if pc.any(too_long).as_py():
            at = pc.index(too_long, True).as_py()
            name = header[i] if i < len(header) and header[i] else f"#{i + 1}"
            raise Refused("cell_too_long", file=file, row=int(numbers[at]), column=name,
                              limit=f"{CELL_LIMIT:,}")


HEAD_BYTES = 1 << 20


def _head_decoded(raw: bytes, file: str) -> tuple[str, str, bool]:
    """The text of the file's first megabyte, its encoding as far as that tells, and whether that is all of it.

    Decoding all of a large file only to find it is UTF-8 took longer than Arrow's reading of it.
    """
    if len(raw) <= HEAD_BYTES or raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return *decoded(raw, file), True
    prefix = raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        # a character cut at the end of the megabyte waits for bytes that never come: not an error
        return codecs.getincrementaldecoder("utf-8")().decode(prefix[:HEAD_BYTES], final=False), "utf-8", False
    except UnicodeDecodeError:
        return *decoded(raw, file), True


def _head(text: str, delimiter: str, whole: bool) -> list[list[str]] | None:
    """The first HEADER_SCAN_ROWS records; None when the text is not whole and ends before they surely do."""
    head = []
    for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        if len(head) == HEADER_SCAN_ROWS:
            return head  # a record follows the last one kept, so that one is whole
        head.append(record)
    return head if whole else None


def _csv_slow(text: str, delimiter: str, header_row: int) -> tuple[pa.Table, np.ndarray]:
    records, rows = [], []
    # Row numbers as a spreadsheet shows the file: one per record, blank ones included, whatever
    # the line breaks inside quoted cells.
    for row, record in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
        if row >= header_row and any(cell.strip() for cell in record):
            records.append(record)
            rows.append(row)
    table, _ = _records_table(records, header_row)
    return table, np.asarray(rows, dtype=np.int64)


def _csv_fast(data: bytes, delimiter: str, header_row: int, width: int) -> tuple[pa.Table, np.ndarray] | None:
    """Arrow's parser for a well-formed file, with each record's row number (None: fall back)."""
    if header_row == 1:
        # Told not to skip them, Arrow reads a blank line as a record of empty cells: its records are
        # then the spreadsheet's rows, one per record whatever the line breaks inside quoted cells.
        table = _arrow_csv(data, delimiter, width, skip_empty=False)
        if table is not None:
            return table, np.arange(1, table.num_rows + 1)
    return _csv_numbered(data, delimiter, header_row, width)


def _arrow_csv(data: bytes, delimiter: str, width: int, start: int = 0, skip_empty: bool = True) -> pa.Table | None:
    """The records from byte `start` on, every cell as text (None where Arrow cannot read them)."""
    try:
        return pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(data).slice(start)),
            # blocks of 32 MB: each is a chunk of every column, and each chunk a few calls when cleaned
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True, use_threads=True, block_size=1 << 25),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=skip_empty),
            # every cell as text: "001" and "1.10" are codes, not numbers
            convert_options=pa_csv.ConvertOptions(column_types={f"f{i}": pa.string() for i in range(width)}),
        )
    except (pa.ArrowInvalid, ValueError):
        return None


def _csv_numbered(data: bytes, delimiter: str, header_row: int, width: int) -> tuple[pa.Table, np.ndarray] | None:
    """Row numbers from where records end, whatever the file holds (None: fall back).

    A record ends at a line feed outside quotes (an even number of quotes before it); Arrow skips the
    empty ones, so the others keep their spreadsheet row numbers.
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    feeds = np.flatnonzero(buffer == 10)
    quotes = np.flatnonzero(buffer == 34)
    ends = feeds[np.searchsorted(quotes, feeds) % 2 == 0]
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(data)]))
    if starts[-1] >= len(data):
        starts, stops = starts[:-1], stops[:-1]
    if header_row > len(starts):
        return None
    lengths = stops - starts
    carriage = (lengths == 1) & (buffer[np.minimum(starts, max(len(data) - 1, 0))] == 13)
    numbers = np.arange(1, len(starts) + 1)
    kept = (lengths > 0) & ~carriage & (numbers >= header_row)
    table = _arrow_csv(data, delimiter, width, int(starts[header_row - 1]))
    if table is None or table.num_rows != int(kept.sum()):
        return None
    return table, numbers[kept]


# ---------------------------------------------------------------------------------------------
# XLSX


def _check_workbook(raw: bytes, name: str) -> None:
    """Refuse a zip bomb (by the sizes the archive declares) and XML that declares a DOCTYPE or entities."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise Refused("xlsx_unreadable", file=name) from None
    with archive:
        members = archive.infolist()
        unpacked = sum(m.file_size for m in members)
        if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_UNPACK_RATIO * max(len(raw), 1):
            raise Refused("xlsx_bomb", file=name, mb=f"{unpacked / 2**20:,.0f}")
        for member in members:
            if member.filename.endswith((".xml", ".rels", ".vml")):
                with archive.open(member) as part:
                    prolog = part.read(4096).upper()
                if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
                    raise Refused("xlsx_unsafe", file=name, part=member.filename)


def _has_formulas(raw: bytes) -> bool:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for member in archive.infolist():
            if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
                with archive.open(member) as part:
                    tail = b""
                    while chunk := part.read(1 << 20):
                        if b"<f>" in tail + chunk or b"<f " in tail + chunk:
                            return True
                        tail = chunk[-3:]
    return False


def xlsx_sources(name: str, raw: bytes) -> list[Source]:
    """Every worksheet of a workbook, read once with cached values (a formula without one stays a formula)."""
    from openpyxl import load_workbook

    _check_workbook(raw, name)
    sha = hashlib.sha256(raw).hexdigest()
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True, keep_links=False)
        formulas = _formula_cells(raw) if _has_formulas(raw) else {}
        sources = []
        for ws in book.worksheets:
            ws.reset_dimensions()
            records = [list(row) for row in ws.iter_rows(values_only=True)]
            unvalued = {}  # the formula cells with no cached value: their text is what the cell holds
            for (row, column), formula in formulas.get(ws.title, {}).items():
                if row <= len(records) and column <= len(records[row - 1]) and records[row - 1][column - 1] is None:
                    records[row - 1][column - 1] = unvalued[(row, column - 1)] = formula
            kept = [(n, r) for n, r in enumerate(records, start=1) if any(c is not None and str(c).strip() for c in r)]
            if kept:
                sources.append(rows_source(name, [r for _, r in kept], [n for n, _ in kept], ws.title, sha, unvalued))
        book.close()
    except Refused:
        raise
    except Exception as e:  # openpyxl's and defusedxml's many refusals: one line naming the file
        raise Refused("xlsx_unreadable", file=name, reason=type(e).__name__) from None
    if not sources:
        raise Refused("file_empty", file=name)
    return sources


def _formula_cells(raw: bytes) -> dict[str, dict[tuple[int, int], str]]:
    """sheet → (row, column) → formula text, for every formula cell of the workbook."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(raw), read_only=True, data_only=False, keep_links=False)
    found: dict[str, dict[tuple[int, int], str]] = {}
    for ws in book.worksheets:
        ws.reset_dimensions()
        for row in ws.iter_rows():
            for cell in row:
                if getattr(cell, "data_type", None) == "f":
                    found.setdefault(ws.title, {})[(cell.row, cell.column)] = str(cell.value)
    book.close()
    return found


def sources_of(name: str, raw: bytes) -> list[Source]:
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return [csv_source(name, raw)]
    if suffix == ".xlsx":
        return xlsx_sources(name, raw)
    raise Refused("file_type_unknown", file=name)
