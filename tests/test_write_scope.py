"""Scope holds for writes: each role × a target in and out of its subtree × every write path, refused by name."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from closeloop import identity, ledger, review, store, value_maps, workflow
from closeloop.filters import Filters
from closeloop.refusal import Refused

# The golden ledger's units: DH (with DH-01, DH-02, DH-10, DH-11) and PT (with PT-01, PT-10) are siblings under HQ.
# Every user below is scoped to DH; the whole-organisation administrator is the local one.
USERS = {
    "viewer": "viewer@dh.example",
    "unit_editor": "editor@dh.example",
    "auditor": "auditor@dh.example",
    "administrator": "admin@dh.example",
}
WHOLE = identity.local_administrator("hq-admin")
# Literal ledger rows, each one write: NC-0017 (DH-02) and its action CA-0017-1 are inside DH;
# NC-0006 (PT-01) and CA-0006-1 are outside it (rows as the golden ledger has them, one value changed).
SHEETS = {
    "unit_new_inside": ("units.csv", "code,name,parent\nDH-99,定海分局新支部,DH\n"),
    "unit_renamed_inside": ("units.csv", "code,name,parent\nDH-01,定海分局機關一支部,DH\n"),
    "unit_moved_in": ("units.csv", "code,name,parent\nPT,普陀分局,DH\n"),  # the attack of issue 13
    "unit_moved_out": ("units.csv", "code,name,parent\nDH-01,定海分局機關支部,PT\n"),
    "unit_top_moved": ("units.csv", "code,name,parent\nDH,定海分局,PT\n"),
    "unit_new_outside": ("units.csv", "code,name,parent\nPT-99,普陀分局新支部,PT\n"),
    "criterion_changed": ("criteria.csv", "code,title,category\n1.1,三會一課按時召開,組織建設\n"),
    "criterion_new": ("criteria.csv", "code,title,category\n9.9,新細則,制度建設\n"),
    "criterion_unchanged": ("criteria.csv", "code,title,category\n1.1,三會一課按期召開,組織建設\n"),
    "finding_inside": ("nonconformities.csv", "ref,unit,source,criterion,severity,title,found_on,due_on,closed_on,status\n"
                       "NC-0017,DH-02,internal_audit,4.2,observation,不合格項 17 改,2025-02-01,2025-05-02,,in_progress\n"),
    "finding_outside": ("nonconformities.csv", "ref,unit,source,criterion,severity,title,found_on,due_on,closed_on,status\n"
                        "NC-0006,PT-01,internal_audit,4.2,minor,不合格項 6 改,2025-10-24,2025-12-23,,in_progress\n"),
    "finding_moved_in": ("nonconformities.csv", "ref,unit,source,criterion,severity,title,found_on,due_on,closed_on,status\n"
                         "NC-0006,DH-02,internal_audit,4.2,minor,不合格項 6,2025-10-24,2025-12-23,,in_progress\n"),
    "finding_moved_out": ("nonconformities.csv", "ref,unit,source,criterion,severity,title,found_on,due_on,closed_on,status\n"
                          "NC-0017,PT-01,internal_audit,4.2,observation,不合格項 17,2025-02-01,2025-05-02,,in_progress\n"),
    "finding_new_outside": ("nonconformities.csv", "ref,unit,source,criterion,severity,title,found_on,due_on,closed_on,status\n"
                            "NC-9001,PT,internal_audit,4.2,minor,新問題,2026-01-05,2026-02-05,,open\n"),
    "action_inside": ("actions.csv", "ref,nc_ref,kind,description,owner,due_on,done_on,status\n"
                      "CA-0017-1,NC-0017,correction,整改措施 17.1 改,李華,2025-03-18,,planned\n"),
    "action_outside": ("actions.csv", "ref,nc_ref,kind,description,owner,due_on,done_on,status\n"
                       "CA-0006-1,NC-0006,corrective,整改措施 6.1,王明,2026-01-07,,planned\n"),
    "action_moved_out": ("actions.csv", "ref,nc_ref,kind,description,owner,due_on,done_on,status\n"
                         "CA-0017-1,NC-0006,correction,整改措施 17.1,李華,2025-03-18,,planned\n"),
    "action_moved_in": ("actions.csv", "ref,nc_ref,kind,description,owner,due_on,done_on,status\n"
                        "CA-0006-1,NC-0017,corrective,整改措施 6.1,王明,2025-11-07,,planned\n"),
}
# What the DH administrator's import of each sheet gives: None (stored), or (row, column, value, reason).
SCOPED_IMPORT = {
    "unit_new_inside": None,
    "unit_renamed_inside": None,
    "unit_moved_in": (2, "code", "PT", "out_of_scope"),
    "unit_moved_out": (2, "parent", "PT", "out_of_scope"),
    "unit_top_moved": (2, "parent", "PT", "whole_organisation_only"),
    "unit_new_outside": (2, "parent", "PT", "out_of_scope"),
    "criterion_changed": (2, "code", "1.1", "whole_organisation_only"),
    "criterion_new": (2, "code", "9.9", "whole_organisation_only"),
    "criterion_unchanged": None,
    "finding_inside": None,
    "finding_outside": (2, "ref", "NC-0006", "out_of_scope"),
    "finding_moved_in": (2, "ref", "NC-0006", "out_of_scope"),
    "finding_moved_out": (2, "unit", "PT-01", "out_of_scope"),
    "finding_new_outside": (2, "unit", "PT", "out_of_scope"),
    "action_inside": None,
    "action_outside": (2, "ref", "CA-0006-1", "out_of_scope"),
    "action_moved_out": (2, "nc_ref", "NC-0006", "out_of_scope"),
    "action_moved_in": (2, "ref", "CA-0006-1", "out_of_scope"),
}


@pytest.fixture(scope="module")
def golden_store(tmp_path_factory, golden_imported):
    db = tmp_path_factory.mktemp("scope") / "golden.duckdb"
    golden_imported(db, "--as", "import")
    con = store.connect(db)
    for role, email in USERS.items():
        workflow.set_user(con, WHOLE, email, role=role, unit="DH")
    workflow.set_user(con, WHOLE, "boss@hq.example", role="administrator", unit=None)
    workflow.set_user(con, WHOLE, "pt@pt.example", role="viewer", unit="PT")
    con.close()
    return db


@pytest.fixture
def con(tmp_path, golden_store):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(golden_store, copy)
    con = store.connect(copy)
    yield con
    con.close()


def as_user(con, role: str) -> identity.Identity:
    return identity.lookup(con, USERS[role]) if role != "whole" else WHOLE


def stored(con) -> tuple:
    """What a refused write must leave as it was: every table's rows and versions, and the unit tree."""
    return con.execute(
        "select (select count(*) from events), (select count(*) from trail_blocks), "
        "(select count(*) from units), (select count(*) from criteria), "
        "(select count(*) from nonconformities), (select sum(version) from nonconformities), "
        "(select count(*) from actions), (select sum(version) from actions), "
        "(select count(*) from users), (select sum(version) from users), (select count(*) from reviews), "
        "(select string_agg(code || '<' || coalesce(parent_code, ''), ',' order by code) from units), "
        "(select string_agg(code || title, ',' order by code) from criteria)"
    ).fetchone()


