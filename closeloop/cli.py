"""`python -m closeloop`: the same store without the browser."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from datetime import date
from pathlib import Path

import duckdb

from closeloop import clock, i18n, identity, ledger, metrics, plan_ledger, store, trail, value_maps, workflow
from closeloop.filters import DATE_LIMITS, DEFAULT_WINDOW_DAYS, SEVERITIES, SOURCES, WINDOW_LIMITS, Filters
from closeloop.refusal import Refused

DEMO_LIMITS = (1, 10_000_000)  # findings the demo builds: the benchmark's largest store is 1M
AS_HELP = "who acts, a user's email (default: $CLOSELOOP_ACTOR, else the local administrator as local:LOGIN)"


def iso_date(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(i18n.translate(i18n.cli_language(), "bad_date", value=text)) from None
    if not DATE_LIMITS[0] <= day <= DATE_LIMITS[1]:
        raise argparse.ArgumentTypeError(i18n.translate(i18n.cli_language(), "date_out_of_range", value=text,
                                                        first=DATE_LIMITS[0], last=DATE_LIMITS[1]))
    return day


def whole_number(limits: tuple[int, int]):
    """An argparse type: a whole number within `limits`, both included, refused in the user's language."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = None
        if number is None or not limits[0] <= number <= limits[1]:
            raise argparse.ArgumentTypeError(i18n.translate(i18n.cli_language(), "bad_whole_number", value=text,
                                                            low=f"{limits[0]:,}", high=f"{limits[1]:,}"))
        return number

    return parse


def language(text: str) -> str:
    """--lang: a public code, or the old zh (argparse then checks it against the choices)."""
    return i18n.language(text) or text


