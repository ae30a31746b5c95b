"""`python -m closeloop bench`: each page's server-side time on demo stores, against the in-memory pandas way."""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from closeloop import baseline, charts, drill, i18n, metrics, store
from closeloop.filters import Filters

LANGUAGE = "zh"  # the first users'; the labels only change the figures' text


# ---------------------------------------------------------------------------------------------
# Each page's work, twice: as the page does it (named queries, then figures) and the pandas way.
# Keep each pair in step with pages/<page>.py; a page plugs in as one entry in PAGES.


def overview(con, f: Filters, t) -> dict:
    """pages/overview.py without Streamlit: its queries and its four figures."""
    now, before = metrics.contract(con, f), metrics.contract(con, f.previous())
    params = f.params(None)
    monthly = store.run(con, "opened_closed_monthly", params)
    overdue_units = store.run(con, "overdue_by_unit", params)
    by_category = store.run(con, "opened_by_category", params)
    return overview_figures(now, before, monthly, overdue_units, by_category, t)


def overview_pandas(b: baseline.Baseline, f: Filters, t) -> dict:
    now, before = b.contract(f), b.contract(f.previous())
    return overview_figures(now, before, b.opened_closed_monthly(f), b.overdue_by_unit(f),
                            b.opened_by_category(f), t)


def overview_figures(now, before, monthly, overdue_units, by_category, t) -> dict:
    label, category = ("name_en", "category_en") if LANGUAGE == "en" else ("name", "category")
    figures = [charts.opened_closed(monthly, t), charts.aging(now["aging"], t)]
    if not overdue_units.empty:
        figures.append(charts.top_overdue(overdue_units, label, t))
    if not by_category.empty:
        figures.append(charts.pareto(by_category, category, t))
    return {"contract": now, "previous": before, "opened_closed_monthly": monthly,
            "overdue_by_unit": overdue_units, "opened_by_category": by_category, "figures": len(figures)}


def units(con, f: Filters, t) -> dict:
    """pages/units.py as it opens on the whole organisation: tree, funnel one level down, open items."""
    params = f.params(None)
    tree = store.run(con, "unit_tree", params)
    rollup = store.run(con, "unit_rollup", params)
    level_counts = store.run(con, "kpis_by_child_unit", params)
    organisation = metrics.contract(con, f)
    items = store.run(con, "open_items", params | {"limit": drill.SHOWN_ROWS})
    return units_figures(tree, rollup, level_counts, organisation, items, t)


def units_pandas(b: baseline.Baseline, f: Filters, t) -> dict:
    return units_figures(b.unit_tree(), b.unit_rollup(f), b.kpis_by_child_unit(f), b.contract(f),
                         b.open_items(f, drill.SHOWN_ROWS), t)


def units_figures(tree, rollup, level_counts, organisation, items, t) -> dict:
    label = "name_en" if LANGUAGE == "en" else "name"
    points = metrics.funnel_points(level_counts, "overdue")
    p0 = metrics.ratio(organisation["overdue"], organisation["open"]) or 0.0
    points["outside"] = metrics.outside_limits(p0, points["volume"], points["rate"])
    limits = metrics.funnel_limits(p0, int(points["volume"].max()) if len(points) else 1)
    figures = [charts.unit_treemap(rollup, label, t), charts.funnel(points, limits, p0, label, t)]
    drill.readable(items, t)
    return {"unit_tree": tree, "unit_rollup": rollup, "kpis_by_child_unit": level_counts,
            "organisation": organisation, "open_items": items, "figures": len(figures)}


def recurrence(con, f: Filters, t) -> dict:
    """pages/recurrence.py by month, before a click: trend, heatmap, Pareto of criteria, systemic criteria."""
    params = f.params(None)
    return recurrence_figures(store.run(con, "recurrence_by_period", params | {"grain": "month"}),
                              store.run(con, "repeats_by_unit_criterion", params),
                              store.run(con, "repeats_by_criterion", params),
                              store.run(con, "systemic_criteria", params), t)


def recurrence_pandas(b: baseline.Baseline, f: Filters, t) -> dict:
    return recurrence_figures(b.recurrence_by_period(f, "month"), b.repeats_by_unit_criterion(f),
                              b.repeats_by_criterion(f), b.systemic_criteria(f), t)


