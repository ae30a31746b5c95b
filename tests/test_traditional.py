"""Traditional Chinese: the catalog made from the Simplified, the languages chosen, and what follows them."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from closeloop import export, i18n, ledger, store
from closeloop.filters import Filters
from closeloop.i18n import translate
from tests.hanzi import simplified_in

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "golden"


def test_every_traditional_entry_is_free_of_simplified_only_characters():
    found = {key: "".join(simplified_in(text)) for key, text in i18n.traditional().items() if simplified_in(text)}
    assert found == {}


# Each term of this domain checked by hand against how Traditional ledgers and the design write it.
# OpenCC's s2tw gets all but two right; TERM_FIXES mends those (台賬, 重複 after 後).
REVIEWED_TERMS = {
    "整改": "整改", "台账": "台賬", "整改台账": "整改台賬", "闭环": "閉環", "考核细则": "考核細則", "单位": "單位",
    "数据": "數據", "账龄": "賬齡", "关闭": "關閉", "逾期": "逾期", "责任人": "責任人", "演示": "演示",
    "不合格项": "不合格項", "内部审核": "內部審核", "上级考核": "上級考核", "管理评审": "管理評審",
    "满意度调查": "滿意度調查", "重复发生": "重複發生", "关闭后重复发生": "關閉後重複發生", "验证关闭": "驗證關閉",
    "按期关闭率": "按期關閉率", "纠正措施": "糾正措施", "预防措施": "預防措施", "整改措施": "整改措施",
    "导入": "導入", "导出": "導出", "数据库": "數據庫", "筛选": "篩選", "下钻": "下鑽", "时长分布": "時長分佈",
    "逾期占比": "逾期佔比", "汇总": "彙總", "截至日期": "截至日期", "问题来源": "問題來源", "严重程度": "嚴重程度",
    "党风廉政": "黨風廉政", "组织建设": "組織建設", "为期内": "為期內", "考核类别": "考核類別",
}


def test_the_reviewed_terms_read_as_traditional_ledgers_write_them():
    assert {s: i18n.to_traditional(s) for s in REVIEWED_TERMS} == REVIEWED_TERMS


def test_translate_speaks_three_languages_and_takes_the_old_zh_as_simplified():
    assert [translate(lang, "app_title") for lang in ("zh-Hans", "zh", "zh-Hant", "en")] == [
        "闭环 · 整改闭环管理", "闭环 · 整改闭环管理", "閉環 · 整改閉環管理", "Closeloop · rectification to closure"]
    assert translate("zh-Hant", "kpi_open") == "未關閉"
    # an entry's own "zh-Hant" wins over the generated text (the picker says 繁體, not 簡體)
    assert [translate(lang, "language_name") for lang in i18n.LANGUAGES] == ["简体", "繁體", "English"]


@pytest.mark.parametrize("locale,lang", [
    ("zh-TW", "zh-Hant"), ("zh-HK", "zh-Hant"), ("zh-MO", "zh-Hant"), ("zh-Hant", "zh-Hant"),
    ("zh-Hant-TW", "zh-Hant"), ("zh_TW.UTF-8", "zh-Hant"), ("zh_HK.Big5HKSCS", "zh-Hant"),
    ("zh-CN", "zh-Hans"), ("zh-SG", "zh-Hans"), ("zh", "zh-Hans"), ("zh-Hans-HK", "zh-Hans"),
    ("zh_CN.UTF-8", "zh-Hans"), ("en-US", "en"), ("fr-FR", "en"), ("C.UTF-8", "en"), ("", "en"), (None, "en"),
])
def test_a_locale_picks_its_language(locale, lang):
    assert i18n.language_from_locale(locale) == lang


@pytest.mark.parametrize("closeloop_lang,lang_env,lang", [
    (None, "zh_TW.UTF-8", "zh-Hant"), (None, "zh_HK.UTF-8", "zh-Hant"), (None, "zh_CN.UTF-8", "zh-Hans"),
    ("zh", "en_US.UTF-8", "zh-Hans"), ("zh-Hant", None, "zh-Hant"), ("en", "zh_TW.UTF-8", "en"),
    (None, None, "en"),
])
def test_the_command_line_language_follows_closeloop_lang_then_lang(monkeypatch, closeloop_lang, lang_env, lang):
    for name, value in (("CLOSELOOP_LANG", closeloop_lang), ("LANG", lang_env)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert i18n.cli_language() == lang


# ---------------------------------------------------------------------------------------------
# What follows the language: the command line, exports, the pack


def run(*args, **env) -> subprocess.CompletedProcess:
    """`python -m closeloop ARGS` in a fresh process whose language comes from `env` alone."""
    environment = {k: v for k, v in os.environ.items() if k not in ("CLOSELOOP_DB", "CLOSELOOP_LANG")} | env
    return subprocess.run([sys.executable, "-m", "closeloop", *map(str, args)], cwd=Path(__file__).parents[1],
                          env=environment, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("env,line", [
    ({"LANG": "zh_TW.UTF-8"}, "日期格式無效：2026-13-01（應為 YYYY-MM-DD）"),
    ({"LANG": "zh_HK.UTF-8"}, "日期格式無效：2026-13-01（應為 YYYY-MM-DD）"),
    ({"LANG": "zh_CN.UTF-8"}, "日期格式无效：2026-13-01（应为 YYYY-MM-DD）"),
    ({"LANG": "en_US.UTF-8", "CLOSELOOP_LANG": "zh-Hant"}, "日期格式無效：2026-13-01（應為 YYYY-MM-DD）"),
    ({"LANG": "zh_TW.UTF-8", "CLOSELOOP_LANG": "en"}, "Not a date: 2026-13-01 (expected YYYY-MM-DD)"),
])
def test_the_command_line_speaks_the_language_of_lang(tmp_path, env, line):
    done = run("metrics", "--db", tmp_path / "none.duckdb", "--as-of", "2026-13-01", **env)
    assert (done.returncode, done.stderr.strip()) == (2, f"python -m closeloop metrics: argument --as-of: {line}")


@pytest.fixture
def golden(tmp_path):
    con = store.connect(tmp_path / "golden.duckdb")
    assert ledger.load(con, ledger.read([GOLDEN]), actor="test").ok
    yield con
    con.close()


def test_a_traditional_export_is_in_traditional_and_imports_back_as_a_no_op(golden, tmp_path):
    rows = store.run(golden, "ledger_rows", Filters.default(date(2026, 6, 30)).replace(since=date(2000, 1, 1)).params())
    table = export.ledger_table(rows, "zh-Hant")
    assert list(table.columns[:6]) == ["問題編號\nref", "單位\nunit", "審核編號\naudit", "考核細則\ncriterion",
                                       "問題來源\nsource", "嚴重程度\nseverity"]
    assert set(table["問題來源\nsource"]) == {"內部審核", "檢查", "滿意度調查", "管理評審", "上級考核"}
    assert set(table["整改狀態\nstatus"]) == {"未整改", "整改中", "待驗證", "已關閉"}
    before = golden.execute("select count(*) from events").fetchone()
    for name, data in (("ledger.xlsx", export.ledger_xlsx(table)), ("ledger.csv", export.csv_bytes(table))):
        (tmp_path / name).write_bytes(data)
        outcome = ledger.load(golden, ledger.read([tmp_path / name]), actor="test")
        assert (outcome.problems, outcome.changed) == ([], dict.fromkeys(ledger.KINDS, 0))
    assert golden.execute("select count(*) from events").fetchone() == before


def test_the_template_in_traditional_names_its_sheet_columns_and_choices_in_traditional():
    book = load_workbook(io.BytesIO(export.template_bytes("zh-Hant")))
    ws = book["整改台賬"]
    assert [c.value for c in ws[1]][:2] == ["問題編號\nref", "單位\nunit"]
    listed = {str(v.sqref): v.formula1 for v in ws.data_validations.dataValidation}
    assert listed["E2:E2000"] == '"內部審核,檢查,滿意度調查,管理評審,上級考核"'
    assert book.sheetnames[1] == translate("zh-Hant", "template_notes_sheet") == "填表說明"


@pytest.mark.parametrize("asked,written", [("zh-Hant", "繁"), ("zh", "简"), ("zh-Hans", "简")])
def test_export_takes_zh_hant_and_the_old_zh(tmp_path, asked, written):
    db = tmp_path / "golden.duckdb"
    assert run("import", GOLDEN, "--db", db, CLOSELOOP_LANG="en").returncode == 0
    out = tmp_path / "out.csv"
    done = run("export", "--out", out, "--db", db, "--as-of", "2026-06-30", "--lang", asked, CLOSELOOP_LANG="en")
    assert done.returncode == 0, done.stderr
    header = out.read_text(encoding="utf-8-sig").split(",")[0]
    assert header == {"繁": '"問題編號\nref"', "简": '"问题编号\nref"'}[written]


def test_export_refuses_a_language_it_does_not_speak_in_one_line(tmp_path):
    done = run("export", "--out", tmp_path / "x.csv", "--lang", "fr", CLOSELOOP_LANG="en")
    assert (done.returncode, done.stderr.count("\n"), "zh-Hant" in done.stderr) == (2, 1, True)


def test_the_pack_in_traditional_has_no_simplified_only_character(golden, tmp_path):
    from closeloop import report

    book = load_workbook(io.BytesIO(report.build(golden, Filters.default(date(2026, 6, 30)), "zh-Hant", "xlsx")))
    assert book.sheetnames[0] == translate("zh-Hant", "pack_kpis")
    words = "".join(str(c.value) for ws in book for row in ws.iter_rows() for c in row if isinstance(c.value, str))
    assert "未關閉" in words and simplified_in(words) == []


# ---------------------------------------------------------------------------------------------
# The dashboard: ?lang= and the picker


@pytest.fixture
def served_golden(tmp_path, monkeypatch, golden, fresh_caches):
    monkeypatch.setenv("CLOSELOOP_DB", str(tmp_path / "golden.duckdb"))
    golden.close()


@pytest.mark.parametrize("asked,lang,title", [
    ("zh-Hant", "zh-Hant", "管理評審總覽"), ("zh", "zh-Hans", "管理评审总览"), ("zh-Hans", "zh-Hans", "管理评审总览"),
])
def test_lang_in_the_url_picks_the_script_and_the_picker_offers_all_three(served_golden, asked, lang, title):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).parents[1] / "dashboard.py"), default_timeout=60)
    at.session_state["as_of"] = date(2026, 6, 30)
    at.query_params["lang"] = asked
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == [title]
    (picker,) = at.get_by_key("lang")
    assert (picker.value, picker.options) == (lang, ["简体", "繁體", "English"])


# ---------------------------------------------------------------------------------------------
# What was still English (or Chinese) in the wrong language


def test_a_download_spells_yes_and_no_and_keeps_whole_numbers_whole():
    import pandas as pd

    from closeloop import drill

    rows = pd.DataFrame({"ref": ["NC-1", "=NC-2"], "days": pd.array([13, None], dtype="Int64"),
                         "overdue": [True, False], "repeat": pd.array([None, True], dtype="boolean")})
    for lang, (yes, no) in {"zh-Hant": ("是", "否"), "en": ("Yes", "No")}.items():
        text = export.csv_bytes(drill.spelled(rows, i18n.translator(lang))).decode("utf-8-sig")
        assert text.splitlines() == ["ref,days,overdue,repeat", f"NC-1,13,{yes},", f"'=NC-2,,{no},{yes}"]


def test_every_column_the_import_can_map_to_has_a_label():
    from closeloop import ledger

    missing = [f"target_{kind}_{c}" for kind, columns in ledger.COLUMNS.items() for c in columns
               if f"target_{kind}_{c}" not in i18n.CATALOG]
    assert missing == []
    assert translate("zh-Hant", "target_nonconformities_found_on") == "發現日期"


@pytest.fixture
def demo_store(tmp_path, monkeypatch, fresh_caches):
    from closeloop import demo

    db = tmp_path / "demo.duckdb"
    con = store.connect(db)
    demo.build(con, ncs=300)
    names = dict(con.execute("select code, name_en from units").fetchall())
    con.close()
    monkeypatch.setenv("CLOSELOOP_DB", str(db))
    return names


def test_an_english_table_names_units_in_english_as_the_chart_beside_it_does(demo_store):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).parents[1] / "dashboard.py"), default_timeout=60)
    at.query_params["lang"] = "en"
    at.run()
    at.switch_page("pages/units.py").run()
    assert not at.exception
    (items,) = [d.value for d in at.dataframe if {"Unit", "Unit name"} <= set(d.value.columns)]  # the open items
    assert len(items) > 10
    assert list(items["Unit name"]) == [demo_store[code] for code in items["Unit"]]


def test_an_empty_table_says_so_in_the_viewers_language_not_the_grids_empty(served_golden):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).parents[1] / "dashboard.py"), default_timeout=60)
    at.session_state["as_of"] = date(2020, 1, 1)  # before the golden ledger's first finding: nothing is open
    at.query_params["lang"] = "zh-Hant"
    at.run()
    at.switch_page("pages/units.py").run()
    assert not at.exception
    box = at.get_by_key("open-items")
    assert ([c.value for c in box.caption], len(box.dataframe)) == (["沒有記錄"], 0)


def test_the_pdf_pack_in_traditional_embeds_the_tc_face_and_holds_no_simplified_only_character(tmp_path):
    db = tmp_path / "golden.duckdb"
    assert run("import", GOLDEN, "--db", db, CLOSELOOP_LANG="en").returncode == 0
    out = tmp_path / "pack.pdf"
    done = run("report", "--db", db, "--as-of", "2026-06-30", "--out", out, LANG="zh_HK.UTF-8")
    assert done.returncode == 0, done.stderr
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert re.search(r"舟山港務管理局\s+管理評審會議資料", text.split("\f")[0])
    assert simplified_in(text) == []
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"\+NotoSansCJKTC\s", fonts) and "NotoSansCJKSC" not in fonts


SHOWN = ("title", "header", "subheader", "caption", "markdown", "info", "warning", "error", "success", "button",
         "tabs", "metric", "selectbox", "multiselect", "radio", "text_input", "date_input", "button_group",
         "toggle", "checkbox", "number_input", "expander")


@pytest.mark.parametrize("page", ["overview", "review", "units", "rectification", "recurrence", "time_to_close",
                                  "data"])
def test_every_page_in_traditional_shows_no_simplified_only_character(served_golden, page):
    # The golden ledger's own names are Traditional, so only the language picker is left out: it names
    # each language in its own script (语言 / 語言 / Language; 简体) so that a reader of Simplified finds it.
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).parents[1] / "dashboard.py"), default_timeout=60)
    at.session_state["as_of"] = date(2026, 6, 30)
    at.query_params["lang"] = "zh-Hant"
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    texts = [str(d.value.columns.tolist()) for d in at.dataframe]
    for element in (e for kind in SHOWN for e in getattr(at, kind) if getattr(e, "key", None) != "lang"):
        for attribute in ("value", "label", "help", "placeholder", "options"):
            value = getattr(element, attribute, None)
            texts += [value] if isinstance(value, str) else [str(v) for v in value or []] \
                if isinstance(value, (list, tuple)) else []
    assert len(texts) > 50
    assert [text for text in texts if simplified_in(text)] == []
