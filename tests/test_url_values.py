"""Bad values in a link: each ignored with a note, the filter at its default; a failing page says one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).parents[1]
# The filters a link with nothing usable opens on: the golden data's last day as of (filters.opening_as_of).
DEFAULT_CAPTION = "As of 2026-06-30, period 2025-07-01 to 2026-06-30, Whole organisation."

pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture(scope="module")
def golden_file(tmp_path_factory, golden_imported) -> Path:
    db = tmp_path_factory.mktemp("golden-store") / "closeloop.duckdb"
    golden_imported(db)
    return db


@pytest.fixture
def golden_store(tmp_path, monkeypatch, golden_file) -> Path:
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(golden_file, db)
    monkeypatch.setenv("CLOSELOOP_DB", str(db))
    return db


def opened(url: dict, page: str = "overview", lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=60)
    at.query_params["lang"] = lang
    for key, value in url.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    if page != "overview":
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception
    return at


def note(name: str, value: str) -> str:
    return f"The link's {name}={value} is not a value this filter can take: ignored, the default is used."


@pytest.mark.parametrize("url,ignored", [
    ({"as_of": "0001-01-01"}, [("as_of", "0001-01-01")]),
    ({"as_of": "9999-12-31"}, [("as_of", "9999-12-31")]),
    ({"as_of": "2026-02-30"}, [("as_of", "2026-02-30")]),
    ({"as_of": "abc"}, [("as_of", "abc")]),
    ({"since": "0001-01-01", "until": "9999-12-31"}, [("since", "0001-01-01"), ("until", "9999-12-31")]),
])
def test_a_date_no_filter_can_hold_is_ignored_with_a_note_and_the_default_used(golden_store, url, ignored):
    at = opened(url)
    captions = [c.value for c in at.caption]
    assert captions[0] == DEFAULT_CAPTION
    assert [c for c in captions if c.startswith("The link's")] == [note(k, v) for k, v in ignored]


def test_unknown_sources_are_noted_and_the_known_ones_kept(golden_store):
    at = opened({"as_of": "2026-06-30", "sources": "inspection,NOPE,<img>"})
    captions = [c.value for c in at.caption]
    assert captions[0] == ("As of 2026-06-30, period 2025-07-01 to 2026-06-30, Whole organisation. "
                           "source: Inspection")
    assert [c for c in captions if c.startswith("The link's")] == [note("sources", "NOPE,\\<img\\>")]


@pytest.mark.parametrize("days,shown", [("0", "0"), ("-5", "\\-5"), ("99999999999", "99999999999"), ("abc", "abc")])
def test_a_window_outside_1_to_3650_days_is_noted_and_365_used(golden_store, days, shown):
    at = opened({"as_of": "2026-06-30", "window_days": days}, page="recurrence")
    captions = [c.value for c in at.caption]
    assert captions[0].endswith("Whole organisation. Repeat window 365 days.")
    assert [c for c in captions if c.startswith("The link's")] == [note("window_days", shown)]


def test_the_note_speaks_chinese_too(golden_store):
    at = opened({"as_of": "abc"}, lang="zh")
    assert "链接中的 as_of=abc 无效，已忽略，使用默认值。" in [c.value for c in at.caption]


@pytest.mark.parametrize("lang,line", [
    ("en", "This page failed to show; the details are in the server's log for the administrator."),
    ("zh", "此页面出错，未能显示；错误详情已记入服务器日志，请联系管理员。"),
])
def test_a_page_that_fails_says_one_line_and_shows_no_traceback(golden_store, lang, line):
    # A real fault: the reviews table gone from the store (the schema's version says it is there).
    con = duckdb.connect(str(golden_store))
    con.execute("drop table reviews cascade")
    con.close()
    at = opened({}, page="review", lang=lang)
    assert ([e.value for e in at.error], len(at.exception)) == ([line], 0)


def test_the_browser_is_never_shown_error_details():
    import tomllib

    config = tomllib.loads((APP / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
