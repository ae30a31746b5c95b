"""A record's detail: the moves its state allows and the one line that says why the others are not there,
the evidence files it lists, and the list columns tracking reads first."""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd
import pytest

from closeloop import detail, store, tables, workflow
from closeloop.filters import Filters
from closeloop.i18n import translator

from test_workflow import EDITOR, ON, imported

BOTH_BACKENDS = True
EVERY_MOVE = ("add_action", "verify", "reopen", "start", "done", "extend", "cancel")


def allowed(why: dict) -> list[str]:
    return [m for m in EVERY_MOVE if why[m] is None]


# (finding's status, its actions' statuses) → the moves offered, worked out from the state machine by hand
@pytest.mark.parametrize("nc_status,action_statuses,moves", [
    # an open finding with a planned action: no Verify, no Reopen
    ("open", ["planned"], ["add_action", "start", "done", "extend", "cancel"]),
    # an open finding with no action yet: only adding one
    ("open", [], ["add_action"]),
    # one action started, one done: nothing left to start
    ("in_progress", ["in_progress", "done"], ["add_action", "done", "extend", "cancel"]),
    # every live action done: verify, or add another; a cancelled one allows nothing either
    ("awaiting_verification", ["done", "cancelled"], ["add_action", "verify"]),
    # verified and closed: only reopening it
    ("closed", ["done"], ["reopen"]),
])
def test_the_moves_offered_are_those_the_state_allows(nc_status, action_statuses, moves):
    assert allowed(detail.offered(nc_status, action_statuses)) == moves


def test_an_open_finding_says_why_it_cannot_be_verified_or_reopened():
    why = detail.offered("open", ["planned"])
    assert (why["verify"], why["reopen"]) == ("why_refused_actions_not_done", "why_refused_nc_not_closed")
    assert detail.not_offered(why, translator("en")) == [
        "Verify: only after every action is done", "Reopen: only a closed finding can be reopened"]
    assert detail.not_offered(why, translator("zh-Hans")) == [
        "验证：所有措施完成后才能验证", "重新打开：只有已关闭的问题才能重新打开"]


def test_moves_kept_away_for_one_reason_share_its_line():
    assert detail.not_offered(detail.offered("closed", ["done"]), translator("en")) == [
        "Add an action, Start, Mark done, Extend due date, Cancel: the finding is closed: reopen it first",
        "Verify: already verified and closed"]


def test_an_actions_move_names_the_action_statuses_it_needs():
    assert detail.not_offered(detail.offered("awaiting_verification", ["done"]), translator("en")) == [
        "Reopen: only a closed finding can be reopened",
        "Start: only for an action that is Planned",
        "Mark done, Extend due date, Cancel: only for an action that is Planned or In progress"]
    assert detail.not_offered(detail.offered("open", []), translator("zh-Hans"))[-1] == \
        "开始整改、标记完成、延期、取消措施：尚无整改措施，请先新增"


def test_every_reason_a_finding_move_is_refused_has_its_short_line():
    refusals = {r for (entity, _), move in workflow.MOVES.items() if entity == "nonconformity"
                for r in move.refused.values()}
    t = translator("en")
    assert all(t(f"why_{r}") != f"why_{r}" for r in refusals)


# The lists: what tracking reads first, and widths that keep it on screen


def test_owner_due_date_status_and_days_overdue_come_first():
    rows = pd.DataFrame(columns=["ref", "nonconformity", "unit", "kind", "description", "owner", "due_on", "status",
                                 "days_overdue", "due_status", "done_on"])
    assert list(tables.tracking_first(rows).columns) == [
        "ref", "owner", "due_on", "status", "days_overdue", "due_status", "nonconformity", "unit", "kind",
        "description", "done_on"]


def test_the_widths_are_keyed_by_the_columns_names_in_the_readers_language():
    rows = pd.DataFrame(columns=["ref", "owner", "description", "done_on"])
    assert tables.widths(rows, translator("zh-Hans")) == {
        "编号": {"width": 88}, "责任人": {"width": 72}, "措施内容": {"width": 160}}


# Evidence files


def test_a_findings_evidence_files_are_listed_from_its_actions_and_only_in_scope(store_copy, backend):
    con = store_copy("workflow", imported)
    data = "簽到表 2026".encode()
    workflow.done(con, EDITOR, "CA-WORK-1", evidence="簽到表", on=ON, attachment=("簽到表.pdf", data))
    f = Filters.default(date(2026, 6, 30))
    expected = [("CA-WORK-1", "簽到表.pdf", len(data), hashlib.sha256(data).hexdigest(), "editor@dh.example")]
    for ref in ("NC-WORK", "CA-WORK-2"):  # the finding, or another of its actions, opens the same list
        files = store.run(con, "record_attachments", f.params("DH") | {"ref": ref})
        assert list(files[["ref", "file_name", "bytes", "sha256", "actor"]].itertuples(index=False, name=None)) == \
            expected
    assert store.run(con, "record_attachments", f.params("DS") | {"ref": "NC-WORK"}).empty
    assert store.run(con, "record_attachments", f.params("DH") | {"ref": "NC-OPEN"}).empty
    assert (workflow.attachments_dir(con) / expected[0][3]).read_bytes() == data
