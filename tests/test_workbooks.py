"""Real ledgers in: workbooks and CSVs in the shapes users keep them, every date form, every header variant."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from closeloop import ledger, metrics, store
from closeloop.filters import Filters
from closeloop.refusal import Refused

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "golden"


def read_golden(name: str) -> list[dict]:
    with (GOLDEN / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def workbook(sheets: dict[str, list[list]], merged: dict[str, list[str]] | None = None) -> bytes:
    """A workbook from literal rows per sheet (None is an empty cell), with cells merged as given."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
        for cells in (merged or {}).get(name, []):
            ws.merge_cells(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def load(con, *paths) -> ledger.Outcome:
    return ledger.load(con, ledger.read(list(paths)), actor="test")


def problems(outcome) -> list[tuple]:
    return [(p.file, p.sheet, p.row, p.column, p.value, p.reason) for p in outcome.problems]


def stored(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


@pytest.fixture
def org(empty_store, tmp_path):
    """A store holding two units and one criterion, as a ledger without units or criteria sheets needs."""
    folder = tmp_path / "org"
    folder.mkdir()
    (folder / "units.csv").write_text("code,name,parent\nHQ,舟山港務管理局,\nDH,定海分局,HQ\n", encoding="utf-8")
    (folder / "criteria.csv").write_text("code,title,category\n1.1,三會一課按期召開,組織建設\n", encoding="utf-8")
    assert load(empty_store, folder).ok
    return empty_store


NC_HEADER = "ref,unit,criterion,source,severity,title,found_on\n"


def nc_csv(found_on: str) -> str:
    return NC_HEADER + f"NC-1,DH,1.1,inspection,minor,記錄不全,{found_on}\n"


# ---------------------------------------------------------------------------------------------
# Dates

DATE_FORMS = {
    "iso": ("2024-03-05", "2024-03-05"),
    "slashes": ("2024/3/5", "2024-03-05"),
    "dots": ("2024.3.5", "2024-03-05"),
    "chinese": ("2024年3月5日", "2024-03-05"),
    "full-width": ("２０２４－０３－０５", "2024-03-05"),
    "compact": ("20240305", "2024-03-05"),
    "excel-serial": ("45356", "2024-03-05"),
    "excel-serial-with-time": ("45356.75", "2024-03-05"),
    "with-time": ("2024-03-05 08:30:00", "2024-03-05"),
    "day-first-day-over-12": ("13/5/2024", "2024-05-13"),
    "month-first-day-over-12": ("5/13/2024", "2024-05-13"),
    "day-equals-month": ("5/5/2024", "2024-05-05"),
}


@pytest.mark.parametrize(("text", "stored_as"), DATE_FORMS.values(), ids=DATE_FORMS)
def test_each_accepted_date_form_in_a_csv_is_stored_as_that_day(org, tmp_path, text, stored_as):
    outcome = load(org, write(tmp_path, "nonconformities.csv", nc_csv(text)))
    assert problems(outcome) == []
    assert stored(org, "select found_on::varchar from nonconformities") == [(stored_as,)]


def test_excel_serials_count_from_1899_12_30_past_the_1900_leap_day_bug():
    # Excel calls serial 60 1900-02-29, a day that never was, so every later serial is one day "late".
    assert date(1899, 12, 30) + timedelta(days=45356) == date(2024, 3, 5)


REFUSED_DATES = {
    "ambiguous": ("3/5/2024", "ambiguous_date"),
    "ambiguous-dots": ("03.05.2024", "ambiguous_date"),
    "impossible-day": ("2024-02-30", "not_a_date"),
    "impossible-day-first": ("30/2/2024", "not_a_date"),
    "two-digit-year": ("5/3/24", "not_a_date"),
    "serial-1900-leap-day": ("60", "not_a_date"),
    "serial-far-out": ("2958466", "not_a_date"),
    "words": ("三月五日", "not_a_date"),
}


@pytest.mark.parametrize(("text", "reason"), REFUSED_DATES.values(), ids=REFUSED_DATES)
def test_a_date_that_does_not_say_one_day_is_refused_for_its_row(org, tmp_path, text, reason):
    outcome = load(org, write(tmp_path, "nonconformities.csv", nc_csv(text)))
    value = ledger.clean(text, True)
    assert problems(outcome) == [("nonconformities.csv", None, 2, "found_on", value, reason)]


def test_real_date_cells_serial_cells_and_text_cells_in_one_workbook(org, tmp_path):
    rows = [
        ["編號", "單位", "考核細則", "問題來源", "問題等級", "存在問題", "發現日期", "整改期限", "完成時間"],
        ["NC-1", "DH", "1.1", "督查", "一般", "記錄不全", datetime(2024, 3, 5), 45366, "2024年3月20日"],
        ["NC-2", "DH", "1.1", "督查", "一般", "記錄不全", date(2024, 3, 6), "2024/4/1", None],
    ]
    outcome = load(org, write(tmp_path, "ledger.xlsx", workbook({"台賬": rows})))
    assert problems(outcome) == []
    assert stored(org, "select ref, found_on::varchar, due_on::varchar, closed_on::varchar, status::varchar "
                       "from nonconformities order by ref") == [
        ("NC-1", "2024-03-05", "2024-03-15", "2024-03-20", "closed"),
        ("NC-2", "2024-03-06", "2024-04-01", None, "open"),
    ]


def test_closed_before_found_in_a_workbook_names_the_sheet_and_the_excel_row(org, tmp_path):
    rows = [
        ["2024年定海分局整改台賬"],
        [],
        ["編號", "單位", "問題來源", "問題等級", "存在問題", "發現日期", "完成時間"],
        ["NC-1", "DH", "督查", "一般", "記錄不全", date(2024, 3, 5), date(2024, 3, 20)],
        ["NC-2", "DH", "督查", "一般", "記錄不全", date(2024, 3, 5), date(2024, 3, 1)],
    ]
    outcome = load(org, write(tmp_path, "ledger.xlsx", workbook({"定海": rows})))
    assert problems(outcome) == [("ledger.xlsx", "定海", 5, "closed_on", "2024-03-01", "closed_before_found")]
    assert stored(org, "select count(*) from nonconformities") == [(0,)]


def test_a_formula_without_a_cached_value_is_an_error_for_its_row(org, tmp_path):
    # openpyxl writes formulas without cached values, as a script would; Excel would have cached one.
    rows = [
        ["編號", "單位", "問題來源", "問題等級", "存在問題", "發現日期"],
        ["NC-1", "DH", "督查", "一般", "記錄不全", "=DATE(2024,3,5)"],
    ]
    outcome = load(org, write(tmp_path, "ledger.xlsx", workbook({"台賬": rows})))
    assert problems(outcome) == [("ledger.xlsx", "台賬", 2, "found_on", "=DATE(2024,3,5)", "formula"),
                                 ("ledger.xlsx", "台賬", 2, "found_on", "=DATE(2024,3,5)", "not_a_date")]


# ---------------------------------------------------------------------------------------------
# Encodings

CHINESE_NC = "編號,單位,考核細則,問題來源,問題等級,存在問題,發現日期\nNC-1,定海分局,1.1,督查,嚴重,學習記錄缺失,2024-03-05\n"


@pytest.mark.parametrize(("encoding", "text"), [
    ("utf-8", CHINESE_NC),
    ("utf-8-sig", CHINESE_NC),
    ("gbk", CHINESE_NC),
    ("gb18030", CHINESE_NC),
    ("utf-16", CHINESE_NC),  # with its byte-order mark
    ("utf-16", CHINESE_NC.replace(",", "\t")),  # Excel's "Unicode text": UTF-16, tab-separated
])
def test_every_supported_encoding_reads_the_same_finding(org, tmp_path, encoding, text):
    outcome = load(org, write(tmp_path, "台賬.csv", text, encoding))
    assert problems(outcome) == []
    assert stored(org, "select ref, unit, severity::varchar, title from nonconformities") == [
        ("NC-1", "DH", "major", "學習記錄缺失"),
    ]


def test_an_unsupported_encoding_is_named(tmp_path):
    path = write(tmp_path, "台賬.csv", CHINESE_NC.encode("gbk").replace(b"NC-1", b"\x80\x80"))
    with pytest.raises(Refused) as refused:
        ledger.read([path])
    assert (refused.value.key, refused.value.details) == ("encoding_unknown", {"file": "台賬.csv"})


# ---------------------------------------------------------------------------------------------
# Headers

HEADERS = {
    "traditional": ["問題編號", "被檢查單位", "條款", "檢查類型", "嚴重程度", "問題描述", "檢查日期", "整改時限", "銷號日期", "整改狀態"],
    "simplified": ["问题编号", "责任单位", "考核项目", "问题来源", "问题等级", "存在问题", "发现日期", "整改时限", "整改完成日期", "状态"],
    "english": ["ref", "unit", "criterion", "source", "severity", "title", "found_on", "due_on", "closed_on", "status"],
    "bilingual-template": ["编号\nref", "单位\nunit", "考核细则\ncriterion", "问题来源\nsource", "严重程度\nseverity",
                           "问题描述\ntitle", "发现日期\nfound_on", "整改期限\ndue_on", "关闭日期\nclosed_on", "状态\nstatus"],
    "marked-and-annotated": ["*編號", "*單位", "考核細則", "*問題來源", "*問題等級", "*存在問題", "*發現日期（年月日）",
                             "整改期限(日期)", "完成 時間", "整改狀態"],
}
VALUES = ["NC-1", "DH", "1.1", "內部稽核", "觀察項", "記錄不全", "2024-03-05", "2024-04-05", "2024-03-25", "已銷號"]
STORED = [("NC-1", "DH", "1.1", "internal_audit", "observation", "記錄不全", "2024-03-05", "2024-04-05", "2024-03-25",
           "closed")]
NC_COLUMNS = ("select ref, unit, criterion, source::varchar, severity::varchar, title, found_on::varchar, "
              "due_on::varchar, closed_on::varchar, status::varchar from nonconformities")


@pytest.mark.parametrize("variant", HEADERS)
def test_each_header_variant_maps_to_the_canonical_columns(org, tmp_path, variant):
    outcome = load(org, write(tmp_path, "ledger.xlsx", workbook({"Sheet1": [HEADERS[variant], VALUES]})))
    assert problems(outcome) == []
    assert stored(org, NC_COLUMNS) == STORED


def test_title_rows_and_merged_cells_above_a_header_on_row_four(org, tmp_path):
    rows = [["定海分局 2024 年整改台賬"] + [None] * 9, ["填報單位：定海分局", None, None, None, None, "填報日期：2024-06-30"],
            [], HEADERS["traditional"], VALUES]
    data = workbook({"台賬": rows}, merged={"台賬": ["A1:J1", "A2:E2", "F2:J2"]})
    source = ledger.sources_of("ledger.xlsx", data)[0]
    layout = ledger.detect(source)
    assert (layout.header_row, layout.kind) == (4, "nonconformities")
    outcome = load(org, write(tmp_path, "ledger.xlsx", data))
    assert problems(outcome) == []
    assert stored(org, NC_COLUMNS) == STORED


def test_a_csv_header_below_title_rows_is_found_and_rows_keep_their_numbers(org, tmp_path):
    text = "定海分局整改台賬,,,,,,\n,,,,,,\n" + NC_HEADER + "NC-1,DH,1.1,inspection,minor,記錄不全,2024-02-30\n"
    outcome = load(org, write(tmp_path, "台賬.csv", text))
    assert problems(outcome) == [("台賬.csv", None, 4, "found_on", "2024-02-30", "not_a_date")]


def test_remarks_and_a_running_number_beside_the_ref_are_read_past(org, tmp_path):
    rows = [["序號", "問題編號", "單位", "問題來源", "問題等級", "存在問題", "發現日期", "備註"],
            [1, "NC-1", "DH", "督查", "一般", "記錄不全", "2024-03-05", "已約談"]]
    assert problems(load(org, write(tmp_path, "ledger.xlsx", workbook({"台賬": rows})))) == []
    assert stored(org, "select ref from nonconformities") == [("NC-1",)]


def test_an_unknown_column_is_named(org, tmp_path):
    rows = [["編號", "單位", "問題來源", "問題等級", "存在問題", "發現日期", "風險係數"],
            ["NC-1", "DH", "督查", "一般", "記錄不全", "2024-03-05", "3"]]
    with pytest.raises(Refused) as refused:
        ledger.read([write(tmp_path, "ledger.xlsx", workbook({"台賬": rows}))])
    assert (refused.value.key, refused.value.details) == (
        "columns_unknown", {"file": "ledger.xlsx › 台賬", "columns": "風險係數"})


# ---------------------------------------------------------------------------------------------
# Sheets: per unit or for all; units, criteria and actions in the same workbook

UNIT_SHEET = [["單位編號", "單位名稱", "上級單位"], ["HQ", "舟山港務管理局", None], ["DH", "定海分局", "舟山港務管理局"],
              ["DS", "岱山分局", "HQ"]]
CRITERIA_SHEET = [["條款", "考核細則", "類別"], ["1.1", "三會一課按期召開", "組織建設"], ["2.1", "黨員學習教育記錄", "思想建設"]]


def test_one_sheet_per_unit_names_the_unit_by_its_sheet(empty_store, tmp_path):
    header = ["編號", "考核細則", "問題來源", "問題等級", "存在問題", "發現日期"]
    data = workbook({
        "單位": UNIT_SHEET,
        "考核細則": CRITERIA_SHEET,
        "定海分局": [["定海分局整改台賬"], header, ["NC-1", "三會一課按期召開", "督查", "一般", "記錄不全", "2024-03-05"]],
        "DS": [header, ["NC-2", "2.1 黨員學習教育記錄", "上級考核", "嚴重", "學習缺失", "2024-03-06"]],
    })
    outcome = load(empty_store, write(tmp_path, "ledgers.xlsx", data))
    assert problems(outcome) == []
    assert stored(empty_store, "select ref, unit, criterion from nonconformities order by ref") == [
        ("NC-1", "DH", "1.1"), ("NC-2", "DS", "2.1"),
    ]
    assert stored(empty_store, "select code, parent_code, path from units order by code") == [
        ("DH", "HQ", "/HQ/DH/"), ("DS", "HQ", "/HQ/DS/"), ("HQ", None, "/HQ/"),
    ]


def test_one_sheet_for_all_units_names_them_by_code_or_by_name(org, tmp_path):
    rows = [["編號", "單位", "考核細則", "問題來源", "問題等級", "存在問題", "發現日期"],
            ["NC-1", "DH", "1.1", "督查", "一般", "記錄不全", "2024-03-05"],
            ["NC-2", "定海分局", "三會一課按期召開", "督查", "一般", "記錄不全", "2024-03-05"],
            ["NC-3", "舟山港務管理局", "1.1三會一課按期召開", "督查", "一般", "記錄不全", "2024-03-05"]]
    assert problems(load(org, write(tmp_path, "ledger.xlsx", workbook({"全局": rows})))) == []
    assert stored(org, "select ref, unit, criterion from nonconformities order by ref") == [
        ("NC-1", "DH", "1.1"), ("NC-2", "DH", "1.1"), ("NC-3", "HQ", "1.1"),
    ]


def test_an_unknown_unit_or_criterion_by_name_is_named_for_its_row(org, tmp_path):
    rows = [["編號", "單位", "考核細則", "問題來源", "問題等級", "存在問題", "發現日期"],
            ["NC-1", "普陀分局", "1.1", "督查", "一般", "記錄不全", "2024-03-05"],
            ["NC-2", "DH", "黨費收繳", "督查", "一般", "記錄不全", "2024-03-05"]]
    outcome = load(org, write(tmp_path, "ledger.xlsx", workbook({"全局": rows})))
    assert problems(outcome) == [
        ("ledger.xlsx", "全局", 2, "unit", "普陀分局", "unknown_unit"),
        ("ledger.xlsx", "全局", 3, "criterion", "黨費收繳", "unknown_criterion"),
    ]


LEDGER_HEADER = ["編號", "單位", "問題來源", "問題等級", "存在問題", "發現日期", "整改期限", "完成時間", "整改措施", "責任人"]


def test_an_action_and_its_owner_on_the_findings_row_become_its_action(org, tmp_path):
    rows = [LEDGER_HEADER,
            ["NC-1", "DH", "督查", "一般", "記錄不全", "2024-03-05", "2024-04-05", "2024-03-25", "補齊記錄", "王明"],
            ["NC-2", "DH", "督查", "一般", "學習缺失", "2024-03-06", "2024-04-06", None, "補錄學習", "李華"],
            ["NC-3", "DH", "督查", "一般", "無措施", "2024-03-07", None, None, None, None]]
    assert problems(load(org, write(tmp_path, "ledger.xlsx", workbook({"台賬": rows})))) == []
    assert stored(org, "select ref, nonconformity, kind::varchar, description, owner, due_on::varchar, "
                       "done_on::varchar, status::varchar from actions order by ref") == [
        ("NC-1-A1", "NC-1", "corrective", "補齊記錄", "王明", "2024-04-05", "2024-03-25", "done"),
        ("NC-2-A1", "NC-2", "corrective", "補錄學習", "李華", "2024-04-06", None, "planned"),
    ]


def test_a_finding_on_a_row_per_action_merged_or_repeated_gives_one_finding_and_each_action(org, tmp_path):
    rows = [LEDGER_HEADER,
            ["NC-1", "DH", "督查", "一般", "記錄不全", "2024-03-05", "2024-04-05", None, "補齊記錄", "王明"],
            [None, None, None, None, None, None, None, None, "建立檢查制度", "李華"],  # merged above
            ["NC-2", "DH", "督查", "一般", "學習缺失", "2024-03-06", "2024-04-06", None, "補錄學習", "李華"],
            ["NC-2", "DH", "督查", "一般", "學習缺失", "2024-03-06", "2024-04-06", None, "專題學習", "王明"]]
    data = workbook({"台賬": rows}, merged={"台賬": [f"{c}2:{c}3" for c in "ABCDEFGH"]})
    assert problems(load(org, write(tmp_path, "ledger.xlsx", data))) == []
    assert stored(org, "select ref from nonconformities order by ref") == [("NC-1",), ("NC-2",)]
    assert stored(org, "select ref, nonconformity, description, owner from actions order by ref") == [
        ("NC-1-A1", "NC-1", "補齊記錄", "王明"), ("NC-1-A2", "NC-1", "建立檢查制度", "李華"),
        ("NC-2-A1", "NC-2", "補錄學習", "李華"), ("NC-2-A2", "NC-2", "專題學習", "王明"),
    ]


def test_a_sheet_that_names_no_columns_we_know_is_passed_over_and_said(org, tmp_path):
    data = workbook({"說明": [["本台賬每月更新"], ["請勿修改表頭"]],
                     "台賬": [HEADERS["traditional"], VALUES]})
    reading = ledger.read_files([write(tmp_path, "ledger.xlsx", data)])
    assert ([s.sheet for s in reading.sheets], reading.skipped) == (["台賬"], ["ledger.xlsx › 說明"])


# ---------------------------------------------------------------------------------------------
# Re-imports


def test_reimporting_the_same_workbook_changes_nothing(org, tmp_path):
    rows = [LEDGER_HEADER, ["NC-1", "DH", "督查", "一般", "記錄不全", "2024-03-05", "2024-04-05", None, "補齊記錄", "王明"]]
    path = write(tmp_path, "ledger.xlsx", workbook({"台賬": rows}))
    assert load(org, path).ok
    before = stored(org, "select count(*) from events"), stored(org, "select * from nonconformities"), \
        stored(org, "select * from actions")
    again = load(org, path)
    assert (again.accepted, again.changed) == (dict.fromkeys(ledger.KINDS, 0), dict.fromkeys(ledger.KINDS, 0))
    assert (stored(org, "select count(*) from events"), stored(org, "select * from nonconformities"),
            stored(org, "select * from actions")) == before


def test_a_newer_workbook_records_each_changed_field_as_an_event(org, tmp_path):
    rows = [LEDGER_HEADER, ["NC-1", "DH", "督查", "一般", "記錄不全", "2024-03-05", "2024-04-05", None, "補齊記錄", "王明"]]
    assert load(org, write(tmp_path, "v1.xlsx", workbook({"台賬": rows}))).ok
    rows[1][6], rows[1][9] = "2024-04-30", "李華"
    newer = load(org, write(tmp_path, "v2.xlsx", workbook({"台賬": rows})))
    assert stored(org, f"select entity, ref, field, old, new from events where batch = {newer.batch} order by all") == [
        ("action", "NC-1-A1", "due_on", "2024-04-05", "2024-04-30"),
        ("action", "NC-1-A1", "owner", "王明", "李華"),
        ("nonconformity", "NC-1", "due_on", "2024-04-05", "2024-04-30"),
    ]


# ---------------------------------------------------------------------------------------------
# Safety


def test_a_zip_bomb_is_refused_by_its_declared_size(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 * 2**20))  # 40 MB of zeros packs to ~40 KB
    with pytest.raises(Refused) as refused:
        ledger.read([write(tmp_path, "bomb.xlsx", out.getvalue())])
    assert (refused.value.key, refused.value.details) == ("xlsx_bomb", {"file": "bomb.xlsx", "mb": "40"})


def test_an_xml_entity_trick_is_refused_before_and_by_the_parser(tmp_path):
    good = workbook({"台賬": [HEADERS["english"], VALUES]})
    evil = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + data
            dst.writestr(item, data)
    with pytest.raises(Refused) as refused:
        ledger.read([write(tmp_path, "evil.xlsx", evil.getvalue())])
    assert (refused.value.key, refused.value.details) == (
        "xlsx_unsafe", {"file": "evil.xlsx", "part": "xl/worksheets/sheet1.xml"})
    # Without the check, openpyxl (which parses through defusedxml once it is installed) refuses it too.
    with pytest.raises(Exception) as parser_refused:
        book = load_workbook(io.BytesIO(evil.getvalue()), read_only=True)
        [list(ws.iter_rows(values_only=True)) for ws in book.worksheets]
    assert type(parser_refused.value.__cause__).__name__ == "EntitiesForbidden"


def test_other_spreadsheet_files_are_refused_by_name(tmp_path):
    with pytest.raises(Refused) as refused:
        ledger.read([write(tmp_path, "ledger.xls", b"\xd0\xcf\x11\xe0")])
    assert refused.value.key == "file_type_unknown"


def test_a_file_that_is_not_a_workbook_is_named(tmp_path):
    with pytest.raises(Refused) as refused:
        ledger.read([write(tmp_path, "ledger.xlsx", b"not a zip")])
    assert (refused.value.key, refused.value.details) == ("xlsx_unreadable", {"file": "ledger.xlsx"})


# ---------------------------------------------------------------------------------------------
# The golden ledger in the shapes users keep it: the same numbers as the canonical form

NC_STATUS = {"open": "未整改", "in_progress": "整改中", "awaiting_verification": "待驗證", "closed": "已銷號"}
SEVERITY = {"major": "嚴重", "minor": "一般", "observation": "觀察項"}
SOURCE = {"internal_audit": "內部稽核", "inspection": "督查", "satisfaction_survey": "滿意度調查",
          "management_review": "管理評審", "superior_assessment": "上級考核"}
ACTION_STATUS = {"planned": "未開始", "in_progress": "進行中", "done": "已完成", "cancelled": "已取消"}
KIND = {"correction": "糾正", "corrective": "糾正措施", "preventive": "預防措施"}
MESSY_HEADER = ["問題編號", "問題來源", "考核細則", "問題等級", "存在問題", "發現日期", "整改期限", "完成時間", "整改狀態",
                "措施編號", "措施類型", "整改措施", "責任人", "措施期限", "措施完成日期", "措施狀態"]


def mixed_date(text: str, i: int):
    """The same day as a date cell, an Excel serial, or text in one of the accepted forms, by turns."""
    if not text:
        return None
    day = date.fromisoformat(text)
    return [datetime(day.year, day.month, day.day), (day - date(1899, 12, 30)).days,
            f"{day.year}年{day.month}月{day.day}日", f"{day.year}/{day.month}/{day.day}", day][i % 5]


def messy_workbook(closed_before_found: str | None = None) -> tuple[bytes, dict]:
    """The golden ledger as a unit keeps it: a sheet per unit named by the unit, two title rows, Traditional
    headers, a row per action under the finding's merged cells, dates in every kind of cell; units and criteria
    on sheets of their own. Returns the workbook and, per finding ref, its (sheet, first Excel row)."""
    units, criteria = read_golden("units.csv"), read_golden("criteria.csv")
    ncs, actions = read_golden("nonconformities.csv"), read_golden("actions.csv")
    name = {u["code"]: u["name"] for u in units}
    by_nc: dict[str, list[dict]] = {}
    for a in actions:
        by_nc.setdefault(a["nc_ref"], []).append(a)
    sheets = {
        "單位": [["組織機構"], ["單位編號", "單位名稱", "上級單位"]]
                + [[u["code"], u["name"], name.get(u["parent"])] for u in units],
        "考核細則": [["條款", "考核細則", "類別"]] + [[c["code"], c["title"], c["category"]] for c in criteria],
    }
    merged: dict[str, list[str]] = {}
    where = {}
    for i, nc in enumerate(ncs):
        sheet = name[nc["unit"]]
        rows = sheets.setdefault(sheet, [[f"{sheet} 整改台賬"], ["填報日期：2026年6月30日"], MESSY_HEADER])
        closed = nc["closed_on"]
        if nc["ref"] == closed_before_found:
            closed = (date.fromisoformat(nc["found_on"]) - timedelta(days=1)).isoformat()
        finding = [nc["ref"], SOURCE[nc["source"]], nc["criterion"] if i % 2 else criteria_title(criteria, nc),
                   SEVERITY[nc["severity"]], nc["title"], mixed_date(nc["found_on"], i),
                   mixed_date(nc["due_on"], i + 1), mixed_date(closed, i + 2), NC_STATUS[nc["status"]]]
        first = len(rows) + 1
        where[nc["ref"]] = (sheet, first)
        for j, a in enumerate(by_nc.get(nc["ref"], [None])):
            action = [] if a is None else [a["ref"], KIND[a["kind"]], a["description"], a["owner"],
                                           mixed_date(a["due_on"], i + j), mixed_date(a["done_on"], i + j + 3),
                                           ACTION_STATUS[a["status"]]]
            rows.append((finding if j == 0 else [None] * len(finding)) + action)
        if len(by_nc.get(nc["ref"], [])) > 1:
            merged.setdefault(sheet, []).extend(f"{c}{first}:{c}{len(rows)}" for c in "ABCDEFGHI")
    for sheet, rows in sheets.items():
        if sheet not in ("單位", "考核細則"):
            merged.setdefault(sheet, []).append("A1:P1")
    return workbook(sheets, merged), where


def criteria_title(criteria: list[dict], nc: dict) -> str:
    return next(c["title"] for c in criteria if c["code"] == nc["criterion"])


def gbk_csv() -> bytes:
    """The golden ledger as one CSV in GBK: Simplified headers, full-width refs, a row per action with the
    finding repeated, units by their names written in Simplified (the store has them in Traditional),
    criteria as "code title", dates as text in every accepted form."""
    import opencc

    simplify = opencc.OpenCC("t2s").convert
    units, criteria = read_golden("units.csv"), read_golden("criteria.csv")
    ncs, actions = read_golden("nonconformities.csv"), read_golden("actions.csv")
    name = {u["code"]: simplify(u["name"]) for u in units}
    title = {c["code"]: simplify(c["title"]) for c in criteria}
    by_nc: dict[str, list[dict]] = {}
    for a in actions:
        by_nc.setdefault(a["nc_ref"], []).append(a)
    full_width = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})

    def day(text: str, i: int) -> str:
        if not text:
            return ""
        d = date.fromisoformat(text)
        return [text, f"{d.year}/{d.month}/{d.day}", f"{d.year}.{d.month}.{d.day}", f"{d.year}年{d.month}月{d.day}日",
                str((d - date(1899, 12, 30)).days)][i % 5]

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["问题编号", "单位", "问题来源", "考核细则", "问题等级", "存在问题", "发现日期", "整改期限", "销号日期",
                "整改状态", "措施编号", "措施类型", "整改措施", "责任人", "措施期限", "措施完成日期", "措施状态"])
    simplified = {"已銷號": "已销号", "待驗證": "待验证", "嚴重": "严重", "觀察項": "观察项", "內部稽核": "内部审核",
                  "滿意度調查": "满意度调查", "管理評審": "管理评审", "上級考核": "上级考核", "未開始": "未开始",
                  "進行中": "进行中", "糾正": "纠正", "糾正措施": "纠正措施", "預防措施": "预防措施"}
    s = lambda v: simplified.get(v, v)  # noqa: E731
    for i, nc in enumerate(ncs):
        finding = [nc["ref"].translate(full_width), name[nc["unit"]], s(SOURCE[nc["source"]]),
                   f"{nc['criterion']} {title[nc['criterion']]}", s(SEVERITY[nc["severity"]]), nc["title"],
                   day(nc["found_on"], i), day(nc["due_on"], i + 1), day(nc["closed_on"], i + 2),
                   s(NC_STATUS[nc["status"]])]
        for j, a in enumerate(by_nc.get(nc["ref"], [None])):
            action = [""] * 7 if a is None else [a["ref"].translate(full_width), s(KIND[a["kind"]]), a["description"],
                                                 a["owner"], day(a["due_on"], j), day(a["done_on"], j + 1),
                                                 s(ACTION_STATUS[a["status"]])]
            w.writerow(finding + action)
    return out.getvalue().encode("gbk")


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))


