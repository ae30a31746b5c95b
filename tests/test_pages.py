"""Every page through dashboard.py under AppTest, and what the Overview shows for preset filters."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from closeloop import i18n

APP = Path(__file__).parents[1]
AS_OF = date(2026, 6, 30)

# Every page file of the navigation, and the title it shows in each language.
TITLES = {
    "overview": {"zh": "管理评审总览", "en": "Overview"},
    "units": {"zh": "单位", "en": "Units"},
    "rectification": {"zh": "整改跟踪", "en": "Rectification"},
    "recurrence": {"zh": "重复发生", "en": "Recurrence"},
    "time_to_close": {"zh": "整改时效", "en": "Time to close"},
    "data": {"zh": "数据", "en": "Data"},
    "review": {"zh": "管理评审", "en": "Management review"},
    "objectives": {"zh": "目标管理", "en": "Objectives"},
    "inspections": {"zh": "检查计划", "en": "Inspection programme"},
    "satisfaction": {"zh": "群众满意度", "en": "Satisfaction"},
    "my_unit": {"zh": "我的单位", "en": "My unit"},
}

# The Overview's KPI row: container key → label, in each language.
KPI_LABELS = {
    "zh": {
        "open": "未关闭", "overdue": "已逾期", "opened_in_period": "期内新增", "closed_in_period": "期内关闭",
        "on_time_closure_rate": "按期关闭率", "median_days_to_close_km": "整改天数中位数",
        "recurrence_rate": "重复发生率", "actions_overdue": "逾期整改措施",
    },
    "en": {
        "open": "Open", "overdue": "Overdue", "opened_in_period": "Opened in period",
        "closed_in_period": "Closed in period", "on_time_closure_rate": "On-time closure rate",
        "median_days_to_close_km": "Median days to close", "recurrence_rate": "Recurrence rate",
        "actions_overdue": "Open actions overdue",
    },
}


pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture(scope="module")
def golden_store_file(tmp_path_factory, cli, golden_dir) -> Path:
    """The golden ledger imported once with the command line; tests open copies of it."""
    db = tmp_path_factory.mktemp("golden-store") / "closeloop.duckdb"
    done = cli("import", golden_dir, "--db", db)
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture(scope="module")
def cli_metrics(cli, golden_store_file) -> dict:
    """`python -m closeloop metrics --as-of 2026-06-30`, for the whole organisation and for unit DH."""
    scopes = {"all": [], "DH": ["--unit", "DH"]}
    out = {}
    for scope, extra in scopes.items():
        done = cli("metrics", "--db", golden_store_file, "--as-of", AS_OF.isoformat(), *extra)
        assert done.returncode == 0, done.stderr
        out[scope] = json.loads(done.stdout)
    return out


@pytest.fixture
def golden_store(tmp_path, monkeypatch, golden_store_file) -> Path:
    """A private copy of the golden store, made the dashboard's store through CLOSELOOP_DB."""
    db = tmp_path / "closeloop.duckdb"
    shutil.copy(golden_store_file, db)
    monkeypatch.setenv("CLOSELOOP_DB", str(db))
    return db


@pytest.fixture(scope="module")
def golden_ncs(golden_dir) -> pd.DataFrame:
    return pd.read_csv(golden_dir / "nonconformities.csv", parse_dates=["found_on", "due_on", "closed_on"])


