"""A viewer held to one unit sees that unit named wherever a page or the pack says what it shows, never "whole
organisation", when no unit is chosen in the sidebar."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import AS_OF, action, nc
from streamlit.testing.v1 import AppTest

from closeloop import report
from closeloop.filters import Filters

BOTH_BACKENDS = True  # the pack's tests, on literal rows; the pages read the golden ledger from a DuckDB file

APP = Path(__file__).parents[1]
AUTH = {"auth": {"redirect_uri": "http://127.0.0.1:1/oauth2callback", "cookie_secret": "test", "client_id": "x",
                 "client_secret": "y", "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration"}}
# Every page whose caption says what it shows, as dashboard.py lists them.
PAGES = ("overview", "review", "units", "rectification", "recurrence", "time_to_close", "data", "objectives",
         "inspections", "satisfaction", "my_unit")
# DH, the golden ledger's 定海分局, has no English name: English shows the name it has.
IN_VIEW = {"zh-Hans": "定海分局 及其下级单位", "en": "定海分局 and the units below it"}
WHOLE = {"zh-Hans": "全局", "en": "Whole organisation"}
# How the sentence that says what a page shows begins (filters.describe), as of AS_OF: the unit in view follows.
SENTENCE = {"zh-Hans": "截至 2026-06-30，统计期间 2025-07-01 至 2026-06-30，",
            "en": "As of 2026-06-30, period 2025-07-01 to 2026-06-30, "}


@pytest.fixture(scope="module")
def golden_file(tmp_path_factory, cli, golden_imported) -> Path:
    db = tmp_path_factory.mktemp("scoped") / "closeloop.duckdb"
    golden_imported(db)
    assert cli("user", "viewer@dh.example", "--role", "viewer", "--unit", "DH", "--db", db).returncode == 0
    return db


@pytest.fixture
def signed_in_page(tmp_path, monkeypatch, golden_file, fresh_caches):
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(golden_file, db)
    monkeypatch.setenv("CLOSELOOP_DB", str(db))

    def open_app(lang: str) -> AppTest:
        at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=60)
        at.session_state["as_of"] = AS_OF
        at.query_params["lang"] = lang
        at.secrets.update(AUTH)
        at.user = {"is_logged_in": True, "email": "viewer@dh.example"}
        at.run()
        assert not at.exception
        return at

    return open_app


@pytest.mark.parametrize("lang", ["zh-Hans", "en"])
def test_a_viewer_held_to_dh_sees_dh_named_in_every_pages_caption(signed_in_page, lang):
    at = signed_in_page(lang)
    captions, top = {}, []
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception and not at.error, page  # dashboard.py shows a failed page as an error
        captions[page] = [c.value for c in at.main.caption if c.value.startswith(SENTENCE[lang])]
        if page == "units":
            top = [b.label for b in at.main.button if b.label in ("定海分局", WHOLE[lang])]
    assert {page: [IN_VIEW[lang] in c and WHOLE[lang] not in c for c in shown] for page, shown in captions.items()} \
        == dict.fromkeys(PAGES, [True])  # one sentence each, naming DH and not the whole organisation
    assert top == ["定海分局"]  # the units page's way back up starts at DH, not at the whole organisation


# ---------------------------------------------------------------------------------------------
# The pack, built as the page builds it: the filters with no unit, and the viewer's scope


@pytest.fixture
def small_store(store_from_rows):
    """One open finding in DH-01, one in DS (outside DH), each with an overdue action."""
    return store_from_rows(
        [nc("N-DH", "DH-01", "2026-03-01", "2026-04-01"), nc("N-DS", "DS", "2026-03-01", "2026-04-01")],
        [action("A-DH", "N-DH", "2026-05-01"), action("A-DS", "N-DS", "2026-05-01")],
    )


@pytest.mark.parametrize("lang, below, whole", [("zh-Hans", "定海分局 及其下级单位", "全局"),
                                                ("en", "定海分局 and the units below it", "Whole organisation")])
def test_the_pack_of_a_viewer_held_to_dh_names_dh_on_its_cover_and_in_its_sentence(small_store, lang, below,
                                                                                    whole):
    scoped = report.gather(small_store, Filters.default(AS_OF), lang, "DH")
    everyone = report.gather(small_store, Filters.default(AS_OF), lang, None)
    assert (scoped.scope, scoped.unit, below in scoped.sentence, whole in scoped.sentence) == (
        "定海分局", "DH", True, False)
    assert (everyone.scope, everyone.unit, below in everyone.sentence, whole in everyone.sentence) == (
        whole, None, False, True)
