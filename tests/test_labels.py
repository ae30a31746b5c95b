"""Names in the viewer's language come from the queries (terms.sql's label()); Python never picks an `_en` column."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from conftest import nc

from closeloop import store
from closeloop.filters import Filters

ROOT = Path(__file__).resolve().parents[1]
T = date(2026, 6, 30)
BOTH_BACKENDS = True

UNITS = [
    {"code": "HQ", "name": "舟山港務管理局", "name_en": "Zhoushan Port Authority", "parent": None},
    {"code": "DH", "name": "定海分局", "name_en": "Dinghai Branch", "parent": "HQ"},
    {"code": "DH-01", "name": "定海分局機關支部", "name_en": "Dinghai Office Branch", "parent": "DH"},
    {"code": "DS", "name": "岱山分局", "name_en": None, "parent": "HQ"},  # no English name: the stored one shows
]
CRITERIA = [
    {"code": "1.1", "title": "三會一課按期召開", "title_en": "Meetings held on time", "category": "組織建設",
     "category_en": "Organisation"},
    {"code": "2.1", "title": "黨員學習教育記錄", "title_en": None, "category": "思想建設", "category_en": None},  # none
]
FINDINGS = [
    nc("L-1", "DH-01", "2026-01-10", due_on="2026-02-10"),  # overdue at T, criterion 1.1
    nc("L-2", "DH-01", "2026-03-01", due_on="2026-04-01"),  # overdue, and a repeat of L-1 (same unit and criterion)
    nc("L-3", "DS", "2026-02-01", due_on="2026-03-01", criterion="2.1"),  # overdue in the unit without English
]
# the stored name, and what an English reader sees (its English name, else the stored one)
NAMES = {
    "DH-01": ("定海分局機關支部", "Dinghai Office Branch"), "DS": ("岱山分局", "岱山分局"),
    "1.1": ("三會一課按期召開", "Meetings held on time"), "2.1": ("黨員學習教育記錄", "黨員學習教育記錄"),
}


@pytest.fixture
def labelled(store_from_rows):
    return store_from_rows(FINDINGS, units=UNITS, criteria=CRITERIA)


def run(con, name: str, lang: str, **extra):
    return store.run(con, name, Filters.default(T).params() | {"lang": lang} | extra)


@pytest.mark.parametrize("lang,shown", [("en", 1), ("zh-Hans", 0), ("zh-Hant", 0)])
def test_the_queries_label_units_criteria_and_categories_in_the_language_asked(labelled, lang, shown):
    def named(*codes):
        return [NAMES[c][shown] for c in codes]

    overdue = run(labelled, "overdue_by_unit", lang)
    assert overdue[["unit", "label"]].values.tolist() == [list(p) for p in zip(["DH-01", "DS"], named("DH-01", "DS"))]
    assert list(overdue["name"]) == ["定海分局機關支部", "岱山分局"]  # the stored name stays beside it
    systemic = run(labelled, "systemic_criteria", lang)
    assert list(zip(systemic["criterion"], systemic["label"])) == list(zip(["1.1", "2.1"], named("1.1", "2.1")))
    repeats = run(labelled, "repeats_by_criterion", lang)
    assert list(zip(repeats["criterion"], repeats["label"])) == [("1.1", NAMES["1.1"][shown])]
    cells = run(labelled, "repeats_by_unit_criterion", lang)
    assert cells[["unit_label", "criterion_label"]].values.tolist() == [
        [["Dinghai Branch", "定海分局"][1 - shown], NAMES["1.1"][shown]]]
    categories = run(labelled, "opened_by_category", lang)
    assert list(zip(categories["category"], categories["label"])) == [
        ("組織建設", ["組織建設", "Organisation"][shown]), ("思想建設", "思想建設")]
    listed = store.run(labelled, "category_list", {"lang": lang})
    assert list(zip(listed["category"], listed["label"])) == [
        ("思想建設", "思想建設"), ("組織建設", ["組織建設", "Organisation"][shown])]
    tree = store.run(labelled, "unit_tree", {"scope": None, "lang": lang})
    assert list(tree["label"]) == [["舟山港務管理局", "Zhoushan Port Authority"][shown],
                                   ["定海分局", "Dinghai Branch"][shown], *named("DH-01", "DS")]
    record = run(labelled, "record_nonconformity", lang, ref="L-3", scope=None)
    assert list(record["unit_label"]) == named("DS")
    assert dict(store.run(labelled, "unit_labels", {"lang": lang}).values.tolist())["DH-01"] == NAMES["DH-01"][shown]


def test_every_query_that_names_in_a_language_takes_it_as_lang_and_labels_with_the_term():
    # a query with a label column gets it from terms.sql's label(), bound to $lang: never its own coalesce
    texts = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "queries").glob("*.sql")}
    labelled = sorted(name for name, text in texts.items() if "label(" in text)
    assert len(labelled) >= 12
    assert [name for name in labelled if "lang" not in store.parameters(texts[name])] == []
    assert [name for name, text in texts.items() if "coalesce(u.name_en" in text or "coalesce(c.title_en" in text
            or "coalesce(k.title_en" in text] == []


# ---------------------------------------------------------------------------------------------
# No Python picks the English column: a function that names an `_en` column and looks at the language


LANGUAGE_NAMES = {"lang", "language"}


def _mentions_language(node: ast.AST) -> bool:
    for n in ast.walk(node):
        if isinstance(n, (ast.Name, ast.arg)) and (getattr(n, "id", None) or getattr(n, "arg", None)) in LANGUAGE_NAMES:
            return True
        if isinstance(n, ast.Attribute) and n.attr in LANGUAGE_NAMES:
            return True
        if isinstance(n, ast.Constant) and n.value == "en":
            return True
    return False


def _english_columns(node: ast.AST) -> list[str]:
    """The `_en` column names a piece of code spells (as text or as an attribute), and a bare "_en" suffix."""
    found = []
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.endswith("_en") \
                and n.value.isidentifier():
            found.append(n.value)
        elif isinstance(n, ast.Attribute) and n.attr.endswith("_en"):
            found.append(n.attr)
    return found


def english_choices(source: str) -> list[str]:
    """The functions of a module (and its top level) that name an `_en` column and also look at the language,
    or test a name for the `_en` suffix: each one picks the English column in Python."""
    tree = ast.parse(source)
    scopes = [("<module>", [s for s in tree.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                         ast.ClassDef))])]
    scopes += [(n.name, [n]) for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    found = []
    for name, body in scopes:
        columns = [c for node in body for c in _english_columns(node)]
        if "_en" in columns or (columns and any(_mentions_language(node) for node in body)):
            found.append(f"{name}: {', '.join(sorted(set(columns)))}")
    return found


# Files whose _en names are not a language's column (none since the catalog moved to catalog.toml).
STORED_COLUMNS: set[str] = set()


def test_no_python_under_closeloop_or_pages_chooses_the_english_column():
    files = [*(ROOT / "closeloop").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "dashboard.py"]
    offenders = [f"{path.relative_to(ROOT)} {found}" for path in files
                 if str(path.relative_to(ROOT)) not in STORED_COLUMNS
                 for found in english_choices(path.read_text(encoding="utf-8"))]
    assert len(files) > 40 and offenders == []


@pytest.mark.parametrize("source", [
    # the forms the code had before the queries labelled names (each caught)
    'def label(lang):\n    return "name_en" if lang == "en" else "name"\n',
    'def units():\n    tree = query("unit_tree")\n    return tree.assign(label=tree["name_en"] if language() == "en" else tree["name"])\n',
    'def panel(nc):\n    return nc["unit_name_en"] if session.language() == "en" else nc["unit_name"]\n',
    'def send(units, lang):\n    return {c: (u.name_en or u.name) if lang == "en" else u.name for c, u in units.items()}\n',
    'def heatmap(cells, label):\n    return "criterion_title_en" if label.endswith("_en") else "criterion_title"\n',
    'def overview(lang):\n    category = "category_en" if lang == "en" else "category"\n    return category\n',
])
def test_the_check_catches_each_way_the_english_column_was_chosen(source):
    assert len(english_choices(source)) == 1


def test_the_check_leaves_a_label_column_and_a_search_over_both_names_alone():
    assert english_choices('def units(lang):\n    return query("unit_tree", lang=lang)["label"]\n') == []
    assert english_choices('def search(units, needle):\n    return units["name_en"].str.contains(needle)\n') == []
