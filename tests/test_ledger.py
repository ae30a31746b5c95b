"""Ledger import: every problem named, all of it or none, re-imports, encodings, Chinese headers and values."""

from __future__ import annotations

import dataclasses
import re

import pyarrow as pa
import pytest

from closeloop import ledger, store, trail
from closeloop.refusal import Refused

BOTH_BACKENDS = True
TABLES = ("units", "criteria", "nonconformities", "actions")


def load(con, folder) -> ledger.Outcome:
    return ledger.load(con, ledger.read([folder]), actor="test")


def problems(outcome: ledger.Outcome) -> list[tuple]:
    """(file, row, column, value, reason) of each problem; a CSV has no sheet."""
    assert {p.sheet for p in outcome.problems} <= {None}
    return [dataclasses.astuple(p)[:5] for p in outcome.problems]


def counts(con) -> dict[str, int]:
    return {t: con.execute(f"select count(*) from {t}").fetchone()[0]
            for t in TABLES + ("events", "import_batches")}


def snapshot(con) -> dict[str, list[tuple]]:
    return {t: con.execute(f"select * from {t} order by all").fetchall() for t in TABLES}


# Every problem, named by file, row (the header is row 1), column and reason

NC, UNITS, ACTIONS = "nonconformities.csv", "units.csv", "actions.csv"

# (file, text in conftest.LEDGER, replaced by, the problems expected)
REASON_CASES = {
    "missing-title": (NC, ",会议记录不全,", ",,", [(NC, 2, "title", None, "missing")]),
    "missing-unit-name": (UNITS, "DH,定海分局,HQ", "DH,,HQ", [(UNITS, 3, "name", None, "missing")]),
    "missing-action-kind": (ACTIONS, "CA-2,NC-2,corrective", "CA-2,NC-2,", [(ACTIONS, 3, "kind", None, "missing")]),
    "duplicate_key": (ACTIONS, "CA-2,", "CA-1,", [
        (ACTIONS, 2, "ref", "CA-1", "duplicate_key"), (ACTIONS, 3, "ref", "CA-1", "duplicate_key"),
    ]),
    "unknown_unit": (NC, "NC-2,DH,", "NC-2,DX,", [(NC, 3, "unit", "DX", "unknown_unit")]),
    "unknown_unit-parent": (UNITS, "DH,定海分局,HQ", "DH,定海分局,HQX", [(UNITS, 3, "parent", "HQX", "unknown_unit")]),
    "unit_cycle": (UNITS, "DH,定海分局,HQ\n", "DH,定海分局,HQ\nA,甲,B\nB,乙,A\n", [
        (UNITS, 4, "parent", "B", "unit_cycle"), (UNITS, 5, "parent", "A", "unit_cycle"),
    ]),
    "unit_cycle-own-parent": (UNITS, "DH,定海分局,HQ", "DH,定海分局,DH", [(UNITS, 3, "parent", "DH", "unit_cycle")]),
    "unknown_criterion": (NC, "NC-2,DH,1.1", "NC-2,DH,9.9", [(NC, 3, "criterion", "9.9", "unknown_criterion")]),
    "unknown_nonconformity": (ACTIONS, "CA-2,NC-2", "CA-2,NC-9", [
        (ACTIONS, 3, "nc_ref", "NC-9", "unknown_nonconformity"),
    ]),
    "unknown_value": (NC, "internal_audit,major", "internal_audit,catastrophic", [
        (NC, 3, "severity", "catastrophic", "unknown_value"),
    ]),
    "unknown_value-action-status": (ACTIONS, ",,planned", ",,postponed", [
        (ACTIONS, 3, "status", "postponed", "unknown_value"),
    ]),
    "not_a_date": (NC, "2026-03-01,2026-04-01", "2026-02-30,2026-04-01", [
        (NC, 3, "found_on", "2026-02-30", "not_a_date"),
    ]),
    "ambiguous_date": (NC, "2026-03-01,2026-04-01", "2026-03-01,01/04/2026", [
        (NC, 3, "due_on", "01/04/2026", "ambiguous_date"),
    ]),
    "closed_before_found": (NC, "2026-02-01,closed", "2026-01-09,closed", [
        (NC, 2, "closed_on", "2026-01-09", "closed_before_found"),
    ]),
    "closed_without_date": (NC, "2026-02-01,closed", ",closed", [(NC, 2, "closed_on", None, "closed_without_date")]),
    "date_without_closure": (NC, ",,open", ",2026-04-15,open", [(NC, 3, "status", "open", "date_without_closure")]),
    "done_without_date": (ACTIONS, "2026-01-30,done", ",done", [(ACTIONS, 2, "done_on", None, "done_without_date")]),
    "date_without_done": (ACTIONS, ",,planned", ",2026-03-30,planned", [
        (ACTIONS, 3, "status", "planned", "date_without_done"),
    ]),
    "hidden_character": (UNITS, "DH,定海分局,HQ", "DH,定海分局,HQ\nD\x00S,岱山分局,H\u202eQ", [
        (UNITS, 4, "code", "D\x00S", "hidden_character"), (UNITS, 4, "parent", "H\u202eQ", "hidden_character"),
        (UNITS, 4, "parent", "H\u202eQ", "unknown_unit"),
    ]),
    "due_before_found": (NC, "2026-03-01,2026-04-01", "2026-03-01,2026-02-28", [
        (NC, 3, "due_on", "2026-02-28", "due_before_found"),
    ]),
    "date_too_early": (NC, "2026-03-01,2026-04-01", "1899-12-30,2026-04-01", [
        (NC, 3, "found_on", "1899-12-30", "date_too_early"),
    ]),
    # a ledger sheet (an owner column) may repeat a finding on a row per action, but not change it
    "conflicting_value": (NC, "closed_on,status\n", "closed_on,status,owner\n", None),
}