class Parser(argparse.ArgumentParser):
    """Bad arguments get one line, as every other refusal does, not argparse's usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message}\n")


def add_filter_arguments(sub: argparse.ArgumentParser, *, window: bool = True) -> None:
    """The store and the filters a command reads with (the dashboard's defaults where not given)."""
    sub.add_argument("--db")
    sub.add_argument("--as-of", type=iso_date)
    sub.add_argument("--from", dest="since", type=iso_date)
    sub.add_argument("--to", dest="until", type=iso_date)
    sub.add_argument("--unit")
    if window:
        sub.add_argument("--window-days", type=whole_number(WINDOW_LIMITS), default=DEFAULT_WINDOW_DAYS)


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m closeloop", description=__doc__)
    commands = p.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="build the deterministic demo store")
    demo.add_argument("--db")
    demo.add_argument("--ncs", type=whole_number(DEMO_LIMITS), default=3000, help="number of nonconformities")
    demo.add_argument("--seed", type=int, default=7)

    imp = commands.add_parser("import", help="import ledgers: CSV files, folders of them, or .xlsx workbooks")
    imp.add_argument("paths", nargs="+", type=Path)
    imp.add_argument("--db")
    imp.add_argument("--as", dest="actor", default=None, help=AS_HELP)
    imp.add_argument("--map", dest="maps", action="append", type=Path, default=[], metavar="FILE",
                     help="value mappings, CSV lines column,value,canonical (kept in the store with the import)")

    add_filter_arguments(commands.add_parser("metrics", help="print the metric contract as JSON"))

    bench = commands.add_parser("bench", help="measure every page against the in-memory pandas way")
    bench.add_argument("--sizes", default="100000,1000000")
    bench.add_argument("--json", type=Path)
    bench.add_argument("--repeat", type=int, default=5)
    bench.add_argument("--browser", type=int, default=1_000_000,
                       help="the size whose Overview is also timed in Chromium (0: none)")
    bench.add_argument("--profile", metavar="QUERY[,QUERY]",
                       help="instead: where these named queries' time goes on the store (--db), operator by operator")
    bench.add_argument("--db")
    bench.add_argument("--load", metavar="URL[,URL]",
                       help="instead: sessions running every page against these running dashboards (a replica, a balancer)")
    bench.add_argument("--sessions", default="1,8,16,32", help="the load's levels: concurrent sessions")
    bench.add_argument("--load-seconds", type=float, default=60, help="how long each level runs")
    bench.add_argument("--writers", type=int, default=0,
                       help="with --db: this many processes making workflow moves on the same actions at once")
    bench.add_argument("--write-seconds", type=float, default=300)

    out = commands.add_parser("export", help="the filtered ledger as the template has it: --out FILE.xlsx or .csv")
    out.add_argument("--out", type=Path, required=True)
    add_filter_arguments(out, window=False)
    for name, values in (("source", "internal_audit,inspection,…"), ("severity", "major,minor,observation"),
                         ("category", "a category of the checklist")):
        out.add_argument(f"--{name}", action="append", default=[], help=f"repeat or comma-separate: {values}")
    out.add_argument("--lang", type=language, choices=i18n.LANGUAGES,
                     help="the words for sources, severities and statuses (zh: zh-Hans)")
    out.add_argument("--as", dest="actor", default=None, help=AS_HELP + ": only what they may see")

    tr = commands.add_parser("trail", help="verify the hash-chained trail (or seal a store written before it)")
    tr.add_argument("task", choices=("verify", "seal"))
    tr.add_argument("--db")
    tr.add_argument("--head", help="a block hash kept elsewhere that the chain must still hold")
    tr.add_argument("--anchors", type=Path, help="a log of heads (the store's .anchors file): each must still be in the chain")

    act = commands.add_parser("action", help="record what happened to an action (add: a new one on a finding)")
    act.add_argument("move", choices=("start", "done", "extend", "cancel", "add"))
    act.add_argument("ref", help="the action's ref; for add, the finding's")
    act.add_argument("--evidence", help="what shows it was done")
    act.add_argument("--file", type=Path, help="a file of evidence, kept beside the store with its sha256")
    act.add_argument("--on", type=iso_date, help="the day it was done (default: today in the organisation's zone, CLOSELOOP_TZ)")
    act.add_argument("--due", type=iso_date, help="the new due date (extend, add)")
    act.add_argument("--reason", help="why (extend, cancel)")
    act.add_argument("--kind", choices=workflow.ACTION_KINDS, default="corrective")
    act.add_argument("--description")
    act.add_argument("--owner")

    nc = commands.add_parser("nc", help="verify or reopen a nonconformity")
    nc.add_argument("move", choices=("verify", "reopen"))
    nc.add_argument("ref")
    nc.add_argument("--effective", choices=("yes", "no"))
    nc.add_argument("--note", help="what the verification found (required when not effective)")
    nc.add_argument("--on", type=iso_date, help="the verification date (default: today in the organisation's zone, CLOSELOOP_TZ)")
    nc.add_argument("--reason", help="why it is reopened")

    history = commands.add_parser("history", help="every change to a record (a finding: with its actions), oldest first")
    history.add_argument("ref")
    history.add_argument("--format", choices=("text", "csv", "json"), default="text")

    user = commands.add_parser("user", help="give a person (by email) a role and the unit whose subtree they see")
    user.add_argument("email")
    user.add_argument("--role", choices=identity.ROLES, required=True)
    user.add_argument("--unit", help="default: the whole organisation")
    user.add_argument("--name", help="as written in actions' owner column")

    for sub in (act, nc, history, user):
        sub.add_argument("--db")
        sub.add_argument("--as", dest="actor", default=None, help=AS_HELP)
        sub.add_argument("--version", type=int, help="the version read; refused if the record changed since")

    pack = commands.add_parser("report", help="the meeting pack for the filters: --out pack.pdf, .pptx or .xlsx")
    pack.add_argument("--out", type=Path, required=True)
    pack.add_argument("--lang", type=language, choices=i18n.LANGUAGES,
                      help="the pack's language (default: the command line's; zh: zh-Hans)")
    rev = commands.add_parser("review", help="record a management review (freezing its snapshot), or list them")
    rev.add_argument("task", choices=("record", "list"))
    rev.add_argument("--held-on", type=iso_date, help="the day it met (default: today in the organisation's zone, CLOSELOOP_TZ)")
    rev.add_argument("--title")
    rev.add_argument("--attendees", help="comma-separated names")
    rev.add_argument("--as", dest="actor", default=None, help=AS_HELP)
    for sub in (pack, rev):
        add_filter_arguments(sub)
    pack.add_argument("--mail-to", help="comma-separated addresses: send the pack by email (CLOSELOOP_SMTP_*)")
    pack.add_argument("--as", dest="actor", default=None, help=AS_HELP + ": only what they may see")
    user.add_argument("--lang", choices=("zh-Hans", "zh-Hant", "en"), help="the language of their notices")
    add_notify_commands(commands)
    add_target_command(commands)
    return p


