"""Ledgers as they really come: text that looks like a formula, round trips, unknown values mapped, Big5, odd cells."""

from __future__ import annotations

import dataclasses
import io
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from openpyxl import Workbook, load_workbook

from closeloop import demo, export, i18n, intake, ledger, store, trail, value_maps
from closeloop.filters import Filters
from closeloop.refusal import Refused


def load(con, *paths, **kwargs) -> ledger.Outcome:
    return ledger.load(con, ledger.read(list(paths)), actor="test", **kwargs)


def problems(outcome: ledger.Outcome) -> list[tuple]:
    return [dataclasses.astuple(p)[:5] for p in outcome.problems]


def test_every_action_of_a_large_ledger_sheet_is_stored_in_a_fresh_store(write_ledger, empty_store):
    # A ledger sheet (one action per finding's row) into a store with no actions: staged_actions was a table
    # made from no rows and then filled; DuckDB 2.0 hid those rows from the next scan (0 of 130,000 stored).
    rows = "".join(f"NC-{i},DH,inspection,minor,会议记录不全,2026-01-10,补齐记录,王明\n" for i in range(130_000))
    folder = write_ledger({"nonconformities.csv": "ref,unit,source,severity,title,found_on,action,owner\n" + rows,
                           "actions.csv": "ref,nc_ref,kind\n"})
    outcome = load(empty_store, folder)
    assert (outcome.ok, outcome.accepted["actions"]) == (True, 130_000)
    assert empty_store.execute("select count(*), count(distinct nonconformity) from actions").fetchone() == (130_000, 130_000)
    assert empty_store.execute("select ref, owner from actions where nonconformity = 'NC-77'").fetchall() == [("NC-77-A1", "王明")]


# ---------------------------------------------------------------------------------------------
# Text that starts with "=" is text; only a formula cell is a formula


def workbook_bytes(rows: list[list], text_cells: tuple[str, ...] = (), sheet: str = "台賬") -> bytes:
    """A workbook of literal rows; the cells named in text_cells ("F2") are string cells whatever they hold."""
    book = Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    for name in text_cells:
        ws[name].data_type = "s"  # openpyxl would store "=…" as a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def org(empty_store, tmp_path):
    """A store holding two units and one criterion."""
    folder = tmp_path / "org"
    folder.mkdir()
    (folder / "units.csv").write_text("code,name,parent\nHQ,舟山港務管理局,\nDH,定海分局,HQ\n", encoding="utf-8")
    (folder / "criteria.csv").write_text("code,title,category\n1.1,三會一課按期召開,組織建設\n", encoding="utf-8")
    assert load(empty_store, folder).ok
    return empty_store


HEADER = ["編號", "單位", "問題來源", "問題等級", "存在問題", "發現日期"]


def test_a_text_cell_that_starts_with_an_equals_sign_is_imported_as_written(org, tmp_path):
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(workbook_bytes([HEADER, ["NC-1", "DH", "督查", "一般", "=SUM(A1:A3) 未核對", "2024-03-05"]],
                                    text_cells=("E2",)))
    assert load_workbook(path)["台賬"]["E2"].data_type == "s"  # the file holds text, not a formula
    outcome = load(org, path)
    assert problems(outcome) == []
    assert org.execute("select title from nonconformities").fetchall() == [("=SUM(A1:A3) 未核對",)]