def contract(con, expected: dict) -> dict:
    f = Filters(as_of=date.fromisoformat(expected["as_of"]), since=date.fromisoformat(expected["from"]),
                until=date.fromisoformat(expected["to"]), window_days=expected["window_days"])
    return {"all": metrics.contract(con, f), "unit:DH": metrics.contract(con, f.replace(unit="DH"))}


def test_the_messy_golden_workbook_imports_every_finding_with_the_golden_numbers(cli, tmp_path, expected):
    data, _ = messy_workbook()
    path = write(tmp_path, "整改台賬.xlsx", data)
    db = tmp_path / "messy.duckdb"
    done = cli("import", path, "--db", db)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    con = store.connect(db)
    assert stored(con, "select count(*) from nonconformities") == [(len(read_golden("nonconformities.csv")),)]
    assert stored(con, "select count(*) from actions") == [(len(read_golden("actions.csv")),)]
    assert contract(con, expected) == {scope: expected[scope] for scope in ("all", "unit:DH")}
    again = load(con, path)
    assert (again.accepted, again.changed) == (dict.fromkeys(ledger.KINDS, 0), dict.fromkeys(ledger.KINDS, 0))
    con.close()


def test_the_gbk_golden_csv_imports_into_a_store_that_knows_the_units_with_the_golden_numbers(
    empty_store, tmp_path, expected,
):
    assert load(empty_store, GOLDEN / "units.csv", GOLDEN / "criteria.csv").ok
    path = write(tmp_path, "整改台账.csv", gbk_csv())
    outcome = load(empty_store, path)
    assert problems(outcome) == []
    assert stored(empty_store, "select count(*) from nonconformities") == [(len(read_golden("nonconformities.csv")),)]
    assert stored(empty_store, "select count(*) from actions") == [(len(read_golden("actions.csv")),)]
    assert stored(empty_store, "select count(*) from nonconformities where not ref ~ '^[A-Z0-9-]+$'") == [(0,)]
    assert contract(empty_store, expected) == {scope: expected[scope] for scope in ("all", "unit:DH")}