@pytest.mark.parametrize(("file", "old", "new", "expected"), REASON_CASES.values(), ids=REASON_CASES)
def test_each_problem_names_file_row_column_value_and_reason(
    ledger_files, write_ledger, empty_store, file, old, new, expected,
):
    assert old in ledger_files[file]
    text = ledger_files[file].replace(old, new, 1)
    if expected is None:  # conflicting_value: NC-2 again, for a second action, found on another day
        text += "NC-2,DH,1.1,internal_audit,major,學習記錄缺失,2026-03-02,2026-04-01,,open,李華\n"
        expected = [(NC, 4, "found_on", "2026-03-02", "conflicting_value")]
    outcome = load(empty_store, write_ledger({file: text}))
    assert problems(outcome) == expected


def test_every_reason_of_the_problems_query_has_a_case():
    text = store.sql("import_problems")
    reasons = set(re.findall(r"(?:then|,)\s*'([a-z_]+)'(?:\s+as \w*reason\b|\s*(?:end|from)\b)", text))
    assert reasons == {case[3][0][4] if case[3] else name for name, case in REASON_CASES.items()}


def test_a_ledger_with_one_bad_row_stores_nothing(ledger_files, write_ledger, empty_store):
    folder = write_ledger({NC: ledger_files[NC].replace("2026-03-01,2026-04-01", "2026-13-01,2026-04-01")})
    outcome = load(empty_store, folder)
    assert (problems(outcome), outcome.batch) == ([(NC, 3, "found_on", "2026-13-01", "not_a_date")], None)
    assert counts(empty_store) == dict.fromkeys(TABLES + ("events", "import_batches"), 0)


def test_a_rejected_newer_version_changes_nothing_already_stored(ledger_files, write_ledger, empty_store):
    assert load(empty_store, write_ledger()).ok
    before, events = snapshot(empty_store), counts(empty_store)
    newer = ledger_files[NC].replace("2026-04-01,,open", "2026-04-30,,open").replace("inspection", "inspektion")
    assert not load(empty_store, write_ledger({NC: newer}, folder="newer")).ok
    assert (snapshot(empty_store), counts(empty_store)) == (before, events)


