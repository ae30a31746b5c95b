"""The import's fast paths against plain references: Arrow's CSV reading and its row numbers against Python's csv
module, the vectorised cleaning against clean(), and the encodings a ledger comes in against Python's codecs."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import random

import pyarrow as pa
import pytest
from openpyxl import Workbook

from closeloop import ledger, value_maps
from closeloop.ledger import sources, text
from closeloop.refusal import Refused

SEEDS = range(100)
# Quotes inside a cell no quote opens, as hand-written files have them: text to Python's reader and to Arrow's,
# but each one flips the quote parity rows are numbered by
STRAYS = ['5"', '整改"三同时"', 'a"b', 'x""']
HEADERS = ["ref", "单位", "title", "found_on", "整改期限", "description"]
# Cells a ledger holds: codes, Chinese text, quotes (ASCII and CJK), the delimiter, line breaks inside a cell
WORDS = ["NC-1", "DH", "2026-03-01", "學習記錄缺失", "会议记录不全", "整改", "a b", "", " ", "x,y", 'say "no"',
         "“引号”", "line\nbreak", "crlf\r\nbreak", '"', '""', "1.10", "001", "=A1", "'=A1", "\t", "　"]


def reference(data: str, delimiter: str, header_row: int) -> list[tuple[int, list[str]]]:
    """(spreadsheet row, cells) of each record from the header on, blank ones left out: Python's csv module."""
    found = []
    for number, record in enumerate(csv.reader(io.StringIO(data, newline=""), delimiter=delimiter), start=1):
        if number >= header_row and any(cell.strip() for cell in record):
            found.append((number, trimmed(record)))
    return found


def trimmed(cells: list) -> list[str]:
    """Cells with a missing one read as empty and the empty ones at the end dropped (a ragged row's padding)."""
    cells = ["" if c is None else c for c in cells]
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def records(found: tuple[pa.Table, object] | None) -> list[tuple[int, list[str]]] | None:
    """What a body read: (row, cells) of each record, blank ones left out as sheet_from leaves them out."""
    if found is None:
        return None
    table, numbers = found
    rows = [trimmed(list(r.values())) for r in table.to_pylist()]
    return [(int(n), r) for n, r in zip(numbers, rows) if any(c.strip() for c in r)]


def quoted(cell: str, delimiter: str) -> str:
    if any(c in cell for c in (delimiter, '"', "\n", "\r")) or cell != cell.strip():
        return '"' + cell.replace('"', '""') + '"'
    return cell


def generated(seed: int) -> tuple[str, str, int, set[str]]:
    """A CSV text as Excel and other tools write one, with what the reader is asked: (text, delimiter, header row,
    what makes it irregular: ragged rows, blank lines, stray quotes, a lone line)."""
    rnd = random.Random(seed)
    delimiter = rnd.choice([",", ",", "\t", ";"])
    width = rnd.randint(2, 6)
    ragged = rnd.random() < 0.3
    newline = rnd.choice(["\n", "\r\n"])
    lines = []
    preamble = rnd.randint(0, 3)  # a title row, a blank row … above the header
    for _ in range(preamble):
        lines.append(rnd.choice(["2024年整改台賬", "", "填表單位：定海分局" + delimiter + "日期"]))
    lines.append(delimiter.join(HEADERS[:width]))  # names the delimiter is found by
    blanks, strays = rnd.random() < 0.4, rnd.random() < 0.3
    for _ in range(rnd.randint(0, 40)):
        if blanks and rnd.random() < 0.15:
            lines.append("")  # an empty line
            continue
        n = rnd.randint(1, width + 1) if ragged else width
        row = [quoted(rnd.choice(WORDS), delimiter) for _ in range(n)]
        if strays and rnd.random() < 0.3:
            row[rnd.randrange(n)] = rnd.choice(STRAYS)
        lines.append(delimiter.join(row))
    body = newline.join(lines) + (newline if rnd.random() < 0.7 else "")
    # Arrow refuses a file of one line with no line break at its end ("cannot infer number of columns")
    alone = len(lines) == preamble + 1 and not body.endswith(newline)
    flags = {"ragged": ragged, "blanks": blanks, "strays": strays, "alone": alone}
    return body, delimiter, preamble + 1, {name for name, on in flags.items() if on}