def sheets_of(tmp_path, name: str) -> list[ledger.Sheet]:
    file, text = SHEETS[name]
    folder = tmp_path / name
    folder.mkdir()
    (folder / file).write_text(text, encoding="utf-8")
    return ledger.read([folder])


@pytest.mark.parametrize("name", sorted(SHEETS))
def test_a_scoped_administrators_import_is_held_to_its_subtree_by_the_row(con, tmp_path, name):
    before = stored(con)
    outcome = ledger.load(con, sheets_of(tmp_path, name), as_user(con, "administrator"))
    expected = SCOPED_IMPORT[name]
    if expected is None:
        assert outcome.problems == [] and outcome.batch is not None
    else:
        file = SHEETS[name][0]
        assert [(p.file, p.row, p.column, p.value, p.reason) for p in outcome.problems] == [(file, *expected)]
        assert (outcome.batch, stored(con)) == (None, before)


@pytest.mark.parametrize("name", sorted(set(SHEETS) - {"criterion_unchanged"}))
def test_the_whole_organisations_administrator_may_import_each_of_them(con, tmp_path, name):
    before = stored(con)
    outcome = ledger.load(con, sheets_of(tmp_path, name), WHOLE)
    assert outcome.problems == [] and stored(con) != before


@pytest.mark.parametrize("role", ["viewer", "unit_editor", "auditor"])
def test_only_administrators_import(con, tmp_path, role):
    before = stored(con)
    with pytest.raises(Refused) as refused:
        ledger.load(con, sheets_of(tmp_path, "unit_new_inside"), as_user(con, role))
    assert (refused.value.key, refused.value.details, stored(con)) == (
        "refused_role", {"role": role, "move": "import"}, before)


def test_the_dry_run_check_names_the_same_row_and_stores_nothing(con, tmp_path):
    before = stored(con)
    outcome = ledger.check(con, sheets_of(tmp_path, "unit_moved_in"), as_user(con, "administrator"))
    assert [(p.row, p.column, p.value, p.reason) for p in outcome.problems] == [(2, "code", "PT", "out_of_scope")]
    assert stored(con) == before


def dh_viewer_sees(con) -> int:
    scope = identity.lookup(con, USERS["viewer"]).scope
    return int(store.run(con, "store_counts", {"scope": scope})["nonconformities"].iloc[0])