def test_the_command_line_prints_each_problem_and_refuses_the_import(ledger_files, write_ledger, cli, tmp_path):
    db = tmp_path / "cli.duckdb"
    folder = write_ledger({NC: ledger_files[NC].replace("2026-03-01,2026-04-01", "2026-02-30,2026-04-01")})
    done = cli("import", folder, "--db", db)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        "nonconformities.csv row 3, found_on: not a date (value: 2026-02-30)",
        "Import refused: 1 problems; nothing was stored.",
    ]


def test_problem_rows_are_spreadsheet_rows_when_a_cell_spans_lines_or_a_line_is_blank(write_ledger, empty_store):
    # Row 2 holds a description on two lines and row 3 is blank, so the bad row is row 4 (line 5).
    text = (
        "ref,unit,source,severity,title,description,found_on\n"
        'NC-1,DH,inspection,minor,会议记录不全,"第一行\n第二行",2026-01-10\n'
        "\n"
        "NC-2,DH,inspection,minor,學習記錄缺失,,2026-02-30\n"
    )
    outcome = load(empty_store, write_ledger({NC: text, ACTIONS: "ref,nc_ref,kind\n"}))
    assert problems(outcome) == [(NC, 4, "found_on", "2026-02-30", "not_a_date")]


# Re-imports


def test_reimporting_the_same_ledger_adds_nothing_but_its_batch(golden_dir, empty_store):
    first = load(empty_store, golden_dir)
    before, before_counts = snapshot(empty_store), counts(empty_store)
    again = load(empty_store, golden_dir)
    assert (again.accepted, again.changed) == (dict.fromkeys(TABLES, 0), dict.fromkeys(TABLES, 0))
    assert snapshot(empty_store) == before
    assert counts(empty_store) == before_counts | {"import_batches": 2}
    assert again.batch == first.batch + 1


def test_a_newer_version_records_each_changed_field_once_and_bumps_its_version(
    ledger_files, write_ledger, empty_store,
):
    load(empty_store, write_ledger())
    newer = ledger_files[NC].replace("2026-03-01,2026-04-01", "2026-03-01,2026-04-15")
    outcome = load(empty_store, write_ledger({NC: newer}, folder="newer"))
    assert outcome.changed == {"units": 0, "criteria": 0, "nonconformities": 1, "actions": 0}
    events = empty_store.execute(
        "select entity, ref, field, old, new from events where batch = $b", {"b": outcome.batch}
    ).fetchall()
    assert events == [("nonconformity", "NC-2", "due_on", "2026-04-01", "2026-04-15")]
    versions = empty_store.execute("select ref, version, due_on::varchar from nonconformities order by ref")
    assert versions.fetchall() == [("NC-1", 1, "2026-02-10"), ("NC-2", 2, "2026-04-15")]


def test_a_ledger_without_status_derives_it_from_the_closing_dates(write_ledger, empty_store):
    folder = write_ledger({
        NC: "ref,unit,source,severity,title,found_on,closed_on\n"
            "NC-1,DH,inspection,minor,会议记录不全,2026-01-10,2026-02-01\n"
            "NC-2,DH,internal_audit,major,學習記錄缺失,2026-03-01,\n",
        ACTIONS: "ref,nc_ref,kind,done_on\nCA-1,NC-1,corrective,2026-01-30\nCA-2,NC-2,corrective,\n",
    })
    assert problems(load(empty_store, folder)) == []
    assert empty_store.execute("select ref, status::varchar from nonconformities order by ref").fetchall() == [
        ("NC-1", "closed"), ("NC-2", "open"),
    ]
    assert empty_store.execute("select ref, status::varchar from actions order by ref").fetchall() == [
        ("CA-1", "done"), ("CA-2", "planned"),
    ]


