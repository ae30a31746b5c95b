"""The unit picker's options: the whole tree when it is small; when large, the chosen unit's path or a search."""

from __future__ import annotations

import pytest

from closeloop import filters, store


@pytest.fixture
def tree(store_from_rows):
    """conftest's seven units in tree order, as the sidebar gets them."""
    return store.run(store_from_rows([]), "unit_tree", {"scope": None, "lang": "en"})


@pytest.fixture
def large(monkeypatch):
    """Seven units count as many."""
    monkeypatch.setattr(filters, "UNITS_LISTED_WHOLE", 6)


def test_a_small_tree_is_offered_whole(tree):
    assert filters.unit_options(tree, "DS") == (["HQ", "DH", "DH-01", "DH-01-1", "DH-02", "DHX", "DS"], 0)


@pytest.mark.usefixtures("large")
@pytest.mark.parametrize("chosen,offered", [
    (None, ["HQ", "DH", "DHX", "DS"]),  # the top and the units one level below it
    ("DS", ["HQ", "DH", "DHX", "DS"]),  # a unit with nothing below it
    ("DH", ["HQ", "DH", "DH-01", "DH-02", "DHX", "DS"]),
    ("DH-01-1", ["HQ", "DH", "DH-01", "DH-01-1", "DH-02", "DHX", "DS"]),  # every level down to it, opened
])
def test_a_large_tree_is_offered_opened_along_the_chosen_units_path(tree, chosen, offered):
    assert filters.unit_options(tree, chosen) == (offered, 0)


@pytest.mark.usefixtures("large")
@pytest.mark.parametrize("search,offered,matching", [
    ("支部", ["DH-01", "DH-02", "DS"], 2),  # by name, with the chosen unit DS
    ("dh-0", ["DH-01", "DH-01-1", "DH-02", "DS"], 3),  # by code, in any case
    ("ＤＨＸ", ["DHX", "DS"], 1),  # full-width as typed by an input method
    ("港務管理局 ", ["HQ", "DS"], 1),
    ("沒有這個單位", ["DS"], 0),
])
def test_a_search_offers_the_units_whose_code_or_name_contains_it(tree, search, offered, matching):
    assert filters.unit_options(tree, "DS", search) == (offered, matching)


@pytest.mark.usefixtures("large")
def test_a_search_lists_the_closest_matches_when_there_are_too_many(tree, monkeypatch):
    monkeypatch.setattr(filters, "UNIT_MATCHES_LISTED", 2)
    # 分局 ends the names of DH, DHX and DS; DH's and DS's are the shorter; DH-01 and DH-02 go on after it.
    assert filters.unit_options(tree, None, "分局") == (["DH", "DS"], 5)
