"""Ledgers as they really come: text that looks like a formula, round trips, unknown values mapped, Big5, odd cells."""

from __future__ import annotations

import dataclasses

from closeloop import ledger, store


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
