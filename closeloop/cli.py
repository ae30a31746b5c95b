"""`python -m closeloop`: the same store without the browser."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import date
from pathlib import Path

from closeloop import i18n, ledger, metrics, store
from closeloop.filters import DEFAULT_WINDOW_DAYS, Filters


class Refused(Exception):
    """A one-line reason to exit non-zero; `key` names the catalog message."""

    def __init__(self, key: str, **details):
        super().__init__(key, details)
        self.key = key
        self.details = details


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(i18n.translate(i18n.cli_language(), "bad_date", value=text)) from None


class Parser(argparse.ArgumentParser):
    """Bad arguments get one line, as every other refusal does, not argparse's usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message}\n")


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m closeloop", description=__doc__)
    commands = p.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="build the deterministic demo store")
    demo.add_argument("--db")
    demo.add_argument("--ncs", type=int, default=3000, help="number of nonconformities")
    demo.add_argument("--seed", type=int, default=7)

    imp = commands.add_parser("import", help="import ledgers: CSV files, folders of them, or .xlsx workbooks")
    imp.add_argument("paths", nargs="+", type=Path)
    imp.add_argument("--db")
    imp.add_argument("--as", dest="actor", default=None, help="who is importing (default: the login name)")

    m = commands.add_parser("metrics", help="print the metric contract as JSON")
    m.add_argument("--db")
    m.add_argument("--as-of", type=iso_date)
    m.add_argument("--from", dest="since", type=iso_date)
    m.add_argument("--to", dest="until", type=iso_date)
    m.add_argument("--unit")
    m.add_argument("--window-days", type=int, default=DEFAULT_WINDOW_DAYS)

    bench = commands.add_parser("bench", help="measure every page against the in-memory pandas way")
    bench.add_argument("--sizes", default="100000,1000000")
    bench.add_argument("--json", type=Path)
    bench.add_argument("--repeat", type=int, default=5)
    return p


def run_demo(args, t) -> str:
    from closeloop import demo

    con = store.connect(args.db)
    if con.execute("select count(*) from nonconformities").fetchone()[0]:
        raise Refused("store_not_empty", path=str(store.db_path(args.db)))
    counts = demo.build(con, ncs=args.ncs, seed=args.seed)
    return t("demo_built", db=str(store.db_path(args.db)), **counts)


def run_import(args, t) -> str:
    sheets = ledger.read(args.paths)
    con = store.connect(args.db)
    outcome = ledger.load(con, sheets, actor=args.actor or getpass.getuser())
    if not outcome.ok:
        lines = [
            t("import_problem_line", file=p.file, row=p.row, column=p.column,
              reason=t(f"reason_{p.reason}"), value=p.value if p.value is not None else "")
            for p in outcome.problems
        ]
        print("\n".join(lines), file=sys.stderr)
        raise Refused("import_rejected", n=len(outcome.problems))
    summary = ", ".join(
        f"{kind} +{outcome.accepted[kind]} ~{outcome.changed[kind]}" for kind in ledger.KINDS
    )
    return t("import_done", summary=summary, batch=outcome.batch)


def run_metrics(args, t) -> str:
    f = Filters.default(args.as_of or date.today(), window_days=args.window_days, unit=args.unit)
    f = f.replace(since=args.since or f.since, until=args.until or f.until)
    if f.since > f.until:
        raise Refused("bad_period")
    con = store.connect(args.db, create=False)
    if args.unit and not con.execute("select count(*) from units where code = $u", {"u": args.unit}).fetchone()[0]:
        raise Refused("unknown_unit_arg", unit=args.unit)
    return json.dumps(metrics.contract(con, f), ensure_ascii=False, indent=2)


def main(argv: list[str] | None = None) -> int:
    lang = i18n.cli_language()
    t = i18n.translator(lang)
    args = parser().parse_args(argv)
    commands = {"demo": run_demo, "import": run_import, "metrics": run_metrics}
    try:
        if args.command == "bench":
            from closeloop import bench

            return bench.main(args)
        print(commands[args.command](args, t))
    except (Refused, store.StoreError, ledger.LedgerError) as e:
        print(t(e.key, **e.details), file=sys.stderr)
        return 2
    return 0
