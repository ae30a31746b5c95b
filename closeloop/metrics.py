"""The metric contract of DESIGN.md for one set of filters, as one dict."""

from __future__ import annotations

from fractions import Fraction
from statistics import NormalDist

import numpy as np
import pandas as pd

from closeloop import store
from closeloop.filters import Filters

AGING = {"0-30": "aging_0_30", "31-60": "aging_31_60", "61-90": "aging_61_90",
         "91-180": "aging_91_180", "181+": "aging_181_plus"}


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def on_time_closure_rate(counts) -> float | None:
    """Closed on time in the period over closed in it with a due date: a closure with no due date is
    neither on time nor late (a data gap). `counts`: a dict or a row with both counts."""
    return ratio(counts["closed_on_time_in_period"], counts["closed_with_due_date_in_period"])


def overdue_share(counts) -> float | None:
    """Overdue over open at the as-of date: the share a target states ("overdue ≤ 5 %") and a unit's rank
    among its siblings compares, where the Overview card counts. None with nothing open. `counts`: a dict or
    a row with both counts."""
    return ratio(counts["overdue"], counts["open"])


def survival(durations: pd.DataFrame) -> pd.DataFrame:
    """Kaplan–Meier from grouped counts (duration, events, exits) sorted by duration.

    S(t) = prod over event times t_i <= t of (1 - d_i / n_i), n_i = items still at risk at t_i.
    """
    at_risk = durations["exits"][::-1].cumsum()[::-1].to_numpy(dtype=float)
    events = durations["events"].to_numpy(dtype=float)
    return pd.DataFrame({
        "duration": durations["duration"].to_numpy(),
        "at_risk": at_risk.astype(int),
        "events": events.astype(int),
        "survival": np.cumprod(1 - events / np.where(at_risk > 0, at_risk, 1)),
    })


def quantile_days(curve: pd.DataFrame, q: float = 0.5) -> float | None:
    """The smallest t with S(t) <= 1 - q; None when the curve never gets there.

    Where the float product lands within rounding of 1 - q, the product is recomputed exactly:
    S(t) is often exactly one half (half of an uncensored group closed), and rounding would
    otherwise push the median to the next event time.
    """
    target = 1 - Fraction(str(q))
    s = curve["survival"].to_numpy()
    for i in np.flatnonzero(s <= float(target) + 1e-9):
        if s[i] < float(target) - 1e-9 or _exact_survival(curve, i) <= target:
            return float(curve["duration"].iloc[i])
    return None


def _exact_survival(curve: pd.DataFrame, upto: int) -> Fraction:
    product = Fraction(1)
    for n, d in zip(curve["at_risk"].iloc[: upto + 1], curve["events"].iloc[: upto + 1]):
        product *= Fraction(int(n) - int(d), int(n))
    return product


def contract(con, f: Filters, scope: str | None = None) -> dict:
    params = f.params(scope)
    counts, durations = store.together(lambda: store.run(con, "contract", params),
                                       lambda: store.run(con, "time_to_close_durations", params))
    counts = {k: int(v) for k, v in counts.iloc[0].to_dict().items()}
    curve = survival(durations)
    return {
        "open": counts["open"],
        "overdue": counts["overdue"],
        "opened_in_period": counts["opened_in_period"],
        "closed_in_period": counts["closed_in_period"],
        "closed_on_time_in_period": counts["closed_on_time_in_period"],
        "on_time_closure_rate": on_time_closure_rate(counts),
        "median_days_to_close_km": quantile_days(curve),
        "repeat_in_period": counts["repeat_in_period"],
        "recurrence_rate": ratio(counts["repeat_in_period"], counts["opened_in_period"]),
        "repeat_after_closure_in_period": counts["repeat_after_closure_in_period"],
        "aging": {label: counts[column] for label, column in AGING.items()},
        "actions_open": counts["actions_open"],
        "actions_overdue": counts["actions_overdue"],
        "no_due_date_open": counts["no_due_date_open"],
    }


def survival_by(durations: pd.DataFrame) -> pd.DataFrame:
    """Kaplan–Meier per group from rows (grp, duration, events, exits)."""
    curves = [survival(rows).assign(grp=grp) for grp, rows in durations.groupby("grp", sort=True)]
    columns = ["grp", "duration", "at_risk", "events", "survival"]
    return pd.concat(curves, ignore_index=True)[columns] if curves else pd.DataFrame(columns=columns)


