"""`python -m closeloop bench`: each page's server-side time on demo stores, against the in-memory pandas way."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from pandas.io.formats.style import Styler

from closeloop import baseline, charts, i18n, screens, store, tables
from closeloop.filters import Filters

LANGUAGE = "zh-Hans"  # the first users'; the labels only change the figures' text


# ---------------------------------------------------------------------------------------------
# Each page's work, twice: as the page does it (closeloop.screens: named queries, then figures) and with the
# rows computed the pandas way instead, turned into the same screen. A page plugs in as one entry in PAGES.


def overview_pandas(b: baseline.Baseline, f: Filters, lang: str) -> screens.Overview:
    return screens.overview_from(b.contract(f), b.contract(f.previous()), b.opened_closed_monthly(f),
                                 b.overdue_by_unit(f), b.opened_by_category(f), lang)


def units_pandas(b: baseline.Baseline, f: Filters, lang: str) -> screens.Units:
    tree = b.unit_tree()
    parent, level = screens.around(tree, f.unit)
    above = f.replace(unit=parent)
    peers = None if f.unit is None else (b.contract(f), b.contract(above) if parent else None,
                                         b.kpis_by_child_unit(above), b.durations_by_group(above, "unit"))
    return screens.units_from(f, tree, b.unit_rollup(f, charts.TREEMAP_LEVELS),
                              b.kpis_by_child_unit(f.replace(unit=level)), b.contract(f.replace(unit=None)),
                              b.open_items(f, tables.SHOWN_ROWS), b.due_status_by_unit(f.replace(unit=level)), lang,
                              "overdue", peers)


def recurrence_pandas(b: baseline.Baseline, f: Filters, lang: str) -> screens.Recurrence:
    return screens.recurrence_from(b.recurrence_by_period(f, "month"), b.repeats_by_unit_criterion(f),
                                   b.repeats_by_criterion(f), b.systemic_criteria(f), lang)


def time_to_close_pandas(b: baseline.Baseline, f: Filters, lang: str) -> screens.TimeToClose:
    return screens.time_to_close_from(b.unit_tree(), b.durations_by_group(f, "severity"),
                                      b.durations_by_group(f, "quarter"), b.on_time_by_quarter(f),
                                      b.closure_phases(f), b.closed_by_days(f), lang)


def rectification_pandas(b: baseline.Baseline, f: Filters, lang: str) -> screens.Rectification:
    """The Rectification page's first view (open), no record chosen."""
    return screens.Rectification(b.rectification_actions(f, "open", tables.SHOWN_ROWS),
                                 b.rectification_nonconformities(f, "open", tables.SHOWN_ROWS), {})


def data_pandas(b: baseline.Baseline, f: Filters, lang: str) -> screens.DataQuality:
    """The Data page's quality counts (the import and export tabs compute nothing until used)."""
    return screens.DataQuality(b.data_quality(f), {})


def my_unit_pandas(b: baseline.Baseline, f: Filters, lang: str) -> screens.MyUnit:
    parent = baseline.unit_parent(b, f.unit) if f.unit else None
    above = f.replace(unit=parent)
    ranking = None if parent is None else (b.unit_tree(), b.kpis_by_child_unit(above), b.durations_by_group(above, "unit"))
    owners = baseline.overdue_actions_by_owner(b, f)
    shown = owners.head(screens.OWNERS_SHOWN)
    items = baseline.overdue_actions_of_owners(b, f, [o for o in shown["owner"] if pd.notna(o)],
                                               bool(shown["owner"].isna().any()), screens.OWNER_ROWS)
    return screens.my_unit_from(f, parent, ranking, owners, items,
                                baseline.actions_due_within(b, f, screens.DUE_WITHIN_DAYS, tables.SHOWN_ROWS), lang)


PAGES = {
    "overview": (screens.overview, overview_pandas),
    "units": (screens.units, units_pandas),
    "recurrence": (screens.recurrence, recurrence_pandas),
    "time_to_close": (screens.time_to_close, time_to_close_pandas),
    "rectification": (screens.rectification, rectification_pandas),
    "data": (screens.data_quality, data_pandas),
    "my_unit": (screens.my_unit, my_unit_pandas),
}


# ---------------------------------------------------------------------------------------------
# Comparing the two ways' numbers


LONG = 1000  # rows: a longer frame is compared by its length, its first rows and a digest of all of them