def recurrence_figures(trend, cells, by_criterion, systemic, t) -> dict:
    title = "title_en" if LANGUAGE == "en" else "title"
    unit_name = "unit_name_en" if LANGUAGE == "en" else "unit_name"
    figures = [charts.recurrence_trend(trend, t)]
    if not cells.empty:
        figures.append(charts.repeat_heatmap(cells, unit_name, t))
    if not by_criterion.empty:
        figures.append(charts.pareto(by_criterion, title, t, value="repeats", key="criterion"))
    if not systemic.empty:
        figures.append(charts.systemic(systemic, title, t))
    return {"recurrence_by_period": trend, "repeats_by_unit_criterion": cells, "repeats_by_criterion": by_criterion,
            "systemic_criteria": systemic, "figures": len(figures)}


def time_to_close(con, f: Filters, t) -> dict:
    """pages/time_to_close.py split by severity: Kaplan–Meier curves, quarterly quantiles, on time, phases, histogram."""
    params = f.params(None)
    return time_to_close_figures(store.run(con, "unit_tree", params),
                                 store.run(con, "durations_by_group", params | {"split": "severity"}),
                                 store.run(con, "durations_by_group", params | {"split": "quarter"}),
                                 store.run(con, "on_time_by_quarter", params),
                                 store.run(con, "closure_phases", params),
                                 store.run(con, "closed_by_days", params), t)


def time_to_close_pandas(b: baseline.Baseline, f: Filters, t) -> dict:
    return time_to_close_figures(b.unit_tree(), b.durations_by_group(f, "severity"), b.durations_by_group(f, "quarter"),
                                 b.on_time_by_quarter(f), b.closure_phases(f), b.closed_by_days(f), t)


def time_to_close_figures(tree, by_severity, by_quarter, on_time, phases, closed, t) -> dict:
    curves = metrics.survival_by(by_severity)
    quantiles = metrics.quantiles_by(curves)
    quarterly = metrics.quantiles_by(metrics.survival_by(by_quarter))
    phases = phases.iloc[0].to_dict()
    names = {g: t(f"severity_{g}") for g in quantiles["grp"]}
    figures = [charts.survival_curves(curves, quantiles, names, t), charts.quarterly_quantiles(quarterly, t),
               charts.on_time_trend(on_time, t)]
    if phases["findings"]:
        figures.append(charts.phases(phases, t))
    if not closed.empty:
        figures.append(charts.days_to_close_histogram(closed, t))
    drill.readable(quantiles, t)
    return {"unit_tree": tree, "quantiles": quantiles, "quarterly": quarterly, "on_time_by_quarter": on_time,
            "closure_phases": phases, "closed_by_days": closed, "figures": len(figures)}


def rectification(con, f: Filters, t) -> dict:
    """pages/rectification.py on its first view (open), no record chosen: both lists."""
    params = f.params(None) | {"view": "open", "me": [], "limit": drill.SHOWN_ROWS}
    return rectification_lists(store.run(con, "rectification_actions", params),
                               store.run(con, "rectification_nonconformities", params), t)


def rectification_pandas(b: baseline.Baseline, f: Filters, t) -> dict:
    return rectification_lists(b.rectification_actions(f, "open", drill.SHOWN_ROWS),
                               b.rectification_nonconformities(f, "open", drill.SHOWN_ROWS), t)


def rectification_lists(actions, findings, t) -> dict:
    from closeloop import detail

    detail.readable(actions, t, "action_status_")
    detail.readable(findings, t, "status_")
    return {"rectification_actions": actions, "rectification_nonconformities": findings, "figures": 0}


def data(con, f: Filters, t) -> dict:
    """pages/data.py: the data-quality counts (the import and export tabs compute nothing until used)."""
    return {"data_quality": store.run(con, "data_quality", f.params(None)), "figures": 0}


def data_pandas(b: baseline.Baseline, f: Filters, t) -> dict:
    return {"data_quality": b.data_quality(f), "figures": 0}


PAGES = {
    "overview": (overview, overview_pandas),
    "units": (units, units_pandas),
    "recurrence": (recurrence, recurrence_pandas),
    "time_to_close": (time_to_close, time_to_close_pandas),
    "rectification": (rectification, rectification_pandas),
    "data": (data, data_pandas),
}


# ---------------------------------------------------------------------------------------------
# Comparing the two ways' numbers


LONG = 1000  # rows: a longer frame is compared by its length, its first rows and a digest of all of them


