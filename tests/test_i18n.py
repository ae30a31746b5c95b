"""The catalog: every language for every entry, and an entry for every key the code and the queries use."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from closeloop import i18n, ledger, store
from closeloop.i18n import CATALOG, LANGUAGES, translate

ROOT = Path(__file__).resolve().parents[1]


def python_files() -> list[Path]:
    """Every Python file of the app, including ones added after this test was written."""
    files = [*(ROOT / "closeloop").rglob("*.py"), *(ROOT / "pages").rglob("*.py"), *ROOT.glob("*.py")]
    return sorted(files)


def text(key: str, lang: str) -> str:
    """An entry's text in one language, "" where it has none (translate would stop at the first)."""
    return i18n.traditional()[key] if lang == "zh-Hant" else CATALOG[key].get(i18n.SOURCE[lang], "")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def keyed_errors(trees: dict[Path, ast.Module]) -> set[str]:
    """Exception classes whose first argument is a catalog key (they store it as self.key)."""
    names = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and "self.key = key" in ast.unparse(node):
                names.add(node.name)
    return names


def called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def key_arguments(trees: dict[Path, ast.Module]):
    """(where, key or f-string prefix, is_prefix) for t("…"), translate(lang, "…") and Error("…") calls."""
    errors = keyed_errors(trees)
    for path, tree in trees.items():
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = called_name(call)
            position = {"t": 0, "translate": 1}.get(name, 0 if name in errors else None)
            if position is None or len(call.args) <= position:
                continue
            arg, where = call.args[position], f"{path.relative_to(ROOT)}:{call.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield where, arg.value, False
            elif isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
                yield where, arg.values[0].value, True


def enums() -> dict[str, list[str]]:
    """The schema's enumerations: type name → values."""
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(store.SCHEMA.glob("[0-9][0-9][0-9]_*.sql")))
    return {
        name: re.findall(r"'([^']+)'", values)
        for name, values in re.findall(r"create type (\w+) as enum \(([^)]*)\)", text)
    }


def problem_reasons() -> set[str]:
    text = store.sql("import_problems")
    return set(re.findall(r"(?:then|,)\s*'([a-z_]+)'(?:\s+as \w*reason\b|\s*(?:end|from)\b)", text)) | set(ledger.READ_REASONS)


def test_every_catalog_entry_has_text_in_every_language():
    # One test naming every offender (an entry per key made a thousand tests of one check).
    missing = [f"{key}: {lang}" for key in CATALOG for lang in LANGUAGES if not text(key, lang).strip()]
    assert missing == []


def test_every_language_of_an_entry_uses_the_same_placeholders():
    differ = [f"{key}: {lang}" for key in CATALOG for lang in LANGUAGES
              if placeholders(text(key, lang)) != placeholders(text(key, "en"))]
    assert differ == []


def test_the_scan_finds_the_keys_of_the_command_line():
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in python_files()}
    found = {(key, prefix) for where, key, prefix in key_arguments(trees) if where.startswith("closeloop/cli.py")}
    assert {("import_problem_line", False), ("reason_", True), ("store_not_empty", False),
            ("bad_date", False)} <= found
    assert {"Refused"} <= keyed_errors(trees)


def test_every_literal_key_in_the_code_is_in_the_catalog():
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in python_files()}
    missing = [f"{where}: {key}" for where, key, prefix in key_arguments(trees) if not prefix and key not in CATALOG]
    assert missing == []


def test_every_key_prefix_in_the_code_has_its_entries():
    # f"source_{s}" needs an entry per value of the enumeration `source`, f"reason_{…}" one per reason
    # of the import checks; any other prefix needs at least one entry.
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in python_files()}
    domains = {f"{name}_": values for name, values in enums().items()} | {"reason_": sorted(problem_reasons())}
    missing = []
    for where, prefix, is_prefix in key_arguments(trees):
        if not is_prefix:
            continue
        if prefix in domains:
            missing += [f"{where}: {prefix}{v}" for v in domains[prefix] if f"{prefix}{v}" not in CATALOG]
        elif not any(key.startswith(prefix) for key in CATALOG):
            missing.append(f"{where}: {prefix}…")
    assert missing == []


def test_every_reason_the_import_checks_give_has_a_message():
    reasons = problem_reasons()
    assert {"missing", "duplicate_key", "unit_cycle", "not_a_date", "formula"} <= reasons  # the scan works
    assert sorted(r for r in reasons if f"reason_{r}" not in CATALOG) == []


def test_no_two_columns_of_a_table_share_a_name_in_any_language():
    # A table with two columns of the same translated name cannot be shown (pyarrow refuses it).
    from closeloop.i18n import CATALOG

    columns = [key for key in CATALOG if key.startswith("col_")]
    for lang in LANGUAGES:
        names = [translate(lang, key) for key in columns]
        assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


def test_no_key_is_written_twice_in_the_catalog():
    """One entry per key in catalog.toml: a second entry of a key would make the whole catalog unreadable."""
    text = (ROOT / "closeloop" / "catalog.toml").read_text(encoding="utf-8")
    keys = re.findall(r"^([A-Za-z0-9_-]+) = \{", text, flags=re.MULTILINE)
    assert len(keys) == len(CATALOG) > 0
    assert sorted({k for k in keys if keys.count(k) > 1}) == []



def test_every_column_a_ledger_sheet_may_map_to_has_a_label_in_the_catalog():
    from closeloop import ledger

    missing = [f"target_{kind}_{column}" for kind, columns in ledger.COLUMNS.items() for column in columns
               if f"target_{kind}_{column}" not in i18n.CATALOG]
    assert missing == []  # the Data page's mapping step shows each by its label