def plain(value):
    """A page's result as JSON-able values: frames become lists of rows, dates ISO text."""
    if dataclasses.is_dataclass(value):  # a screen: its numbers and tables, and how many figures it draws
        shown = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.name != "charts"}
        return plain(shown) | {"figures": sum(figure is not None for figure in value.charts.values())}
    if isinstance(value, Styler):  # a table tinted for the page: its numbers
        return plain(value.data)
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
        times, cpu, numbers = timed(lambda f: work(con, f, None, LANGUAGE), runs(as_of, repeat + 1))
        con.close()
        out["pages"][page] = {"closeloop_cold_ms": ms(times[0]),
                              "closeloop_warm_ms": ms(statistics.median(times[1:])),
                              "closeloop_runs_ms": [ms(s) for s in times],
                              "closeloop_cold_cpu_ms": ms(cpu[0]),
                              "closeloop_warm_cpu_ms": ms(statistics.median(cpu[1:]))}
        out["numbers"][page] = numbers
    out["rss_mb"] = round(peak_rss_mb(), 1)
    return out


def pandas_side(db: str, as_of: date, repeat: int, pages: list[str], window_days: int,
                memory_bytes: int | None = None) -> dict:
    """The tables loaded once, repeat flags once per window, then every run filtered and grouped in pandas.

    `memory_bytes` caps this process's address space, so that a size too large for memory fails here
    with MemoryError rather than making the kernel kill some other process.
    """
    import resource

    import duckdb

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        if memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, hard))
        return _pandas_side(db, as_of, repeat, pages, window_days)
    except (MemoryError, duckdb.OutOfMemoryException):
        pass  # answered below, out of the handler: its traceback keeps the half-loaded tables alive
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))  # returning the answer needs memory too
    return {"error": f"out of memory at {(memory_bytes or 0) / 2**30:.1f} GiB", "rss_mb": round(peak_rss_mb(), 1)}


def _pandas_side(db: str, as_of: date, repeat: int, pages: list[str], window_days: int) -> dict:
    t = i18n.translator(LANGUAGE)
    warm_python(t)
    started = time.perf_counter()
    con = store.connect(db)
    b = baseline.Baseline(baseline.load(con), LANGUAGE)
    con.close()
    out = {"load_ms": ms(time.perf_counter() - started), "pages": {}, "numbers": {}}
    started = time.perf_counter()
    b.repeats(window_days)
    out["repeats_ms"] = ms(time.perf_counter() - started)
    for page in pages:
        work = PAGES[page][1]
        times, cpu, numbers = timed(lambda f: work(b, f, LANGUAGE), runs(as_of, repeat + 1))
        out["pages"][page] = {"pandas_ms": ms(statistics.median(times[1:])),
                              "pandas_runs_ms": [ms(s) for s in times],
                              "pandas_cpu_ms": ms(statistics.median(cpu[1:]))}
        out["numbers"][page] = numbers
    out["rss_mb"] = round(peak_rss_mb(), 1)
    return out


def build_side(db: str, ncs: int) -> dict:
    """The demo store, built in a process of its own: its memory is returned before the next step."""
    from closeloop import demo

    started = time.perf_counter()
    con = store.connect(db)
    demo.build(con, ncs=ncs)
    con.close()
    return {"seconds": round(time.perf_counter() - started, 2), "rss_mb": round(peak_rss_mb(), 1)}


def import_side(folder: str, db: str, memory_bytes: int | None = None) -> dict:
    """Read the canonical CSV ledger and load it into a fresh store, as `python -m closeloop import` does."""
    from closeloop import ledger

    if memory_bytes:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    con = store.connect(db)
    started, started_cpu = time.perf_counter(), time.process_time()
    sheets = ledger.read([Path(folder)])
    outcome = ledger.load(con, sheets, actor="bench")
    seconds = time.perf_counter() - started
    con.close()
    if not outcome.ok:
        raise RuntimeError(f"the demo's own ledger was rejected: {outcome.problems[:5]}")
    rows = sum(len(s.rows) for s in sheets)
    ncs = sum(len(s.rows) for s in sheets if s.kind == "nonconformities")
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
            "ncs_per_s": round(ncs / seconds), "cpu_s": round(time.process_time() - started_cpu, 2),
            "rss_mb": round(peak_rss_mb(), 1)}