def add_notify_commands(commands) -> None:
    """notify, calendar, deadlines, setting and unit head: reminders, escalation and who answers for a unit."""
    note = commands.add_parser("notify", help="send the day's reminders and escalations (once a day, e.g. by cron)")
    note.add_argument("--as-of", type=iso_date, help="the day (default: today in the organisation's zone, CLOSELOOP_TZ)")
    note.add_argument("--dry-run", action="store_true", help="say what would be sent; send and record nothing")
    note.add_argument("--json", action="store_true", help="print the notices as JSON")
    note.add_argument("--ical", type=Path, metavar="DIR", help="also write each owner's calendar of due dates there")
    cal = commands.add_parser("calendar", help="an owner's open actions on their due dates, as an .ics file")
    cal.add_argument("owner", help="the owner's name as the ledger writes it")
    cal.add_argument("--out", type=Path, required=True)
    cal.add_argument("--as-of", type=iso_date)
    dl = commands.add_parser("deadlines", help="days to close a finding without a due date, by severity (and source)")
    dl.add_argument("task", choices=("set", "list"))
    dl.add_argument("severity", nargs="?", choices=("major", "minor", "observation"))
    dl.add_argument("days", nargs="?", type=int, help="days from found to the finding's due date")
    dl.add_argument("--actions", type=int, help="days for its actions (default: the same)")
    dl.add_argument("--source", choices=SOURCES, help="only findings of this source")
    st = commands.add_parser("setting", help="change a notice threshold (due_soon_days, head_after_days, "
                                             "above_after_days) or the dashboard's base_url")
    st.add_argument("key")
    st.add_argument("value")
    unit = commands.add_parser("unit", help="set a unit's head (負責人), whom its overdue items escalate to")
    unit.add_argument("task", choices=("head",))
    unit.add_argument("code")
    unit.add_argument("--name")
    unit.add_argument("--email")
    unit.add_argument("--lang", choices=("zh-Hans", "zh-Hant", "en"))
    for sub in (note, cal, dl, st, unit):
        sub.add_argument("--db")
        sub.add_argument("--as", dest="actor", default=None, help=AS_HELP)


def run_demo(args, t) -> str:
    from closeloop import demo

    con = store.connect(args.db)
    if con.execute("select count(*) from nonconformities").fetchone()[0]:
        raise Refused("store_not_empty", path=str(store.db_path(args.db)))
    counts = demo.build(con, ncs=args.ncs, seed=args.seed)
    return t("demo_built", db=str(store.db_path(args.db)), **counts)


def run_import(args, t) -> str:
    reading = ledger.read_files(args.paths)
    if reading.plans:
        return run_plan_import(args, t, reading)
    return _import_findings(args, t, reading)


