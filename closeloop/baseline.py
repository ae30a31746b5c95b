"""The pages' numbers the usual Streamlit way: whole tables in pandas, filtered per rerun (the benchmark's yardstick)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from closeloop import metrics
from closeloop.filters import Filters

EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class Tables:
    """What such an app keeps in st.cache_data: the store's tables, and what is derived from them once."""

    units: pd.DataFrame
    criteria: pd.DataFrame
    nonconformities: pd.DataFrame
    actions: pd.DataFrame
    # nonconformities with their criterion's category, and, per action, the row of its nonconformity
    findings: pd.DataFrame
    action_finding: np.ndarray


def load(con) -> Tables:
    """Every table into memory, as a dashboard reading `from <table>` once would hold it."""
    units = con.sql("from units").df()
    criteria = con.sql("from criteria").df()
    # the records as entered: what the store keeps on them for its own queries (integer keys, paths,
    # categories, repeat flags) is not the pandas way's to use
    nonconformities = con.sql(
        "select * exclude (id, unit_path, category, is_repeat_365, is_repeat_after_closure_365) from nonconformities"
    ).df()
    actions = con.sql("select * exclude (nonconformity_id) from actions").df()
    findings = nonconformities.merge(
        criteria[["code", "category"]].rename(columns={"code": "criterion"}), on="criterion", how="left",
    )
    position = pd.Series(np.arange(len(findings)), index=findings["ref"])
    action_finding = actions["nonconformity"].map(position).fillna(-1).to_numpy(dtype=np.int64)
    return Tables(units, criteria, nonconformities, actions, findings, action_finding)


def days(column: pd.Series) -> np.ndarray:
    """Days since 1970 as float (NaN where there is no date), so comparisons with NaN are false."""
    values = column.to_numpy(dtype="datetime64[D]")
    out = (values - EPOCH).astype(np.int64).astype(float)
    out[np.isnat(values)] = np.nan
    return out


def day(value) -> int:
    return int((np.datetime64(value, "D") - EPOCH).astype(np.int64))


