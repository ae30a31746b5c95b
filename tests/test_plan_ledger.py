"""Importing the five plan-and-check forms: all of them or none, every bad row named, re-imports changing nothing."""

from __future__ import annotations

import json
from datetime import date

import pytest

from closeloop import plan_ledger, store

from conftest import CRITERIA, UNITS, csv_text

BOTH_BACKENDS = True

# A small plan-and-check ledger in the canonical form, for the conftest units (HQ > DH > DH-01 …) and criteria.
PLAN = {
    "objectives.csv": (
        "unit,year,code,name,parent,measure,kind,direction,target,weight,owner\n"
        "DH,2026,G1,按期整改率,,%,level,higher,90,2,王明\n"  # DH's own
        "DH-01,2026,G1.1,按期整改率,G1,%,level,higher,90,,李華\n"  # breaks G1 down; weight left empty: 1
    ),
    "objective_actuals.csv": (
        "unit,year,code,month,actual,evidence\n"
        "DH,2026,G1,5,81,台賬-5.pdf\n"  # 81 / 90 = 0.9: at risk
        "DH-01,2026,G1.1,6,90,台賬-6.pdf\n"  # 90 / 90: met
    ),
    "inspections.csv": (
        "ref,unit,kind,planned_on,performed_on,inspector\n"
        "I-1,DH-01,periodic,2026-03-01,2026-03-02,陳靜\n"  # due and performed
        "I-2,DH,ad_hoc,2026-05-01,,陳靜\n"  # due, not performed: overdue
    ),
    "inspection_results.csv": (
        "inspection,criterion,points_possible,points_awarded,result,note,nonconformity\n"
        "I-1,1.1,10,10,pass,,\n"
        "I-1,2.1,10,5,fail,記錄不全,NC-9\n"
    ),
    "survey_answers.csv": (
        "wave,unit,respondent,item,score,answered_on\n"
        "W1,DH-01,r1,q1,5,2026-04-01\n"  # 100 index points
        "W1,DH-01,r2,q1,3,2026-04-01\n"  # 50
    ),
}
FINDINGS = {
    "units.csv": csv_text(UNITS),
    "criteria.csv": csv_text(CRITERIA),
}


@pytest.fixture
def folder(tmp_path):
    def write(files: dict[str, str], name="ledger"):
        path = tmp_path / name
        path.mkdir()
        for file, text in files.items():
            (path / file).write_text(text, encoding="utf-8")
        return path

    return write


def counts(con) -> dict[str, int]:
    return {form.table: con.execute(f"select count(*) from {form.table}").fetchone()[0]
            for form in plan_ledger.FORMS.values()}


def test_the_command_line_imports_findings_and_plan_and_check_files_together(cli, folder, store_at):
    db = store_at("plan")
    done = cli("import", folder(FINDINGS | PLAN), "--db", db)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert "objectives +2 ~0" in done.stdout and "survey_answers +2 ~0" in done.stdout
    shown = json.loads(cli("metrics", "--db", db, "--as-of", "2026-06-30", "--unit", "DH").stdout)
    assert shown["objectives"] == {
        # (2 × 0.9 + 1 × 1) / 3 = 0.93333
        "with_status": 2, "met": 1, "at_risk": 1, "missed": 0, "score": 0.9333}
    assert shown["inspections"] == {
        # units due DH-01, DH × 3 criteria = 6; pairs (DH-01, 1.1), (DH-01, 2.1): 2 / 6; 15 / 20 points
        "due": 2, "performed": 1, "performed_rate": 0.5, "overdue": 1, "coverage": 0.3333, "score": 0.75}
    assert shown["satisfaction"] == {
        "answers": 2, "index": 75.0, "satisfied_share": 0.5, "dissatisfied_share": 0.0}