def _import_findings(args, t, reading: ledger.Reading) -> str:
    mappings = [m for path in args.maps for m in value_maps.read_file(path)]
    for sheet in reading.skipped:
        print(t("import_skipped_sheet", sheet=sheet), file=sys.stderr)
    con = store.connect(args.db)
    who = acting(con, args)
    outcome = ledger.load(con, reading.sheets, who, mappings=mappings)
    if not outcome.ok:
        lines = [
            t("import_problem_line", file=f"{p.file} › {p.sheet}" if p.sheet else p.file, row=p.row,
              column=p.column, reason=t(f"reason_{p.reason}"), value=p.value if p.value is not None else "")
            for p in outcome.problems
        ]
        # each value no alias or mapping names, once, with how to map it: the way forward
        lines += [t("import_unknown_value_line", column=column, value=value, n=n,
                    allowed=", ".join(value_maps.CHOICES[column][1])) for column, value, n in outcome.unknown_values]
        if outcome.unknown_values:
            lines.append(t("import_map_hint"))
        print("\n".join(lines), file=sys.stderr)
        raise Refused("import_rejected", n=len(outcome.problems))
    summary = ", ".join(
        f"{kind} +{outcome.accepted[kind]} ~{outcome.changed[kind]}" for kind in ledger.KINDS
    )
    return t("import_done", summary=summary, batch=outcome.batch)


def run_export(args, t) -> str:
    from closeloop import export

    suffix = args.out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise Refused("export_type_unknown", file=args.out.name)
    listed = {name: [v.strip() for value in getattr(args, name) for v in value.split(",") if v.strip()]
              for name in ("source", "severity", "category")}
    for name, allowed in (("source", SOURCES), ("severity", SEVERITIES)):
        unknown = [v for v in listed[name] if v not in allowed]
        if unknown:
            raise Refused("export_value_unknown", value=", ".join(unknown), allowed=", ".join(allowed))
    f = Filters.default(args.as_of or clock.today(), unit=args.unit, sources=tuple(listed["source"]),
                        severities=tuple(listed["severity"]), categories=tuple(listed["category"]))
    f = f.replace(since=args.since or f.since, until=args.until or f.until)
    if f.since > f.until:
        raise Refused("bad_period")
    writable_folder(args.out)
    con = store.connect(args.db, create=False, writes=False)
    who = acting(con, args)
    if args.unit and not con.execute("select count(*) from units where code = $u", {"u": args.unit}).fetchone()[0]:
        raise Refused("unknown_unit_arg", unit=args.unit)
    f = f.replace(unit=within_scope(con, who, args.unit))
    known = [c for (c,) in con.execute("select distinct category from criteria order by category").fetchall()]
    unknown = [c for c in listed["category"] if c not in known]
    if unknown:
        raise Refused("export_value_unknown", value=", ".join(unknown), allowed=", ".join(known))
    rows = store.run(con, "ledger_rows", f.params(who.scope))
    table = export.ledger_table(rows, args.lang or i18n.cli_language())
    write_whole(args.out, export.ledger_xlsx(table) if suffix == ".xlsx" else export.csv_bytes(table))
    return t("export_written", path=str(args.out), findings=f"{rows['ref'].nunique():,}", rows=f"{len(rows):,}")


def run_metrics(args, t) -> str:
    f = Filters.default(args.as_of or clock.today(), window_days=args.window_days, unit=args.unit)
    f = f.replace(since=args.since or f.since, until=args.until or f.until)
    if f.since > f.until:
        raise Refused("bad_period")
    con = store.connect(args.db, create=False, writes=False)
    if args.unit and not con.execute("select count(*) from units where code = $u", {"u": args.unit}).fetchone()[0]:
        raise Refused("unknown_unit_arg", unit=args.unit)
    return json.dumps(metrics.contract(con, f) | metrics.plan_check(con, f), ensure_ascii=False, indent=2)


def filters_of(args, con) -> Filters:
    """--as-of, --from, --to, --unit and --window-days as Filters, checked against the store."""
    f = Filters.default(args.as_of or clock.today(), window_days=args.window_days, unit=args.unit)
    f = f.replace(since=args.since or f.since, until=args.until or f.until)
    if f.since > f.until:
        raise Refused("bad_period")
    if args.unit and not con.execute("select count(*) from units where code = $u", {"u": args.unit}).fetchone()[0]:
        raise Refused("unknown_unit_arg", unit=args.unit)
    return f