def test_a_ledger_without_status_keeps_a_stored_status_until_the_closing_date_comes(
    ledger_files, write_ledger, empty_store,
):
    load(empty_store, write_ledger({NC: ledger_files[NC].replace(",,open", ",,in_progress")}))
    header = "ref,unit,source,severity,title,found_on,closed_on\n"
    unchanged = load(empty_store, write_ledger(
        {NC: header + "NC-2,DH,internal_audit,major,學習記錄缺失,2026-03-01,\n"}, folder="unchanged"))
    closed = load(empty_store, write_ledger(
        {NC: header + "NC-2,DH,internal_audit,major,學習記錄缺失,2026-03-01,2026-04-20\n"}, folder="closed"))
    assert unchanged.changed["nonconformities"] == 0
    assert empty_store.execute(
        "select field, old, new from events where batch = $b order by field", {"b": closed.batch}
    ).fetchall() == [("closed_on", None, "2026-04-20"), ("status", "in_progress", "closed")]


@pytest.mark.slow
def test_an_import_of_half_a_million_findings_seals_every_event(write_ledger, tmp_path):
    # DuckDB 2.0 hides rows appended after an insert of none that followed a large one, in the same
    # transaction, until it commits: the seal missed the actions' events (from 500,000 findings on).
    # DuckDB's own case: embedded only (on PostgreSQL the same DuckDB transaction runs on the replica).
    empty_store = store.connect(tmp_path / "big.duckdb")
    findings = "".join(f"NC-{i},DH,inspection,minor,会议记录不全,2026-01-10\n" for i in range(500_000))
    actions = "".join(f"CA-{i},NC-{i},corrective\n" for i in range(130_000))
    outcome = load(empty_store, write_ledger({
        NC: "ref,unit,source,severity,title,found_on\n" + findings, ACTIONS: "ref,nc_ref,kind\n" + actions,
    }))
    assert outcome.ok and trail.verify(empty_store).ok


# Encodings


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "gbk"])
def test_the_same_ledger_in_any_supported_encoding_imports_to_identical_rows(write_ledger, tmp_path, encoding):
    # Python's "utf-8-sig" and "utf-16" write a byte-order mark.
    stores = {}
    for name in ("utf-8", encoding):
        con = store.connect(tmp_path / f"{name}.duckdb")
        assert load(con, write_ledger(encoding=name, folder=name)).ok
        stores[name] = snapshot(con)
        con.close()
    assert stores[encoding] == stores["utf-8"]
    assert stores[encoding]["nonconformities"][1][:7] == (
        "NC-2", "DH", None, "1.1", "internal_audit", "major", "學習記錄缺失",
    )


def test_a_file_in_no_supported_encoding_is_named(write_ledger):
    # 0x80 alone is invalid in UTF-8, GB18030 and Big5.
    folder = write_ledger()
    (folder / UNITS).write_bytes(b"code,name,parent\nHQ,\x80\x80,\n")
    with pytest.raises(Refused) as refused:
        ledger.read([folder])
    # the detector's best guess for these bytes (cp1125) is named, and is none of the encodings read
    assert (refused.value.key, refused.value.details["file"]) == ("encoding_unsupported", UNITS)
    assert refused.value.details["encoding"] not in ledger.READ_AS



def test_a_gbk_ledger_whose_first_rows_are_all_ascii_is_still_read_as_gbk(write_ledger, empty_store, monkeypatch):
    # Only the head (HEAD_BYTES) is decoded up front; the GBK bytes past it are found when Arrow refuses them.
    monkeypatch.setattr(ledger.sources, "HEAD_BYTES", 4096)
    text = "ref,unit,source,severity,title,found_on\n" + "".join(
        f"NC-{i},DH,inspection,minor,minutes missing,2026-01-10\n" for i in range(100, 300)
    ) + "NC-2,DH,internal_audit,major,學習記錄缺失,2026-03-01\n"
    outcome = load(empty_store, write_ledger({NC: text, ACTIONS: "ref,nc_ref,kind\n"}, encoding="gbk"))
    assert (outcome.ok, outcome.accepted["nonconformities"]) == (True, 201)
    assert empty_store.execute("select title from nonconformities where ref = 'NC-2'").fetchone() == ("學習記錄缺失",)


