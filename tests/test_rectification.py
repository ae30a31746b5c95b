"""The Rectification page under AppTest: its lists and views, a record's detail, a move saved, and scope."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = Path(__file__).parents[1]
AS_OF = date(2026, 6, 30)
AUTH = {"auth": {"redirect_uri": "http://127.0.0.1:1/oauth2callback", "cookie_secret": "test", "client_id": "x",
                 "client_secret": "y", "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"}}


pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture(scope="module")
def golden_file(tmp_path_factory, cli, golden_dir) -> Path:
    db = tmp_path_factory.mktemp("rectification") / "closeloop.duckdb"
    assert cli("import", golden_dir, "--db", db, "--as", "import").returncode == 0
    assert cli("user", "viewer@dh.example", "--role", "viewer", "--unit", "DH", "--db", db).returncode == 0
    return db


@pytest.fixture
def golden_store(tmp_path, monkeypatch, golden_file) -> Path:
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(golden_file, db)
    monkeypatch.setenv("CLOSELOOP_DB", str(db))
    return db


def rectification(url: dict | None = None, state: dict | None = None, user: dict | None = None) -> AppTest:
    """The page through dashboard.py, state and URL preset before the first run (see STYLE.md)."""
    at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=60)
    at.session_state["as_of"] = AS_OF
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.query_params["lang"] = "en"
    for key, value in (url or {}).items():
        at.query_params[key] = value
    if user is not None:
        at.secrets.update(AUTH)
        at.user = user
    at.run()
    assert not at.exception
    at.switch_page("pages/rectification.py").run()
    assert not at.exception
    return at


def tabs(at: AppTest) -> list[str]:
    return [tab.label for tab in at.tabs]


@pytest.mark.parametrize("view,expected", [
    ("open", ["Actions (27)", "Nonconformities (41)"]),
    ("overdue", ["Actions (27)", "Nonconformities (35)"]),
    # due within the notices' 7 days, today included: NC-E03, due on the day; no open action falls due by 07-07
    ("due_soon", ["Actions (0)", "Nonconformities (1)"]),
    ("awaiting_verification", ["Actions (5)", "Nonconformities (8)"]),
    ("all", ["Actions (174)", "Nonconformities (126)"]),
])
def test_quick_views_count_the_golden_ledger(golden_store, view, expected):
    at = rectification(state={"rectification_view": view})
    assert tabs(at) == expected


def test_the_findings_list_shows_each_open_findings_status_light_in_words(golden_store):
    at = rectification()
    (findings,) = [d.value for d in at.dataframe if "Severity" in d.value.columns]
    # by the golden CSV, apart: 35 due before 2026-06-30; NC-E03 due on the day; NC-E06 (minor, no due
    # date, found 2026-06-01) given 60 days, 07-31, and four more due later: on track
    assert findings["Status light"].value_counts().to_dict() == {
        "Overdue (red)": 35, "On track (green)": 5, "Due soon (yellow)": 1}
    assert findings.set_index("Ref").loc[["NC-E03", "NC-E06"], "Status light"].tolist() == [
        "Due soon (yellow)", "On track (green)"]


def test_without_a_chosen_row_the_page_says_how_to_open_one(golden_store):
    at = rectification()
    assert [i.value for i in at.info] == ["Select a row in a list to see its detail and its whole history."]


def test_a_link_to_a_record_opens_its_detail_and_history(golden_store):
    at = rectification(url={"ref": "CA-0009-1"})
    assert [h.value for h in at.subheader if h.value.startswith("NC-")] == ["NC-0009 · 不合格項 9"]
    assert "Open · 普陀分局機關支部 (PT-01) · Observation · found 2024-01-13, due 2024-02-12 · 869 days overdue" in [
        m.value for m in at.markdown]
    (history,) = [d.value for d in at.dataframe if "Field" in d.value.columns]
    assert history[["Ref", "Field", "Reason"]].values.tolist() == [
        ["NC-0009", "Created", "ledger import"], ["CA-0009-1", "Created", "ledger import"]]


def test_a_link_to_nothing_shows_nothing_and_is_logged(golden_store):
    at = rectification(url={"ref": "NC-NOPE"})
    assert [w.value for w in at.warning] == [
        "Nothing to show: NC-NOPE does not exist or is outside the units you may see. The attempt was logged."]
    st.cache_resource.clear()  # let go of the store to read it
    con = duckdb.connect(str(golden_store), read_only=True)
    assert con.execute("select entity, ref, field, reason from events where entity = 'access'").fetchall() == [
        ("access", "NC-NOPE", "ref", "out_of_scope")]


def test_marking_an_action_done_saves_and_moves_its_finding(golden_store):
    at = rectification(url={"ref": "NC-0006"})
    at.button_group(key="move").set_value("done").run()
    at.text_area(key="f-evidence").input("会议记录及签到表已归档")  # sent with the form, on Save
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["CA-0006-1: saved 4 changes (trail block 3)."]
    assert any(m.value.startswith("Awaiting verification · ") for m in at.markdown)


def test_a_signed_in_viewer_sees_only_their_subtree_and_cannot_record(golden_store):
    at = rectification(state={"rectification_view": "all"}, url={"ref": "NC-0017"},
                       user={"is_logged_in": True, "email": "viewer@dh.example"})
    # DH's subtree holds 58 of the 126 golden findings; the finding of DH-02 opens, with no moves offered.
    assert tabs(at)[1] == "Nonconformities (58)"
    assert [c.value for c in at.caption if c.value.startswith("Your role")] == [
        "Your role (viewer) may see this finding but not change it."]


def test_a_signed_in_viewer_following_a_link_outside_their_subtree_sees_nothing(golden_store):
    at = rectification(url={"unit": "PT"}, user={"is_logged_in": True, "email": "viewer@dh.example"})
    assert [w.value for w in at.warning] == [
        "Nothing to show: unit PT does not exist or is outside what you may see. The attempt was logged."]
    assert tabs(at) == []


def test_someone_not_signed_in_sees_only_the_sign_in_button(golden_store):
    at = rectification(url={"ref": "NC-0017"}, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in"]
    assert tabs(at) == []


def test_the_history_download_keeps_formula_text_as_text():
    import pandas as pd

    from closeloop import detail, export, i18n

    history = pd.DataFrame({
        "id": [7], "at": pd.to_datetime(["2026-06-01 08:00:00+00:00"]), "actor": ["王明"], "entity": ["action"],
        "ref": ["CA-1"], "field": ["evidence"], "old": [None], "new": ["=HYPERLINK(\"http://x\")"], "reason": ["done"],
        "batch": [None],
    })
    text = export.csv_bytes(detail.trail_rows(history, i18n.translator("en"))).decode("utf-8-sig")
    assert text.splitlines() == [
        "No.,When,Who,Record,Ref,Field,Old value,New value,Reason",
        "7,2026-06-01 16:00:00 +08:00,王明,Action,CA-1,Evidence,,\"'=HYPERLINK(\"\"http://x\"\")\",action done",
    ]


def test_an_open_finding_offers_no_verify_or_reopen_and_says_why(golden_store):
    at = rectification(url={"ref": "NC-0006"})  # open, its one action CA-0006-1 planned
    assert at.button_group(key="move").options == ["Add an action", "Start", "Mark done", "Extend due date", "Cancel"]
    assert [c.value for c in at.caption if c.value.startswith(("Verify", "Reopen"))] == [
        "Verify: only after every action is done", "Reopen: only a closed finding can be reopened"]


def test_an_evidence_file_is_listed_by_name_as_a_download(golden_store):
    from closeloop import identity, store, workflow

    con = store.connect(golden_store)
    workflow.done(con, identity.local_administrator("王明"), "CA-0006-1", evidence="签到表",
                  attachment=("签到表 *v2*.txt", "签到表 2026".encode()))
    con.close()
    at = rectification(url={"ref": "NC-0006"})
    (button,) = [e for e in at.get("download_button") if e.proto.label.startswith("签到表")]
    # the name as written: its Markdown marks escaped, so the label shows them rather than italics
    assert (button.proto.label, button.proto.help) == ("签到表 \\*v2\\*.txt", "")
    assert [c.value for c in at.caption if c.value.startswith("CA-0006-1 · ")] == [
        f"CA-0006-1 · 14 bytes · 王明 · {workflow.today()}"]


def test_a_viewer_scoped_to_one_unit_sees_it_first_in_the_unit_picker(golden_store):
    at = rectification(user={"is_logged_in": True, "email": "viewer@dh.example"})
    options = at.selectbox(key="unit").options
    # DH (定海分局) stands for all the viewer may see, where an administrator's says "Whole organisation";
    # its units follow, DH itself not listed twice
    assert options[0] == "定海分局"
    assert "Whole organisation" not in options and options.count("定海分局") == 1
    assert [o.strip("\u3000") for o in options[1:3]] == ["定海分局機關支部", "定海分局港航支部"]
