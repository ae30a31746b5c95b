"""The benchmark's machinery on a tiny demo store: both ways agree on every number, and the JSON has its shape.

No timing is asserted anywhere: times are measured by `python -m closeloop bench`, not by tests.
"""

from __future__ import annotations

import argparse
import copy
import json

from datetime import date

import pytest
from conftest import CRITERIA, nc

from closeloop import baseline, bench, demo, i18n
from closeloop.filters import Filters

NCS = 2000
T = date(2026, 6, 30)


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """One size measured end to end (demo, export, import, both ways in their own processes), one warm run."""
    return bench.measure(NCS, repeat=1, folder=tmp_path_factory.mktemp("bench"))


@pytest.mark.slow
def test_the_pandas_way_and_closeloop_agree_on_every_number(measured):
    assert measured["mismatches"] == []
    assert measured["numbers"]["closeloop"] == measured["numbers"]["pandas"]


@pytest.mark.slow
def test_every_run_is_compared_and_shows_findings(measured):
    runs = measured["numbers"]["closeloop"]["overview"]
    assert len(runs) == 2  # the cold run and one warm run, each as of a different day
    for numbers in runs:
        assert numbers["contract"]["opened_in_period"] > 0
        assert numbers["contract"]["repeat_in_period"] > 0
        assert numbers["contract"]["median_days_to_close_km"] is not None
        assert len(numbers["opened_closed_monthly"]) in (12, 13)
        assert 0 < len(numbers["overdue_by_unit"]) <= 10
        assert numbers["figures"] == 4
    assert runs[0]["contract"] != runs[1]["contract"]


@pytest.mark.slow
def test_a_differing_number_is_named(measured):
    ours = measured["numbers"]["closeloop"]["overview"][0]
    theirs = copy.deepcopy(ours)
    theirs["contract"]["overdue"] += 1
    theirs["opened_by_category"][0]["cumulative_share"] += 0.01
    assert bench.differences(ours, theirs) == [
        f".contract.overdue: closeloop {ours['contract']['overdue']} vs pandas {ours['contract']['overdue'] + 1}",
        f".opened_by_category[0].cumulative_share: closeloop {ours['opened_by_category'][0]['cumulative_share']!r}"
        f" vs pandas {theirs['opened_by_category'][0]['cumulative_share']!r}",
    ]


def test_numbers_equal_in_value_are_the_same():
    assert bench.differences({"n": 3, "share": 0.1 + 0.2}, {"n": 3.0, "share": 0.3}) == []
    assert bench.differences({"rows": [1, 2]}, {"rows": [1]}) == [".rows: 2 rows vs 1"]


@pytest.mark.slow
def test_the_json_has_the_documented_shape(measured, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "measure", lambda n, repeat, folder, pages=None, browser=False: measured)
    out = tmp_path / "bench.json"
    assert bench.main(argparse.Namespace(sizes=str(NCS), json=out, repeat=1)) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert set(document) == {"sizes", "browser", "machine"}
    assert document["browser"] is None
    assert set(document["sizes"]) == {str(NCS)}
    size = document["sizes"][str(NCS)]
    assert {"pages", "rss_mb", "store_mb", "import_rows_per_s"} <= set(size)
    assert set(size["pages"]) == set(bench.PAGES)
    for page in size["pages"].values():
        assert {"closeloop_cold_ms", "closeloop_warm_ms", "pandas_ms"} <= set(page)
        assert all(page[k] > 0 for k in ("closeloop_cold_ms", "closeloop_warm_ms", "pandas_ms"))
    assert set(size["rss_mb"]) == {"closeloop", "pandas"}
    assert size["rss_mb"]["closeloop"] > 0 and size["rss_mb"]["pandas"] > 0
    assert size["store_mb"] > 0 and size["import_rows_per_s"] > 0
    assert {"cpu_count", "cpu_model", "memory_gb", "python", "duckdb", "pandas"} <= set(document["machine"])


@pytest.mark.slow
def test_a_mismatch_fails_the_command_loudly(measured, monkeypatch, capsys):
    broken = {**measured, "mismatches": ["overview run 0 (as of 2026-11-03).contract.open: closeloop 1 vs pandas 2"]}
    monkeypatch.setattr(bench, "measure", lambda n, repeat, folder, pages=None, browser=False: broken)
    assert bench.main(argparse.Namespace(sizes=str(NCS), json=None, repeat=1)) == 1
    assert "MISMATCH" in capsys.readouterr().err