def test_a_byte_in_no_supported_encoding_past_the_first_rows_is_named(write_ledger, monkeypatch):
    monkeypatch.setattr(ledger.sources, "HEAD_BYTES", 4096)
    folder = write_ledger()
    rows = "".join(f"U-{i},unit {i},HQ\n" for i in range(300)).encode()
    (folder / UNITS).write_bytes(b"code,name,parent\nHQ,root,\n" + rows + b"U-X,\x80\x80,HQ\n")
    with pytest.raises(Refused) as refused:
        ledger.read([folder])
    # the detector's best guess for these bytes (cp1125) is named, and is none of the encodings read
    assert (refused.value.key, refused.value.details["file"]) == ("encoding_unsupported", UNITS)
    assert refused.value.details["encoding"] not in ledger.READ_AS



@pytest.mark.parametrize("space", [" ", "\t", "\u3000", "\xa0", "\u2003", "\u205f", "\x85", "\u1680"])
def test_cells_lose_white_space_at_either_end_and_keep_it_inside(space):
    # CJK brackets, quotes and 一 share lead or last bytes with some white space (【 E3 80 90, 一 E4 B8 80).
    cells = [f"{space}【整改】{space}", f"一{space}二", "【整改】", space, "“引号”一", None]
    assert ledger.text.cleaned(pa.array(cells), False).to_pylist() == ["【整改】", f"一{space}二", "【整改】", None, "“引号”一", None]


# Full-width characters, Chinese headers and values


def test_full_width_codes_and_dates_are_normalised_and_free_text_is_kept(write_ledger, empty_store):
    folder = write_ledger({
        NC: "ref,unit,criterion,source,severity,title,description,found_on\n"
            "ＮＣ－３,ＤＨ,１．１,ｉｎｓｐｅｃｔｉｏｎ,ｍｉｎｏｒ,ＡＢＣ　記錄,全角１２３,２０２６－０５－０１\n",
        ACTIONS: "ref,nc_ref,kind\n",
    })
    assert problems(load(empty_store, folder)) == []
    stored = empty_store.execute(
        "select ref, unit, criterion, source::varchar, severity::varchar, title, description, found_on::varchar "
        "from nonconformities"
    )
    assert stored.fetchall() == [
        ("NC-3", "DH", "1.1", "inspection", "minor", "ＡＢＣ　記錄", "全角１２３", "2026-05-01"),
    ]


def test_chinese_headers_and_values_map_to_the_canonical_ones(write_ledger, tmp_path):
    chinese = {
        UNITS: "编号,单位,上级单位\nHQ,舟山港务管理局,\nDH,定海分局,HQ\n",
        "criteria.csv": "条款,考核细则,类别\n1.1,三會一課按期召開,组织建设\n",
        NC: "编号,單位,问题来源,考核细则,问题等级,問題描述,发现日期,整改期限,完成时间,整改状态\n"
            "NC-1,DH,检查,1.1,一般,会议记录不全,2026/1/10,2026年2月10日,2026-02-01,已整改\n"
            "NC-2,DH,内部审核,1.1,严重,學習記錄缺失,2026-03-01,2026-04-01,,未整改\n",
        ACTIONS: "措施编号,问题编号,措施类型,整改措施,责任人,整改期限,完成时间,状态\n"
                 "CA-1,NC-1,纠正措施,补齐会议记录,王明,2026-01-31,2026-01-30,已完成\n"
                 "CA-2,NC-2,纠正措施,补录学习记录,李華,2026-03-31,,计划\n",
    }
    rows = {}
    for name, files in (("canonical", None), ("chinese", chinese)):
        con = store.connect(tmp_path / f"{name}.duckdb")
        assert problems(load(con, write_ledger(files, folder=name))) == []
        rows[name] = snapshot(con)
        con.close()
    assert rows["chinese"] == rows["canonical"]
