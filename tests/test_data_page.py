"""Clean ledgers out, the import steps without a browser, and the data-quality counts behind the Data page."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from closeloop import export, i18n, intake, ledger, store
from closeloop.filters import Filters

APP = Path(__file__).parents[1]
GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "golden"
F = Filters.default(date(2026, 6, 30))
t = i18n.translator("en")


@pytest.fixture
def golden(tmp_path):
    con = store.connect(tmp_path / "golden.duckdb")
    assert ledger.load(con, ledger.read([GOLDEN]), actor="test").ok
    yield con
    con.close()


# ---------------------------------------------------------------------------------------------
# Export


def test_the_template_has_bilingual_headers_and_drop_downs_for_source_severity_and_status():
    book = load_workbook(io.BytesIO(export.template_bytes()))
    ws = book[export.LEDGER_SHEET]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["问题编号\nref", "单位\nunit", "审核编号\naudit"]
    lists = {ws.cell(row=1, column=_column(str(v.sqref))).value.split("\n")[1]: v.formula1
             for v in ws.data_validations.dataValidation}
    assert lists == {
        "source": '"内部审核,检查,满意度调查,管理评审,上级考核"',
        "severity": '"严重,一般,观察项"',
        "status": '"未整改,整改中,待验证,已关闭"',
        "action_kind": '"纠正,纠正措施,预防措施"',
        "action_status": '"未开始,整改中,已完成,已取消"',
    }
    assert ws.freeze_panes == "B2"


def _column(sqref: str) -> int:
    from openpyxl.utils import column_index_from_string

    return column_index_from_string("".join(ch for ch in sqref.split(":")[0] if ch.isalpha()))


def test_the_filled_template_imports(org_store, tmp_path):
    book = load_workbook(io.BytesIO(export.template_bytes()))
    ws = book[export.LEDGER_SHEET]
    ws.append(["NC-1", "DH", None, "1.1", "检查", "一般", "记录不全", None, None, date(2024, 3, 5), date(2024, 4, 5),
               None, "整改中", None, None, "纠正措施", "补齐记录", "王明", None, None, "整改中"])
    path = tmp_path / "filled.xlsx"
    book.save(path)
    reading = ledger.read_files([path])
    assert reading.skipped == ["filled.xlsx › 填表说明"]
    assert ledger.load(org_store, reading.sheets, actor="test").ok
    assert org_store.execute("select ref, nonconformity, status::varchar, due_on::varchar from actions").fetchall() == [
        ("NC-1-A1", "NC-1", "in_progress", "2024-04-05"),
    ]


@pytest.fixture
def org_store(tmp_path):
    con = store.connect(tmp_path / "org.duckdb")
    assert ledger.load(con, ledger.read([GOLDEN / "units.csv", GOLDEN / "criteria.csv"]), actor="test").ok
    yield con
    con.close()


def test_an_exported_ledger_holds_no_live_formula_and_dates_are_dates(golden, tmp_path):
    golden.execute("update nonconformities set title = '=HYPERLINK(\"http://x\")', description = '+1', "
                   "root_cause = '-2', verified_by = '@me' where ref = 'NC-0001'")
    rows = store.run(golden, "ledger_rows", F.replace(since=date(2024, 1, 1)).params())
    book = load_workbook(io.BytesIO(export.ledger_xlsx(export.ledger_table(rows, "zh"))))
    ws = book[export.LEDGER_SHEET]
    cells = [c for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    found = [c for c in cells if c.value == '=HYPERLINK("http://x")']
    assert [c.data_type for c in found] == ["s"] * len(found) and found
    assert ws["J2"].is_date and ws.freeze_panes == "B2" and ws.auto_filter.ref.startswith("A1:")
    text = export.csv_bytes(export.ledger_table(rows, "zh"))
    assert text.startswith(b"\xef\xbb\xbf")
    records = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    leads = {cell[0] for record in records[1:] for cell in record if cell}
    assert not leads & set("=+-@")
    assert ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@me"] == [
        r[c] for r in records if r[0] == "NC-0001" for c in (6, 7, 8, 13)][:4]


def test_an_exported_ledger_imports_back_into_the_same_store_as_a_no_op(golden, tmp_path):
    everything = F.replace(since=date(2000, 1, 1))
    rows = store.run(golden, "ledger_rows", everything.params())
    before = golden.execute("select count(*) from events").fetchone()
    for name, data in (("ledger.xlsx", export.ledger_xlsx(export.ledger_table(rows, "zh"))),
                       ("ledger.csv", export.csv_bytes(export.ledger_table(rows, "en")))):
        (tmp_path / name).write_bytes(data)
        outcome = ledger.load(golden, ledger.read([tmp_path / name]), actor="test")
        assert (outcome.problems, outcome.changed) == ([], dict.fromkeys(ledger.KINDS, 0))
    assert golden.execute("select count(*) from events").fetchone() == before


def test_the_export_command_writes_the_filtered_ledger(cli, tmp_path, golden_store_at):
    db = golden_store_at("golden")
    out = tmp_path / "DH.xlsx"
    done = cli("export", "--out", out, "--db", db, "--as-of", "2026-06-30", "--unit", "DH", "--severity", "major")
    assert (done.returncode, done.stderr) == (0, "")
    book = load_workbook(out, read_only=True)
    rows = list(book[export.LEDGER_SHEET].iter_rows(values_only=True))
    con = store.connect(db)
    expected = store.run(con, "ledger_rows", F.replace(unit="DH", severities=("major",)).params())
    con.close()
    assert len(rows) - 1 == len(expected) > 0
    assert {r[1] for r in rows[1:]} <= {"DH", "DH-01", "DH-02", "DH-10", "DH-11"}
    assert done.stdout.strip() == f"Exported {expected['ref'].nunique()} findings ({len(expected)} rows) → {out}"


@pytest.mark.parametrize(("args", "message"), [
    (["--out", "x.pdf"], "x.pdf: the export is written as .xlsx or .csv."),
    (["--out", "x.csv", "--severity", "huge"], "Unknown value: huge (one of: major, minor, observation)"),
    (["--out", "x.csv", "--unit", "NOPE"], "No unit with code NOPE."),
])
def test_the_export_command_refuses_bad_arguments_in_one_line(cli, golden_store_at, args, message):
    db = golden_store_at("golden")
    done = cli("export", *args, "--db", db)
    assert (done.returncode, done.stderr.strip()) == (2, message)


# ---------------------------------------------------------------------------------------------
# The import steps


def golden_workbook() -> bytes:
    from test_workbooks import messy_workbook

    return messy_workbook()[0]


def test_receive_keeps_the_upload_in_the_stores_upload_folder_and_detects_each_sheet(tmp_path):
    db = tmp_path / "s.duckdb"
    got = intake.receive([("../../整改台賬.xlsx", golden_workbook())], db)
    assert (got.step, got.error) == ("mapping", None)
    assert [p.parent for p in got.files] == [store.upload_dir(db)]
    assert got.files[0].name.endswith("-整改台賬.xlsx")
    kinds = {s.sheet: (l.kind, l.header_row) for s, l in zip(got.sources, got.layouts)}
    assert kinds["單位"] == ("units", 2) and kinds["考核細則"] == ("criteria", 1)
    assert kinds["定海分局"] == ("nonconformities", 3)


def test_receive_passes_over_a_plan_and_check_form_which_the_page_does_not_import(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "units"
    book.active.append(["code", "name"])
    book.active.append(["DH", "定海分局"])
    objectives = book.create_sheet("objectives")
    objectives.append(["unit", "year", "code", "name"])
    objectives.append(["DH", 2026, "G1", "按期整改率"])
    raw = io.BytesIO()
    book.save(raw)
    got = intake.receive([("plan.xlsx", raw.getvalue())], tmp_path / "s.duckdb")
    assert [(s.sheet, l and l.kind) for s, l in zip(got.sources, got.layouts)] == [("units", "units"), ("objectives", None)]
    alone = intake.receive([("objectives.csv", b"unit,year,code,name\nDH,2026,G1,x\n")], tmp_path / "s.duckdb")
    assert (alone.step, alone.error) == ("upload", ("kind_unknown", {"file": "objectives.csv"}))


def test_receive_refuses_an_upload_over_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(ledger, "MAX_UPLOAD_MB", 0)
    got = intake.receive([("a.csv", b"ref,unit\n")], tmp_path / "s.duckdb")
    assert (got.step, got.error) == ("upload", ("upload_too_large", {"file": "a.csv", "mb": 0}))


def test_check_reports_every_problem_and_commit_stores_all_of_it(tmp_path):
    db = tmp_path / "s.duckdb"
    con = store.connect(db)
    got = intake.check(intake.receive([("整改台賬.xlsx", golden_workbook())], db), con)
    assert (got.step, got.outcome.problems) == ("report", [])
    assert got.outcome.accepted == {"units": 11, "criteria": 10, "nonconformities": 126, "actions": 174}
    assert con.execute("select count(*) from nonconformities").fetchone() == (0,)
    seen = []
    done = intake.commit(got, con, "test", seen.append)
    assert (done.step, done.outcome.batch, seen[-1]) == ("done", 1, 1.0)
    assert con.execute("select count(*) from nonconformities").fetchone() == (126,)


def test_a_corrected_mapping_is_what_gets_checked(tmp_path):
    db = tmp_path / "s.duckdb"
    con = store.connect(db)
    text = "编号,单位,来源,严重程度,问题描述,发现日期,风险等级\nNC-1,X,检查,一般,记录不全,2024-03-05,高\n"
    got = intake.receive([("a.csv", text.encode("gbk"))], db)
    assert intake.mapping_table(got.layouts[0])["column"].tolist() == [
        "ref", "unit", "source", "severity", "title", "found_on", ""]
    assert got.layouts[0].columns[-1] is None  # unknown: must be chosen or left out before the check
    assert intake.check(got, con).error == ("columns_unknown", {"file": "a.csv", "columns": "风险等级"})
    got.layouts[0] = intake.relayout(got.sources[0], "nonconformities", 1,
                                     ["ref", "unit", "source", "severity", "title", "found_on", ""])
    report = intake.problems_table(intake.check(got, con).outcome, t)
    assert report.to_dict("records") == [{
        "File": "a.csv", "Sheet": "", "Row": 2, "Column": "单位 (unit)", "Value": "X", "Reason": "unknown unit",
    }]


# ---------------------------------------------------------------------------------------------
# Data quality


def test_each_quality_count_is_the_number_of_its_rows(golden):
    counts = store.run(golden, "data_quality", F.params())
    for check, n in zip(counts["check"], counts["n"]):
        rows = store.run(golden, "data_quality_rows", F.params() | {"check": check, "limit": 10**9})
        assert (check, len(rows)) == (check, n)
    assert dict(zip(counts["check"], counts["n"]))["no_due_date"] == 1


def test_a_ref_written_by_two_ledgers_is_a_duplicate_across_ledgers(golden, tmp_path):
    text = ("ref,unit,source,severity,title,found_on\n"
            "NC-0001,DS-10,internal_audit,observation,另一台賬的同號問題,2024-11-27\n")
    (tmp_path / "另一台賬.csv").write_text(text, encoding="utf-8")
    assert ledger.load(golden, ledger.read([tmp_path / "另一台賬.csv"]), actor="test").ok
    rows = store.run(golden, "data_quality_rows", F.replace(since=date(2024, 1, 1)).params()
                     | {"check": "duplicated_across_ledgers", "limit": 100})
    assert rows[["ref", "ledgers"]].values.tolist() == [
        ["NC-0001", "actions.csv, criteria.csv, nonconformities.csv, units.csv | 另一台賬.csv"]]


# ---------------------------------------------------------------------------------------------
# The page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_data_page_shows_its_tabs_the_quality_counts_and_the_upload(fresh_caches, tmp_path, monkeypatch, lang):
    db = tmp_path / "closeloop.duckdb"
    con = store.connect(db)
    assert ledger.load(con, ledger.read([GOLDEN]), actor="test").ok
    con.close()
    monkeypatch.setenv("CLOSELOOP_DB", str(db))
    at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=60)
    at.query_params["lang"] = lang
    at.session_state["as_of"] = date(2026, 6, 30)
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    tr = i18n.translator(lang)
    assert [tab.label for tab in at.tabs] == [tr("tab_import"), tr("tab_export"), tr("tab_quality")]
    assert at.button(key="intake-read").label == tr("upload_read")
    # the counts are the options of the checks' pills (a click shows the rows: see the browser test)
    pills = at.get("button_group")[0].proto
    assert [o.content for o in pills.options][:3] == [
        f"{tr('quality_no_due_date')} · 1", f"{tr('quality_no_owner')} · 16", f"{tr('quality_no_action')} · 16"]


def test_the_servers_upload_limit_is_the_one_checked_in_code():
    import tomllib

    config = tomllib.loads((APP / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == ledger.MAX_UPLOAD_MB