def run_report(args, t) -> str:
    from closeloop import report

    kind = report.kind_of(args.out)
    writable_folder(args.out)
    con = store.connect(args.db, create=False, writes=bool(args.mail_to))
    who = acting(con, args)
    f = filters_of(args, con)
    f = f.replace(unit=within_scope(con, who, args.unit))
    built = report.build(con, f, args.lang or i18n.cli_language(), kind, who.scope)
    write_whole(args.out, built)
    written = t("pack_written", path=str(args.out), size=f"{len(built) / 1024:,.0f}")
    if args.mail_to:
        return written + "\n" + mail_pack(con, f, args, built, t, who.scope)
    return written


def run_review(args, t) -> str:
    from closeloop import review

    con = store.connect(args.db, create=False, writes=args.task == "record")
    who = acting(con, args)
    if args.task == "record":
        made = review.record(con, who, filters_of(args, con), held_on=args.held_on or workflow.today(),
                             title=args.title, attendees=(args.attendees or "").split(","))
        return t("review_recorded", id=made)
    rows = store.run(con, "review_list", {"scope": who.scope})
    if rows.empty:
        return t("review_list_empty")
    return "\n".join(
        t("review_list_line", id=r.id, held_on=f"{r.held_on:%Y-%m-%d}", title=r.title, as_of=f"{r.as_of:%Y-%m-%d}",
          scope=r.unit or t("whole_organisation"), decisions=r.decisions)
        for r in rows.itertuples()
    )


def run_trail(args, t) -> str:
    con = store.connect(args.db, create=False, writes=args.task == "seal")
    if args.task == "seal":
        with store.transaction(con):
            block = trail.seal(con, unsealed_records=True)
        trail.anchor(con, block)
        return t("trail_sealed", block=block) if block else t("trail_nothing_to_seal")
    verdict = trail.verify(con, args.head)
    problems = verdict.problems
    if args.anchors is not None:
        try:
            anchors = trail.read_anchors(args.anchors)
        except OSError:
            raise Refused("trail_anchors_unreadable", path=str(args.anchors)) from None
        except ValueError as bad:
            raise Refused("trail_anchors_bad_line", path=str(args.anchors), line=bad.args[0]) from None
        problems = problems + trail.anchor_problems(con, anchors)
    if problems:
        raise Refused(problems[0].key, **problems[0].details)
    return t("trail_verified", events=f"{verdict.events:,}", blocks=f"{verdict.blocks:,}", head=verdict.head)


def run_action(args, t) -> str:
    con = store.connect(args.db, create=False)
    who = acting(con, args)
    if args.move == "add":
        ref = workflow.add_action(con, who, args.ref, kind=args.kind, description=args.description,
                                  owner=args.owner, due_on=args.due, version=args.version)
        return t("action_added", ref=ref, nc=args.ref)
    if args.move == "start":
        done = workflow.start(con, who, args.ref, version=args.version)
    elif args.move == "done":
        attachment = (args.file.name, args.file.read_bytes()) if args.file else None
        done = workflow.done(con, who, args.ref, evidence=args.evidence, on=args.on, version=args.version,
                             attachment=attachment)
    elif args.move == "extend":
        if args.due is None:
            raise Refused("refused_due_required")
        done = workflow.extend(con, who, args.ref, due_on=args.due, reason=args.reason, version=args.version)
    else:
        done = workflow.cancel(con, who, args.ref, reason=args.reason, version=args.version)
    return t("move_recorded", ref=args.ref, events=done["events"], block=done["block"])


def run_nc(args, t) -> str:
    con = store.connect(args.db, create=False)
    who = acting(con, args)
    if args.move == "verify":
        if args.effective is None:
            raise Refused("refused_effective_required")
        done = workflow.verify(con, who, args.ref, effective=args.effective == "yes", note=args.note, on=args.on,
                               version=args.version)
    else:
        done = workflow.reopen(con, who, args.ref, reason=args.reason, version=args.version)
    return t("move_recorded", ref=args.ref, events=done["events"], block=done["block"])