def test_bad_sizes_are_refused_in_one_line(capsys):
    assert bench.main(argparse.Namespace(sizes="lots", json=None, repeat=1)) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("fixture", [
    "status_store", "period_store", "on_time_store", "km_store", "km_never_half_store", "repeat_store",
    "aging_store", "spread_store", "actions_store", "analysis_store",
])
@pytest.mark.parametrize("unit", [None, "DH"])
def test_both_ways_agree_on_the_contract_cases(fixture, unit, request):
    """The pandas way is an independent cross-check of the SQL: on every literal case of the contract too, every page."""
    con = request.getfixturevalue(fixture)
    f, t = Filters.default(T, unit=unit), i18n.translator("en")
    b = baseline.Baseline(baseline.load(con), "en")
    for page, (ours, theirs) in bench.PAGES.items():
        assert bench.differences(bench.plain(ours(con, f, None, "en")), bench.plain(theirs(b, f, "en"))) == [], page


def test_a_category_named_differently_by_its_criteria_counts_each_finding_once(store_from_rows):
    criteria = [
        {**CRITERIA[0], "category_en": "Organisation"},  # 組織建設 has an English name here …
        {"code": "1.2", "title": "組織生活會", "category": CRITERIA[0]["category"], "category_en": None},  # … not here
        {**CRITERIA[1], "category_en": None},
        {**CRITERIA[2], "category_en": None},
    ]
    con = store_from_rows(
        [nc("C-1", "DH-01", "2026-01-01"), nc("C-2", "DH-01", "2026-02-01", criterion="1.2"),
         nc("C-3", "DS", "2026-03-01", criterion="2.1")],
        criteria=criteria,
    )
    f = Filters.default(T)
    expected = [
        {"category": "組織建設", "label": "Organisation", "opened": 2, "cumulative_share": 2 / 3},
        {"category": "思想建設", "label": "思想建設", "opened": 1, "cumulative_share": 1.0},
    ]
    sql = bench.plain(bench.store.run(con, "opened_by_category", f.params() | {"lang": "en"}))
    assert bench.differences(sql, expected) == []
    pandas = bench.plain(baseline.Baseline(baseline.load(con), "en").opened_by_category(f))
    assert bench.differences(pandas, expected) == []


@pytest.mark.slow
def test_a_size_too_large_for_the_pandas_way_is_reported_not_fatal(measured, tmp_path):
    # 200 MB of address space cannot hold the tables: the pandas process says so and the table shows it
    db = tmp_path / "store.duckdb"
    con = bench.store.connect(db)
    demo.build(con, ncs=2000)
    con.close()
    out = bench.in_own_process(bench.pandas_side, str(db), T, 1, ["overview"], 365, 200 * 2**20)
    assert out["error"].startswith("out of memory")
    report = copy.deepcopy(measured["report"])
    report["rss_mb"]["pandas"], report["pandas_error"] = None, out["error"]
    for page in report["pages"].values():
        page.update(pandas_ms=None, pandas_cpu_ms=None)
    text = bench.table({str(NCS): report})
    assert "out of memory" in text and " - " in text


def test_a_profile_names_the_query_and_its_slowest_operators(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    con = bench.store.connect(db)
    demo.build(con, ncs=2000)
    con.close()
    args = argparse.Namespace(sizes="1", json=None, repeat=1, profile="unit_rollup,systemic_criteria", db=str(db))
    assert bench.main(args) == 0
    out = capsys.readouterr().out.splitlines()
    heads = [line for line in out if " as of " in line]
    assert [h.split(" as of ")[0] for h in heads] == ["unit_rollup", "systemic_criteria"]
    scans = [line for line in out if "TABLE_SCAN" in line and "nonconformities" in line]
    assert len(scans) >= 2 and all(int(line.split("rows")[0].split()[-1].replace(",", "")) > 0 for line in scans)


@pytest.mark.parametrize("asked", ["no_such_query", "../closeloop/schema/terms", ","])
def test_a_profile_of_a_query_that_is_not_there_is_refused_in_one_line(asked, capsys):
    args = argparse.Namespace(sizes="1", json=None, repeat=1, profile=asked, db=None)
    assert bench.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--profile" in err


@pytest.mark.parametrize("lang,words", [("zh", "应为"), ("en", "takes")])
def test_the_benchs_refusals_speak_the_command_lines_language(lang, words, monkeypatch, capsys):
    monkeypatch.setenv("CLOSELOOP_LANG", lang)
    for args in (argparse.Namespace(sizes="1", json=None, repeat=1, profile="no_such_query", db=None),
                 argparse.Namespace(sizes="a,b", json=None, repeat=1, profile=None, db=None)):
        assert bench.main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err


def test_a_refused_bench_says_one_line_and_nothing_else(cli):
    done = cli("bench", "--profile", "no_such_query")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "--profile takes names of files in queries/ without .sql, not no_such_query"]