def quantiles_by(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per group: items, median and 90th percentile days to close (None where not reached)."""
    rows = [
        {"grp": grp, "items": int(curve["at_risk"].iloc[0]),
         "median": quantile_days(curve, 0.5), "p90": quantile_days(curve, 0.9)}
        for grp, curve in curves.groupby("grp", sort=True)
    ]
    return pd.DataFrame(rows, columns=["grp", "items", "median", "p90"])


def unit_kpis(counts: pd.DataFrame, medians: pd.DataFrame) -> pd.DataFrame:
    """The Overview's KPIs per unit, from kpis_by_child_unit rows and per-unit Kaplan–Meier medians."""
    out = counts.copy()
    out["on_time_closure_rate"] = [on_time_closure_rate(row) for _, row in out.iterrows()]
    out["recurrence_rate"] = [ratio(a, b) for a, b in zip(out["repeat_in_period"], out["opened_in_period"])]
    median = dict(zip(medians["grp"], medians["median"]))
    out["median_days_to_close_km"] = [median.get(u) for u in out["unit"]]
    return out


def funnel_limits(p0: float, largest: int, coverage: tuple[float, ...] = (0.95, 0.998), points: int = 60) -> pd.DataFrame:
    """Control limits p0 ± z·sqrt(p0(1−p0)/n) around the organisation's rate, clipped to [0, 1].

    One row per volume n; columns lower_<c>/upper_<c> per two-sided coverage c. A unit outside the
    99.8 % limits is unlikely (2 in 1,000) to differ from the organisation by chance alone.
    """
    n = np.unique(np.geomspace(1, max(largest, 2), points).round().astype(int))
    out = pd.DataFrame({"n": n})
    for c in coverage:
        z = NormalDist().inv_cdf(0.5 + c / 2)
        spread = z * np.sqrt(p0 * (1 - p0) / n)
        out[f"lower_{c}"] = np.clip(p0 - spread, 0, 1)
        out[f"upper_{c}"] = np.clip(p0 + spread, 0, 1)
    return out


def outside_limits(p0: float, volume: pd.Series, rate: pd.Series, coverage: float = 0.998) -> pd.Series:
    """True where a unit's rate lies outside the limits for its own volume."""
    z = NormalDist().inv_cdf(0.5 + coverage / 2)
    spread = z * np.sqrt(p0 * (1 - p0) / volume.clip(lower=1))
    return (volume > 0) & ((rate < p0 - spread) | (rate > p0 + spread))


# A funnel's measure → the contract's counts it is a rate of: (events, volume)
FUNNEL = {"overdue": ("overdue", "open"), "repeat": ("repeat_in_period", "opened_in_period")}


def funnel_rate(counts, measure: str) -> float | None:
    """The organisation's rate for a funnel (its centre line): `counts`, a dict or a row of the contract's counts."""
    numerator, volume = FUNNEL[measure]
    return ratio(counts[numerator], counts[volume])


def funnel_points(counts: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Each unit's volume and rate for a funnel plot: overdue share of open items, or repeats among opened."""
    numerator, volume = FUNNEL[measure]
    points = counts.assign(volume=counts[volume], events=counts[numerator])
    points = points[points["volume"] > 0].copy()
    points["rate"] = points["events"] / points["volume"]
    return points


def scorecard(mine: dict, parent: dict | None, peers: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per KPI: this unit, its parent, and the median of its siblings (None where not known)."""
    rows = []
    for key in keys:
        values = pd.to_numeric(peers[key], errors="coerce").dropna() if key in peers else pd.Series(dtype=float)
        rows.append({
            "kpi": key,
            "unit": mine[key],
            "parent": parent[key] if parent else None,
            "peers_median": float(values.median()) if len(values) else None,
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Plan and check: objectives, the inspection programme, satisfaction (DESIGN.md; terms in terms.sql)


def rounded(value, places: int) -> float | None:
    """A term as `metrics` prints it: rounded, or None where its denominator was 0 (SQL null)."""
    return None if value is None or pd.isna(value) else round(float(value), places)


def plan_check(con, f: Filters, scope: str | None = None) -> dict:
    """The objectives', inspections' and satisfaction numbers for the same filters, scope, T and period."""
    params = f.params(scope)
    objectives = store.run(con, "objective_counts", params).iloc[0]
    inspections = store.run(con, "inspection_counts", params).iloc[0]
    satisfaction = store.run(con, "satisfaction_counts", params).iloc[0]
    return {
        "objectives": {
            "with_status": int(objectives["with_status"]),
            "met": int(objectives["met"]),
            "at_risk": int(objectives["at_risk"]),
            "missed": int(objectives["missed"]),
            "score": rounded(objectives["score"], 4),
        },
        "inspections": {
            "due": int(inspections["due"]),
            "performed": int(inspections["performed"]),
            "performed_rate": rounded(inspections["performed_rate"], 4),
            "overdue": int(inspections["overdue"]),
            "coverage": rounded(inspections["coverage"], 4),
            "score": rounded(inspections["score"], 4),
        },
        "satisfaction": {
            "answers": int(satisfaction["answers"]),
            "index": rounded(satisfaction["index"], 2),
            "satisfied_share": rounded(satisfaction["satisfied_share"], 4),
            "dissatisfied_share": rounded(satisfaction["dissatisfied_share"], 4),
        },
    }


def t_quantile(p: float, df: int) -> float:
    """Student's t distribution's p-quantile with df degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(p, df))


def satisfaction_intervals(rows: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """satisfaction_by_unit_wave rows with the interval of each (unit, wave) on the index's scale.

    Each respondent's mean is one observation (answers of one person are not independent): mean ± t ×
    sd / √n with t the (1 + level) / 2 quantile at n − 1 degrees of freedom; none below two respondents.
    """
    out = rows.copy()
    n = out["respondents"].astype(int)
    t = np.array([t_quantile((1 + level) / 2, k - 1) if k >= 2 else np.nan for k in n], dtype=float)
    half = t * out["respondent_sd"].astype(float).to_numpy() / np.sqrt(n.clip(lower=1).to_numpy())
    out["lower"] = np.where(n >= 2, out["respondent_mean"].astype(float) - half, np.nan)
    out["upper"] = np.where(n >= 2, out["respondent_mean"].astype(float) + half, np.nan)
    return out


# ---------------------------------------------------------------------------------------------
# myunit: a unit's rank among its siblings


def rank(values: dict, unit: str, better: str) -> tuple[int, int] | None:
    """(rank, of): the unit's place among `values` (unit → value; None: no value, not ranked) where rank 1 is the
    best, `better` saying which way ("lower" or "higher"). Ties share the better place (1, 2, 2, 4); `of` counts
    the units with a value. None when the unit has none."""
    known = {u: v for u, v in values.items() if v is not None and v == v}
    if unit not in known:
        return None
    mine = known[unit]
    ahead = sum(v < mine if better == "lower" else v > mine for v in known.values())
    return ahead + 1, len(known)