def plain(value):
    """A page's result as JSON-able values: frames become lists of rows, dates ISO text."""
    if isinstance(value, pd.DataFrame):
        rows = [{k: plain(v) for k, v in row.items()} for row in value.to_dict("records")]
        if len(rows) <= LONG:
            return rows
        digest = hashlib.sha256(json.dumps(rows, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
        return {"rows": len(rows), "first": rows[:100], "sha256": digest}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (pd.Timestamp, date)):
        return value.strftime("%Y-%m-%d")
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def differences(ours, theirs, where: str = "") -> list[str]:
    """Every place two plain results differ; numbers compare by value (3 == 3.0), floats to 1e-9."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out = [f"{where}.{k}: missing on one side" for k in sorted(set(ours) ^ set(theirs), key=str)]
        for k in ours:
            if k in theirs:
                out += differences(ours[k], theirs[k], f"{where}.{k}")
        return out
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"{where}: {len(ours)} rows vs {len(theirs)}"]
        return [d for i, (a, b) in enumerate(zip(ours, theirs)) for d in differences(a, b, f"{where}[{i}]")]
    numbers = (int, float)
    if isinstance(ours, numbers) and isinstance(theirs, numbers) and not isinstance(ours, bool):
        if math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12):
            return []
    elif ours == theirs:
        return []
    return [f"{where}: closeloop {ours!r} vs pandas {theirs!r}"]


# ---------------------------------------------------------------------------------------------
# The two ways, each in its own process so that neither shares the other's heap


def peak_rss_mb() -> float:
    """This process's high-water mark of resident memory."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def runs(as_of: date, count: int) -> list[Filters]:
    """A filter value not seen before for every run (as-of one day earlier each time), so no cache helps."""
    return [Filters.default(as_of - timedelta(days=i)) for i in range(count)]


def timed(work, filters: list[Filters]) -> tuple[list[float], list[float], list]:
    """Wall and CPU seconds (all threads) of each run, and each run's numbers (made plain untimed)."""
    times, cpu, numbers = [], [], []
    for f in filters:
        started, started_cpu = time.perf_counter(), time.process_time()
        result = work(f)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        numbers.append(plain(result))
    return times, cpu, numbers


def warm_python(t) -> None:
    """Load plotly's lazily imported classes first: a long-running server has them already."""
    empty = pd.DataFrame({"month": pd.to_datetime([]), "opened": [], "closed": [], "backlog": []})
    charts.opened_closed(empty, t)
    charts.aging({"0-30": 0}, t)


def closeloop_side(db: str, as_of: date, repeat: int, pages: list[str]) -> dict:
    """Per page: a new connection, the first run (cold), then `repeat` more (warm)."""
    t = i18n.translator(LANGUAGE)
    warm_python(t)
    out = {"pages": {}, "numbers": {}}
    for page in pages:
        work = PAGES[page][0]
        started = time.perf_counter()
        con = store.connect(db)
        out.setdefault("connect_ms", ms(time.perf_counter() - started))
        times, cpu, numbers = timed(lambda f: work(con, f, t), runs(as_of, repeat + 1))
        con.close()
        out["pages"][page] = {"closeloop_cold_ms": ms(times[0]),
                              "closeloop_warm_ms": ms(statistics.median(times[1:])),
                              "closeloop_runs_ms": [ms(s) for s in times],
                              "closeloop_cold_cpu_ms": ms(cpu[0]),
                              "closeloop_warm_cpu_ms": ms(statistics.median(cpu[1:]))}
        out["numbers"][page] = numbers
    out["rss_mb"] = round(peak_rss_mb(), 1)
    return out


def pandas_side(db: str, as_of: date, repeat: int, pages: list[str], window_days: int) -> dict:
    """The tables loaded once, repeat flags once per window, then every run filtered and grouped in pandas."""
    t = i18n.translator(LANGUAGE)
    warm_python(t)
    started = time.perf_counter()
    con = store.connect(db)
    b = baseline.Baseline(baseline.load(con))
    con.close()
    out = {"load_ms": ms(time.perf_counter() - started), "pages": {}, "numbers": {}}
    started = time.perf_counter()
    b.repeats(window_days)
    out["repeats_ms"] = ms(time.perf_counter() - started)
    for page in pages:
        work = PAGES[page][1]
        times, cpu, numbers = timed(lambda f: work(b, f, t), runs(as_of, repeat + 1))
        out["pages"][page] = {"pandas_ms": ms(statistics.median(times[1:])),
                              "pandas_runs_ms": [ms(s) for s in times],
                              "pandas_cpu_ms": ms(statistics.median(cpu[1:]))}
        out["numbers"][page] = numbers
    out["rss_mb"] = round(peak_rss_mb(), 1)
    return out


def import_side(folder: str, db: str) -> dict:
    """Read the canonical CSV ledger and load it into a fresh store, as `python -m closeloop import` does."""
    from closeloop import ledger

    con = store.connect(db)
    started = time.perf_counter()
    sheets = ledger.read([Path(folder)])
    outcome = ledger.load(con, sheets, actor="bench")
    seconds = time.perf_counter() - started
    con.close()
    if not outcome.ok:
        raise RuntimeError(f"the demo's own ledger was rejected: {outcome.problems[:5]}")
    rows = sum(len(s.rows) for s in sheets)
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
            "rss_mb": round(peak_rss_mb(), 1)}


