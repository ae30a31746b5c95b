"""The metric contract of DESIGN.md for one set of filters, as one dict."""

from __future__ import annotations

import numpy as np
import pandas as pd

from closeloop import store
from closeloop.filters import Filters

AGING = {"0-30": "aging_0_30", "31-60": "aging_31_60", "61-90": "aging_61_90",
         "91-180": "aging_91_180", "181+": "aging_181_plus"}


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def survival(durations: pd.DataFrame) -> pd.DataFrame:
    """Kaplan–Meier from grouped counts (duration, events, exits) sorted by duration.

    S(t) = prod over event times t_i <= t of (1 - d_i / n_i), n_i = items still at risk at t_i;
    computed as exp(cumsum(log)), the form the reference implementation uses, so the two agree
    to the last bit when S(t) lands exactly on a quantile.
    """
    at_risk = durations["exits"][::-1].cumsum()[::-1].to_numpy(dtype=float)
    events = durations["events"].to_numpy(dtype=float)
    with np.errstate(divide="ignore"):
        steps = np.log(at_risk - events) - np.log(at_risk)
    return pd.DataFrame({
        "duration": durations["duration"].to_numpy(),
        "at_risk": at_risk.astype(int),
        "events": events.astype(int),
        "survival": np.exp(np.cumsum(steps)),
    })


def quantile_days(curve: pd.DataFrame, q: float = 0.5) -> float | None:
    """The smallest t with S(t) <= 1 - q; None when the curve never gets there."""
    reached = curve.loc[curve["survival"] <= 1 - q, "duration"]
    return float(reached.iloc[0]) if len(reached) else None


def contract(con, f: Filters, scope: str | None = None) -> dict:
    params = f.params(scope)
    counts = store.run(con, "contract", params).iloc[0].to_dict()
    counts = {k: int(v) for k, v in counts.items()}
    curve = survival(store.run(con, "time_to_close_durations", params))
    return {
        "open": counts["open"],
        "overdue": counts["overdue"],
        "opened_in_period": counts["opened_in_period"],
        "closed_in_period": counts["closed_in_period"],
        "closed_on_time_in_period": counts["closed_on_time_in_period"],
        "on_time_closure_rate": ratio(counts["closed_on_time_in_period"], counts["closed_in_period"]),
        "median_days_to_close_km": quantile_days(curve),
        "repeat_in_period": counts["repeat_in_period"],
        "recurrence_rate": ratio(counts["repeat_in_period"], counts["opened_in_period"]),
        "repeat_after_closure_in_period": counts["repeat_after_closure_in_period"],
        "aging": {label: counts[column] for label, column in AGING.items()},
        "actions_open": counts["actions_open"],
        "actions_overdue": counts["actions_overdue"],
        "no_due_date_open": counts["no_due_date_open"],
    }