def width_of(data: str, delimiter: str, header_row: int) -> int:
    return len(next(csv.reader(io.StringIO(data.split("\n")[header_row - 1]), delimiter=delimiter)))


# Each test below walks every seed and names the ones that disagree with the reference.


def test_a_csv_body_reads_the_records_and_row_numbers_pythons_csv_reads():
    wrong = []
    for seed in SEEDS:
        data, delimiter, header_row, _ = generated(seed)
        source = ledger.csv_source("ledger.csv", data.encode("utf-8"))
        if records(source.body(header_row)) != reference(data, delimiter, header_row):
            wrong.append(seed)
    assert wrong == []


def test_the_arrow_path_reads_what_pythons_csv_reads_or_leaves_it_to_the_slow_path():
    wrong, taken = [], 0
    for seed in SEEDS:
        data, delimiter, header_row, irregular = generated(seed)
        fast = records(sources._csv_fast(data.encode("utf-8"), delimiter, header_row,
                                         width_of(data, delimiter, header_row)))
        expected = reference(data, delimiter, header_row)
        # a regular file must be taken, and right; another may be left to the slow path (None)
        if fast != expected and (not irregular or fast is not None):
            wrong.append(seed)
        taken += fast is not None
    assert (wrong, taken >= 30) == ([], True)


def test_record_numbers_from_quote_parity_are_the_spreadsheets_rows():
    # _csv_numbered is the path a file with blank lines or a header below row 1 takes; blank lines, CRLF ones
    # too, are what it numbers past, so a file with only those must be taken
    wrong = []
    for seed in SEEDS:
        data, delimiter, header_row, irregular = generated(seed)
        numbered = records(sources._csv_numbered(data.encode("utf-8"), delimiter, header_row,
                                                 width_of(data, delimiter, header_row)))
        if numbered != reference(data, delimiter, header_row) and (not irregular - {"blanks"} or numbered is not None):
            wrong.append(seed)
    assert wrong == []


@pytest.mark.parametrize("bom,newline", [(True, "\r\n"), (True, "\n"), (False, "\r\n")])
def test_a_byte_order_mark_and_crlf_are_read_past(bom, newline):
    data = newline.join(["ref,title", "NC-1,\"多行\r\n問題\"", "", "NC-2,\"說\"\"明\"\"\""]) + newline
    raw = (codecs.BOM_UTF8 if bom else b"") + data.encode("utf-8")
    source = ledger.csv_source("ledger.csv", raw)
    assert source.head[0] == ["ref", "title"]
    assert records(source.body(1)) == [(1, ["ref", "title"]), (2, ["NC-1", "多行\r\n問題"]), (4, ["NC-2", '說"明"'])]


def test_a_stray_quote_inside_an_unquoted_cell_keeps_every_row_number():
    # Quote parity counts the quote in 整改"三同时" as opening a cell; Python's reader takes it as text.
    data = 'title\n\n整改"三同时"\n"二\n行"\n\nlast\n'
    assert reference(data, ",", 1) == [(1, ["title"]), (3, ['整改"三同时"']), (4, ["二\n行"]), (6, ["last"])]
    assert records(ledger.csv_source("ledger.csv", data.encode()).body(1)) == reference(data, ",", 1)


# Cleaning: the column at once against the cell at a time

# White space of every kind str.strip() knows, characters that share bytes with some (【 E3 80 90, 一 E4 B8 80,
# “ E2 80 9C), ones that are not white space (zero-width space, BOM) and full-width ones NFKC changes.
PIECES = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680",
          *map(chr, range(0x2000, 0x200b)), "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
          "\u200b", "\ufeff", "【", "】", "一", "“", "”", "Ａ", "１", "－", "ｶ", "a", "7", "-", "整改", "😀", "é", "é"]


def cells(seed: int) -> list[str | None]:
    rnd = random.Random(seed)
    return [None if rnd.random() < 0.1 else "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 4)))
            for _ in range(rnd.randint(1, 50))]