def in_own_process(fn, *args):
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# ---------------------------------------------------------------------------------------------
# One size


EXPORTS = {
    "units": "select code, name, name_en, parent_code as parent from units order by path",
    "criteria": "select code, title, title_en, category, category_en from criteria order by code",
    "nonconformities": (
        "select ref, unit, audit, criterion, source::varchar as source, severity::varchar as severity, title, "
        "description, root_cause, found_on, due_on, closed_on, status::varchar as status, verified_by "
        "from nonconformities order by ref"
    ),
    "actions": (
        "select ref, nonconformity as nc_ref, kind::varchar as kind, description, owner, due_on, done_on, "
        "status::varchar as status, evidence from actions order by ref"
    ),
}


def export_ledger(con, folder: Path) -> None:
    """The store's four tables as the canonical CSV ledger (the golden ledger's form)."""
    from pyarrow import csv

    folder.mkdir(exist_ok=True)
    for kind, query in EXPORTS.items():
        batches = con.sql(query).arrow()
        with csv.CSVWriter(folder / f"{kind}.csv", batches.schema) as out:
            for batch in batches:
                out.write_batch(batch)


def store_mb(db: Path) -> float:
    files = [db, db.with_name(db.name + ".wal")]
    return round(sum(p.stat().st_size for p in files if p.exists()) / 2**20, 1)


def measure(ncs: int, repeat: int, folder: Path, pages: list[str] | None = None,
            window_days: int = 365) -> dict:
    """Everything the table and the JSON report for one size, plus both ways' numbers compared."""
    from closeloop import demo

    pages = pages or list(PAGES)
    db = folder / "demo.duckdb"
    started = time.perf_counter()
    con = store.connect(db)
    demo.build(con, ncs=ncs)
    con.close()
    build_s = time.perf_counter() - started
    size = store_mb(db)

    con = store.connect(db)
    started = time.perf_counter()
    store.ensure_repeats(con, window_days)
    repeats_ms = ms(time.perf_counter() - started)
    as_of = con.execute("select max(found_on) from nonconformities").fetchall()[0][0]
    export_ledger(con, folder / "ledger")
    con.close()

    imported = in_own_process(import_side, str(folder / "ledger"), str(folder / "imported.duckdb"))
    ours = in_own_process(closeloop_side, str(db), as_of, repeat, pages)
    theirs = in_own_process(pandas_side, str(db), as_of, repeat, pages, window_days)

    mismatches = []
    for page in pages:
        for run, (a, b) in enumerate(zip(ours["numbers"][page], theirs["numbers"][page])):
            mismatches += [f"{page} run {run} (as of {as_of - timedelta(days=run)}){d}"
                           for d in differences(a, b)]
    report = {
        "pages": {page: {**ours["pages"][page], **theirs["pages"][page]} for page in pages},
        "rss_mb": {"closeloop": ours["rss_mb"], "pandas": theirs["rss_mb"]},
        "store_mb": size,
        "import_rows_per_s": imported["rows_per_s"],
        "import_rows": imported["rows"],
        "import_s": imported["seconds"],
        "import_rss_mb": imported["rss_mb"],
        "build_s": round(build_s, 2),
        "as_of": as_of.isoformat(),
        "connect_ms": ours["connect_ms"],
        "repeats_ms": {"closeloop": repeats_ms, "pandas": theirs["repeats_ms"]},
        "pandas_load_ms": theirs["load_ms"],
        "numbers_agree": not mismatches,
    }
    return {"report": report, "mismatches": mismatches,
            "numbers": {"closeloop": ours["numbers"], "pandas": theirs["numbers"]}}


# ---------------------------------------------------------------------------------------------
# The machine, the table, the command


