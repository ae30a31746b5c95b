"""Check: every sheet staged in the import's transaction and typed, and each of its problems found, before any write."""

from __future__ import annotations

import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from closeloop import i18n, store, value_maps
from closeloop.ledger.kinds import DOMAINS, KIND, ledger_kinds
from closeloop.ledger.layout import Problem, Sheet
from closeloop.ledger.text import cleaned


def _column(sheet: Sheet, name: str, n: int) -> pa.Array | pa.ChunkedArray:
    values = sheet.columns.get(name)
    if values is None:
        return pa.nulls(n, pa.string())
    return values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, pa.string())


def _staged(sheets: list[Sheet], kind: str) -> pa.Table:
    """All sheets of one kind as one Arrow table of text, every canonical column present."""
    parts = []
    for sheet in (s for s in sheets if s.kind == kind):
        n = len(sheet.rows)
        data = {"file": _repeated(sheet.file, n), "sheet": _repeated(sheet.sheet or "", n),
                "row_no": pa.array(np.asarray(sheet.rows, dtype=np.int64))}
        parts.append(pa.table(data | {column: _column(sheet, column, n) for column in KIND[kind].columns}))
    if not parts:
        empty = {k: pa.array([], pa.string()) for k in KIND[kind].columns}
        return pa.table({"file": _repeated("", 0), "sheet": _repeated("", 0), "row_no": pa.array([], pa.int64())} | empty)
    return pa.concat_tables(parts)


def _repeated(text: str, n: int) -> pa.DictionaryArray:
    """`text` n times, held once (DuckDB reads it as text): two million copies of a file's name took 0.3 s."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([text], pa.string()))


def _value_aliases(mappings: list[value_maps.Mapping] = ()) -> pa.Table:
    """domain → alias → canonical value: the spellings ledgers use, the catalog's labels, then the mappings."""
    aliases = {domain.name: dict(domain.aliases) for domain in DOMAINS}
    for domain in DOMAINS:
        for value in domain.values:
            key = domain.prefix + value
            for text in (*i18n.CATALOG[key].values(), i18n.translate("zh-Hant", key)):
                aliases[domain.name].setdefault(unicodedata.normalize("NFKC", text).strip().lower(), value)
    # the store's mappings, then the import's own (--map): someone said so, over any alias
    for m in mappings:
        aliases[value_maps.DOMAINS[m.column]][value_maps.written(m.value).lower()] = m.canonical
    rows = [(d, alias.lower(), value) for d, values in aliases.items() for alias, value in values.items()]
    return pa.table({"domain": [r[0] for r in rows], "alias": [r[1] for r in rows], "value": [r[2] for r in rows]})


def _names(cur, staged: pa.Table, stored: str, columns: tuple[str, ...]) -> pa.Table:
    """alias → code for units or criteria: every code, and each name (NFKC) that only one record has."""
    tables = (staged, cur.sql(stored).to_arrow_table())
    codes = pc.unique(pa.concat_arrays([t.column("code").combine_chunks().cast(pa.string()) for t in tables]))
    codes = codes.filter(pc.is_valid(codes))
    names = pa.table({
        "alias": pa.concat_arrays([cleaned(t.column(c).combine_chunks(), True) for t in tables for c in columns]),
        "code": pa.concat_arrays([t.column("code").combine_chunks().cast(pa.string()) for t in tables for _ in columns]),
    })
    names = pa.concat_tables([names] + [_converted(names, way) for way in ("t2s", "s2t")])
    names = names.filter(pc.and_(pc.is_valid(names["alias"]), pc.invert(pc.is_in(names["alias"], codes))))
    unique = names.group_by("alias").aggregate([("code", "count_distinct"), ("code", "min")])
    unique = unique.filter(pc.equal(unique["code_count_distinct"], 1))
    return pa.table({"alias": pa.concat_arrays([codes, unique["alias"].combine_chunks()]),
                     "code": pa.concat_arrays([codes, unique["code_min"].combine_chunks()])})


def _converted(names: pa.Table, way: str) -> pa.Table:
    """The names in the other script (機關 ↔ 机关): a ledger in Simplified names a unit stored in Traditional."""
    import opencc

    convert = opencc.OpenCC(way).convert
    aliases = names["alias"].to_pylist()
    texts = [a for a in aliases if a is not None]
    # all of them in one call, a line each (a call per name was most of this step's time at 17,000 units)
    done = convert("\n".join(texts)).split("\n")
    if len(done) != len(texts):  # a name with a line break of its own
        done = [convert(text) for text in texts]
    each = iter(done)
    return pa.table({"alias": pa.array([None if a is None else next(each) for a in aliases], pa.string()),
                     "code": names["code"]})


def checked(cur, sheets: list[Sheet], mappings: list[value_maps.Mapping] = ()) -> list[Problem]:
    """Stage every sheet, type it and find its problems, inside the caller's transaction."""
    staged = {kind: _staged(sheets, kind) for kind in ledger_kinds()}
    for kind in staged:
        cur.register(f"staged_{kind}_arrow", staged[kind])
    cur.register("value_aliases_arrow", _value_aliases(value_maps.stored(cur) + list(mappings)))
    cur.register("unit_aliases_arrow", _names(cur, staged["units"], "select code, name, name_en from units",
                                              ("code", "name", "name_en")))
    cur.register("criterion_aliases_arrow", _names(
        cur, staged["criteria"], "select code, title, title_en from criteria", ("code", "title", "title_en")))
    # Read where Arrow holds them: copying millions of rows into tables cost more than the scans of them.
    for kind in staged:
        cur.execute(f"create or replace temp view staged_{kind} as from staged_{kind}_arrow")
    for name in ("value_aliases", "unit_aliases", "criterion_aliases"):
        cur.execute(f"create or replace temp table {name} as from {name}_arrow")
    cur.execute(store.sql("import_ledger_rows"))
    if cur.execute("select count(*) from ledger_rows").fetchone()[0]:
        # a ledger sheet's actions join the staged ones and its findings' later rows leave: tables, then
        cur.execute("drop view staged_nonconformities")
        cur.execute("create temp table staged_nonconformities as from staged_nonconformities_arrow")
        cur.execute("drop view staged_actions")  # import_split.sql makes it a table
        cur.execute(store.sql("import_split"))
    cur.execute(store.sql("import_typed"))
    problems = cur.execute(store.sql("import_problems")).fetchall()
    # a CSV's sheet is staged as "" so that joins on (file, sheet, row_no) match
    found = [Problem(file, row, column, value, reason, sheet or None) for file, sheet, row, column, value, reason in problems]
    read = [p for sheet in sheets for p in sheet.problems]
    if not read:
        return found
    # in the query's order: file, sheet (none first), row, column, reason
    return sorted(found + read, key=lambda p: (p.file, p.sheet or "", p.row or 0, p.column or "", p.reason))