def test_cleaning_a_column_gives_what_cleaning_each_cell_gives():
    wrong = []
    for seed, normalise in itertools.product(SEEDS, (False, True)):
        values = cells(seed)
        expected = [text.clean(v, normalise) for v in values]
        half = len(values) // 2
        columns = [
            pa.array(values, pa.string()),
            # one that starts inside its buffers, and one in chunks, as Arrow's CSV reader hands them over
            pa.array(["x", *values], pa.string()).slice(1),
            pa.chunked_array([pa.array(values[:half], pa.string()), pa.array(values[half:], pa.string())]),
        ]
        if any(text.cleaned(column, normalise).to_pylist() != expected for column in columns):
            wrong.append((seed, normalise))
    assert wrong == []


def test_the_padding_check_finds_white_space_exactly_where_strip_does():
    # cell by cell too: a column of many cells is nearly always padded somewhere
    wrong = [v for seed in SEEDS for v in cells(seed)
             if text._padded(pa.array([v], pa.string())) != (v is not None and v != v.strip())]
    wrong += [seed for seed in SEEDS if text._padded(pa.array(cells(seed), pa.string()))
              != any(v is not None and v != v.strip() for v in cells(seed))]
    assert wrong == []


def test_each_piece_alone_and_around_text_is_cleaned_as_clean_does():
    wrong = []
    for piece, normalise in itertools.product(PIECES, (False, True)):
        for value in (piece, f"{piece}整改", f"整改{piece}", f"{piece}a{piece}", f"{piece}{piece}", f"一{piece}"):
            if text.cleaned(pa.array([value], pa.string()), normalise).to_pylist() != [text.clean(value, normalise)]:
                wrong.append((value, normalise))
    assert wrong == []


def test_an_all_ascii_code_column_is_not_normalised_and_a_full_width_one_is():
    assert text.cleaned(pa.array(["NC-1", " DH "]), True).to_pylist() == ["NC-1", "DH"]
    assert text.cleaned(pa.array(["ＮＣ－１", "DH"]), True).to_pylist() == ["NC-1", "DH"]
    assert text.cleaned(pa.array(["ＮＣ－１"]), False).to_pylist() == ["ＮＣ－１"]



# Workbooks: the byte scan for formulas against openpyxl's reading of every cell


def workbook(rows: list[list], cells_as_text: bool = False) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if cells_as_text:  # "=A1" typed as text (Excel's leading apostrophe): a string cell, not a formula
        for row in sheet.iter_rows():
            for cell in row:
                cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("rows,cells_as_text,formulas", [
    ([["ref", "title"], ["NC-1", "記錄缺失"]], False, {}),
    ([["ref", "title"], ["NC-1", "=A1&\"-x\""]], False, {(2, 2): '=A1&"-x"'}),
    ([["ref", "title"], ["NC-1", "=A1"]], True, {}),
    ([["ref", "<f>"], ["<f t=\"shared\">", "</f>"]], False, {}),  # the tag's text in a cell is escaped
    ([["ref", "n"], *[[f"NC-{i}", i] for i in range(30_000)], ["total", "=SUM(B2:B30001)"]], False,
     {(30_002, 2): "=SUM(B2:B30001)"}),  # past the first megabyte of the sheet's XML
])
def test_the_formula_scan_finds_a_formula_exactly_where_openpyxl_does(rows, cells_as_text, formulas):
    raw = workbook(rows, cells_as_text)
    found = sources._formula_cells(raw)
    assert (sources._has_formulas(raw), {k: v for cells in found.values() for k, v in cells.items()}) == (
        bool(formulas), formulas)

# Encodings: the ones DESIGN.md lists read back as written; others named, never garbage

SIMPLIFIED = "编号,单位,问题描述,责任人,整改期限\nNC-1,定海分局,学习记录缺失,张三,2026-03-01\nNC-2,普陀分局,会议记录不全,李四,2026-04-01\n"
TRADITIONAL = "編號,單位,問題描述,責任人,整改期限\nNC-1,定海分局,學習記錄缺失,張三,2026-03-01\nNC-2,臺北辦事處,會議記錄不全,李四,2026-04-01\n"


@pytest.mark.parametrize("encoding,content", [
    ("utf-8", SIMPLIFIED), ("utf-8-sig", TRADITIONAL), ("utf-16", SIMPLIFIED), ("utf-16-le", None),
    ("utf-16-be", None), ("gbk", SIMPLIFIED), ("gb18030", TRADITIONAL), ("big5", TRADITIONAL),
    ("cp950", TRADITIONAL), ("big5hkscs", TRADITIONAL),
])
def test_a_ledger_in_each_listed_encoding_decodes_to_its_text(encoding, content):
    if content is None:  # UTF-16 without Python's own mark: the ledger's, written first
        raw = (codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE) + TRADITIONAL.encode(encoding)
        content = TRADITIONAL
    else:
        raw = content.encode(encoding)
    assert ledger.decode(raw, "ledger.csv") == content


