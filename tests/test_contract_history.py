"""The metric contract at as-of dates inside the data's history, against pandas and lifelines from the CSVs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from closeloop.filters import year_ending
from conftest import NO_PLAN_CHECK

SHARED = Path(__file__).resolve().parents[2] / "shared"
GOLDEN, SDWIS = SHARED / "golden", SHARED / "real" / "ga-sdwis"
WINDOW = 365

# Inside the golden ledger's history (2024-01-03 … 2026-06-29): each date's numbers differ from the
# others', and at the first three some findings are not found yet while their actions are in the ledger.
GOLDEN_DATES = [date(2025, 9, 30), date(2025, 12, 31), date(2026, 3, 31), date(2026, 6, 30)]
# SDWIS: a year and a half before its last visit (2024-12-20), and that last day.
SDWIS_DATES = [date(2023, 6, 30), date(2024, 12, 20)]


def ledger(folder: Path) -> dict[str, pd.DataFrame]:
    """The four CSVs as pandas reads them, dates as datetimes."""
    read = {name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])
            for name in ("units", "nonconformities", "actions")}
    for name, columns in (("nonconformities", ("found_on", "due_on", "closed_on")), ("actions", ("due_on", "done_on"))):
        for column in columns:
            read[name][column] = pd.to_datetime(read[name][column])
    return read


def subtree(units: pd.DataFrame, root: str | None) -> set[str]:
    """root and every unit below it, by walking each unit's parents (the whole tree when root is None)."""
    parent = dict(zip(units["code"], units["parent"]))
    if root is None:
        return set(parent)

    def below(code):
        while isinstance(code, str):
            if code == root:
                return True
            code = parent.get(code)
        return False

    return {code for code in parent if below(code)}


def repeat_flags(n: pd.DataFrame, window: int) -> pd.DataFrame:
    """Per finding (by ref), over the whole ledger: another finding of the same unit and criterion found
    1 … window days before it, and whether such a one was closed by the day it was found."""
    pairs = n.dropna(subset=["criterion"]).merge(
        n.dropna(subset=["criterion"]), on=["unit", "criterion"], suffixes=("", "_earlier"))
    gap = (pairs["found_on"] - pairs["found_on_earlier"]).dt.days
    pairs = pairs[(gap >= 1) & (gap <= window)]
    after_closure = pairs[pairs["closed_on_earlier"] <= pairs["found_on"]]
    return pd.DataFrame({"ref": n["ref"], "is_repeat": n["ref"].isin(pairs["ref"]),
                         "is_repeat_after_closure": n["ref"].isin(after_closure["ref"])})


def km_median(durations: pd.Series, observed: pd.Series) -> float | None:
    """The smallest t with S(t) <= 0.5 on lifelines' Kaplan–Meier curve, None if it never gets there.

    lifelines' own median_survival_time_ skips a day where S is exactly one half (its float product
    reads a hair above it); the contract counts that day, so the curve is read with a tolerance.
    """
    if durations.empty:
        return None
    curve = KaplanMeierFitter().fit(durations, observed).survival_function_["KM_estimate"]
    reached = curve[curve <= 0.5 + 1e-9]
    return float(reached.index[0]) if len(reached) else None


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def expected_contract(data: dict, as_of: date, root: str | None, window: int = WINDOW) -> dict:
    """DESIGN.md's contract for the whole organisation (root None) or a subtree, computed from the CSVs."""
    since, until = (pd.Timestamp(d) for d in year_ending(as_of))
    t = pd.Timestamp(as_of)
    everything = data["nonconformities"]
    n = everything.merge(repeat_flags(everything, window), on="ref")
    n = n[n["unit"].isin(subtree(data["units"], root))]
    found, due, closed = n["found_on"], n["due_on"], n["closed_on"]
    is_open = (found <= t) & ~(closed <= t)
    age = (t - found).dt.days[is_open]
    opened = found.between(since, until)
    closed_in = closed.between(since, until)
    on_time = closed_in & (closed <= due)
    timed = closed_in & due.notna()
    km = n[opened & (found <= t)]
    event = km["closed_on"] <= t
    durations = (km["closed_on"].where(event, t) - km["found_on"]).dt.days
    a = data["actions"].merge(n[["ref", "found_on"]].rename(columns={"ref": "nc_ref", "found_on": "nc_found_on"}),
                              on="nc_ref")
    actions_open = (a["nc_found_on"] <= t) & (a["status"] != "cancelled") & ~(a["done_on"] <= t)
    repeats, after_closure = opened & n["is_repeat"], opened & n["is_repeat_after_closure"]
    return {
        "open": int(is_open.sum()),
        "overdue": int((is_open & (due < t)).sum()),
        "opened_in_period": int(opened.sum()),
        "closed_in_period": int(closed_in.sum()),
        "closed_on_time_in_period": int(on_time.sum()),
        "on_time_closure_rate": rate(int(on_time.sum()), int(timed.sum())),
        "median_days_to_close_km": km_median(durations, event),
        "repeat_in_period": int(repeats.sum()),
        "recurrence_rate": rate(int(repeats.sum()), int(opened.sum())),
        "repeat_after_closure_in_period": int(after_closure.sum()),
        "aging": {label: int(age.between(lo, hi).sum())
                  for label, (lo, hi) in {"0-30": (0, 30), "31-60": (31, 60), "61-90": (61, 90),
                                          "91-180": (91, 180), "181+": (181, np.inf)}.items()},
        "actions_open": int(actions_open.sum()),
        "actions_overdue": int((actions_open & (a["due_on"] < t)).sum()),
        "no_due_date_open": int((is_open & due.isna()).sum()),
    }