def range_min(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """min(values[lo:hi]) for every row with hi > lo (inf elsewhere), by a sparse table."""
    out = np.full(len(lo), np.inf)
    length = hi - lo
    some = length > 0
    if not some.any():
        return out
    level = np.zeros(len(lo), dtype=np.int64)
    level[some] = np.floor(np.log2(length[some])).astype(np.int64)
    table = values
    for k in range(int(level.max()) + 1):
        if k:
            half = 1 << (k - 1)
            table = np.minimum(table[:-half], table[half:])
        rows = some & (level == k)
        out[rows] = np.minimum(table[lo[rows]], table[hi[rows] - (1 << k)])
    return out


def repeat_flags(findings: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """is_repeat and is_repeat_after_closure per finding (positionally), over the whole store."""
    is_repeat = np.zeros(len(findings), dtype=bool)
    after_closure = np.zeros(len(findings), dtype=bool)
    rows = np.flatnonzero(findings["criterion"].notna().to_numpy())
    if len(rows):
        has = findings.iloc[rows]
        group = has.groupby(["unit", "criterion"], sort=False).ngroup().to_numpy()
        found = days(has["found_on"]).astype(np.int64)
        closed = days(has["closed_on"])
        closed[np.isnan(closed)] = np.inf
        order = np.lexsort((found, group))
        found, closed, rows = found[order], closed[order], rows[order]
        offset = found - found.min()
        # One sorted key per (group, day), groups far enough apart that no window crosses two.
        key = group[order] * (int(offset.max()) + window_days + 2) + offset
        lo = np.searchsorted(key, key - window_days, "left")
        hi = np.searchsorted(key, key, "left")  # strictly earlier days only
        is_repeat[rows] = hi > lo
        after_closure[rows] = (hi > lo) & (range_min(closed, lo, hi) <= found)
    return pd.DataFrame({"is_repeat": is_repeat, "is_repeat_after_closure": after_closure})


def subtree(units: pd.DataFrame, root: str | None) -> pd.Series:
    if root is None:
        return units["code"]
    path = units.loc[units["code"] == root, "path"]
    if path.empty:
        return units["code"].iloc[:0]
    return units.loc[units["path"].str.startswith(path.iloc[0]), "code"]


class Baseline:
    """One app session's memory: the tables, and repeat flags per window once computed."""

    def __init__(self, tables: Tables):
        self.tables = tables
        self._repeats: dict[int, pd.DataFrame] = {}
        f = tables.findings
        self.found, self.due, self.closed = days(f["found_on"]), days(f["due_on"]), days(f["closed_on"])
        a = tables.actions
        self.action_due, self.action_done = days(a["due_on"]), days(a["done_on"])
        self.action_live = (a["status"] != "cancelled").to_numpy()

    def repeats(self, window_days: int) -> pd.DataFrame:
        if window_days not in self._repeats:
            self._repeats[window_days] = repeat_flags(self.tables.findings, window_days)
        return self._repeats[window_days]

    def in_scope(self, f: Filters, scope: str | None = None) -> np.ndarray:
        """Which findings the viewer may see and the filters select."""
        t, n = self.tables, self.tables.findings
        keep = n["unit"].isin(subtree(t.units, f.unit)).to_numpy()
        if scope is not None:
            keep &= n["unit"].isin(subtree(t.units, scope)).to_numpy()
        for column, chosen in (("source", f.sources), ("severity", f.severities), ("category", f.categories)):
            if chosen:
                keep &= n[column].isin(chosen).to_numpy()
        return keep

    def contract(self, f: Filters, scope: str | None = None) -> dict:
        keep = self.in_scope(f, scope)
        as_of, since, until = day(f.as_of), day(f.since), day(f.until)
        found, due, closed = self.found[keep], self.due[keep], self.closed[keep]
        flags = self.repeats(f.window_days)[keep]
        is_open = (found <= as_of) & ~(closed <= as_of)
        overdue = is_open & (due < as_of)
        age = np.where(is_open, as_of - found, np.nan)
        opened = (found >= since) & (found <= until)
        closed_in = (closed >= since) & (closed <= until)
        repeat = opened & flags["is_repeat"].to_numpy()
        live = self.action_live & ~(self.action_done <= as_of)
        mine = self.tables.action_finding >= 0
        mine[mine] = keep[self.tables.action_finding[mine]]
        counts = {
            "open": int(is_open.sum()),
            "overdue": int(overdue.sum()),
            "opened_in_period": int(opened.sum()),
            "closed_in_period": int(closed_in.sum()),
            "closed_on_time_in_period": int((closed_in & (closed <= due)).sum()),
            "repeat_in_period": int(repeat.sum()),
            "repeat_after_closure_in_period": int((opened & flags["is_repeat_after_closure"].to_numpy()).sum()),
        }
        edges = {"0-30": (0, 30), "31-60": (31, 60), "61-90": (61, 90), "91-180": (91, 180), "181+": (181, np.inf)}
        return {
            **{k: counts[k] for k in ("open", "overdue", "opened_in_period", "closed_in_period",
                                       "closed_on_time_in_period")},
            "on_time_closure_rate": metrics.ratio(counts["closed_on_time_in_period"], counts["closed_in_period"]),
            "median_days_to_close_km": metrics.quantile_days(self.survival(found, closed, opened, as_of)),
            "repeat_in_period": counts["repeat_in_period"],
            "recurrence_rate": metrics.ratio(counts["repeat_in_period"], counts["opened_in_period"]),
            "repeat_after_closure_in_period": counts["repeat_after_closure_in_period"],
            "aging": {label: int(((age >= lo) & (age <= hi)).sum()) for label, (lo, hi) in edges.items()},
            "actions_open": int((live & mine).sum()),
            "actions_overdue": int((live & mine & (self.action_due < as_of)).sum()),
            "no_due_date_open": int((is_open & np.isnan(due)).sum()),
        }

    @staticmethod
    def survival(found, closed, opened, as_of) -> pd.DataFrame:
        """Kaplan–Meier over findings opened in the period by as_of: closed by then, or censored."""
        rows = opened & (found <= as_of)
        found, closed = found[rows], closed[rows]
        event = closed <= as_of
        duration = np.where(event, closed - found, as_of - found).astype(np.int64)
        grouped = (
            pd.DataFrame({"duration": duration, "events": event.astype(np.int64), "exits": 1})
            .groupby("duration", as_index=False).sum().sort_values("duration")
        )
        return metrics.survival(grouped)

    def opened_closed_monthly(self, f: Filters, scope: str | None = None) -> pd.DataFrame:
        keep = self.in_scope(f, scope)
        found, closed = np.sort(self.found[keep]), np.sort(self.closed[keep])  # NaN sorts last
        months = pd.date_range(pd.Timestamp(f.since).replace(day=1), pd.Timestamp(f.until), freq="MS")
        rows = []
        for month in months:
            start = day(max(month.date(), f.since))
            end = day(min((month + pd.offsets.MonthEnd(0)).date(), f.until, f.as_of))

            def upto(values, last):
                return int(np.searchsorted(values, last, "right"))

            rows.append({
                "month": month,
                "opened": max(0, upto(found, end) - upto(found, start - 1)),
                "closed": max(0, upto(closed, end) - upto(closed, start - 1)),
                "backlog": upto(found, end) - upto(closed, end),
            })
        return pd.DataFrame(rows, columns=["month", "opened", "closed", "backlog"])

    def overdue_by_unit(self, f: Filters, scope: str | None = None, limit: int = 10) -> pd.DataFrame:
        keep = self.in_scope(f, scope)
        as_of = day(f.as_of)
        found, due, closed = self.found[keep], self.due[keep], self.closed[keep]
        is_open = (found <= as_of) & ~(closed <= as_of)
        per_unit = (
            pd.DataFrame({
                "unit": self.tables.findings["unit"].to_numpy()[keep],
                "open": is_open.astype(np.int64),
                "overdue": (is_open & (due < as_of)).astype(np.int64),
            })
            .groupby("unit", as_index=False).sum()
        )
        per_unit = per_unit[per_unit["overdue"] > 0]
        units = self.tables.units[["code", "name", "name_en"]].rename(columns={"code": "unit"})
        units = units.assign(name_en=units["name_en"].fillna(units["name"]))
        return (
            per_unit.merge(units, on="unit")
            .sort_values(["overdue", "open", "unit"], ascending=[False, False, True])
            .head(limit)[["unit", "name", "name_en", "open", "overdue"]]
            .reset_index(drop=True)
        )

    def opened_by_category(self, f: Filters, scope: str | None = None) -> pd.DataFrame:
        keep = self.in_scope(f, scope)
        found = self.found[keep]
        opened = (found >= day(f.since)) & (found <= day(f.until))
        category = self.tables.findings["category"].to_numpy()[keep][opened]
        counts = (
            pd.Series(category, dtype=object).fillna("").value_counts()
            .rename_axis("category").reset_index(name="opened")
            .sort_values(["opened", "category"], ascending=[False, True])
            .reset_index(drop=True)
        )
        named = self.tables.criteria.dropna(subset=["category_en"])
        names = named.groupby("category")["category_en"].min()  # one name per category, as the SQL has it
        counts["category_en"] = counts["category"].map(names).fillna(counts["category"])
        counts["cumulative_share"] = counts["opened"].cumsum() / counts["opened"].sum()
        return counts[["category", "category_en", "opened", "cumulative_share"]]