def test_a_bad_row_anywhere_writes_nothing_and_every_problem_is_named(empty_store, folder):
    bad = dict(PLAN)
    bad["objectives.csv"] += "DX,2026,G2,未知單位,,%,level,sideways,abc,1,\n"  # row 4: unit, direction, target
    bad["objective_actuals.csv"] += "DH,2026,G9,13,1,\n"  # row 4: no such objective, no 13th month
    bad["inspection_results.csv"] += "I-9,9.9,10,12,fail,,\n"  # row 4: inspection, criterion, points
    bad["survey_answers.csv"] += "W1,DH-01,r1,q1,6,2026-04-31\n"  # row 4: a second r1 q1, score 6, no 31 April
    bad["inspections.csv"] += "I-3,DH,periodic,2026-06-01,,=HYPERLINK(\"x\")\n"  # row 4: formula text
    paths = sorted(p for p in folder(bad).iterdir())
    outcome = plan_ledger.load(empty_store, paths, "test", units={u["code"] for u in UNITS},
                               criteria={c["code"] for c in CRITERIA})
    got = sorted((p.file, p.row, p.column, p.reason) for p in outcome.problems)
    assert got == sorted([
        ("objectives.csv", 4, "direction", "unknown_value"),
        ("objectives.csv", 4, "target", "not_a_number"),
        ("objectives.csv", 4, "unit", "unknown_unit"),
        ("objective_actuals.csv", 4, "month", "unknown_value"),
        ("objective_actuals.csv", 4, "code", "unknown_objective"),
        ("inspection_results.csv", 4, "criterion", "unknown_criterion"),
        ("inspection_results.csv", 4, "inspection", "unknown_inspection"),
        ("inspection_results.csv", 4, "points_awarded", "points_out_of_range"),
        ("survey_answers.csv", 4, "score", "unknown_value"),
        ("survey_answers.csv", 4, "answered_on", "not_a_date"),
        ("survey_answers.csv", 4, "item", "duplicate_key"),
        ("inspections.csv", 4, "inspector", "formula"),
    ])
    assert counts(empty_store) == dict.fromkeys(counts(empty_store), 0)


def test_reimporting_changes_nothing_and_a_changed_value_is_one_event(store_from_rows, folder):
    con = store_from_rows([], units=UNITS, criteria=CRITERIA)
    first = plan_ledger.load(con, sorted(folder(PLAN).iterdir()), "test")
    assert (first.ok, first.accepted["objectives"], first.accepted["survey_answers"]) == (True, 2, 2)
    again = plan_ledger.load(con, sorted(folder(PLAN, "again").iterdir()), "test")
    assert sum(again.accepted.values()) + sum(again.changed.values()) == 0
    changed = dict(PLAN, **{"objective_actuals.csv": PLAN["objective_actuals.csv"].replace(",81,", ",85,")})
    third = plan_ledger.load(con, sorted(folder(changed, "third").iterdir()), "test")
    assert (third.accepted["objective_actuals"], third.changed["objective_actuals"]) == (0, 1)
    events = con.execute(
        "select entity, ref, field, old, new from events where batch = $b", {"b": third.batch}).fetchall()
    assert events == [("objective_actual", "DH/2026/G1/5", "actual", "81.0", "85.0")]
    assert con.execute("select actual, version from objective_actuals where code = 'G1'").fetchall() == [(85.0, 2)]


def test_chinese_headers_and_satisfaction_words_read_as_the_canonical_form(store_from_rows, folder):
    con = store_from_rows([], units=UNITS, criteria=CRITERIA)
    answers = ("批次,單位,受訪者,題目,評分,答卷日期\n"
               "W1,DH-01,r1,q1,滿意,2026-04-01\n"  # 5
               "W1,DH-01,r2,q1,基本满意,2026-04-01\n"  # 3
               "W1,DH-01,r3,q1,不滿意,2026-04-01\n")  # 1
    outcome = plan_ledger.load(con, [folder({"survey_answers.csv": answers}) / "survey_answers.csv"], "test")
    assert outcome.ok, outcome.problems
    assert con.execute("select respondent, score from survey_answers order by respondent").fetchall() == [
        ("r1", 5), ("r2", 3), ("r3", 1)]


# ---------------------------------------------------------------------------------------------
# kinds: the forms as sheets of a workbook, read and recognised by closeloop.ledger


def stored(con, form: str) -> list[tuple]:
    columns = ", ".join(plan_ledger.FORMS[form].types)
    return con.execute(f"select {columns} from {form} order by {columns}").fetchall()


def test_each_form_is_a_declared_kind_with_the_forms_columns():
    from closeloop import ledger

    for name, form in plan_ledger.FORMS.items():
        assert (name, ledger.KIND[name].columns, ledger.KIND[name].plan) == (name, tuple(form.types), True)
    assert set(plan_ledger.FORMS).isdisjoint(ledger.KINDS)  # the findings' import neither stages nor writes them