def handoff_side(db: str, as_of: date) -> dict:
    """What sharing the embedded store costs: a command run while a served store sits idle against the same
    command with no server, and the Overview's first run after the store came back against a warm one."""
    from closeloop import lease

    t = i18n.translator(LANGUAGE)
    warm_python(t)
    command = [sys.executable, "-m", "closeloop", "metrics", "--db", db, "--as-of", as_of.isoformat()]
    env = os.environ | {"CLOSELOOP_LANG": "en"}

    def timed_command() -> float:
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True, cwd=store.ROOT)
        return time.perf_counter() - started

    alone = statistics.median(timed_command() for _ in range(3))
    served = lease.Lease(db, poll=0.1)
    f = runs(as_of, 5)
    with served.hold() as con:
        screens.overview(con, f[0], None, LANGUAGE)
    warm, served_command, after = [], [], []
    for i in range(1, 4):
        with served.hold() as con:
            started = time.perf_counter()
            screens.overview(con, f[i], None, LANGUAGE)
            warm.append(time.perf_counter() - started)
        served_command.append(timed_command())
        with served.hold() as con:
            started = time.perf_counter()
            screens.overview(con, runs(as_of - timedelta(days=40 + i), 1)[0], None, LANGUAGE)  # a day not asked before
            after.append(time.perf_counter() - started)
    served.close()
    return {"command_alone_ms": ms(alone), "command_while_served_ms": ms(statistics.median(served_command)),
            "overview_warm_ms": ms(statistics.median(warm)),
            "overview_after_handoff_ms": ms(statistics.median(after))}


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


def export_ledger(db: Path, folder: Path) -> None:
    """The store's four tables as the canonical CSV ledger: the golden ledger's form, quoted only where a cell needs it."""
    import duckdb

    folder.mkdir(exist_ok=True)
    con = duckdb.connect(str(db), read_only=True)  # the bench's own reading: COPY needs file access
    try:
        for kind, query in EXPORTS.items():
            con.execute(f"copy ({query}) to '{folder / (kind + '.csv')}' (header, delimiter ',')")
    finally:
        con.close()


def store_mb(db: Path) -> float:
    files = [db, db.with_name(db.name + ".wal")]
    return round(sum(p.stat().st_size for p in files if p.exists()) / 2**20, 1)


def available_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            return next(int(line.split()[1]) * 1024 for line in info if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        return None


def measure(ncs: int, repeat: int, folder: Path, pages: list[str] | None = None, window_days: int = 365,
            browser: bool = False) -> dict:
    """Everything the table and the JSON report for one size, plus both ways' numbers compared."""
    from concurrent.futures.process import BrokenProcessPool

    from closeloop import demo

    pages = pages or list(PAGES)
    load_before = [round(x, 2) for x in os.getloadavg()]
    db = folder / "demo.duckdb"
    built = in_own_process(build_side, str(db), ncs)
    size = store_mb(db)

    con = store.connect(db)
    as_of = con.execute("select max(found_on) from nonconformities").fetchall()[0][0]
    # Repeat flags: what every writer of all findings pays (an import, the demo), and a window asked for
    # the first time (the Recurrence page's window input); the default window's are kept on the rows.
    started = time.perf_counter()
    with store.transaction(con):
        store.refresh_findings(con)
    refresh_ms = ms(time.perf_counter() - started)
    started = time.perf_counter()
    store.ensure_repeats(con, 180)
    other_window_ms = ms(time.perf_counter() - started)
    con.close()
    export_ledger(db, folder / "ledger")

    try:
        imported = in_own_process(import_side, str(folder / "ledger"), str(folder / "imported.duckdb"),
                                  available_bytes())
    except Exception as e:  # out of memory at a size this machine cannot import in one go: say so
        imported = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}
    ours = in_own_process(closeloop_side, str(db), as_of, repeat, pages)
    try:
        theirs = in_own_process(pandas_side, str(db), as_of, repeat, pages, window_days, available_bytes())
    except BrokenProcessPool:
        theirs = {"error": "the process was killed (out of memory?)", "rss_mb": None}
    drawn = in_own_process(browser_side, str(db), as_of) if browser else None
    handoff = in_own_process(handoff_side, str(db), as_of)

    mismatches = []
    if "error" not in theirs:
        for page in pages:
            for run, (a, b) in enumerate(zip(ours["numbers"][page], theirs["numbers"][page])):
                mismatches += [f"{page} run {run} (as of {as_of - timedelta(days=run)}){d}"
                               for d in differences(a, b)]
    pandas_pages = theirs.get("pages", {})
    report = {
        "pages": {page: {**ours["pages"][page], **pandas_pages.get(page, {"pandas_ms": None})} for page in pages},
        "rss_mb": {"closeloop": ours["rss_mb"], "pandas": theirs["rss_mb"]},
        "store_mb": size,
        "import_rows_per_s": imported.get("rows_per_s"),
        "import_ncs_per_s": imported.get("ncs_per_s"),
        "import_rows": imported.get("rows"),
        "import_s": imported.get("seconds"),
        "import_cpu_s": imported.get("cpu_s"),
        "import_rss_mb": imported.get("rss_mb"),
        "import_error": imported.get("error"),
        "units": demo.unit_rows(ncs)["table"].num_rows,
        "build_s": built["seconds"],
        "build_rss_mb": built["rss_mb"],
        "as_of": as_of.isoformat(),
        "connect_ms": ours["connect_ms"],
        "handoff": handoff,
        "repeats_ms": {"closeloop_refresh_all": refresh_ms, "closeloop_new_window": other_window_ms,
                       "pandas": theirs.get("repeats_ms")},
        "pandas_load_ms": theirs.get("load_ms"),
        "pandas_error": theirs.get("error"),
        "numbers_agree": not mismatches and "error" not in theirs,
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
    }
    return {"report": report, "mismatches": mismatches, "browser": drawn,
            "numbers": {"closeloop": ours["numbers"], "pandas": theirs.get("numbers")}}