def run_history(args, t) -> str:
    con = store.connect(args.db, create=False, writes=False)
    who = acting(con, args)
    rows = store.run(con, "record_history", {"ref": args.ref, "scope": who.scope})
    if rows.empty:
        raise Refused("history_none", ref=args.ref)
    if args.format == "csv":
        return rows.to_csv(index=False).rstrip("\n")
    if args.format == "json":
        return rows.to_json(orient="records", date_format="iso", force_ascii=False, indent=2)
    return "\n".join(
        f"{clock.shown(r.at)}  {r.actor}  {r.entity} {r.ref}  {r.field}: "
        f"{'' if r.old is None else r.old} → {'' if r.new is None else r.new}"
        + (f"  ({r.reason})" if r.reason else "")
        for r in rows.itertuples()
    )


def run_user(args, t) -> str:
    con = store.connect(args.db, create=False)
    who = acting(con, args)
    workflow.set_user(con, who, args.email, role=args.role, unit=args.unit, name=args.name, version=args.version,
                      language=args.lang)
    return t("user_set", email=args.email.strip().lower(), role=args.role, unit=args.unit or t("whole_organisation"))


def writable_folder(out: Path) -> None:
    """Refuse before any work when the file cannot be written where asked."""
    folder = out.resolve().parent
    if not folder.is_dir():
        raise Refused("out_folder_missing", folder=str(folder))
    if not os.access(folder, os.W_OK):
        raise Refused("write_failed", path=str(folder), reason=os.strerror(errno.EACCES))