def test_the_golden_workbook_with_one_impossible_row_is_refused_whole_naming_its_excel_row(cli, tmp_path):
    data, where = messy_workbook(closed_before_found="NC-0002")
    path = write(tmp_path, "整改台賬.xlsx", data)
    db = tmp_path / "refused.duckdb"
    done = cli("import", path, "--db", db)
    sheet, row = where["NC-0002"]
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].startswith(f"整改台賬.xlsx › {sheet} row {row}, closed_on: closed before it was found")
    assert done.stderr.splitlines()[-1] == "Import refused: 1 problems; nothing was stored."
    con = store.connect(db)
    assert stored(con, "select (select count(*) from nonconformities) + (select count(*) from units) "
                       "+ (select count(*) from events) + (select count(*) from import_batches)") == [(0,)]
    con.close()


# ---------------------------------------------------------------------------------------------
# Shapes seen in real ledgers


def test_an_actions_sheet_is_told_from_a_ledger_sheet_by_its_required_columns(org, tmp_path):
    data = workbook({
        "問題": [["編號", "單位", "問題來源", "問題等級", "存在問題", "發現日期"],
                 ["NC-1", "DH", "督查", "一般", "記錄不全", "2024-03-05"]],
        # no 措施類型 and no 措施編號: corrective, and refs after the finding's
        "Sheet2": [["問題編號", "整改措施", "責任人", "整改期限", "完成時間", "狀態"],
                   ["NC-1", "補齊記錄", "王明", "2024-04-05", "2024-03-20", "已完成"],
                   ["NC-1", "建立制度", "李華", "2024-04-05", None, "進行中"]],
    })
    reading = ledger.read_files([write(tmp_path, "ledger.xlsx", data)])
    assert [(s.sheet, s.kind) for s in reading.sheets] == [("問題", "nonconformities"), ("Sheet2", "actions")]
    assert problems(ledger.load(org, reading.sheets, actor="test")) == []
    assert stored(org, "select ref, kind::varchar, owner, status::varchar from actions order by ref") == [
        ("NC-1-A1", "corrective", "王明", "done"), ("NC-1-A2", "corrective", "李華", "in_progress"),
    ]


