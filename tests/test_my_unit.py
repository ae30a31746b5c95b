"""The unit head's view: a unit's rank among its siblings, overdue actions by owner, what falls due within 7 days."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from closeloop import bench, kpis, metrics, screens
from closeloop.filters import Filters
from conftest import SHARED, action, nc

BOTH_BACKENDS = True

T = date(2026, 6, 30)  # period 2025-07-01 … 2026-06-30
EARLIER = date(2026, 6, 15)  # inside the history: X4 not found yet, A2 and A3 not yet due


@pytest.fixture
def unit_store(store_from_rows):
    """DH, DHX and DS are HQ's children (DH's own children are DH-01, with DH-01-1 below it, and DH-02).

    At T:   DH  open 2, overdue 1, closed on time 1 of 2, KM median 48, no repeat, 4 actions overdue;
            DHX open 3, overdue 2, closed on time 1 of 1, KM median not reached, 1 repeat of 4, 1 action overdue;
            DS  open 0, closed late 1 of 1, KM median 60, no repeat, no action overdue.
    """
    return store_from_rows(
        [
            nc("M1", "DH-01", "2026-01-01", "2026-02-01", "2026-01-11"),  # 10 days, on time
            nc("M2", "DH-01-1", "2026-03-01", "2026-04-01"),  # open and overdue (a grandchild counts for DH)
            nc("M3", "DH-02", "2026-05-01", "2026-07-31", criterion="2.1"),  # open, not yet due
            nc("M4", "DH-02", "2026-02-01", "2026-03-01", "2026-03-21"),  # 48 days, late
            nc("X1", "DHX", "2026-01-01", "2026-01-31", "2026-01-31"),  # 30 days, on time (on the due day)
            nc("X2", "DHX", "2026-02-01", "2026-03-01"),  # open, overdue; repeats X1
            nc("X3", "DHX", "2026-04-01", "2026-05-01", criterion="2.1"),  # open, overdue
            nc("X4", "DHX", "2026-06-20", "2026-07-20", criterion="3.1"),  # found between EARLIER and T
            nc("Y1", "DS", "2026-02-01", "2026-03-01", "2026-04-02"),  # 60 days, late
        ],
        [
            action("A1", "M2", "2026-06-01") | {"owner": "Wang Ming"},  # 29 days overdue at T
            action("A2", "M3", "2026-06-20", status="in_progress") | {"owner": "WANG MING"},  # the same owner
            action("A3", "M3", "2026-06-25") | {"owner": "陳靜"},  # 5 days overdue at T
            action("A4", "M2", "2026-05-01"),  # no owner, 60 days overdue at T
            action("A5", "M3", "2026-06-30") | {"owner": "陳靜"},  # due on T: due within 7 days, 0 left
            action("A6", "M3", "2026-07-06") | {"owner": "Wang Ming"},  # the 7th day: 6 left
            action("A7", "M3", "2026-07-07"),  # the 8th day: not within 7 days
            action("A8", "M2", "2026-07-02", "2026-06-29") | {"owner": "Wang Ming"},  # done: neither
            action("A9", "M2", "2026-07-01", status="cancelled"),  # cancelled: neither
            action("B1", "X2", "2026-03-15") | {"owner": "李華"},  # DHX's: outside DH
        ],
    )


def ranks(s: screens.MyUnit) -> dict:
    return {row.kpi: (row.value, row.rank, row.of) for row in s.ranks.itertuples()}


def test_a_unit_ranks_among_its_siblings_with_1st_the_best(unit_store):
    s = screens.my_unit(unit_store, Filters.default(T, unit="DH"), None, "en")
    assert (s.parent, s.parent_name, s.siblings) == ("HQ", "舟山港務管理局", 3)
    assert ranks(s) == {
        "open": (2, 2, 3),  # DS 0, DH 2, DHX 3
        "overdue": (1, 2, 3),  # DS 0, DH 1, DHX 2
        "overdue_rate": (0.5, 1, 2),  # DH 1/2, DHX 2/3; DS has nothing open: no rate
        "on_time_closure_rate": (0.5, 2, 3),  # higher is better: DHX 1/1, DH 1/2, DS 0/1
        "median_days_to_close_km": (48, 1, 2),  # DH 48, DS 60; DHX's curve stops at 2/3
        "recurrence_rate": (0.0, 1, 3),  # DH and DS 0 share 1st; DHX 1/4
        "actions_overdue": (4, 3, 3),  # DS 0, DHX 1, DH 4
    }
    assert list(s.ranks["rank_text"]) == ["2nd of 3", "2nd of 3", "1st of 2", "2nd of 3", "1st of 2", "1st of 3",
                                          "3rd of 3"]
    assert list(s.ranks["better"]) == ["lower", "lower", "lower", "higher", "lower", "lower", "lower"]


def test_the_ranks_as_of_a_day_inside_the_history(unit_store):
    s = screens.my_unit(unit_store, Filters.default(EARLIER, unit="DH"), None, "en")
    assert ranks(s) == {
        "open": (2, 2, 3),  # DH 2 and DHX 2 (X4 not found yet) share 2nd, behind DS 0
        "overdue": (1, 2, 3),
        "overdue_rate": (0.5, 1, 2),  # DHX 2/2
        "on_time_closure_rate": (0.5, 2, 3),
        "median_days_to_close_km": (48, 1, 2),  # DH: 10 closed, 45 open, 48 closed: S = 3/4 × 1/2
        "recurrence_rate": (0.0, 1, 3),  # DHX 1/3
        "actions_overdue": (2, 3, 3),  # A1 and A4; A2 and A3 not yet due
    }


def test_ties_share_the_better_place_in_each_language(unit_store):
    f = Filters.default(T, unit="DH-01")
    s = screens.my_unit(unit_store, f, None, "en")
    assert (s.parent, s.siblings) == ("DH", 2)
    assert ranks(s)["open"] == (1, 1, 2)  # DH-01 (M2, on DH-01-1) and DH-02 (M3): one open each
    assert ranks(s)["overdue"] == (1, 2, 2)  # M2 is overdue, M3 is not
    assert s.ranks.set_index("kpi").loc["open", "rank_text"] == "1st of 2"
    assert screens.my_unit(unit_store, f, None, "zh-Hans").ranks.set_index("kpi").loc["open", "rank_text"] == \
        "第1名/共2"
    assert screens.my_unit(unit_store, f, None, "zh-Hant").ranks.set_index("kpi").loc["open", "rank_text"] == \
        "第1名/共2"


def test_the_values_ranked_are_the_contracts_of_the_unit(unit_store):
    f = Filters.default(T, unit="DH")
    contract = metrics.contract(unit_store, f)
    values = {key: value for key, (value, _, _) in ranks(screens.my_unit(unit_store, f, None, "en")).items()}
    assert values == {key: contract[key] for key, _, _ in kpis.RANKED if key != "overdue_rate"} | {
        "overdue_rate": contract["overdue"] / contract["open"]}


def test_overdue_actions_are_grouped_by_owner_most_first(unit_store):
    s = screens.my_unit(unit_store, Filters.default(T, unit="DH"), None, "en")
    # "Wang Ming" and "WANG MING" are one owner (owner_key); ties on the count go to the longest overdue
    assert s.overdue_by_owner[["owner", "actions", "oldest_days_overdue"]].values.tolist() == [
        ["WANG MING", 2, 29], [None, 1, 60], ["陳靜", 1, 5]]
    assert [list(items["ref"]) for items in s.owner_items] == [["A1", "A2"], ["A4"], ["A3"]]
    assert list(s.owner_items[0]["days_overdue"]) == [29, 10]


def test_overdue_actions_by_owner_as_of_a_day_inside_the_history(unit_store):
    s = screens.my_unit(unit_store, Filters.default(EARLIER, unit="DH"), None, "en")
    assert s.overdue_by_owner[["owner", "actions", "oldest_days_overdue"]].values.tolist() == [
        [None, 1, 45], ["Wang Ming", 1, 14]]
    assert [list(items["ref"]) for items in s.owner_items] == [["A4"], ["A1"]]


def test_due_within_seven_days_counts_the_as_of_day_and_the_six_after(unit_store):
    s = screens.my_unit(unit_store, Filters.default(T, unit="DH"), None, "en")
    assert s.due_within[["ref", "days_left"]].values.tolist() == [["A5", 0], ["A6", 6]]
    assert s.due_count == 2
    earlier = screens.my_unit(unit_store, Filters.default(EARLIER, unit="DH"), None, "en")
    assert earlier.due_within[["ref", "days_left"]].values.tolist() == [["A2", 5]]


def test_a_unit_heads_rank_counts_siblings_outside_their_scope_and_shows_none_of_them(unit_store):
    f = Filters.default(T, unit="DH")
    scoped = screens.my_unit(unit_store, f, "DH", "en")
    assert ranks(scoped) == ranks(screens.my_unit(unit_store, f, None, "en"))
    assert (scoped.parent_name, scoped.siblings) == (None, 3)  # the parent's name is outside the scope too
    shown = set(_strings(bench.plain(scoped)))
    assert not {"DHX", "DS", "定海新區分局", "岱山分局", "舟山港務管理局", "X2", "B1", "李華"} & shown  # nothing outside
    assert {"DH-02", "M3", "A5"} <= shown  # the unit's own rows are there


def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def test_the_top_unit_and_the_whole_organisation_have_no_rank(unit_store):
    top = screens.my_unit(unit_store, Filters.default(T, unit="HQ"), None, "en")
    assert (top.parent, top.siblings, len(top.ranks)) == (None, 0, 0)
    whole = screens.my_unit(unit_store, Filters.default(T), None, "en")
    assert (whole.parent, len(whole.ranks)) == (None, 0)
    assert whole.overdue_by_owner[["owner", "actions"]].values.tolist() == [
        ["WANG MING", 2], ["李華", 1], [None, 1], ["陳靜", 1]]  # B1, 107 days overdue, before A4's 60


def test_ordinals_and_places():
    assert [kpis.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th", "112th"]
    values = {"a": 3, "b": 1, "c": 3, "d": None, "e": 5}
    assert [metrics.rank(values, u, "lower") for u in "abcde"] == [(2, 4), (1, 4), (2, 4), None, (4, 4)]
    assert [metrics.rank(values, u, "higher") for u in "abcde"] == [(2, 4), (4, 4), (2, 4), None, (1, 4)]


# ---------------------------------------------------------------------------------------------
# The page, through dashboard.py under AppTest (the golden ledger)

APP = Path(__file__).parents[1]
AUTH = {"auth": {"redirect_uri": "http://127.0.0.1:1/oauth2callback", "cookie_secret": "test", "client_id": "x",
                 "client_secret": "y", "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"}}
EXPECTED = json.loads((SHARED / "golden" / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def golden_file(tmp_path_factory, cli, golden_imported) -> Path:
    db = tmp_path_factory.mktemp("my-unit") / "closeloop.duckdb"
    golden_imported(db)
    assert cli("user", "head@dh.example", "--role", "unit_editor", "--unit", "DH", "--db", db).returncode == 0
    return db


@pytest.fixture
def golden_page(tmp_path, monkeypatch, golden_file, fresh_caches):
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(golden_file, db)
    monkeypatch.setenv("CLOSELOOP_DB", str(db))

    def open_page(lang: str = "en", url: dict | None = None, user: dict | None = None) -> AppTest:
        at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=60)
        at.session_state["as_of"] = T
        at.query_params["lang"] = lang
        for key, value in (url or {}).items():
            at.query_params[key] = value
        if user is not None:
            at.secrets.update(AUTH)
            at.user = user
        at.run()
        assert not at.exception
        at.switch_page("pages/my_unit.py").run()
        assert not at.exception
        return at

    return open_page


def rank_cards(at: AppTest) -> dict[str, tuple[str, str]]:
    return {key: (at.get_by_key(f"rank-{key}").metric[0].value, at.get_by_key(f"rank-{key}").caption[0].value)
            for key, _, _ in kpis.RANKED}


def test_a_signed_in_unit_head_sees_their_own_unit_ranked(golden_page):
    at = golden_page(user={"is_logged_in": True, "email": "head@dh.example"})
    assert [title.value for title in at.title] == ["My unit"]
    assert [link.proto.label for link in at.sidebar.get("page_link")] == ["My unit"]  # one click away
    cards = rank_cards(at)
    dh = EXPECTED["unit:DH"]  # the golden answers for DH and the units below it
    assert cards["open"][1] == f"This unit: {dh['open']} · lower is better"
    assert cards["on_time_closure_rate"][1] == f"This unit: {dh['on_time_closure_rate']:.1%} · higher is better"
    assert cards["median_days_to_close_km"][1] == f"This unit: {dh['median_days_to_close_km']:.0f} · lower is better"
    assert cards["actions_overdue"][1] == f"This unit: {dh['actions_overdue']} · lower is better"


def test_the_page_shows_the_places_the_screen_computes(golden_page, golden_file):
    at = golden_page(url={"unit": "DH-02"})  # the local administrator: the sidebar's unit
    from closeloop import store

    con = store.connect(golden_file, create=False)
    expected = screens.my_unit(con, Filters.default(T, unit="DH-02"), None, "en")
    con.close()
    assert {key: value for key, (value, _) in rank_cards(at).items()} == dict(
        zip(expected.ranks["kpi"], expected.ranks["rank_text"]))
    assert [e.label for e in at.expander] == [
        f"{row.owner} · {row.actions} overdue · oldest {row.oldest_days_overdue} days overdue"
        for row in expected.overdue_by_owner.itertuples()]


def test_without_a_unit_the_page_asks_for_one(golden_page):
    at = golden_page("zh")
    assert at.sidebar.get("page_link") == []  # the local administrator has no unit of their own
    assert [i.value for i in at.info] == ["请在侧栏选择一个单位，查看它在同级单位中的排名。下方列表为全局的情况。"]