def test_a_csv_cell_that_starts_with_an_equals_sign_is_text(org, tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text("ref,unit,source,severity,title,found_on\nNC-1,DH,inspection,minor,=1+1,2024-03-05\n",
                    encoding="utf-8")
    assert problems(load(org, path)) == []
    assert org.execute("select title from nonconformities").fetchall() == [("=1+1",)]


def test_a_formula_cell_without_a_cached_value_is_still_refused_for_its_row(org, tmp_path):
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(workbook_bytes([HEADER, ["NC-1", "DH", "督查", "一般", "=A1&B1", "2024-03-05"]]))
    assert problems(load(org, path)) == [("ledger.xlsx", 2, "title", "=A1&B1", "formula")]
    assert org.execute("select count(*) from nonconformities").fetchone() == (0,)


# ---------------------------------------------------------------------------------------------
# Export → import changes nothing


@pytest.fixture
def demo_store(tmp_path):
    """The demo store, with texts a spreadsheet would take for formulas and one with an apostrophe of its own."""
    con = store.connect(tmp_path / "demo.duckdb")
    demo.build(con, ncs=400)
    refs = [r for (r,) in con.execute("select ref from actions order by ref limit 5").fetchall()]
    texts = ["=SUM(A1:A9)", "-5 天内补齐", "+86 580 1234", "@王明 跟进", "'=保留撇号"]
    for ref, text in zip(refs, texts):
        con.execute("update actions set evidence = $text where ref = $ref", {"text": text, "ref": ref})
    con.execute("update nonconformities set title = '=HYPERLINK(\"http://x\")' where ref = (select min(ref) from nonconformities)")
    yield con
    con.close()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_of_the_same_ledger_changes_nothing(demo_store, tmp_path, suffix):
    rows = store.run(demo_store, "ledger_rows", Filters.default(date(2030, 1, 1)).replace(since=date(2000, 1, 1)).params())
    table = export.ledger_table(rows, "zh")
    path = tmp_path / f"ledger{suffix}"
    path.write_bytes(export.csv_bytes(table) if suffix == ".csv" else export.ledger_xlsx(table))
    evidence = demo_store.execute("select ref, evidence from actions order by ref limit 5").fetchall()
    events = demo_store.execute("select count(*) from events").fetchone()[0]
    outcome = load(demo_store, path)
    assert (outcome.problems, outcome.accepted, outcome.changed) == (
        [], dict.fromkeys(ledger.KINDS, 0), dict.fromkeys(ledger.KINDS, 0))
    # the batch is recorded; not one event besides
    assert demo_store.execute("select count(*) from events").fetchone()[0] == events
    assert demo_store.execute("select ref, evidence from actions order by ref limit 5").fetchall() == evidence
    assert [e for _, e in evidence] == ["=SUM(A1:A9)", "-5 天内补齐", "+86 580 1234", "@王明 跟进", "'=保留撇号"]


def test_the_csv_exporter_defuses_tab_and_carriage_return_and_the_importer_undoes_exactly_that():
    texts = ["=1", "+1", "-1", "@a", "\tT", "\rR", "'=a", "''+b", "'a", "'", "a'=b", None]
    written = [export.defused(t) for t in texts]
    assert written == ["'=1", "'+1", "'-1", "'@a", "'\tT", "'\rR", "''=a", "'''+b", "'a", "'", "a'=b", None]
    assert ledger.undefused(pa.array(written, pa.string())).to_pylist() == texts


# ---------------------------------------------------------------------------------------------
# Encodings: Big5 as Excel on Traditional-Chinese Windows writes it, and what is not read


BIG5_UNITS = "單位編號,單位名稱,上級單位\nHQ,舟山港務管理局,\nDH,定海分局,HQ\nDS,岱山分局,HQ\n"
BIG5_CRITERIA = "條款,考核細則,類別\n1.1,三會一課按期召開,組織建設\n2.1,檔案資料歸檔齊全,制度建設\n"
BIG5_FINDINGS = (
    "問題編號,單位,考核細則,問題來源,嚴重程度,存在問題,問題詳情,發現日期,整改期限,整改狀態\n"
    "NC-1,定海分局,1.1,內部稽核,嚴重,會議記錄不完整，簽到表缺頁,第三季度支部會議記錄缺三頁,2024-03-15,2024-04-15,整改中\n"
    "NC-2,岱山分局,2.1,管理評審,一般,檔案櫃鑰匙由個人保管,「資料室」無登記簿,2024/4/2,2024/5/2,未整改\n"
)


def stored_rows(con) -> dict[str, list[tuple]]:
    return {
        "units": con.execute("select code, name, parent_code from units order by code").fetchall(),
        "criteria": con.execute("select code, title, category from criteria order by code").fetchall(),
        "nonconformities": con.execute(
            "select ref, unit, criterion, source::varchar, severity::varchar, title, description, found_on, due_on, "
            "status::varchar from nonconformities order by ref").fetchall(),
    }


@pytest.mark.parametrize("encoding", ["big5", "cp950"])
def test_a_big5_csv_with_traditional_headers_and_names_imports_exactly(empty_store, tmp_path, encoding):
    folder = tmp_path / encoding
    folder.mkdir()
    for name, text in (("units.csv", BIG5_UNITS), ("criteria.csv", BIG5_CRITERIA), ("問題清單.csv", BIG5_FINDINGS)):
        (folder / name).write_bytes(text.encode(encoding))
    assert (folder / "問題清單.csv").read_bytes()[:4] == "問題".encode("big5")  # not UTF-8
    outcome = load(empty_store, folder)
    assert problems(outcome) == []
    assert stored_rows(empty_store) == {
        "units": [("DH", "定海分局", "HQ"), ("DS", "岱山分局", "HQ"), ("HQ", "舟山港務管理局", None)],
        "criteria": [("1.1", "三會一課按期召開", "組織建設"), ("2.1", "檔案資料歸檔齊全", "制度建設")],
        "nonconformities": [
            ("NC-1", "DH", "1.1", "internal_audit", "major", "會議記錄不完整，簽到表缺頁", "第三季度支部會議記錄缺三頁",
             date(2024, 3, 15), date(2024, 4, 15), "in_progress"),
            ("NC-2", "DS", "2.1", "management_review", "minor", "檔案櫃鑰匙由個人保管", "「資料室」無登記簿",
             date(2024, 4, 2), date(2024, 5, 2), "open"),
        ],
    }


def test_a_cp950_only_character_and_a_hkscs_character_read_as_written(org, tmp_path):
    # "€" (0xA3E1) is Microsoft's addition to Big5; "嘅" is in Big5-HKSCS only (cp950 would give private use).
    for encoding, title in (("cp950", "罰款 € 五百元未入帳"), ("big5hkscs", "香港辦事處嘅記錄未歸檔")):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(("問題編號,單位,問題來源,嚴重程度,存在問題,發現日期\n"
                          f"NC-{encoding},定海分局,內部稽核,一般,{title},2024-03-15\n").encode(encoding))
        assert problems(load(org, path)) == []
        assert org.execute("select title from nonconformities where ref = $r", {"r": f"NC-{encoding}"}).fetchone() == (title,)


def test_a_shift_jis_file_is_refused_naming_its_encoding(tmp_path):
    path = tmp_path / "台帳.csv"
    path.write_bytes("番号,部署,発見日,問題の内容\n1,東京支店,2024-03-05,消火器の点検が未実施である\n".encode("shift_jis"))
    with pytest.raises(Refused) as refused:
        ledger.read([path])
    assert (refused.value.key, refused.value.details) == ("encoding_unsupported", {"file": "台帳.csv", "encoding": "cp932"})


def test_a_decoding_that_gives_private_use_characters_is_refused_naming_the_encoding(tmp_path):
    # 0xAAA1 is in GBK's user-defined area: GB18030 reads it as U+E000, a private-use character.
    rows = "".join(f"NC-{i},定海分局,内部审核,一般,会议记录不完整，签到表缺页,2024-03-15\n" for i in range(40))
    raw = ("问题编号,单位,问题来源,严重程度,存在问题,发现日期\n" + rows + "NC-X,定海分局,内部审核,一般,").encode("gb18030")
    path = tmp_path / "台账.csv"
    path.write_bytes(raw + b"\xaa\xa1" + "记录,2024-03-15\n".encode("gb18030"))
    assert b"\xaa\xa1".decode("gb18030") == "\ue000"
    with pytest.raises(Refused) as refused:
        ledger.read([path])
    assert (refused.value.key, refused.value.details) == ("encoding_garbled", {"file": "台账.csv", "encoding": "gb18030"})


# ---------------------------------------------------------------------------------------------
# Values outside the alias list: reported with their counts, mapped once, remembered by the store

LOCAL_LABELS = (
    "ref,unit,source,severity,title,found_on\n"
    "NC-1,DH,督查檢查,一般,消防通道堵塞,2024-03-05\n"
    "NC-2,DH,督查檢查,輕度,會議記錄不全,2024-03-06\n"
    "NC-3,DH,專項檢查,一般,台賬未更新,2024-03-07\n"  # an alias already: inspection
)
MAPPINGS = [value_maps.Mapping("source", "督查檢查", "inspection"), value_maps.Mapping("severity", "輕度", "minor")]


def value_map_events(con) -> list[tuple]:
    return con.execute("select actor, ref, field, old, new, reason from events where entity = 'value_map' order by id").fetchall()


def test_each_unknown_value_is_reported_once_with_its_rows(org, tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text(LOCAL_LABELS, encoding="utf-8")
    outcome = load(org, path)
    assert outcome.unknown_values == [("severity", "輕度", 1), ("source", "督查檢查", 2)]
    assert [p[1:] for p in problems(outcome)] == [
        (2, "source", "督查檢查", "unknown_value"), (3, "severity", "輕度", "unknown_value"),
        (3, "source", "督查檢查", "unknown_value"),
    ]
    assert ledger.check(org, ledger.read([path])).unknown_values == outcome.unknown_values


def test_mapped_values_import_are_kept_in_the_trail_and_apply_to_later_imports(org, tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text(LOCAL_LABELS, encoding="utf-8")
    outcome = load(org, path, mappings=MAPPINGS)
    assert (problems(outcome), outcome.accepted["nonconformities"]) == ([], 3)
    assert org.execute("select ref, source::varchar, severity::varchar from nonconformities order by ref").fetchall() == [
        ("NC-1", "inspection", "minor"), ("NC-2", "inspection", "minor"), ("NC-3", "inspection", "minor")]
    assert value_map_events(org) == [("test", "source:督查檢查", "canonical", None, "inspection", "import"),
                                     ("test", "severity:輕度", "canonical", None, "minor", "import")]
    assert value_maps.stored(org) == sorted(MAPPINGS, key=lambda m: (m.column, m.value))
    # a later ledger with the same local labels, and no mapping given: the store remembers them
    later = tmp_path / "later.csv"
    later.write_text("ref,unit,source,severity,title,found_on\nNC-4,DH,督查檢查,輕度,記錄缺頁,2024-04-01\n", encoding="utf-8")
    assert problems(load(org, later)) == []
    assert org.execute("select source::varchar, severity::varchar from nonconformities where ref = 'NC-4'").fetchone() == (
        "inspection", "minor")
    assert trail.verify(org).ok


def test_a_rejected_import_keeps_none_of_its_mappings(org, tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text(LOCAL_LABELS.replace("2024-03-07", "2024-02-30"), encoding="utf-8")
    outcome = load(org, path, mappings=MAPPINGS)
    assert [p[1:] for p in problems(outcome)] == [(4, "found_on", "2024-02-30", "not_a_date")]
    assert (value_maps.stored(org), value_map_events(org)) == ([], [])


def test_a_changed_mapping_is_an_event_with_its_old_and_new_value(org):
    value_maps.save_now(org, [value_maps.Mapping("source", "督查檢查", "inspection")], "王明")
    value_maps.save_now(org, [value_maps.Mapping("source", "督查檢查", "superior_assessment")], "李華")
    value_maps.save_now(org, [value_maps.Mapping("source", "督查檢查", "superior_assessment")], "李華")  # no change
    assert value_map_events(org) == [
        ("王明", "source:督查檢查", "canonical", None, "inspection", "value_map"),
        ("李華", "source:督查檢查", "canonical", "inspection", "superior_assessment", "value_map"),
    ]
    assert org.execute("select canonical, set_by, version from value_maps").fetchall() == [("superior_assessment", "李華", 2)]
    assert trail.verify(org).ok


@pytest.mark.parametrize(("line", "key", "details"), [
    ("source,督查檢查,inspektion", "map_bad_canonical", {
        "file": "map.csv", "row": 1, "value": "inspektion",
        "allowed": "internal_audit, inspection, satisfaction_survey, management_review, superior_assessment"}),
    ("unit,定海,DH", "map_bad_column", {
        "file": "map.csv", "row": 1, "column": "unit", "allowed": "source, severity, status, action_kind, action_status"}),
    ("source,督查檢查", "map_bad_line", {"file": "map.csv", "row": 1}),
])
def test_a_bad_mapping_line_is_named(tmp_path, line, key, details):
    path = tmp_path / "map.csv"
    path.write_text("column,value,canonical\n" + line + "\n", encoding="utf-8")
    with pytest.raises(Refused) as refused:
        value_maps.read_file(path)
    assert (refused.value.key, refused.value.details) == (key, details)


def test_the_command_line_names_unknown_values_and_imports_with_a_mapping_file(cli, tmp_path):
    db = tmp_path / "cli.duckdb"
    org_folder = tmp_path / "org"
    org_folder.mkdir()
    (org_folder / "units.csv").write_text("code,name,parent\nHQ,舟山港務管理局,\nDH,定海分局,HQ\n", encoding="utf-8")
    assert cli("import", org_folder, "--db", db).returncode == 0
    path = tmp_path / "ledger.csv"
    path.write_text(LOCAL_LABELS, encoding="utf-8")
    refused = cli("import", path, "--db", db)
    assert refused.returncode == 2
    assert refused.stderr.splitlines()[3:] == [
        'unknown value: severity "輕度", 1 rows (map it to one of: major, minor, observation)',
        'unknown value: source "督查檢查", 2 rows (map it to one of: internal_audit, inspection, '
        "satisfaction_survey, management_review, superior_assessment)",
        i18n.translate("en", "import_map_hint"),
        "Import refused: 3 problems; nothing was stored.",
    ]
    mapping = tmp_path / "map.csv"
    mapping.write_text("column,value,canonical\nsource,督查檢查,inspection\nseverity,輕度,minor\n", encoding="utf-8")
    done = cli("import", path, "--db", db, "--map", mapping)
    assert (done.returncode, done.stderr) == (0, "")
    con = store.connect(db)
    assert value_maps.stored(con) == sorted(MAPPINGS, key=lambda m: (m.column, m.value))
    con.close()
    bad = cli("import", path, "--db", db, "--map", tmp_path / "none.csv")
    assert (bad.returncode, bad.stderr) == (2, f"No such mapping file: {tmp_path / 'none.csv'}\n")


def test_the_import_tab_maps_each_unknown_value_and_checks_again(tmp_path):
    db = tmp_path / "s.duckdb"
    con = store.connect(db)
    assert ledger.load(con, ledger.read([write_org(tmp_path)]), actor="test").ok
    got = intake.check(intake.receive([("ledger.csv", LOCAL_LABELS.encode("utf-8"))], db), con)
    assert got.outcome.unknown_values == [("severity", "輕度", 1), ("source", "督查檢查", 2)]
    # one of the two chosen: the other stays a problem, nothing is guessed
    got = intake.map_values(got, con, "王明", {("source", "督查檢查"): "inspection", ("severity", "輕度"): None})
    assert got.outcome.unknown_values == [("severity", "輕度", 1)]
    got = intake.map_values(got, con, "王明", {("severity", "輕度"): "minor"})
    assert (got.step, got.outcome.problems, got.outcome.accepted["nonconformities"]) == ("report", [], 3)
    shown = intake.value_maps_table(con, i18n.translator("en"))
    assert shown.drop(columns=["When"]).to_dict("records") == [
        {"Column": "严重程度 (severity)", "Value": "輕度", "Read as": "Minor (minor)", "Who": "王明"},
        {"Column": "问题来源 (source)", "Value": "督查檢查", "Read as": "Inspection (inspection)", "Who": "王明"},
    ]
    assert [e[1:5] for e in value_map_events(con)] == [
        ("source:督查檢查", "canonical", None, "inspection"), ("severity:輕度", "canonical", None, "minor")]


def write_org(tmp_path):
    folder = tmp_path / "org-files"
    folder.mkdir()
    (folder / "units.csv").write_text("code,name,parent\nHQ,舟山港務管理局,\nDH,定海分局,HQ\n", encoding="utf-8")
    return folder


# ---------------------------------------------------------------------------------------------
# What was accepted without a word: cells under no header, Excel's day zero


def test_a_cell_under_no_header_is_refused_naming_its_row_and_column(org, tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text("ref,unit,source,severity,title,found_on\n"
                    "NC-1,DH,inspection,minor,記錄不全,2024-03-05\n"
                    "NC-2,DH,inspection,minor,簽到表缺頁,2024-03-06,已口頭提醒\n", encoding="utf-8")
    assert problems(load(org, path)) == [("ledger.csv", 3, "G", "已口頭提醒", "cell_without_header")]
    assert org.execute("select count(*) from nonconformities").fetchone() == (0,)


def test_a_workbook_column_without_a_header_is_refused_but_a_signature_beside_the_table_is_not(org, tmp_path):
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(workbook_bytes([
        ["編號", "單位", None, "問題來源", "問題等級", "存在問題", "發現日期"],
        ["NC-1", "DH", None, "督查", "一般", "記錄不全", "2024-03-05"],
        ["NC-2", "DH", "整改已過半", "督查", "一般", "簽到表缺頁", "2024-03-06"],
        [None, None, None, None, None, None, None, None, "審核：李四"],  # the signature line, right of the table
    ]))
    assert problems(load(org, path)) == [("ledger.xlsx", 3, "C", "整改已過半", "cell_without_header")]


def test_excels_day_zero_in_a_date_cell_is_refused_and_a_real_1904_date_is_kept(org, tmp_path):
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(workbook_bytes([
        ["編號", "單位", "問題來源", "問題等級", "存在問題", "發現日期", "整改期限"],
        ["NC-1", "DH", "督查", "一般", "記錄不全", datetime(2024, 3, 5), datetime(1900, 1, 1)],
        ["NC-2", "DH", "督查", "一般", "水塔未檢", datetime(1904, 6, 2), datetime(1904, 7, 2)],
    ]))
    assert problems(load(org, path)) == [
        ("ledger.xlsx", 2, "due_on", "1900-01-01", "date_too_early"),
        ("ledger.xlsx", 2, "due_on", "1900-01-01", "due_before_found"),
    ]
    path.write_bytes(workbook_bytes([
        ["編號", "單位", "問題來源", "問題等級", "存在問題", "發現日期", "整改期限"],
        ["NC-2", "DH", "督查", "一般", "水塔未檢", datetime(1904, 6, 2), datetime(1904, 7, 2)],
    ]))
    assert problems(load(org, path)) == []
    assert org.execute("select found_on from nonconformities").fetchall() == [(date(1904, 6, 2),)]


def test_a_bidi_override_in_a_workbook_ref_is_refused(org, tmp_path):
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(workbook_bytes([HEADER, ["NC-\u202e1-CN", "DH", "督查", "一般", "記錄不全", "2024-03-05"]]))
    assert problems(load(org, path)) == [("ledger.xlsx", 2, "ref", "NC-\u202e1-CN", "hidden_character")]


# ---------------------------------------------------------------------------------------------
# The issue's "done when": a Traditional workbook as a unit keeps it imports after one mapping


def test_a_traditional_workbook_with_title_rows_mixed_dates_formula_like_text_and_a_local_source_imports_after_one_mapping(
    org, tmp_path,
):
    book = Workbook()
    ws = book.active
    ws.title = "2024年定海分局整改台賬"
    ws.append(["2024年度定海分局黨建工作整改台賬"])  # a title row, merged across the table
    ws.merge_cells("A1:I1")
    ws.append(["填報單位：定海分局", None, None, None, None, None, "填報日期：2024年5月"])
    ws.append(["序號", "問題編號", "責任單位", "檢查類型", "嚴重程度", "存在問題", "發現日期", "整改期限", "整改狀態"])
    ws.append([1, "DH-2024-01", "定海分局", "督查檢查", "一般", "=會議記錄未簽字", datetime(2024, 3, 5), "2024/4/5", "整改中"])
    ws.append([2, "DH-2024-02", "DH", "督查檢查", "嚴重", "消防通道堵塞", "2024年3月8日", 45397, "未整改"])
    ws.append([3, "DH-2024-03", "定海分局", "專項檢查", "觀察項", "+86 電話未更新", "2024.3.20", "20240420", "未整改"])
    ws["F4"].data_type = "s"  # typed as text ("=…" a person wrote), not a formula
    path = tmp_path / "定海分局整改台賬.xlsx"
    out = io.BytesIO()
    book.save(out)
    path.write_bytes(out.getvalue())

    first = load(org, path)
    assert first.unknown_values == [("source", "督查檢查", 2)]
    assert [(p.row, p.column, p.value, p.reason) for p in first.problems] == [
        (4, "source", "督查檢查", "unknown_value"), (5, "source", "督查檢查", "unknown_value")]
    assert org.execute("select count(*) from nonconformities").fetchone() == (0,)

    value_maps.save_now(org, [value_maps.Mapping("source", "督查檢查", "inspection")], "王明")  # the one mapping
    second = load(org, path)
    assert (second.problems, second.accepted["nonconformities"]) == ([], 3)
    assert org.execute(
        "select ref, unit, source::varchar, severity::varchar, title, found_on, due_on, status::varchar "
        "from nonconformities order by ref"
    ).fetchall() == [
        ("DH-2024-01", "DH", "inspection", "minor", "=會議記錄未簽字", date(2024, 3, 5), date(2024, 4, 5), "in_progress"),
        # Excel serial 45397: 45292 is 2024-01-01 in Excel, and 105 days on (31 + 29 + 31 + 14) is 15 April
        ("DH-2024-02", "DH", "inspection", "major", "消防通道堵塞", date(2024, 3, 8), date(2024, 4, 15), "open"),
        ("DH-2024-03", "DH", "inspection", "observation", "+86 電話未更新", date(2024, 3, 20), date(2024, 4, 20), "open"),
    ]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_import_tab_lists_each_unknown_value_with_a_choice_and_the_stores_mappings(tmp_path, monkeypatch, lang):
    from streamlit.testing.v1 import AppTest

    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    db = tmp_path / "closeloop.duckdb"
    con = store.connect(db)
    assert ledger.load(con, ledger.read([write_org(tmp_path)]), actor="test").ok
    value_maps.save_now(con, [value_maps.Mapping("severity", "輕度", "minor")], "王明")
    checked = intake.check(intake.receive([("ledger.csv", LOCAL_LABELS.encode("utf-8"))], db), con)
    con.close()
    assert checked.outcome.unknown_values == [("source", "督查檢查", 2)]  # 輕度 is mapped already
    monkeypatch.setenv("CLOSELOOP_DB", str(db))
    at = AppTest.from_file(str(Path(__file__).parents[1] / "dashboard.py"), default_timeout=60)
    at.query_params["lang"] = lang
    at.session_state["as_of"] = date(2026, 6, 30)
    at.session_state["intake"] = checked
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    tr = i18n.translator(lang)
    choice = at.selectbox(key="unknown-value-0")
    assert choice.label == tr("unknown_value_label", column=intake.column_label("source", tr), value="督查檢查", n="2")
    assert (choice.value, choice.options[:2]) == (
        None, [intake.value_label("source", "internal_audit", tr), intake.value_label("source", "inspection", tr)])
    assert at.button(key="unknown-values-save").disabled
    shown = next(d.value for d in at.dataframe if tr("col_map_canonical") in d.value.columns)  # the store's mappings
    assert shown[tr("col_value")].tolist() == ["輕度"]
    assert shown[tr("col_map_canonical")].tolist() == [intake.value_label("severity", "minor", tr)]
    st.cache_data.clear()
    st.cache_resource.clear()