def test_the_attack_of_issue_13_re_parenting_pt_under_dh_is_refused_from_the_command_line(
        cli, tmp_path, golden_store, golden_dir):
    # The DH administrator imports "PT,…,DH"; had it been stored, DH's viewers would see PT's findings too.
    copy = tmp_path / "attack.duckdb"
    shutil.copy(golden_store, copy)
    folder = tmp_path / "attack"
    folder.mkdir()
    (folder / "units.csv").write_text(SHEETS["unit_moved_in"][1], encoding="utf-8")
    con = store.connect(copy)
    before, seen = stored(con), dh_viewer_sees(con)
    con.close()
    done = cli("import", folder, "--db", copy, "--as", USERS["administrator"])
    assert (done.returncode, done.stderr) == (
        2, "units.csv row 2, code: outside the units you may change (before or after the import) (value: PT)\n"
           "Import refused: 1 problems; nothing was stored.\n")
    con = store.connect(copy)
    # 58 of the golden ledger's findings are in DH's subtree, 46 in PT's (counted from nonconformities.csv)
    assert (seen, dh_viewer_sees(con), stored(con)) == (58, 58, before)
    con.close()
    # the same sheet from the whole organisation's administrator moves PT: then DH's viewers see 58 + 46
    assert cli("import", folder, "--db", copy, "--as", "boss@hq.example").returncode == 0
    con = store.connect(copy)
    assert dh_viewer_sees(con) == 104
    con.close()


# Workflow moves, reviews and users: each role × a target inside DH and one outside it.
MOVES = {
    "start_action": lambda con, who, inside: workflow.start(con, who, "CA-0017-1" if inside else "CA-0006-1"),
    "add_action": lambda con, who, inside: workflow.add_action(
        con, who, "NC-0017" if inside else "NC-0006", kind="corrective", description="再培訓", owner="王明",
        due_on=date(2026, 9, 1)),
    "record_review": lambda con, who, inside: review.record(
        con, who, Filters.default(date(2026, 6, 30), unit="DH" if inside else "PT"), held_on=date(2026, 6, 30),
        title="季度管理評審", attendees=["王明"]),
    "set_user": lambda con, who, inside: workflow.set_user(
        con, who, "new@dh.example", role="viewer", unit="DH-01" if inside else "PT"),
}
# (role, path) → what happens inside DH and outside it: None (stored) or the refusal's key.
MATRIX = {
    ("viewer", "start_action"): ("refused_role", "refused_role"),
    ("unit_editor", "start_action"): (None, "refused_out_of_scope"),
    ("auditor", "start_action"): ("refused_role", "refused_role"),
    ("administrator", "start_action"): (None, "refused_out_of_scope"),
    ("viewer", "add_action"): ("refused_role", "refused_role"),
    ("unit_editor", "add_action"): (None, "refused_out_of_scope"),
    ("auditor", "add_action"): ("refused_role", "refused_role"),
    ("administrator", "add_action"): (None, "refused_out_of_scope"),
    ("viewer", "record_review"): ("refused_role", "refused_role"),
    ("unit_editor", "record_review"): (None, "refused_out_of_scope"),
    ("auditor", "record_review"): (None, "refused_out_of_scope"),
    ("administrator", "record_review"): (None, "refused_out_of_scope"),
    ("viewer", "set_user"): ("refused_role", "refused_role"),
    ("unit_editor", "set_user"): ("refused_role", "refused_role"),
    ("auditor", "set_user"): ("refused_role", "refused_role"),
    ("administrator", "set_user"): (None, "refused_out_of_scope"),
}


@pytest.mark.parametrize("role,path,inside", [(r, p, i) for (r, p) in MATRIX for i in (True, False)])
def test_each_role_writes_inside_its_subtree_only(con, role, path, inside):
    who = as_user(con, role)
    expected = MATRIX[(role, path)][0 if inside else 1]
    before = stored(con)
    if expected is None:
        MOVES[path](con, who, inside)
        assert stored(con) != before
    else:
        with pytest.raises(Refused) as refused:
            MOVES[path](con, who, inside)
        assert (refused.value.key, stored(con)) == (expected, before)


@pytest.mark.parametrize("email,role,unit", [
    ("boss@hq.example", "viewer", "DH"),  # demoting the whole organisation's administrator
    ("pt@pt.example", "administrator", "DH"),  # taking PT's viewer into DH (and making them an administrator)
    ("new@dh.example", "administrator", None),  # a scope wider than their own
])
def test_a_scoped_administrator_cannot_reach_users_outside_or_above_its_subtree(con, email, role, unit):
    before = stored(con)
    with pytest.raises(Refused) as refused:
        workflow.set_user(con, as_user(con, "administrator"), email, role=role, unit=unit)
    assert (refused.value.key, stored(con)) == ("refused_out_of_scope", before)


def test_a_scoped_administrator_may_not_map_values_which_apply_to_every_unit(con, tmp_path):
    before = stored(con)
    mapping = [value_maps.Mapping("source", "督查檢查", "inspection")]
    with pytest.raises(Refused) as refused:
        ledger.load(con, sheets_of(tmp_path, "finding_inside"), as_user(con, "administrator"), mappings=mapping)
    assert refused.value.key == "refused_value_maps_scope"
    assert stored(con) == before
    assert con.execute("select count(*) from value_maps").fetchone()[0] == 0
    # the whole organisation's administrator may
    again = tmp_path / "again"
    again.mkdir()
    assert ledger.load(con, sheets_of(again, "finding_inside"), WHOLE, mappings=mapping).ok
    assert con.execute("select column_name, value, canonical from value_maps").fetchall() == [
        ("source", "督查檢查", "inspection")]