def test_a_header_over_two_rows_with_a_group_cell_is_read_as_one(org, tmp_path):
    rows = [["定海分局整改台賬"],
            ["編號", "單位", "問題來源", "問題等級", "存在問題", "發現日期", "整改情況", None],
            [None, None, None, None, None, None, "整改措施", "責任人"],
            ["NC-1", "DH", "督查", "一般", "記錄不全", "2024-03-05", "補齊記錄", "王明"]]
    data = workbook({"台賬": rows}, merged={"台賬": ["G2:H2"] + [f"{c}2:{c}3" for c in "ABCDEF"]})
    source = ledger.sources_of("ledger.xlsx", data)[0]
    assert (ledger.detect(source).header_row, ledger.detect(source).depth) == (2, 2)
    assert problems(load(org, write(tmp_path, "ledger.xlsx", data))) == []
    assert stored(org, "select ref, nonconformity, owner from actions") == [("NC-1-A1", "NC-1", "王明")]


def test_signature_rows_below_the_ledger_are_left_out_and_a_sheet_name_with_a_title_names_the_unit(org, tmp_path):
    rows = [["編號", "問題來源", "問題等級", "存在問題", "發現日期"],
            ["NC-1", "督查", "一般", "記錄不全", "2024-03-05"],
            [],
            ["填表人：張三", None, "審核人：李四"],
            ["日期：2024年6月30日"]]
    outcome = load(org, write(tmp_path, "ledger.xlsx", workbook({"2024年定海分局整改台賬": rows})))
    assert problems(outcome) == []
    assert stored(org, "select ref, unit from nonconformities") == [("NC-1", "DH")]