# ---------------------------------------------------------------------------------------------
# The Overview in a browser


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
OVERVIEW_CHARTS = 4
# Every chart of the Overview drawn (its SVG in place) and the script done: the screen a meeting sees.
DRAWN = """(charts) => {
    const app = document.querySelector('[data-testid=stApp]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const boxes = [...document.querySelectorAll('[data-testid=stPlotlyChart]')];
    return boxes.length >= charts && boxes.every((box) => box.querySelector('.js-plotly-plot .main-svg'));
}"""


def browser_side(db: str, as_of: date) -> dict:
    """Navigation to the Overview until every chart is drawn, in Debian's Chromium against a served store.

    The server runs already (a first visit, as of another day, opened the store). Cold: a new browser
    context, its cache empty; warm: a second navigation in the same context. Each visit asks for a day
    not asked before, so the server computes its numbers afresh, as in the server-side measurements.
    """
    import socket
    import subprocess
    import urllib.request

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "CLOSELOOP_DB"} | {"CLOSELOOP_DB": db}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=store.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the dashboard did not start") from None
                time.sleep(0.25)
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)

            def visit(page, day: date) -> float:
                started = time.perf_counter()
                page.goto(f"{url}/?as_of={day.isoformat()}&lang=zh", wait_until="commit")
                page.wait_for_function(DRAWN, arg=OVERVIEW_CHARTS, polling=50, timeout=180_000)
                return ms(time.perf_counter() - started)

            first = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            visit(first.new_page(), as_of - timedelta(days=30))
            first.close()
            context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            page = context.new_page()
            cold = visit(page, as_of)
            warm = [visit(page, as_of - timedelta(days=i)) for i in range(1, 4)]
            context.close()
            chromium.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return {"overview_cold_ms": cold, "overview_warm_ms": statistics.median(warm), "overview_warm_runs_ms": warm}


# ---------------------------------------------------------------------------------------------
# Where one query's time goes


# what the pages pass besides the filters, as bench's pages do (Recurrence by month, curves by severity, …)
PAGE_PARAMS = {"grain": "month", "split": "severity", "view": "open", "me": [], "limit": tables.SHOWN_ROWS,
               "levels": charts.TREEMAP_LEVELS, "lang": LANGUAGE}