def metrics_json(cli, db, as_of: date, root: str | None) -> dict:
    since, until = year_ending(as_of)
    done = cli("metrics", "--db", db, "--as-of", as_of, "--from", since, "--to", until,
               "--window-days", WINDOW, *(["--unit", root] if root else []))
    assert (done.returncode, done.stderr) == (0, "")
    printed = json.loads(done.stdout)
    # beside the contract, metrics prints the plan-and-check numbers: these ledgers have none of their rows
    assert {key: printed.pop(key) for key in NO_PLAN_CHECK} == NO_PLAN_CHECK
    return printed


# The golden ledger


@pytest.fixture(scope="module")
def golden():
    return ledger(GOLDEN)


@pytest.fixture(scope="module")
def golden_db(tmp_path_factory, golden_imported):
    db = tmp_path_factory.mktemp("golden-history") / "closeloop.duckdb"
    golden_imported(db)
    return db


def test_the_independent_computation_gives_expected_json_at_its_day(golden):
    expected = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
    assert (expected["as_of"], expected["from"], expected["to"], expected["window_days"]) == (
        "2026-06-30", "2025-07-01", "2026-06-30", WINDOW)
    assert expected_contract(golden, date(2026, 6, 30), None) == expected["all"]
    assert expected_contract(golden, date(2026, 6, 30), "DH") == expected["unit:DH"]


def test_the_golden_dates_differ_and_some_actions_precede_their_finding(golden):
    # Each date tells the others apart, and at the first three a count of every action not done nor
    # cancelled, found or not, would be larger: the dates test the "found by T" condition.
    contracts = [expected_contract(golden, d, None) for d in GOLDEN_DATES]
    assert len({json.dumps(c, sort_keys=True) for c in contracts}) == len(GOLDEN_DATES)
    a = golden["actions"]
    for d, c in zip(GOLDEN_DATES[:3], contracts):
        live = (a["status"] != "cancelled") & ~(a["done_on"] <= pd.Timestamp(d))
        assert int(live.sum()) > c["actions_open"], d


@pytest.mark.parametrize("root", [None, "DH"], ids=["all", "unit:DH"])
@pytest.mark.parametrize("as_of", GOLDEN_DATES, ids=str)
def test_golden_contract_holds_key_for_key_at_dates_inside_its_history(cli, golden_db, golden, as_of, root):
    assert metrics_json(cli, golden_db, as_of, root) == expected_contract(golden, as_of, root)


# The real SDWIS data: 16,752 findings in 3,401 units, imported once (about 1.5 s)


@pytest.fixture(scope="module")
def sdwis():
    return ledger(SDWIS)


@pytest.fixture(scope="module")
def sdwis_db(tmp_path_factory, cli):
    db = tmp_path_factory.mktemp("sdwis") / "closeloop.duckdb"
    done = cli("import", SDWIS, "--db", db)
    assert done.returncode == 0, done.stderr
    return db


@pytest.mark.parametrize("root", [None, "GA-CWS"], ids=["all", "unit:GA-CWS"])
@pytest.mark.parametrize("as_of", SDWIS_DATES, ids=str)
def test_sdwis_contract_holds_key_for_key(cli, sdwis_db, sdwis, as_of, root):
    assert metrics_json(cli, sdwis_db, as_of, root) == expected_contract(sdwis, as_of, root)


def test_sdwis_dates_close_findings_without_due_date(sdwis):
    # Minor findings carry no due date there: at both dates closures without one leave the rate's denominator.
    n = sdwis["nonconformities"]
    for as_of in SDWIS_DATES:
        since, until = (pd.Timestamp(d) for d in year_ending(as_of))
        closed_in = n["closed_on"].between(since, until)
        assert (closed_in & n["due_on"].isna()).sum() > 0 < (closed_in & n["due_on"].notna()).sum(), as_of
