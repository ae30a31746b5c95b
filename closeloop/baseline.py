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
    # refs that imports of more than one ledger file wrote (the Data page's duplicates check)
    imported_twice: pd.Series
    # days a finding and its actions get without a due date, per (severity, source; 'any' the fallback),
    # and the administrator's settings (due_soon_days)
    deadlines: pd.DataFrame
    settings: dict
    # Traditional → Simplified, character by character: the table terms.sql's owner_key folds names with
    fold: dict


def load(con) -> Tables:
    """Every table into memory, as a dashboard reading `from <table>` once would hold it."""
    units = con.sql("from units").df()
    criteria = con.sql("from criteria").df()
    # the records as entered: what the store keeps on them for its own queries (integer keys, paths,
    # categories, repeat flags) is not the pandas way's to use
    nonconformities = con.sql(
        "select * exclude (id, unit_path, category, is_repeat_365, is_repeat_after_closure_365, action_count,"
        " owned_action_count, undocumented_done_count, unsettled_action_count, first_action_done_on,"
        " last_action_done_on) from nonconformities"
    ).df()
    actions = con.sql("select * exclude (nonconformity_id) from actions").df()
    findings = nonconformities.merge(
        criteria[["code", "category"]].rename(columns={"code": "criterion"}), on="criterion", how="left",
    )
    position = pd.Series(np.arange(len(findings)), index=findings["ref"])
    action_finding = actions["nonconformity"].map(position).fillna(-1).to_numpy(dtype=np.int64)
    # The trail is the one table such an app would not hold whole: its import events only.
    imports = con.sql(
        "select e.ref, b.file_name from events as e join import_batches as b on b.id = e.batch "
        "where e.entity = 'nonconformity'"
    ).df()
    files = imports.groupby("ref")["file_name"].nunique()
    deadlines = con.sql("select severity::varchar as severity, source, finding_days, action_days from deadlines").df()
    settings = dict(con.sql("select key, value from settings").fetchall())
    traditional, simplified = con.execute("select hanzi_traditional(), hanzi_simplified()").fetchone()
    return Tables(units, criteria, nonconformities, actions, findings, action_finding,
                  files.index[files > 1].to_series(), deadlines, settings, str.maketrans(traditional, simplified))


def deadline_days(tables: Tables, rows: np.ndarray, which: str) -> np.ndarray:
    """Per finding row: the days its severity's deadline gives (its source's own row, else 'any')."""
    n = tables.findings
    table = tables.deadlines.set_index(["severity", "source"])[which]
    severity = n["severity"].astype(str).to_numpy()[rows]
    source = n["source"].astype(str).to_numpy()[rows]
    return np.array([table.get((sev, src), table.get((sev, "any"), np.nan)) for sev, src in zip(severity, source)],
                    dtype=float)


def as_dates(values: np.ndarray) -> np.ndarray:
    """Days since 1970 (NaN: none) as datetime64, NaT for none."""
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    known = ~np.isnan(values)
    out[known] = (EPOCH + values[known].astype(np.int64)).astype("datetime64[ns]")
    return out


def most_overdue_first(refs: np.ndarray, due: np.ndarray, as_of: int) -> tuple[np.ndarray, np.ndarray]:
    """Days overdue (nan where not overdue) and the order the lists show: most overdue first, then by due date
    (none last), then by ref."""
    overdue = np.where(due < as_of, as_of - due, np.nan)
    return overdue, np.lexsort((refs, np.where(np.isnan(due), np.inf, due), np.where(np.isnan(overdue), np.inf, -overdue)))


