"""Who the viewer is: a users row wins, the provider's claims come next, anyone else has no role."""

from __future__ import annotations

from datetime import date

import pytest

from closeloop import identity, ledger, store, workflow
from closeloop.filters import Filters
from closeloop.identity import Identity


@pytest.fixture
def con(tmp_path):
    con = store.connect(tmp_path / "store.duckdb")
    con.execute("insert into units (code, name, path, depth) values ('HQ', '總局', '/HQ/', 0), "
                "('DH', '定海分局', '/HQ/DH/', 1)")
    workflow.set_user(con, identity.local_administrator("admin"), "li@dh.example", role="auditor", unit="DH",
                      name="李華")
    yield con
    con.close()


def test_a_users_row_gives_the_role_and_unit_whatever_the_case_of_the_email(con):
    assert identity.lookup(con, " Li@DH.example ") == Identity("li@dh.example", "auditor", "DH", "李華")


def test_the_providers_claims_give_a_role_and_unit_when_the_store_has_no_row():
    claims = {"email": "wang@dh.example", "closeloop_role": "unit_editor", "closeloop_unit": "DH", "name": "王明"}
    assert identity.from_claims("Wang@DH.example", claims) == Identity("wang@dh.example", "unit_editor", "DH", "王明")


def test_claims_with_an_unknown_role_give_no_role_and_a_scope_that_holds_nothing():
    who = identity.from_claims("x@elsewhere.example", {"closeloop_role": "superuser"})
    assert (who.role, who.may("done"), who.scope) == (None, False, identity.NOWHERE)


@pytest.mark.parametrize("role,moves", [
    ("viewer", set()),
    ("unit_editor", {"add_action", "start", "done", "extend", "cancel"}),
    ("auditor", {"verify", "reopen"}),
    ("administrator", {"add_action", "start", "done", "extend", "cancel", "verify", "reopen", "manage_users"}),
])
def test_each_role_may_make_its_moves_only(role, moves):
    every = {"add_action", "start", "done", "extend", "cancel", "verify", "reopen", "manage_users"}
    assert {m for m in every if Identity("x", role).may(m)} == moves


def test_the_nowhere_scope_sees_no_unit(con):
    assert store.run(con, "unit_tree", {"scope": identity.NOWHERE, "lang": "en"}).empty
    assert len(store.run(con, "unit_tree", {"scope": None, "lang": "en"})) == 2


def test_an_owner_is_matched_by_login_email_or_name_ignoring_case_spaces_and_script(con):
    who = Identity("li@dh.example", "auditor", "DH", "李華")
    matched = con.execute("select o, is_owned_by(o, $names) from unnest(['李華', ' LI@dh.example', '李华 ', '李花', "
                          "'李', null]) with ordinality as u(o, i) order by i", {"names": who.names}).fetchall()
    # 李花 differs by one character; no owner is not anyone's (a filter drops it)
    assert matched == [("李華", True), (" LI@dh.example", True), ("李华 ", True), ("李花", False), ("李", False),
                       (None, None)]


def test_the_mine_view_lists_the_viewers_open_actions_by_any_of_their_names_in_any_case_or_script(write_ledger, tmp_path):
    # LEDGER: CA-2 (open, on NC-2) is owned by 李華; CA-1, owned by 王明, is done.
    con = store.connect(tmp_path / "mine.duckdb")
    assert ledger.load(con, ledger.read([write_ledger()]), actor="test").ok
    params = Filters.default(date(2026, 6, 30)).params() | {"view": "mine", "limit": 100}
    mine = {names: list(store.run(con, "rectification_actions", params | {"me": list(names)})["ref"])
            for names in [(" 李華 ",), ("li@dh.example", "李華"), ("李华",), ("王明",), ()]}
    assert mine == {(" 李華 ",): ["CA-2"], ("li@dh.example", "李華"): ["CA-2"], ("李华",): ["CA-2"], ("王明",): [], (): []}
    assert list(store.run(con, "rectification_nonconformities", params | {"me": ["李華"]})["ref"]) == ["NC-2"]