def open_at(ncs: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The contract's "open at T", written again in pandas: found by T and not closed by T."""
    t = pd.Timestamp(as_of)
    return ncs[(ncs["found_on"] <= t) & ~(ncs["closed_on"].notna() & (ncs["closed_on"] <= t))]


def dashboard(lang: str = "en", state: dict | None = None, url: dict | None = None) -> AppTest:
    """The app, not yet run, with state and URL preset (widgets drawn by dashboard.py vanish after a rerun)."""
    at = AppTest.from_file(str(APP / "dashboard.py"), default_timeout=60)
    at.session_state["as_of"] = AS_OF
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.query_params["lang"] = lang
    for key, value in (url or {}).items():
        at.query_params[key] = value
    return at


def kpi(at: AppTest, key: str):
    """The st.metric inside the container keyed kpi-<key>."""
    (metric,) = at.get_by_key(f"kpi-{key}").metric
    return metric


def test_every_page_file_is_smoke_tested():
    assert {p.stem for p in (APP / "pages").glob("*.py")} == set(TITLES)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", TITLES)
def test_page_runs_and_shows_its_title_in_the_chosen_language(golden_store, page, lang):
    at = dashboard(lang).run()  # a first run registers st.navigation's pages (url_path differs from the file)
    assert not at.exception
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    assert [title.value for title in at.title] == [TITLES[page][lang]]


@pytest.mark.parametrize("scope,url", [("all", {}), ("DH", {"unit": "DH"})])
def test_overview_open_equals_the_command_line(golden_store, cli_metrics, scope, url):
    at = dashboard(url=url).run()
    assert not at.exception
    assert kpi(at, "open").value == f"{cli_metrics[scope]['open']:,}"


def test_overview_shows_the_golden_answers_for_unit_dh(golden_store):
    at = dashboard(url={"unit": "DH"}).run()
    assert [kpi(at, key).value for key in KPI_LABELS["en"]] == ["19", "18", "25", "17", "76.5%", "64", "44.0%", "10"]
    assert at.caption[0].value == (
        "As of 2026-06-30, period 2025-07-01 to 2026-06-30, 定海分局 and the units below it."
    )


def test_severity_filter_counts_only_those_severities(golden_store, golden_ncs):
    majors = open_at(golden_ncs, AS_OF).query("severity == 'major'")
    at = dashboard(state={"severities": ["major"]}).run()
    assert not at.exception
    assert len(majors) not in (0, 41)  # the filter must make a visible difference on this ledger
    assert kpi(at, "open").value == f"{len(majors):,}"
    assert "severity: Major" in at.caption[0].value


def test_sources_in_the_url_filter_the_counts(golden_store, golden_ncs):
    chosen = open_at(golden_ncs, AS_OF).query("source in ['inspection', 'internal_audit']")
    at = dashboard(url={"sources": "inspection,internal_audit"}).run()
    assert not at.exception
    assert len(chosen) not in (0, 41)
    assert kpi(at, "open").value == f"{len(chosen):,}"
    assert "source: Inspection, Internal audit" in at.caption[0].value


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_language_sets_the_title_and_the_kpi_labels(golden_store, lang):
    at = dashboard(lang).run()
    assert not at.exception
    assert [title.value for title in at.title] == [TITLES["overview"][lang]]
    assert {key: kpi(at, key).label for key in KPI_LABELS[lang]} == KPI_LABELS[lang]


def test_in_a_large_tree_a_search_naming_one_unit_chooses_it(golden_store, monkeypatch):
    from closeloop import filters

    monkeypatch.setattr(filters, "UNITS_LISTED_WHOLE", 5)  # the golden ledger's 11 units count as many
    at = dashboard().run()
    assert at.selectbox(key="unit").options == ["Whole organisation", "舟山港務管理局", "\u3000定海分局",
                                                "\u3000岱山分局", "\u3000普陀分局"]
    at.text_input(key="unit_search").input("DH 第10支部").run()
    assert not at.exception
    assert at.session_state["unit"] == "DH-10"
    assert at.caption[0].value.endswith("DH 第10支部 and the units below it.")


def test_no_download_reruns_the_page(golden_store):
    """A download that reruns the page can lose the built file's answer (the rerun clears what the server had
    queued for the browser), and the button then spins for three minutes: every download is on_click="ignore"."""
    at = dashboard().run()
    found = {}
    for page in TITLES:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception
        found[page] = [(b.proto.label, b.proto.ignore_rerun) for b in at.get("download_button")]
    assert all(found[page] for page in ("units", "rectification", "data")), found
    assert [(page, label) for page, buttons in found.items() for label, ignored in buttons if not ignored] == []


def test_time_to_close_quantiles_read_as_days_or_not_reached_aligned_as_numbers(golden_store):
    at = dashboard().run()
    at.switch_page("pages/time_to_close.py").run()
    (table,) = [d for d in at.dataframe if "Median (days)" in d.value]
    shown = table.value[["Median (days)", "90th percentile (days)"]]
    assert shown.stack().map(lambda v: v == "not reached" or v.replace(",", "").isdigit()).all()
    assert (shown == "not reached").any().any() and (shown != "not reached").any().any()
    columns = json.loads(table.proto.columns)
    assert [columns[c].get("alignment") for c in shown.columns] == ["right", "right"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_empty_cell_of_any_table_reads_as_the_catalogs_none_not_as_none(golden_store, lang):
    """The grid writes "None" in an empty cell unless told otherwise, in English whatever the language."""
    at = dashboard(lang).run()
    shown = {}
    for page in TITLES:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception
        shown[page] = {d.proto.placeholder for d in at.dataframe}
    assert all(shown[page] for page in ("units", "rectification", "time_to_close", "review")), shown
    assert set().union(*shown.values()) == {i18n.translate(lang, "none")}