def due_status(due: np.ndarray, as_of: int, soon: int) -> np.ndarray:
    """三色督辦 of open items by their due date (own or defaulted): overdue, due soon, on track."""
    return np.where(np.isnan(due), None, np.where(due < as_of, "overdue",
                                                   np.where(due <= as_of + soon, "due_soon", "on_track")))


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

    def __init__(self, tables: Tables, lang: str):
        self.tables = tables
        self.lang = lang  # the language the `label` columns are in, as the queries' $lang
        self._repeats: dict[int, pd.DataFrame] = {}
        f = tables.findings
        self.found, self.due, self.closed = days(f["found_on"]), days(f["due_on"]), days(f["closed_on"])
        a = tables.actions
        self.action_due, self.action_done = days(a["due_on"]), days(a["done_on"])
        self.action_live = (a["status"] != "cancelled").to_numpy()
        # each action's finding's found_on (NaN without a finding): an action is not open before it
        self.action_found = np.where(tables.action_finding >= 0, self.found[np.maximum(tables.action_finding, 0)], np.nan)

    def label(self, stored: pd.Series, english: pd.Series) -> pd.Series:
        """terms.sql's label(), the pandas way, to check the queries' `label` columns against."""
        return english.fillna(stored) if self.lang == "en" else stored

    def actions_open(self, as_of: int) -> np.ndarray:
        """Open at as_of: the finding found by then, not cancelled, not done by then."""
        return self.action_live & ~(self.action_done <= as_of) & (self.action_found <= as_of)

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
        live = self.actions_open(as_of)
        mine = self.tables.action_finding >= 0
        mine[mine] = keep[self.tables.action_finding[mine]]
        counts = {
            "open": int(is_open.sum()),
            "overdue": int(overdue.sum()),
            "opened_in_period": int(opened.sum()),
            "closed_in_period": int(closed_in.sum()),
            "closed_on_time_in_period": int((closed_in & (closed <= due)).sum()),
            "closed_with_due_date_in_period": int((closed_in & ~np.isnan(due)).sum()),
            "repeat_in_period": int(repeat.sum()),
            "repeat_after_closure_in_period": int((opened & flags["is_repeat_after_closure"].to_numpy()).sum()),
        }
        edges = {"0-30": (0, 30), "31-60": (31, 60), "61-90": (61, 90), "91-180": (91, 180), "181+": (181, np.inf)}
        return {
            **{k: counts[k] for k in ("open", "overdue", "opened_in_period", "closed_in_period",
                                       "closed_on_time_in_period")},
            "on_time_closure_rate": metrics.on_time_closure_rate(counts),
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
                "partial": _cut_short(month, 1, f),
            })
        return pd.DataFrame(rows, columns=["month", "opened", "closed", "backlog", "partial"])

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
        units = self._unit_names().rename(columns={"code": "unit"})
        return (
            per_unit.merge(units, on="unit")
            .sort_values(["overdue", "open", "unit"], ascending=[False, False, True])
            .head(limit)[["unit", "name", "label", "open", "overdue"]]
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
        counts["label"] = self.label(counts["category"], counts["category"].map(names))
        counts["cumulative_share"] = counts["opened"].cumsum() / counts["opened"].sum()
        return counts[["category", "label", "opened", "cumulative_share"]]

    # -----------------------------------------------------------------------------------------
    # The other pages' numbers, each the pandas reading of the query named after it

    def _column(self, name: str) -> np.ndarray:
        return self.tables.findings[name].to_numpy()

    def _paths(self) -> np.ndarray:
        """Each finding's unit path."""
        if not hasattr(self, "_unit_paths"):
            paths = dict(zip(self.tables.units["code"], self.tables.units["path"]))
            self._unit_paths = self.tables.findings["unit"].map(paths).to_numpy()
        return self._unit_paths

    def _child_below(self, paths, root: str | None) -> list:
        """terms.sql's child_below for each path."""
        depth = dict(zip(self.tables.units["code"], self.tables.units["depth"])).get(root, 0) if root else 0
        out = []
        for path in paths:
            parts = path.strip("/").split("/")
            out.append(parts[depth + 1] if depth + 1 < len(parts) else (root if root is not None else parts[0]))
        return out

    def _unit_names(self) -> pd.DataFrame:
        units = self.tables.units
        return pd.DataFrame({"code": units["code"], "name": units["name"],
                             "label": self.label(units["name"], units["name_en"])})

    def _open_owners(self, as_of: int, findings: np.ndarray) -> pd.DataFrame:
        """Per finding row (position) among `findings`: its open actions' owners, sorted and joined, and how many."""
        a = self.tables.actions
        live = self.actions_open(as_of)
        rows = live & np.isin(self.tables.action_finding, findings)
        owned = pd.DataFrame({"finding": self.tables.action_finding[rows], "owner": a["owner"].to_numpy()[rows]})
        return owned.groupby("finding").agg(
            owners=("owner", lambda o: ", ".join(sorted(set(o.dropna()))) or None),
            actions_open=("owner", "size"),
        )

    def unit_tree(self, scope: str | None = None) -> pd.DataFrame:
        units = self.tables.units
        shown = units[units["code"].isin(subtree(units, scope))].sort_values("path")
        return pd.DataFrame({"code": shown["code"], "name": shown["name"], "name_en": shown["name_en"].fillna(shown["name"]),
                             "label": self.label(shown["name"], shown["name_en"]),
                             "depth": shown["depth"], "parent_code": shown["parent_code"]}).reset_index(drop=True)

    def unit_rollup(self, f: Filters, levels: int, scope: str | None = None) -> pd.DataFrame:
        keep = self.in_scope(f, scope)
        as_of, since, until = day(f.as_of), day(f.since), day(f.until)
        found, due, closed = self.found[keep], self.due[keep], self.closed[keep]
        is_open = (found <= as_of) & ~(closed <= as_of)
        own = (
            pd.DataFrame({"path": self._paths()[keep], "opened": ((found >= since) & (found <= until)).astype(np.int64),
                          "open": is_open.astype(np.int64), "overdue": (is_open & (due < as_of)).astype(np.int64)})
            .groupby("path").sum()
        )
        credited = {}
        for path, row in own.iterrows():
            for ancestor in path.strip("/").split("/"):
                credited[ancestor] = credited.get(ancestor, 0) + row.to_numpy()
        units = self.tables.units
        shown = units[units["code"].isin(subtree(units, f.unit)) & units["code"].isin(subtree(units, scope))]
        top = units.loc[units["code"] == (f.unit or scope), "depth"]
        shown = shown[shown["depth"] < (int(top.iloc[0]) if len(top) else 0) + levels].sort_values("path")
        sums = np.array([credited.get(code, np.zeros(3, dtype=np.int64)) for code in shown["code"]]).reshape(-1, 3)
        out = pd.DataFrame({"code": shown["code"], "name": shown["name"], "label": self.label(shown["name"], shown["name_en"]),
                            "parent_code": shown["parent_code"], "depth": shown["depth"],
                            "opened": sums[:, 0], "open": sums[:, 1], "overdue": sums[:, 2]})
        out["overdue_share"] = np.where(out["open"] > 0, out["overdue"] / out["open"].where(out["open"] > 0, 1), np.nan)
        return out.reset_index(drop=True)

    def kpis_by_child_unit(self, f: Filters, scope: str | None = None) -> pd.DataFrame:
        keep = self.in_scope(f, scope)
        as_of, since, until = day(f.as_of), day(f.since), day(f.until)
        found, due, closed = self.found[keep], self.due[keep], self.closed[keep]
        is_open = (found <= as_of) & ~(closed <= as_of)
        opened = (found >= since) & (found <= until)
        closed_in = (closed >= since) & (closed <= until)
        repeat = self.repeats(f.window_days)["is_repeat"].to_numpy()[keep]
        paths = self._paths()
        per_finding = pd.DataFrame({
            "path": paths[keep], "open": is_open, "overdue": is_open & (due < as_of), "opened_in_period": opened,
            "closed_in_period": closed_in, "closed_on_time_in_period": closed_in & (closed <= due),
            "closed_with_due_date_in_period": closed_in & ~np.isnan(due), "repeat_in_period": opened & repeat,
        }).groupby("path").sum()
        live = self.actions_open(as_of) & (self.action_due < as_of)
        mine = self.tables.action_finding >= 0
        mine[mine] = keep[self.tables.action_finding[mine]]
        late = pd.Series(paths[self.tables.action_finding[live & mine]]).value_counts()
        per_finding["actions_overdue"] = late.reindex(per_finding.index).fillna(0).astype(np.int64)
        per_finding["unit"] = self._child_below(per_finding.index, f.unit)
        counted = per_finding.groupby("unit").sum().reset_index()
        out = counted.merge(self._unit_names().rename(columns={"code": "unit"}), on="unit").sort_values("unit")
        return out[["unit", "name", "label", "open", "overdue", "opened_in_period", "closed_in_period",
                    "closed_on_time_in_period", "closed_with_due_date_in_period", "repeat_in_period",
                    "actions_overdue"]].reset_index(drop=True)

    def due_status_by_unit(self, f: Filters, scope: str | None = None) -> pd.DataFrame:
        """Open findings and open actions in each colour, per unit one level below the chosen one."""
        keep = self.in_scope(f, scope)
        as_of, soon = day(f.as_of), int(self.tables.settings["due_soon_days"])
        rows = np.flatnonzero(keep & (self.found <= as_of) & ~(self.closed <= as_of))
        due = np.where(np.isnan(self.due[rows]), self.found[rows] + deadline_days(self.tables, rows, "finding_days"),
                       self.due[rows])
        mine = self.tables.action_finding >= 0
        mine[mine] = keep[self.tables.action_finding[mine]]
        acts = np.flatnonzero(mine & self.actions_open(as_of))
        finding = self.tables.action_finding[acts]
        action_due = np.where(np.isnan(self.action_due[acts]),
                              self.found[finding] + deadline_days(self.tables, finding, "action_days"),
                              self.action_due[acts])
        paths = self._paths()
        both = pd.DataFrame({
            "path": np.concatenate([paths[rows], paths[finding]]),
            "colour": np.concatenate([["findings_" + s for s in due_status(due, as_of, soon)],
                                      ["actions_" + s for s in due_status(action_due, as_of, soon)]]),
        })
        columns = [f"{kind}_{status}" for kind in ("findings", "actions") for status in ("on_track", "due_soon", "overdue")]
        counted = pd.crosstab(both["path"], both["colour"]).reindex(columns=columns, fill_value=0)
        counted["unit"] = self._child_below(counted.index, f.unit)
        out = counted.groupby("unit").sum().astype(np.int64).reset_index()
        out = out.merge(self._unit_names().rename(columns={"code": "unit"}), on="unit").sort_values("unit")
        return out[["unit", "name", "label", *columns]].reset_index(drop=True)

    def open_items(self, f: Filters, limit: int, scope: str | None = None) -> pd.DataFrame:
        keep = self.in_scope(f, scope)
        as_of = day(f.as_of)
        is_open = keep & (self.found <= as_of) & ~(self.closed <= as_of)
        n = self.tables.findings
        rows = np.flatnonzero(is_open)
        rows = rows[np.lexsort((n["ref"].to_numpy()[rows], self.found[rows]))][:limit]
        due = self.due[rows]
        owners = self._open_owners(as_of, rows)["owners"]
        names = dict(zip(self.tables.units["code"], self.tables.units["name"]))
        return pd.DataFrame({
            "ref": n["ref"].to_numpy()[rows], "unit": n["unit"].to_numpy()[rows],
            "unit_name": [names.get(u) for u in n["unit"].to_numpy()[rows]], "title": n["title"].to_numpy()[rows],
            "severity": n["severity"].astype(str).to_numpy()[rows], "status": n["status"].astype(str).to_numpy()[rows],
            "found_on": n["found_on"].to_numpy()[rows], "due_on": n["due_on"].to_numpy()[rows],
            "age_days": as_of - self.found[rows], "days_overdue": np.where(due < as_of, as_of - due, np.nan),
            "owners": owners.reindex(rows).to_numpy(),
        })

    def _opened(self, f: Filters, scope: str | None) -> np.ndarray:
        return self.in_scope(f, scope) & (self.found >= day(f.since)) & (self.found <= day(f.until))

    def recurrence_by_period(self, f: Filters, grain: str, scope: str | None = None) -> pd.DataFrame:
        rows = self._opened(f, scope)
        flags = self.repeats(f.window_days)
        found = self.tables.findings["found_on"][rows]
        start = found.dt.to_period("M" if grain == "month" else "Q").dt.start_time
        periods = pd.DataFrame({"period_start": start.to_numpy(), "opened": 1,
                                "repeats": flags["is_repeat"].to_numpy()[rows].astype(np.int64),
                                "repeats_after_closure": flags["is_repeat_after_closure"].to_numpy()[rows].astype(np.int64)})
        out = periods.groupby("period_start", as_index=False).sum().sort_values("period_start")
        out["recurrence_rate"] = out["repeats"] / out["opened"]
        out["repeat_after_closure_rate"] = out["repeats_after_closure"] / out["opened"]
        out["partial"] = [_cut_short(start, 1 if grain == "month" else 3, f) for start in out["period_start"]]
        return out.reset_index(drop=True)

    def _repeats_opened(self, f: Filters, scope: str | None) -> tuple[np.ndarray, pd.DataFrame]:
        flags = self.repeats(f.window_days)
        return self._opened(f, scope) & flags["is_repeat"].to_numpy(), flags

    def repeats_by_unit_criterion(self, f: Filters, scope: str | None = None) -> pd.DataFrame:
        rows, flags = self._repeats_opened(f, scope)
        cells = pd.DataFrame({"unit": self._child_below(self._paths()[rows], f.unit),
                              "criterion": self._column("criterion")[rows], "repeats": 1,
                              "repeats_after_closure": flags["is_repeat_after_closure"].to_numpy()[rows].astype(np.int64)})
        counted = cells.groupby(["unit", "criterion"], as_index=False).sum()
        names = self._unit_names().rename(columns={"code": "unit", "name": "unit_name", "label": "unit_label"})
        out = counted.merge(names, on="unit").sort_values(["repeats", "unit", "criterion"], ascending=[False, True, True])
        c = self.tables.criteria
        titles = pd.DataFrame({"criterion": c["code"], "criterion_title": c["title"],
                               "criterion_label": self.label(c["title"], c["title_en"])})
        out = out.merge(titles, on="criterion", how="left")
        return out[["unit", "unit_name", "unit_label", "criterion", "criterion_title", "criterion_label", "repeats",
                    "repeats_after_closure"]].reset_index(drop=True)

    def _criteria_names(self) -> pd.DataFrame:
        c = self.tables.criteria
        return pd.DataFrame({"criterion": c["code"], "title": c["title"], "label": self.label(c["title"], c["title_en"]),
                             "category": c["category"]})

    def repeats_by_criterion(self, f: Filters, scope: str | None = None) -> pd.DataFrame:
        rows, flags = self._repeats_opened(f, scope)
        counted = pd.DataFrame({
            "criterion": self._column("criterion")[rows], "repeats": 1,
            "repeats_after_closure": flags["is_repeat_after_closure"].to_numpy()[rows].astype(np.int64),
        }).groupby("criterion", as_index=False).sum()
        out = counted.merge(self._criteria_names(), on="criterion")
        out = out.sort_values(["repeats", "criterion"], ascending=[False, True]).reset_index(drop=True)
        out["cumulative_share"] = out["repeats"].cumsum() / out["repeats"].sum()
        return out[["criterion", "title", "label", "repeats", "repeats_after_closure", "cumulative_share"]]

    def systemic_criteria(self, f: Filters, scope: str | None = None) -> pd.DataFrame:
        rows = self._opened(f, scope) & pd.notna(self._column("criterion"))
        opened = pd.DataFrame({"criterion": self._column("criterion")[rows], "unit": self._column("unit")[rows],
                               "repeat": self.repeats(f.window_days)["is_repeat"].to_numpy()[rows].astype(np.int64)})
        with_findings = opened["unit"].nunique()
        counted = opened.groupby("criterion").agg(units=("unit", "nunique"), findings=("unit", "size"),
                                                  repeats=("repeat", "sum")).reset_index()
        out = counted.merge(self._criteria_names(), on="criterion")
        out["units_with_findings"] = with_findings
        out["unit_share"] = out["units"] / with_findings
        out = out.sort_values(["units", "findings", "criterion"], ascending=[False, False, True])
        return out[["criterion", "title", "label", "category", "units", "units_with_findings", "unit_share",
                    "findings", "repeats"]].reset_index(drop=True)

    def durations_by_group(self, f: Filters, split: str, scope: str | None = None) -> pd.DataFrame:
        as_of = day(f.as_of)
        rows = self._opened(f, scope) & (self.found <= as_of)
        found, closed = self.found[rows], self.closed[rows]
        event = closed <= as_of
        if split in ("severity", "source"):
            grp = self.tables.findings[split].astype(str).to_numpy()[rows]
        elif split == "unit":
            grp = self._child_below(self._paths()[rows], f.unit)
        else:
            quarter = self.tables.findings["found_on"][rows].dt.to_period("Q")
            grp = (quarter.dt.year.astype(str) + "-Q" + quarter.dt.quarter.astype(str)).to_numpy()
        durations = pd.DataFrame({"grp": grp, "duration": np.where(event, closed - found, as_of - found).astype(np.int64),
                                  "events": event.astype(np.int64), "exits": 1})
        return durations.groupby(["grp", "duration"], as_index=False).sum().sort_values(["grp", "duration"]) \
            .reset_index(drop=True)

    def _closed_in_period(self, f: Filters, scope: str | None) -> np.ndarray:
        return self.in_scope(f, scope) & (self.closed >= day(f.since)) & (self.closed <= day(f.until))

    def on_time_by_quarter(self, f: Filters, scope: str | None = None) -> pd.DataFrame:
        rows = self._closed_in_period(f, scope)
        quarters = pd.DataFrame({
            "quarter_start": self.tables.findings["closed_on"][rows].dt.to_period("Q").dt.start_time.to_numpy(),
            "closed": 1, "closed_on_time": (self.closed[rows] <= self.due[rows]).astype(np.int64),
            "closed_with_due_date": (~np.isnan(self.due[rows])).astype(np.int64),
        }).groupby("quarter_start", as_index=False).sum().sort_values("quarter_start")
        timed = quarters["closed_with_due_date"]
        quarters["on_time_rate"] = (quarters["closed_on_time"] / timed.where(timed > 0)).astype(float)
        quarters["partial"] = [_cut_short(start, 3, f) for start in quarters["quarter_start"]]
        return quarters.reset_index(drop=True)

    def closure_phases(self, f: Filters, scope: str | None = None) -> pd.DataFrame:
        rows = np.flatnonzero(self._closed_in_period(f, scope))
        a = self.tables.actions
        mine = np.isin(self.tables.action_finding, rows)
        acts = pd.DataFrame({"finding": self.tables.action_finding[mine], "done": self.action_done[mine],
                             "settled": a["status"].isin(["done", "cancelled"]).to_numpy()[mine]})
        per = acts.groupby("finding").agg(settled=("settled", "all"), done=("done", "count"),
                                          first=("done", "min"), last=("done", "max"))
        per = per[per["settled"] & (per["done"] > 0)]
        found, closed = self.found[per.index.to_numpy()], self.closed[per.index.to_numpy()]

        def median(values):
            return float(np.median(values)) if len(values) else None

        return pd.DataFrame([{
            "findings": len(per),
            "found_to_first_action": median(per["first"].to_numpy() - found),
            "first_to_last_action": median(per["last"].to_numpy() - per["first"].to_numpy()),
            "last_action_to_verified": median(closed - per["last"].to_numpy()),
            "found_to_verified": median(closed - found),
        }])

    def closed_by_days(self, f: Filters, scope: str | None = None) -> pd.DataFrame:
        rows = self._closed_in_period(f, scope)
        days_to_close = (self.closed[rows] - self.found[rows]).astype(np.int64)
        return (pd.DataFrame({"days_to_close": days_to_close, "closed": 1}).groupby("days_to_close", as_index=False).sum()
                .sort_values("days_to_close").reset_index(drop=True))

    def _default_due(self, due: np.ndarray, finding: np.ndarray, which: str) -> tuple[np.ndarray, np.ndarray]:
        """The due date a listed item without one is given by its finding's deadline (nan where it has one), and the
        date its colour is read from."""
        default = np.where(np.isnan(due), self.found[finding] + deadline_days(self.tables, finding, which), np.nan)
        return default, np.where(np.isnan(due), default, due)

    def rectification_actions(self, f: Filters, view: str, limit: int, scope: str | None = None) -> pd.DataFrame:
        """The "open" view (the page's first): open actions on findings in view, most overdue first."""
        assert view == "open"
        as_of = day(f.as_of)
        a, n = self.tables.actions, self.tables.findings
        keep = self.in_scope(f, scope)
        mine = self.tables.action_finding >= 0
        mine[mine] = keep[self.tables.action_finding[mine]]
        rows = np.flatnonzero(mine & self.actions_open(as_of))
        due = self.action_due[rows]
        overdue, order = most_overdue_first(a["ref"].to_numpy()[rows], due, as_of)
        listed = rows[order][:limit]
        finding = self.tables.action_finding[listed]
        default, shown_due = self._default_due(self.action_due[listed], finding, "action_days")
        soon = int(self.tables.settings["due_soon_days"])
        return pd.DataFrame({
            "ref": a["ref"].to_numpy()[listed], "nonconformity": a["nonconformity"].to_numpy()[listed],
            "unit": n["unit"].to_numpy()[finding], "kind": a["kind"].astype(str).to_numpy()[listed],
            "description": a["description"].to_numpy()[listed], "owner": a["owner"].to_numpy()[listed],
            "due_on": a["due_on"].to_numpy()[listed], "status": a["status"].astype(str).to_numpy()[listed],
            "days_overdue": overdue[order][:limit], "done_on": a["done_on"].to_numpy()[listed],
            "evidence": a["evidence"].to_numpy()[listed], "nonconformity_status": n["status"].astype(str).to_numpy()[finding],
            "version": a["version"].to_numpy()[listed], "rows_in_view": len(rows),
            "due_status": due_status(shown_due, as_of, soon), "default_due_on": as_dates(default),
        })

    def rectification_nonconformities(self, f: Filters, view: str, limit: int, scope: str | None = None) -> pd.DataFrame:
        """The "open" view: findings open at the as-of date, most overdue first, with their open actions' owners."""
        assert view == "open"
        as_of = day(f.as_of)
        n = self.tables.findings
        rows = np.flatnonzero(self.in_scope(f, scope) & (self.found <= as_of) & ~(self.closed <= as_of))
        due = self.due[rows]
        overdue, order = most_overdue_first(n["ref"].to_numpy()[rows], due, as_of)
        listed = rows[order][:limit]
        owners = self._open_owners(as_of, listed).reindex(listed)
        default, shown_due = self._default_due(self.due[listed], listed, "finding_days")
        soon = int(self.tables.settings["due_soon_days"])
        return pd.DataFrame({
            "ref": n["ref"].to_numpy()[listed], "unit": n["unit"].to_numpy()[listed],
            "severity": n["severity"].astype(str).to_numpy()[listed], "title": n["title"].to_numpy()[listed],
            "owners": owners["owners"].to_numpy(), "found_on": n["found_on"].to_numpy()[listed],
            "due_on": n["due_on"].to_numpy()[listed], "status": n["status"].astype(str).to_numpy()[listed],
            "days_overdue": overdue[order][:limit], "actions_open": owners["actions_open"].fillna(0).to_numpy(),
            "closed_on": n["closed_on"].to_numpy()[listed], "version": n["version"].to_numpy()[listed],
            "rows_in_view": len(rows),
            "due_status": due_status(shown_due, as_of, soon), "default_due_on": as_dates(default),
        })

    def data_quality(self, f: Filters, scope: str | None = None) -> pd.DataFrame:
        as_of = day(f.as_of)
        n, a = self.tables.findings, self.tables.actions
        keep = self.in_scope(f, scope)
        rows = keep & (((self.found >= day(f.since)) & (self.found <= day(f.until)))
                       | ((self.found <= as_of) & ~(self.closed <= as_of)))
        mine = self.tables.action_finding >= 0
        mine[mine] = rows[self.tables.action_finding[mine]]
        finding = self.tables.action_finding[mine]
        actions = np.bincount(finding, minlength=len(n))
        owned = np.bincount(finding, weights=a["owner"].notna().to_numpy()[mine], minlength=len(n))
        unproven = ((a["status"] == "done") & a["evidence"].isna()).to_numpy()[mine]
        duplicated = n["ref"].isin(self.tables.imported_twice).to_numpy()
        counts = {
            "no_due_date": int((rows & np.isnan(self.due)).sum()),
            "no_owner": int((rows & (owned == 0)).sum()),
            "no_action": int((rows & (actions == 0)).sum()),
            "no_root_cause": int((rows & n["root_cause"].isna().to_numpy()).sum()),
            "done_without_evidence": int(unproven.sum()),
            "closed_without_verifier": int((rows & (n["status"] == "closed").to_numpy()
                                            & n["verified_by"].isna().to_numpy()).sum()),
            "duplicated_across_ledgers": int((rows & duplicated).sum()),
            # every severity has a deadline ('any'), so a missing due date is always a defaulted one
            "finding_due_defaulted": int((rows & np.isnan(self.due)).sum()),
            "action_due_defaulted": int(a["due_on"].isna().to_numpy()[mine].sum()),
        }
        return pd.DataFrame({"check": list(counts), "n": list(counts.values())})


def _cut_short(start, months: int, f: Filters) -> bool:
    """Whether the period from `start`, `months` long, begins before the chosen period or ends after its
    last day or the as-of date."""
    start = pd.Timestamp(start)
    last = (start + pd.DateOffset(months=months) - pd.Timedelta(days=1)).date()
    return bool(start.date() < f.since or last > min(f.until, f.as_of))


# ---------------------------------------------------------------------------------------------
# myunit: the unit head's view, the pandas reading of its queries


def owner_key(owners: pd.Series, fold: dict) -> pd.Series:
    """terms.sql's owner_key, read the pandas way: the same person's names compare equal (李華 = 李华)."""
    return owners.str.translate(fold).str.strip().str.lower()


def _overdue_actions(b: Baseline, f: Filters, scope: str | None) -> pd.DataFrame:
    """The actions overdue at f.as_of on findings in view, with their findings' units and titles."""
    a, n = b.tables.actions, b.tables.findings
    as_of = day(f.as_of)
    mine = b.tables.action_finding >= 0
    mine[mine] = b.in_scope(f, scope)[b.tables.action_finding[mine]]
    rows = np.flatnonzero(mine & b.actions_open(as_of) & (b.action_due < as_of))
    return _action_rows(b, rows, as_of).assign(days_overdue=(as_of - b.action_due[rows]).astype(np.int64))


def _action_rows(b: Baseline, rows: np.ndarray, as_of: int) -> pd.DataFrame:
    a, n = b.tables.actions, b.tables.findings
    finding = b.tables.action_finding[rows]
    names = dict(zip(b.tables.units["code"], b.tables.units["name"]))
    units = n["unit"].to_numpy()[finding]
    return pd.DataFrame({
        "ref": a["ref"].to_numpy()[rows], "nonconformity": a["nonconformity"].to_numpy()[rows],
        "nonconformity_title": n["title"].to_numpy()[finding], "unit": units, "unit_name": [names.get(u) for u in units],
        "owner": a["owner"].to_numpy()[rows], "description": a["description"].to_numpy()[rows],
        "due_on": a["due_on"].to_numpy()[rows],
    })


def overdue_actions_by_owner(b: Baseline, f: Filters, scope: str | None = None) -> pd.DataFrame:
    late = _overdue_actions(b, f, scope).assign(owner_group=lambda r: owner_key(r["owner"], b.tables.fold))
    out = late.groupby("owner_group", dropna=False).agg(
        owner=("owner", "min"), actions=("ref", "size"), oldest_days_overdue=("days_overdue", "max")).reset_index()
    out = out.sort_values(["actions", "oldest_days_overdue", "owner_group"], ascending=[False, False, True],
                          na_position="last")
    return out[["owner_group", "owner", "actions", "oldest_days_overdue"]].reset_index(drop=True)


def overdue_actions_of_owners(b: Baseline, f: Filters, owners: list[str], unowned: bool, limit: int,
                              scope: str | None = None) -> pd.DataFrame:
    late = _overdue_actions(b, f, scope).assign(owner_group=lambda r: owner_key(r["owner"], b.tables.fold))
    late = late[late["owner_group"].isin(set(owner_key(pd.Series(owners, dtype=object), b.tables.fold)))
                | (unowned & late["owner"].isna())]
    late = late.sort_values(["days_overdue", "ref"], ascending=[False, True])
    late = late[late.groupby("owner_group", dropna=False).cumcount() < limit]
    late = late.sort_values(["owner_group", "days_overdue", "ref"], ascending=[True, False, True], na_position="last")
    return late[["owner_group", "ref", "nonconformity", "nonconformity_title", "unit", "unit_name", "owner",
                 "description", "due_on", "days_overdue"]].reset_index(drop=True)


def actions_due_within(b: Baseline, f: Filters, days_ahead: int, limit: int, scope: str | None = None) -> pd.DataFrame:
    as_of = day(f.as_of)
    mine = b.tables.action_finding >= 0
    mine[mine] = b.in_scope(f, scope)[b.tables.action_finding[mine]]
    due = b.action_due
    rows = np.flatnonzero(mine & b.actions_open(as_of) & (due >= as_of) & (due < as_of + days_ahead))
    out = _action_rows(b, rows, as_of).assign(days_left=(due[rows] - as_of).astype(np.int64))
    out = out.sort_values(["due_on", "ref"]).head(limit).assign(rows_in_view=len(rows))
    return out[["ref", "nonconformity", "nonconformity_title", "unit", "unit_name", "owner", "description", "due_on",
                "days_left", "rows_in_view"]].reset_index(drop=True)


def unit_parent(b: Baseline, code: str) -> str | None:
    parent = b.tables.units.loc[b.tables.units["code"] == code, "parent_code"]
    return parent.iloc[0] if len(parent) and pd.notna(parent.iloc[0]) else None