def machine() -> dict:
    import duckdb
    import plotly
    import pyarrow

    def first(path: str, prefix: str) -> str | None:
        try:
            with open(path, encoding="utf-8") as f:
                return next((line.split(":", 1)[1].strip() for line in f if line.startswith(prefix)), None)
        except OSError:
            return None

    memory = first("/proc/meminfo", "MemTotal")
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": first("/proc/cpuinfo", "model name") or platform.processor(),
        "memory_gb": round(int(memory.split()[0]) / 2**20, 1) if memory else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pd.__version__,
        "plotly": plotly.__version__,
        "pyarrow": pyarrow.__version__,
    }


def table(sizes: dict[str, dict]) -> str:
    """One line per (size, page), then two per size for memory, store and import.

    Speed-up is pandas over closeloop warm; "(cpu)" is process CPU time, all threads (DuckDB uses every
    core, pandas one), which a busy machine inflates far less than wall time.
    """
    head = (f"{'NCs':>9}  {'page':<10} {'cold ms':>8} {'(cpu)':>7} {'warm ms':>8} {'(cpu)':>7} {'pandas ms':>9}"
            f" {'(cpu)':>7} {'speed-up':>8} {'(cpu)':>7}")
    lines = [head, "-" * len(head)]
    for n, r in sizes.items():
        for page, p in r["pages"].items():
            ratio = p["pandas_ms"] / p["closeloop_warm_ms"] if p["closeloop_warm_ms"] else float("inf")
            cpu_ratio = p.get("pandas_cpu_ms", 0) / p["closeloop_warm_cpu_ms"] if p.get("closeloop_warm_cpu_ms") else 0
            lines.append(
                f"{int(n):>9,}  {page:<10} {p['closeloop_cold_ms']:>8,.0f} {p.get('closeloop_cold_cpu_ms', 0):>7,.0f}"
                f" {p['closeloop_warm_ms']:>8,.0f}"
                f" {p.get('closeloop_warm_cpu_ms', 0):>7,.0f} {p['pandas_ms']:>9,.0f} {p.get('pandas_cpu_ms', 0):>7,.0f}"
                f" {ratio:>7.2f}x {cpu_ratio:>6.2f}x"
            )
        lines.append(
            f"{'':>11}RSS MB closeloop {r['rss_mb']['closeloop']:,.0f} / pandas {r['rss_mb']['pandas']:,.0f}; "
            f"store {r['store_mb']:,.1f} MB, built in {r['build_s']:.1f} s; "
            f"import {r['import_rows_per_s']:,} rows/s ({r['import_rows']:,} rows in {r['import_s']:.1f} s)"
        )
        lines.append(
            f"{'':>11}pandas load {r['pandas_load_ms'] / 1000:,.1f} s; repeat flags once per window: closeloop "
            f"{r['repeats_ms']['closeloop']:,.0f} ms / pandas {r['repeats_ms']['pandas']:,.0f} ms"
        )
    return "\n".join(lines)


def document(reports: dict[str, dict]) -> dict:
    """The JSON the benchmark writes; "browser" is filled in by the browser benchmark, later."""
    return {"sizes": reports, "browser": None, "machine": machine()}


def run(sizes: list[int], repeat: int, pages: list[str] | None = None) -> tuple[dict, list[str]]:
    """The JSON document for these sizes, and every mismatch between the two ways."""
    reports, mismatches = {}, []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix=f"closeloop-bench-{n}-") as folder:
            measured = measure(n, repeat, Path(folder), pages)
        reports[str(n)] = measured["report"]
        mismatches += [f"{n:,} NCs: {m}" for m in measured["mismatches"]]
        print(f"measured {n:,} NCs", file=sys.stderr, flush=True)
    return document(reports), mismatches


def main(args) -> int:
    try:
        sizes = [int(s) for s in str(args.sizes).replace("_", "").split(",") if s.strip()]
    except ValueError:
        print(f"--sizes takes whole numbers separated by commas, not {args.sizes!r}", file=sys.stderr)
        return 2
    if not sizes or min(sizes) < 1 or args.repeat < 1:
        print("--sizes and --repeat must be at least 1", file=sys.stderr)
        return 2
    document, mismatches = run(sizes, args.repeat)
    print(table(document["sizes"]))
    if args.json:
        Path(args.json).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if mismatches:
        print(f"MISMATCH: the pandas way and closeloop disagree in {len(mismatches)} places:", file=sys.stderr)
        print("\n".join(mismatches[:50]), file=sys.stderr)
        return 1
    return 0