def profile(db: str, query: str, as_of: date | None = None) -> str:
    """DuckDB's own account of one named query on a store, default filters as of its last finding:
    each operator's time (all threads) and rows, slowest first, after one run to warm the store."""
    import duckdb

    con = duckdb.connect(db, read_only=True)  # store.connect locks the configuration profiling needs
    try:
        as_of = as_of or con.execute("select max(found_on) from nonconformities").fetchall()[0][0]
        text = store.sql(query)
        bound = store.bind(text, Filters.default(as_of).params(None) | PAGE_PARAMS)
        con.execute(text, bound).fetchall()
        con.execute("pragma enable_profiling = 'no_output'")
        started = time.perf_counter()
        con.execute(text, bound).fetchall()
        wall = time.perf_counter() - started
        tree = json.loads(con.get_profiling_information(format="json"))
    finally:
        con.close()
    operators = []

    def walk(node: dict, depth: int) -> None:
        about = node.get("extra_info", {})
        what = about.get("Table") or about.get("CTE Name") or about.get("Groups") or about.get("Conditions") or ""
        operators.append((node.get("timing", 0.0), depth, node["type"], node.get("intermediate_rows"), str(what)))
        for child in node.get("children", []):
            walk(child, depth + 1)

    for node in tree["operator"]:
        walk(node, 0)
    lines = [f"{query} as of {as_of}: {ms(wall):,.1f} ms wall, operators' time summed over threads"]
    for timing, depth, kind, rows, what in sorted(operators, reverse=True)[:15]:
        lines.append(f"{ms(timing):>8,.1f} ms  {kind:<20} {rows or 0:>10,} rows  {what[:70]}")
    return "\n".join(lines)


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


def table(sizes: dict[str, dict], browser: dict | None = None) -> str:
    """One line per (size, page), then three per size for memory, store, import and repeat flags.

    Speed-up is pandas over closeloop warm; "(cpu)" is process CPU time, all threads (DuckDB uses every
    core, pandas one), which a busy machine inflates far less than wall time.
    """
    def number(value, spec=",.0f"):
        return "-" if value is None else format(value, spec)

    def ratio(part, whole):
        return f"{part / whole:.2f}x" if part and whole else "-"

    head = (f"{'NCs':>9}  {'page':<13} {'cold ms':>8} {'(cpu)':>7} {'warm ms':>8} {'(cpu)':>7} {'pandas ms':>9}"
            f" {'(cpu)':>7} {'speed-up':>8} {'(cpu)':>7}")
    lines = [head, "-" * len(head)]
    for n, r in sizes.items():
        for page, p in r["pages"].items():
            lines.append(
                f"{int(n):>9,}  {page:<13} {p['closeloop_cold_ms']:>8,.0f} {number(p.get('closeloop_cold_cpu_ms')):>7}"
                f" {p['closeloop_warm_ms']:>8,.0f} {number(p.get('closeloop_warm_cpu_ms')):>7}"
                f" {number(p.get('pandas_ms')):>9} {number(p.get('pandas_cpu_ms')):>7}"
                f" {ratio(p.get('pandas_ms'), p['closeloop_warm_ms']):>8}"
                f" {ratio(p.get('pandas_cpu_ms'), p.get('closeloop_warm_cpu_ms')):>7}"
            )
        pandas = r["rss_mb"]["pandas"]
        lines.append(
            f"{'':>11}{r.get('units', 0):,} units; RSS MB closeloop {r['rss_mb']['closeloop']:,.0f} / pandas "
            f"{number(pandas)}{' (' + r['pandas_error'] + ')' if r.get('pandas_error') else ''}; "
            f"store {r['store_mb']:,.1f} MB, built in {r['build_s']:.1f} s"
        )
        lines.append(
            f"{'':>11}import {number(r.get('import_ncs_per_s'))} NCs/s, {number(r.get('import_rows_per_s'))} rows/s "
            f"({number(r.get('import_rows'))} rows in {number(r.get('import_s'), ',.1f')} s, "
            f"{number(r.get('import_cpu_s'), ',.1f')} s CPU){' ' + r['import_error'] if r.get('import_error') else ''}"
        )
        repeats = r["repeats_ms"]
        lines.append(
            f"{'':>11}repeat flags: every finding refreshed {number(repeats.get('closeloop_refresh_all'))} ms, a new "
            f"window {number(repeats.get('closeloop_new_window'))} ms; pandas once per session "
            f"{number(repeats.get('pandas'))} ms after loading for {number((r.get('pandas_load_ms') or 0) / 1000, ',.1f')} s; "
            f"load average {r.get('load_average', {}).get('before')} → {r.get('load_average', {}).get('after')}"
        )
        if r.get("handoff"):
            h = r["handoff"]
            lines.append(
                f"{'':>11}shared store: `metrics` {h['command_alone_ms']:,.0f} ms alone, "
                f"{h['command_while_served_ms']:,.0f} ms while the dashboard serves; the Overview "
                f"{h['overview_warm_ms']:,.0f} ms warm, {h['overview_after_handoff_ms']:,.0f} ms just after a handoff"
            )
    if browser:
        lines.append(
            f"Browser, {browser['ncs']:,} NCs: Overview fully drawn {browser['overview_cold_ms']:,.0f} ms with a cold "
            f"cache, {browser['overview_warm_ms']:,.0f} ms warm"
        )
    return "\n".join(lines)