def write_whole(out: Path, data: bytes) -> None:
    """The file whole or not at all: written beside its name, then renamed over it."""
    part = out.with_name(f".{out.name}.part")
    try:
        part.write_bytes(data)
        os.replace(part, out)
    except OSError as e:
        raise store.os_refusal(e, out) from None
    finally:
        part.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    lang = i18n.cli_language()
    t = i18n.translator(lang)
    args = parser().parse_args(argv)
    commands = {"demo": run_demo, "import": run_import, "export": run_export, "metrics": run_metrics, "trail": run_trail,
                "action": run_action, "nc": run_nc, "history": run_history, "user": run_user,
                "report": run_report, "review": run_review, "notify": run_notify, "calendar": run_calendar,
                "deadlines": run_deadlines, "setting": run_setting, "unit": run_unit,
                "target": run_target}
    try:
        if args.command == "bench":
            from closeloop import bench

            return bench.main(args)
        print(commands[args.command](args, t))
    except Refused as e:
        print(t(e.key, **e.details), file=sys.stderr)
        return 2
    except (OSError, duckdb.Error) as e:
        if not store.disk_full(e):
            raise
        # an import, a seal or a checkpoint that found no room: rolled back by DuckDB, said in one line
        print(t("disk_full", path=str(store.db_path(getattr(args, "db", None)).parent)), file=sys.stderr)
        return 2
    except Failed as e:
        print("\n".join(e.lines), file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------------------------------------
# notify: reminders, escalation, deadlines and units' heads


class Failed(Exception):
    """Some sends failed: each one line on stderr, the command exits 1 (and the next run retries them)."""

    def __init__(self, lines: list[str]):
        super().__init__(lines)
        self.lines = lines


def _actor(con, args) -> str:
    return acting(con, args).actor


def run_notify(args, t) -> str:
    from closeloop import mail, notify

    con = store.connect(args.db, create=False)
    as_of = args.as_of or workflow.today()
    if not args.dry_run and not mail.configured_channels():
        raise Refused("notify_no_channel")
    outcome = notify.run(con, as_of, actor=_actor(con, args), dry_run=args.dry_run)
    for line in outcome.resent:  # said, not failed: the digest went out this time
        print(line, file=sys.stderr)
    if args.ical:
        args.ical.mkdir(parents=True, exist_ok=True)
        written = [o for o in store.run(con, "owner_actions_due", {"as_of": as_of})["owner"]
                   if isinstance(o, str) and o.strip()]
        key = notify.owner_keys(con, written)
        owners = {key[o]: o for o in written}
        for key, owner in sorted(owners.items()):
            (args.ical / f"{owner}.ics").write_bytes(notify.calendar(con, owner, as_of))
    if args.json:
        printed = json.dumps({"notices": [n.as_json() for n in outcome.notices]}, ensure_ascii=False, indent=2)
    else:
        people = {n.person.key for n in outcome.notices}
        printed = t("notify_dry_run" if args.dry_run else "notify_done", notices=len(outcome.notices),
                    people=len(people), day=as_of.isoformat())
    if outcome.failures:
        print(printed)
        raise Failed(outcome.failures)
    return printed


def run_calendar(args, t) -> str:
    from closeloop import notify

    con = store.connect(args.db, create=False)
    args.out.write_bytes(notify.calendar(con, args.owner, args.as_of or workflow.today()))
    return t("calendar_written", path=str(args.out))


def run_deadlines(args, t) -> str:
    from closeloop import notify

    con = store.connect(args.db, create=False)
    who = acting(con, args)
    if args.task == "set":
        if args.severity is None or args.days is None:
            raise Refused("deadline_args")
        n = notify.set_deadline(con, who, args.severity, args.days, args.actions, args.source)
        return t("admin_changed", n=n)
    rows = con.execute("select severity::varchar, source, finding_days, action_days from deadlines "
                       "order by severity, source").fetchall()
    return "\n".join(t("deadline_line", severity=s, source=src, finding=f, action=a) for s, src, f, a in rows)


def run_setting(args, t) -> str:
    from closeloop import notify

    con = store.connect(args.db, create=False)
    n = notify.set_setting(con, acting(con, args), args.key, args.value)
    return t("admin_changed", n=n)


def run_unit(args, t) -> str:
    from closeloop import notify

    con = store.connect(args.db, create=False)
    n = notify.set_unit_head(con, acting(con, args), args.code, name=args.name,
                             email=args.email, language=args.lang)
    return t("admin_changed", n=n)


def mail_pack(con, f, args, built: bytes, t, scope: str | None = None) -> str:
    """The pack by email, with the contract's headline numbers in the body, within the sender's scope."""
    from closeloop import mail

    smtp = mail.Smtp.from_env()
    if smtp is None:
        raise Refused("notify_no_channel")
    to = [a.strip() for a in args.mail_to.split(",") if a.strip()]
    numbers = metrics.contract(con, f, scope)
    body = t("pack_mail_body", as_of=f.as_of.isoformat(), since=f.since.isoformat(), until=f.until.isoformat(),
             scope=f.unit or t("whole_organisation"), open=numbers["open"], overdue=numbers["overdue"],
             actions_overdue=numbers["actions_overdue"], file=args.out.name)
    mime = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
    try:
        smtp.send(to, t("pack_mail_subject", as_of=f.as_of.isoformat()), body,
                  ((args.out.name, built, mime.get(args.out.suffix.lstrip(".").lower(), "application/octet-stream")),))
    except mail.DeliveryError as e:
        raise Failed([t("notify_failed", channel="email", name=", ".join(to), reason=e.reason)]) from None
    return t("pack_mailed", to=", ".join(to))


def run_plan_import(args, t, reading: ledger.Reading) -> str:
    """import with plan-and-check files: all of them checked first (against the units and criteria the findings'
    ledger adds too), then the findings' ledger, then the plan-and-check files, so that a bad row of either
    writes nothing."""
    added = {kind: {v for s in reading.sheets if s.kind == kind for v in _codes(s)} for kind in ("units", "criteria")}
    con = store.connect(args.db)
    who = acting(con, args)
    outcome = plan_ledger.load(con, reading.plans, who, units=added["units"], criteria=added["criteria"], write=False)
    if not outcome.ok:
        print("\n".join(
            t("import_problem_line", file=f"{p.file} › {p.sheet}" if p.sheet else p.file, row=p.row,
              column=p.column, reason=t(f"reason_{p.reason}"), value=p.value if p.value is not None else "")
            for p in outcome.problems), file=sys.stderr)
        raise Refused("import_rejected", n=len(outcome.problems))
    said = []
    if reading.sheets:
        con.close()
        said.append(_import_findings(args, t, reading))
        con = store.connect(args.db)
        who = acting(con, args)
    outcome = plan_ledger.load(con, reading.plans, who, units=added["units"], criteria=added["criteria"])
    if not outcome.ok:  # only if another writer changed the store in between
        raise Refused("import_rejected", n=len(outcome.problems))
    summary = ", ".join(f"{form} +{outcome.accepted[form]} ~{outcome.changed[form]}" for form in plan_ledger.FORMS)
    return "\n".join(said + [t("plan_import_done", summary=summary, batch=outcome.batch)])


def _codes(sheet) -> list[str]:
    values = sheet.columns.get("code")
    if values is None:
        return []
    return [v for v in (values.to_pylist() if hasattr(values, "to_pylist") else values) if v]


# plan: targets for Closeloop's own KPIs (the goal lines and the Overview's red/amber/green)


def add_target_command(commands) -> None:
    tg = commands.add_parser("target", help="set a target for one of Closeloop's KPIs (on_time_closure_rate, "
                                            "overdue_share, recurrence_rate, median_days_to_close_km, "
                                            "actions_overdue); without a KPI, list the targets")
    tg.add_argument("kpi", nargs="?")
    tg.add_argument("value", nargs="?", help="the target: a rate as 0.9 or 90%%, days or a count as a number")
    tg.add_argument("--direction", help="higher or lower: which side of the target is good (needed the first time)")
    tg.add_argument("--amber", help="how far on the wrong side is still amber, not red (a rate as 0.05 or 5%%)")
    tg.add_argument("--unit", help="a unit's own target, for it and the units below it (default: the whole organisation)")
    tg.add_argument("--db")
    tg.add_argument("--as", dest="actor", default=None, help="who is acting (default: the login name)")


def _target_number(text: str | None, kpi: str | None):
    """"90%" is 0.9; a number as written; None when not given. Refused, in the user's language, when not a number."""
    if text is None:
        return None
    written = text.strip()
    try:
        return float(written[:-1]) / 100 if written.endswith("%") else float(written)
    except ValueError:
        raise Refused("target_bad_value", kpi=kpi or "-", value=text) from None


def run_target(args, t) -> str:
    from closeloop import targets
    from closeloop.kpis import value_text

    con = store.connect(args.db, create=False)
    if args.kpi is not None:
        if args.value is None:
            raise Refused("target_needs_value", kpi=args.kpi)
        n = targets.set_target(con, acting(con, args), args.kpi,
                               _target_number(args.value, args.kpi), args.direction,
                               _target_number(args.amber, args.kpi), args.unit)
        return t("admin_changed", n=n)
    rows = con.execute("select kpi, unit, target, direction, amber from kpi_targets order by kpi, unit").fetchall()
    if not rows:
        return t("target_none")
    lines = []
    for kpi, unit, target, direction, amber in rows:
        known = targets.Target(kpi, target, direction, amber, unit)
        lines.append(t("target_line", kpi=kpi, unit=t("target_whole") if unit == targets.WHOLE else unit, goal=targets.goal_text(known, t),
                       amber=value_text(amber, targets.KINDS[kpi], t)))
    return "\n".join(lines)
# ---------------------------------------------------------------------------------------------
# cli: who acts


def acting(con, args) -> identity.Identity:
    """Who acts: --as, else $CLOSELOOP_ACTOR, else the local administrator as local:LOGIN (identity.for_command_line)."""
    return identity.for_command_line(con, getattr(args, "actor", None) or os.environ.get("CLOSELOOP_ACTOR"))


def within_scope(con, who: identity.Identity, unit: str | None) -> str | None:
    """The unit an export or pack covers: --unit, which must lie within what --as may see, else their own unit
    (so the pack names their subtree, not the whole organisation it does not show)."""
    if who.scope is None or unit is None:
        return unit or who.scope
    inside = con.execute("select count(*) from unit_subtree($scope) where code = $unit",
                         {"scope": who.scope, "unit": unit}).fetchone()[0]
    if not inside:
        raise Refused("cli_unit_out_of_scope", unit=unit, user=who.actor)
    return unit