def test_units_and_criteria_named_in_the_other_script_are_found(empty_store, tmp_path):
    assert load(empty_store, write(tmp_path, "units.csv", "code,name,parent\nHQ,舟山港務管理局,\nDH,定海分局機關支部,HQ\n"
                                   "DS,岱山分局,HQ\n"),
                write(tmp_path, "criteria.csv", "code,title,category\n1.1,三會一課按期召開,組織建設\n"
                                                "2.1,党员学习教育记录,思想建设\n")).ok
    text = ("编号,单位,考核细则,来源,严重程度,问题描述,发现日期\n"
            "NC-1,定海分局机关支部,三会一课按期召开,检查,一般,记录不全,2024-03-05\n"  # Simplified for Traditional
            "NC-2,舟山港務管理局,黨員學習教育記錄,檢查,一般,記錄不全,2024-03-05\n")  # Traditional for Simplified
    assert problems(load(empty_store, write(tmp_path, "台账.csv", text, "gbk"))) == []
    assert stored(empty_store, "select ref, unit, criterion from nonconformities order by ref") == [
        ("NC-1", "DH", "1.1"), ("NC-2", "HQ", "2.1"),
    ]


def test_an_owner_without_an_action_makes_no_action(org, tmp_path):
    rows = [LEDGER_HEADER, ["NC-1", "DH", "督查", "一般", "記錄不全", "2024-03-05", "2024-04-05", None, None, "王明"]]
    assert problems(load(org, write(tmp_path, "ledger.xlsx", workbook({"台賬": rows})))) == []
    assert stored(org, "select count(*) from actions") == [(0,)]