def document(reports: dict[str, dict], browser: dict | None = None) -> dict:
    """The JSON the benchmark writes."""
    return {"sizes": reports, "browser": browser, "machine": machine()}


def run(sizes: list[int], repeat: int, pages: list[str] | None = None,
        browser_size: int | None = None) -> tuple[dict, list[str]]:
    """The JSON document for these sizes, and every mismatch between the two ways."""
    reports, mismatches, drawn = {}, [], None
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix=f"closeloop-bench-{n}-") as folder:
            measured = measure(n, repeat, Path(folder), pages, browser=n == browser_size)
        reports[str(n)] = measured["report"]
        if measured["browser"]:
            drawn = measured["browser"] | {"ncs": n}
        mismatches += [f"{n:,} NCs: {m}" for m in measured["mismatches"]]
        print(f"measured {n:,} NCs", file=sys.stderr, flush=True)
    return document(reports, drawn), mismatches


def main(args) -> int:
    try:
        sizes = [int(s) for s in str(args.sizes).replace("_", "").split(",") if s.strip()]
    except ValueError:
        print(i18n.translate(i18n.cli_language(), "bench_bad_sizes", value=repr(args.sizes)), file=sys.stderr)
        return 2
    if not sizes or min(sizes) < 1 or args.repeat < 1:
        print(i18n.translate(i18n.cli_language(), "bench_at_least_one"), file=sys.stderr)
        return 2
    if getattr(args, "profile", None):
        queries = [q.strip() for q in args.profile.split(",") if q.strip()]
        unknown = [q for q in queries if not (store.QUERIES / f"{q}.sql").is_file() or "/" in q or "\\" in q]
        if unknown or not queries:
            print(i18n.translate(i18n.cli_language(), "bench_unknown_query", value=", ".join(unknown) or "-"),
                  file=sys.stderr)
            return 2
        for query in queries:
            print(profile(str(store.db_path(args.db)), query))
        return 0
    if getattr(args, "load", None) or getattr(args, "writers", 0):
        return load_main(args)
    browser = getattr(args, "browser", None)
    document, mismatches = run(sizes, args.repeat, browser_size=browser if browser in sizes else None)
    print(table(document["sizes"], document["browser"]))
    if args.json:
        Path(args.json).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if mismatches:
        print(f"MISMATCH: the pandas way and closeloop disagree in {len(mismatches)} places:", file=sys.stderr)
        print("\n".join(mismatches[:50]), file=sys.stderr)
        return 1
    return 0


def load_main(args) -> int:
    """`bench --load URL[,URL] [--writers N --db STORE]`: the load table, and the JSON with --json."""
    from closeloop import load

    try:
        levels = [int(n) for n in str(args.sessions).split(",") if n.strip()]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1 or args.load_seconds <= 0 or args.writers < 0:
        print(i18n.translate(i18n.cli_language(), "bench_at_least_one"), file=sys.stderr)
        return 2
    measured = {}
    for url in [u.strip() for u in (args.load or "").split(",") if u.strip()]:
        measured[url] = []
        for count in levels:
            measured[url].append(load.sessions(url, count, args.load_seconds))
            print(f"load: {url} {count} sessions done", file=sys.stderr, flush=True)
    written = load.writers(str(args.db), args.writers, args.write_seconds) if args.writers else None
    print(load.table(measured, written))
    if args.json:
        document = {"load": measured, "writers": written, "machine": machine(),
                    "load_average": [round(x, 2) for x in os.getloadavg()]}
        Path(args.json).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lost = bool(written and (written["lost"] or not written["trail_verifies"]))
    return 1 if lost else 0
