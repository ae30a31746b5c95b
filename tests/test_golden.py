"""The golden ledger through the command line, and Kaplan–Meier against the reference implementation."""

from __future__ import annotations

import csv
import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from closeloop import metrics, store
from closeloop.filters import Filters

from conftest import NO_PLAN_CHECK, store_location

BOTH_BACKENDS = True
SCOPES = {"all": [], "unit:DH": ["--unit", "DH"]}


@pytest.fixture(scope="module")
def expected(golden_dir):
    return json.loads((golden_dir / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def golden_db(tmp_path_factory, cli, golden_dir, backend, request):
    db = store_location(backend, request, tmp_path_factory.mktemp("golden"), "closeloop")
    done = cli("import", golden_dir, "--db", db)
    assert done.returncode == 0, done.stderr
    return db


def period_args(expected) -> list[str]:
    return ["--as-of", expected["as_of"], "--from", expected["from"], "--to", expected["to"],
            "--window-days", str(expected["window_days"])]


def test_expected_holds_the_scopes_tested_here(expected):
    assert set(expected) - {"as_of", "from", "to", "window_days"} == set(SCOPES)


@pytest.mark.parametrize("scope", SCOPES)
def test_golden_metrics_match_expected_key_for_key(cli, golden_db, expected, scope):
    done = cli("metrics", "--db", golden_db, *period_args(expected), *SCOPES[scope])
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == expected[scope] | NO_PLAN_CHECK


def test_golden_metrics_default_to_the_year_ending_on_as_of_and_a_365_day_window(cli, golden_db, expected):
    done = cli("metrics", "--db", golden_db, "--as-of", expected["as_of"])
    assert json.loads(done.stdout) == expected["all"] | NO_PLAN_CHECK


# Kaplan–Meier against lifelines


def assert_same_as_lifelines(grouped: pd.DataFrame, durations, observed) -> None:
    """survival() on grouped counts equals lifelines at every event time, and so does the median."""
    curve = metrics.survival(grouped)
    kmf = KaplanMeierFitter().fit(durations, observed)
    reference = kmf.survival_function_["KM_estimate"]
    events = curve[curve["events"] > 0]
    assert events["duration"].tolist() == sorted({d for d, o in zip(durations, observed) if o})
    for row in events.itertuples():
        assert abs(row.survival - reference.loc[row.duration]) <= 1e-12, row.duration
    median = kmf.median_survival_time_
    assert metrics.quantile_days(curve) == (None if np.isinf(median) else median)


def golden_durations(golden_dir, expected, root: str | None) -> tuple[list[int], list[bool]]:
    """Per the contract, straight from the CSV: found in the period and by T; closed by T or censored at T."""

    def rows(name):
        with open(golden_dir / f"{name}.csv", encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    parent = {u["code"]: u["parent"] for u in rows("units")}

    def below(unit):
        while unit:
            if unit == root:
                return True
            unit = parent[unit]
        return root is None

    as_of, since, until = (date.fromisoformat(expected[k]) for k in ("as_of", "from", "to"))
    durations, observed = [], []
    for n in rows("nonconformities"):
        found = date.fromisoformat(n["found_on"])
        if not (since <= found <= until and found <= as_of and below(n["unit"])):
            continue
        closed = date.fromisoformat(n["closed_on"]) if n["closed_on"] else None
        event = closed is not None and closed <= as_of
        durations.append(((closed if event else as_of) - found).days)
        observed.append(event)
    return durations, observed


@pytest.mark.parametrize(("scope", "root"), [("all", None), ("unit:DH", "DH")])
def test_golden_km_curve_and_median_match_lifelines(golden_db, golden_dir, expected, scope, root):
    f = Filters.default(date.fromisoformat(expected["as_of"]), unit=root)
    con = store.connect(golden_db, create=False)
    try:
        grouped = store.run(con, "time_to_close_durations", f.params())
    finally:
        con.close()
    durations, observed = golden_durations(golden_dir, expected, root)
    assert_same_as_lifelines(grouped, durations, observed)
    assert metrics.quantile_days(metrics.survival(grouped)) == expected[scope]["median_days_to_close_km"]


def grouped_counts(durations, observed) -> pd.DataFrame:
    frame = pd.DataFrame({"duration": durations, "events": observed, "exits": 1})
    return frame.groupby("duration", as_index=False).sum().sort_values("duration").reset_index(drop=True)


@pytest.mark.parametrize(("seed", "censored"), [(1, 0.5), (2, 0.7), (3, 0.8), (4, 0.9), (5, 0.95), (6, 0.6)])
def test_km_matches_lifelines_with_heavy_censoring_and_ties(seed, censored):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    durations = rng.integers(0, 60, n).tolist()  # 60 possible days for up to 400 items: many ties
    observed = (rng.random(n) >= censored).tolist()
    assert_same_as_lifelines(grouped_counts(durations, observed), durations, observed)


def test_km_matches_lifelines_when_every_item_closes():
    durations = [0, 0, 3, 3, 3, 7, 12, 12]  # closed the day found, ties, and the last at-risk items all close
    observed = [True] * len(durations)
    assert_same_as_lifelines(grouped_counts(durations, observed), durations, observed)
