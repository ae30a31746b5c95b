"""Who the viewer is: a users row wins, the provider's claims come next, anyone else has no role."""

from __future__ import annotations

import pytest

from closeloop import identity, store, workflow
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
    assert store.run(con, "unit_tree", {"scope": identity.NOWHERE}).empty
    assert len(store.run(con, "unit_tree", {"scope": None})) == 2


def test_an_owner_is_matched_by_login_email_or_name_ignoring_case_and_spaces():
    who = Identity("li@dh.example", "auditor", "DH", "李華")
    assert [who.is_owner(o) for o in ("李華", " LI@dh.example", "李华", None)] == [True, True, False, False]
