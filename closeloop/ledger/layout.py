"""Recognise: where a source's header is, which kind of sheet it is, and its rows as canonical columns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop.ledger.headers import header_name, mapping_for, score
from closeloop.ledger.kinds import KIND
from closeloop.ledger.sources import Source, rows_source, sources_of
from closeloop.ledger.text import cell_text, clean, cleaned, undefused
from closeloop.refusal import Refused

MIN_HEADER_MATCHES = 2


@dataclass
class Sheet:
    """One table read from a file: canonical column → text values, with the file's row numbers."""

    file: str
    kind: str
    columns: dict[str, list[str | None] | pa.Array]
    rows: list[int] | np.ndarray
    sha256: str = ""
    sheet: str | None = None
    header_row: int = 1
    problems: list[Problem] = field(default_factory=list)  # found as it was read (READ_REASONS)


@dataclass
class Problem:
    file: str
    row: int | None
    column: str | None
    value: str | None
    reason: str
    sheet: str | None = None


@dataclass
class Layout:
    """Where a source's header is, what it holds, and which canonical column each position fills."""

    header_row: int
    kind: str
    headers: list[str | None]
    columns: list[str | None]  # canonical name, "" to leave out, None where the header is unknown
    depth: int = 1  # rows the header takes


def _name_kind(source: Source) -> str | None:
    name = (source.sheet or Path(source.file).stem).strip().lower()
    return next((kind for kind in KIND if name in KIND[kind].sheet_names), None)


def detect(source: Source) -> Layout:
    """The header row: of the first rows, the one naming most known columns; its kind by the same count.

    Where two kinds name as many (an actions sheet's 問題編號, 整改措施, 責任人 … also fit a ledger sheet),
    the one with more of its required columns wins. A header over two rows (a group cell such as 整改情況
    above 整改措施, 責任人; the other cells merged down) is read as one.
    """
    named = _name_kind(source)
    best = None
    for index, row in enumerate(source.head):
        for kind in ([named] if named else [k for k in KIND if not KIND[k].plan]):
            headers = _two_row_header(source.head, index, kind)
            names = {n for n in mapping_for(kind, headers) if n}
            required = KIND[kind].required
            rank = (len(names), len(names & set(required)) / len(required))
            if rank[0] >= MIN_HEADER_MATCHES and (best is None or rank > best[0]):
                best = (rank, index, kind, headers)
    if best is None:
        raise Refused("kind_unknown", file=source.label)
    _, index, kind, headers = best
    depth = 2 if headers is not source.head[index] else 1
    return Layout(index + 1, kind, list(headers), mapping_for(kind, headers), depth)


def _two_row_header(head: list[list], index: int, kind: str) -> list:
    """The header row, or it completed by the row below where that row names columns under cells it leaves."""
    row = head[index]
    below = head[index + 1] if index + 1 < len(head) else []
    filled = [c for c in below if c is not None and str(c).strip()]
    if not filled or any(header_name(kind, c) is None for c in filled) or score(kind, row) < MIN_HEADER_MATCHES:
        return row
    width = max(len(row), len(below))
    cells = [row[i] if i < len(row) else None for i in range(width)]
    merged = [below[i] if i < len(below) and below[i] is not None and str(below[i]).strip() else cells[i]
              for i in range(width)]
    return merged if score(kind, merged) > score(kind, row) else row


def sheet_from(source: Source, layout: Layout) -> Sheet:
    """The rows below the header as canonical columns, cleaned; blank rows dropped."""
    unknown = [str(h) for h, c in zip(layout.headers, layout.columns) if c is None and clean(cell_text(h), False)]
    spec = KIND[layout.kind]
    if unknown and not spec.plan:
        raise Refused("columns_unknown", file=source.label, columns=", ".join(unknown))
    present = {c for c in layout.columns if c}
    # A sheet per unit, without a unit column: the sheet's (or file's) name names the unit.
    from_name = spec.from_sheet_name if spec.from_sheet_name not in present else None
    # An actions sheet may leave out the kind (corrective, then) and its own refs (<finding>-A1, -A2 …).
    derived = {from_name} | set(spec.defaults) | ({spec.key} if spec.numbered_key else set())
    missing = [c for c in spec.required if c not in present and c not in derived]
    if missing and not spec.plan:
        raise Refused("columns_missing", file=source.label, columns=", ".join(missing))
    table, rows = source.body(layout.header_row)
    table, rows = table.slice(layout.depth), rows[layout.depth:]
    stray = _cells_without_header(table, rows, layout)
    columns: dict[str, pa.Array] = {}
    for index, name in enumerate(layout.columns):
        if name and index < table.num_columns:
            columns[name] = cleaned(table.column(index), name in spec.codes)
            if source.defused:
                columns[name] = undefused(columns[name])
    if columns:
        blank = None
        for values in columns.values():
            empty = pc.is_null(values)
            blank = empty if blank is None else pc.and_(blank, empty)
        if pc.any(blank).as_py():
            keep = pc.invert(blank)
            columns = {name: pc.filter(values, keep) for name, values in columns.items()}
            rows = rows[np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)]
    if columns and spec.footer:
        columns, rows = _without_footer(columns, rows)
    if from_name:
        columns[from_name] = pa.array([unit_of_name(source.sheet or Path(source.file).stem)] * len(rows), pa.string())
    kept = set(np.asarray(rows).tolist()) if stray else set()
    # a footer's label beside the table ("審核：李四") is not a value lost; anything else is
    # a plan-and-check form's headers are problems among its rows' (closeloop.plan_ledger), not a refusal
    sheet_problems = [Problem(source.file, layout.header_row, h, h, "unknown_column", source.sheet) for h in unknown]
    sheet_problems += [Problem(source.file, layout.header_row, c, None, "missing_column", source.sheet)
                       for c in missing]
    sheet_problems += _formula_problems(source, layout) + [
        Problem(source.file, row, column, value, "cell_without_header", source.sheet)
        for row, column, value in stray if row in kept or not FOOTER.search(value)
    ]
    for column, value in spec.defaults.items():
        if column not in present:
            columns[column] = pa.array([value] * len(rows), pa.string())
    if spec.numbered_key and spec.key not in present:
        within, mark = spec.numbered_key
        seen: dict[str, int] = {}
        refs = []
        for owner in columns[within].to_pylist():
            seen[owner] = seen.get(owner, 0) + 1
            refs.append(None if owner is None else f"{owner}{mark}{seen[owner]}")
        columns[spec.key] = pa.array(refs, pa.string())
    return Sheet(source.file, layout.kind, columns, rows, source.sha256, source.sheet, layout.header_row,
                 sheet_problems)