@pytest.mark.parametrize("encoding", ["gbk", "big5"])
def test_a_ledger_past_the_first_megabyte_decodes_as_a_whole(encoding):
    content = SIMPLIFIED if encoding == "gbk" else TRADITIONAL
    rows = content.split("\n", 1)[1] * 20_000  # 1.4 MB: the head alone is not the file
    data = content.split("\n", 1)[0] + "\n" + rows
    source = ledger.csv_source("ledger.csv", data.encode(encoding))
    table, numbers = source.body(1)
    assert (table.num_rows, int(numbers[-1]), table.column(2)[-1].as_py()) == (40_001, 40_001, content.split(",")[-3])


@pytest.mark.parametrize("encoding", ["shift_jis", "euc_kr", "koi8_r", "cp1252"])
def test_a_ledger_in_an_encoding_not_listed_is_named_not_read(encoding):
    content = {"shift_jis": "番号,部署,問題\n1,総務部,記録がありません\n", "euc_kr": "번호,부서,문제\n1,총무부,기록 없음\n",
               "koi8_r": "номер,отдел,проблема\n1,общий,нет записи\n", "cp1252": "réf,unité,problème\n1,siège,écart\n"}
    with pytest.raises(Refused) as refused:
        ledger.decode(content[encoding].encode(encoding), "ledger.csv")
    assert refused.value.key in ("encoding_unsupported", "encoding_garbled", "encoding_unknown")
    assert refused.value.details["file"] == "ledger.csv"


# The declared kinds: what the other modules name agrees with the table


def test_the_value_columns_a_mapping_names_are_the_ones_a_findings_sheet_declares():
    assert value_maps.DOMAINS == ledger.KIND["nonconformities"].values
    assert value_maps.CHOICES == {
        column: (domain.prefix, domain.values)
        for column, name in ledger.KIND["nonconformities"].values.items()
        for domain in ledger.DOMAINS if domain.name == name}


def test_every_kind_declares_its_key_first_and_only_columns_it_has():
    for kind in ledger.TABLE:
        named = set(kind.headers.values()) | set(kind.required) | set(kind.codes) | set(kind.store.values())
        named |= set(kind.values) | set(kind.defaults) | ({kind.from_sheet_name} - {None})
        assert (kind.name, named - set(kind.columns)) == (kind.name, set())
        assert kind.key in kind.required


def test_a_kind_added_to_the_table_is_read_by_its_headers_with_no_code(monkeypatch):
    # A plan-and-check form as DESIGN.md describes one, declared the way the four kinds are.
    objectives = ledger.Kind(
        "objectives", columns=("code", "unit", "year", "name", "target"), required=("code", "unit", "year"),
        headers={"目標編號": "code", "目标编号": "code", "單位": "unit", "单位": "unit", "年度": "year",
                 "目標": "name", "目标": "name", "目標值": "target", "目标值": "target"},
        sheet_names=frozenset({"objectives", "目標", "目标"}), codes=frozenset({"code", "unit", "year"}),
        entity="objective", store={"unit": "unit", "year": "year", "name": "name", "target": "target"})
    monkeypatch.setitem(ledger.KIND, "objectives", objectives)
    data = "填報單位：定海分局\n目标编号,单位,年度,目标,目标值\nＯ-１,DH,2026,  整改完成率 ,0.95\n\nO-2,DH,2026,满意度,90\n"
    source = ledger.csv_source("2026.csv", data.encode("utf-8"))
    layout = ledger.detect(source)
    assert (layout.kind, layout.header_row, layout.columns) == ("objectives", 2, ["code", "unit", "year", "name", "target"])
    sheet = ledger.sheet_from(source, layout)
    assert {c: v.to_pylist() for c, v in sheet.columns.items()} == {
        "code": ["O-1", "O-2"], "unit": ["DH", "DH"], "year": ["2026", "2026"], "name": ["整改完成率", "满意度"],
        "target": ["0.95", "90"]}
    assert list(sheet.rows) == [3, 5]