def test_a_workbook_with_sheets_named_as_the_forms_imports_the_rows_the_csvs_do(store_from_rows, folder, tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    objectives = book.active
    objectives.title = "objectives"
    for row in (["unit", "year", "code", "name", "parent", "measure", "kind", "direction", "target", "weight", "owner"],
                ["DH", 2026, "G1", "按期整改率", None, "%", "level", "higher", 90, 2, "王明"],
                ["DH-01", 2026, "G1.1", " 按期整改率 ", "G1", "%", "水平", "越高越好", 90.0, None, "李華"]):
        objectives.append(row)
    inspections = book.create_sheet("inspections")  # Chinese headers, dates typed as dates
    for row in (["编号", "单位", "類型", "计划日期", "實施日期", "检查人"],
                ["I-1", "DH-01", "定期", datetime(2026, 3, 1), datetime(2026, 3, 2), "陳靜"],
                ["I-2", "DH", "不定期檢查", datetime(2026, 5, 1), None, "陳靜"]):
        inspections.append(row)
    answers = book.create_sheet("survey_answers")
    for row in (["wave", "unit", "respondent", "item", "score", "answered_on"],
                ["W1", "DH-01", "r1", "q1", 5, datetime(2026, 4, 1)],
                ["W1", "DH-01", "r2", "q1", "基本滿意", "2026-04-01"]):
        answers.append(row)
    book.save(tmp_path / "plan.xlsx")

    from_csv = store_from_rows([], units=UNITS, criteria=CRITERIA)
    csvs = {name: PLAN[name] for name in ("objectives.csv", "inspections.csv", "survey_answers.csv")}
    assert plan_ledger.load(from_csv, sorted(folder(csvs).iterdir()), "test").ok
    con = store_from_rows([], units=UNITS, criteria=CRITERIA)
    outcome = plan_ledger.load(con, [tmp_path / "plan.xlsx"], "test")
    assert outcome.ok, outcome.problems
    assert {form: outcome.accepted[form] for form in ("objectives", "inspections", "survey_answers")} == {
        "objectives": 2, "inspections": 2, "survey_answers": 2}
    for form in ("objectives", "inspections", "survey_answers"):
        assert stored(con, form) == stored(from_csv, form), form
    assert stored(con, "inspections") == [
        ("I-1", "DH-01", "periodic", date(2026, 3, 1), date(2026, 3, 2), "陳靜"),
        ("I-2", "DH", "ad_hoc", date(2026, 5, 1), None, "陳靜")]
    assert con.execute("select file_name, accepted from import_batches where id = $id",
                       {"id": outcome.batch}).fetchall() == [("plan.xlsx", 6)]


def test_a_workbooks_bad_cells_are_named_by_sheet_and_a_formula_once(empty_store, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "objectives"
    for row in (["unit", "year", "code", "name", "kind", "direction", "target", "colour"],
                ["DH", 2026, "G1", "按期整改率", "level", "higher", "=80+10", "red"]):  # a formula with no cached value
        sheet.append(row)
    book.save(tmp_path / "plan.xlsx")
    outcome = plan_ledger.load(empty_store, [tmp_path / "plan.xlsx"], "test", units={"DH"})
    assert sorted((p.file, p.sheet, p.row, p.column, p.reason) for p in outcome.problems) == [
        ("plan.xlsx", "objectives", 1, "colour", "unknown_column"),
        ("plan.xlsx", "objectives", 2, "target", "formula"),
    ]


def test_the_command_line_imports_one_workbook_of_findings_sheets_and_form_sheets(cli, store_at, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    for index, (title, rows) in enumerate((("units", UNITS), ("criteria", CRITERIA))):
        sheet = book.active if index == 0 else book.create_sheet()
        sheet.title = title
        sheet.append(list(rows[0]))
        for row in rows:
            sheet.append(list(row.values()))
    objectives = book.create_sheet("objectives")
    for line in PLAN["objectives.csv"].splitlines():
        objectives.append(line.split(","))
    book.save(tmp_path / "all.xlsx")
    done = cli("import", tmp_path / "all.xlsx", "--db", store_at("book"))
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert "units +7 ~0" in done.stdout and "objectives +2 ~0" in done.stdout