# Problems found as a file is read, beside the ones import_problems.sql finds.
READ_REASONS = ("formula", "cell_without_header")


def _cells_without_header(table: pa.Table, rows: np.ndarray, layout: Layout) -> list[tuple[int, str, str]]:
    """(row, column letter, value) of each filled cell in a column with no header: it would be lost unseen."""
    from openpyxl.utils import get_column_letter

    found = []
    for index in range(table.num_columns):
        header = layout.headers[index] if index < len(layout.headers) else None
        if clean(cell_text(header), False):
            continue  # a named column: imported, left out on purpose, or refused as unknown
        values = cleaned(table.column(index), False)
        if values.null_count == len(values):
            continue
        for position in pc.indices_nonzero(pc.is_valid(values)).to_pylist():
            found.append((int(rows[position]), get_column_letter(index + 1), values[position].as_py()))
    return found


def _formula_problems(source: Source, layout: Layout) -> list[Problem]:
    """A worksheet's formula cells with no cached value, under a header. Only such a cell is a formula: text
    that starts with "=" (a string cell, any CSV cell) is text, and an exported ledger reads back as it was."""
    first = layout.header_row + layout.depth
    return [Problem(source.file, row, layout.columns[column], text, "formula", source.sheet)
            for (row, column), text in sorted(source.formulas.items())
            if row >= first and column < len(layout.columns) and layout.columns[column]]


def unit_of_name(name: str) -> str | None:
    """The unit a sheet's name stands for: "2024年定海分局整改台賬" → 定海分局."""
    name = clean(name, True) or ""
    name = re.sub(r"^\d{4}年度?", "", name)
    return re.sub(r"(整改)?(台[賬账]|問題清單|问题清单|清單|清单)$", "", name).strip() or name


FOOTER = re.compile(r"^(填表|填報|填报|制表|審核|审核|審批|审批|負責人|负责人|聯繫|联系|日期|備註|备注|說明|说明|注)|[:：]")


def _without_footer(columns: dict[str, pa.Array], rows: np.ndarray):
    """Drop the last rows when each fills at most two cells, all labels: 填表人：張三　審核：李四 …"""
    end = len(rows)
    while end:
        cells = [values[end - 1].as_py() for values in columns.values()]
        filled = [c for c in cells if c is not None]
        if not filled or len(filled) > 2 or not all(FOOTER.search(c) for c in filled):
            break
        end -= 1
    if end < len(rows):
        columns = {name: values.slice(0, end) for name, values in columns.items()}
        rows = rows[:end]
    return columns, rows


def sheet_from_rows(file: str, records: list[list[str]], row_numbers: list[int], kind: str | None = None,
                    sha256: str = "") -> Sheet:
    """A sheet from a header row and data rows (the header is records[0])."""
    source = rows_source(file, records, row_numbers, sha256=sha256)
    headers = [cell_text(c) for c in records[0]]
    layout = detect(source) if kind is None else Layout(row_numbers[0], kind, headers, mapping_for(kind, headers))
    return sheet_from(source, layout)


@dataclass
class Reading:
    """What a set of files held: the sheets to import, and the worksheets passed over (and why)."""

    sheets: list[Sheet]
    skipped: list[str]
    plans: list[Sheet] = field(default_factory=list)  # the plan-and-check forms': closeloop.plan_ledger's


def read_sources(sources: list[Source], workbook: bool) -> Reading:
    """Sheets from sources; in a workbook, a worksheet with no header we know is passed over, not fatal."""
    sheets, skipped, plans = [], [], []
    for source in sources:
        try:
            layout = detect(source)
        except Refused:
            if not workbook:
                raise
            skipped.append(source.label)
            continue
        (plans if KIND[layout.kind].plan else sheets).append(sheet_from(source, layout))
    if workbook and not sheets and not plans:
        raise Refused("kind_unknown", file=sources[0].file if sources else "")
    return Reading(sheets, skipped, plans)


def read_files(paths: list[Path]) -> Reading:
    """Every sheet in the given files and folders (a folder means its CSV and XLSX files)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".xlsx"))
        elif path.exists():
            files.append(path)
        else:
            raise Refused("file_missing", file=str(path))
    found = Reading([], [])
    for file in files:
        sources = sources_of(file.name, file.read_bytes())
        reading = read_sources(sources, workbook=file.suffix.lower() == ".xlsx")
        found.sheets += reading.sheets
        found.skipped += reading.skipped
        found.plans += reading.plans
    return found


def read(paths: list[Path]) -> list[Sheet]:
    return read_files(paths).sheets


def read_csv(path: Path) -> Sheet:
    return read_files([path]).sheets[0]
