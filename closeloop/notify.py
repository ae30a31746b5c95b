"""The day's notices: who hears of which due-soon and overdue item, one digest each, sent once and recorded."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

from closeloop import i18n, store, trail
from closeloop.refusal import Refused

LEVELS = ("due_soon", "overdue", "escalated")
CHANNELS = ("email", "webhook")


@dataclass(frozen=True)
class Rule:
    """Who hears of an item in a state, from how many days overdue on (the setting named by `after`)."""

    level: str  # what the notice says: due_soon, overdue, escalated
    kind: str  # action, nonconformity
    state: str  # the item's due_status: due_soon, overdue
    to: str  # owner, head (of the item's unit), head_above (the nearest unit above with a head)
    after: str | None = None  # a setting: the item must be overdue by more than that many days


# The notices, as data (三色督辦 and its escalation). A finding that no open action covers has nobody
# working on it, so its unit's head hears of it instead of an owner.
RULES: tuple[Rule, ...] = (
    Rule("due_soon", "action", "due_soon", "owner"),
    Rule("overdue", "action", "overdue", "owner"),
    Rule("escalated", "action", "overdue", "head", after="head_after_days"),
    Rule("escalated", "action", "overdue", "head_above", after="above_after_days"),
    Rule("due_soon", "nonconformity", "due_soon", "head"),
    Rule("overdue", "nonconformity", "overdue", "head"),
    Rule("escalated", "nonconformity", "overdue", "head_above", after="above_after_days"),
)


@dataclass(frozen=True)
class Person:
    name: str  # as the ledger (or the units sheet) writes it
    email: str | None
    language: str | None  # zh-Hans, zh-Hant, en; None: the command line's
    key: str  # the name's owner_key: one person, whatever the script, case or spaces of the name


@dataclass
class Notice:
    person: Person
    level: str
    unit: str
    items: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"to": self.person.name, "email": self.person.email, "unit": self.unit, "level": self.level,
                "items": [{"ref": i["ref"], "kind": i["kind"], "due_on": i["due_on"],
                           "days_overdue": i["days_overdue"]} for i in self.items]}


@dataclass
class Outcome:
    notices: list[Notice]  # what was (or, dry, would be) sent
    failures: list[str]  # one line each: a send that failed, or a person nobody can reach
    resent: list[str] = field(default_factory=list)  # one line each: a digest an interrupted run may have sent


# ---------------------------------------------------------------------------------------------
# Names and languages


def owner_keys(con, names) -> dict[str, str]:
    """Each name → its owner_key, as terms.sql defines it for every page and query (李華 and 李华, any case or
    spaces around: one person); asked of the store so that there is one definition."""
    listed = sorted({name for name in names if isinstance(name, str)})
    return dict(store.run(con, "owner_keys", {"names": listed}).itertuples(index=False))


def catalog_language(code: str | None) -> str:
    """A stored language (zh-Hans, zh-Hant, en; a locale such as zh_TW reads too) as the catalog's; none: the
    command line's."""
    if not code or not code.strip():
        return i18n.cli_language()
    return i18n.language(code.strip()) or i18n.language_from_locale(code.strip())


# ---------------------------------------------------------------------------------------------
# Settings: thresholds and the base URL, as the store keeps them


def settings(con) -> dict[str, str]:
    values = dict(store.run(con, "settings_values").itertuples(index=False))
    if os.environ.get("CLOSELOOP_BASE_URL"):
        values["base_url"] = os.environ["CLOSELOOP_BASE_URL"]
    return values


def record_link(base_url: str, ref: str) -> str:
    """The Rectification page opened on a record, as the page's own links write it."""
    return f"{base_url.rstrip('/')}/rectification?ref={quote(ref, safe='')}"


# ---------------------------------------------------------------------------------------------
# The day's notices: walk the rules over the items


def notices(con, as_of: date) -> list[Notice]:
    """Every notice of the day, before anything already sent is taken out; grouped by person, level and unit."""
    values = settings(con)
    rows = store.run(con, "notice_items", {"as_of": as_of})
    units = {u.code: u for u in store.run(con, "notice_units").itertuples(index=False)}
    user_rows = store.run(con, "notice_users")
    key = owner_keys(con, [*rows["owner"], *user_rows["name"], *(u.head_name for u in units.values())])
    users = {}
    for u in user_rows.itertuples(index=False):
        users.setdefault(key[u.name], Person(u.name, u.email, u.language, key[u.name]))

    def head(code: str | None) -> Person | None:
        unit = units.get(code)
        if unit is None or not _present(unit.head_name):
            return None
        known = users.get(key[unit.head_name])
        return Person(unit.head_name, unit.head_email if _present(unit.head_email) else (known and known.email),
                      unit.head_language if _present(unit.head_language) else (known and known.language),
                      key[unit.head_name])

    def head_above(code: str) -> Person | None:
        parent = units[code].parent_code if code in units else None
        while parent is not None and isinstance(parent, str):
            found = head(parent)
            if found:
                return found
            parent = units[parent].parent_code if parent in units else None
        return None

    def recipient(rule: Rule, item) -> Person | None:
        if rule.to == "owner":
            if not _present(item.owner):
                return None
            known = users.get(key[item.owner])
            return Person(spelling[key[item.owner]], known and known.email, known and known.language, key[item.owner])
        return head(item.unit) if rule.to == "head" else head_above(item.unit)

    # one person, one name: the spelling the ledger uses most for them (李華 on 5 rows, 李华 on 1: 李華)
    written = Counter(o for o in rows["owner"] if _present(o))
    spelling = {}
    for name, _ in sorted(written.items(), key=lambda kv: (-kv[1], kv[0])):
        spelling.setdefault(key[name], name)

    grouped: dict[tuple, Notice] = {}
    for item in rows.itertuples(index=False):
        for rule in RULES:
            if rule.kind != item.kind or rule.state != item.due_status:
                continue
            if rule.after and not item.days_overdue > int(values[rule.after]):
                continue
            person = recipient(rule, item)
            if person is None:
                continue
            notice = grouped.setdefault((person.key, rule.level, item.unit), Notice(person, rule.level, item.unit))
            if all(i["ref"] != item.ref for i in notice.items):
                notice.items.append(_item(item))
    return sorted(grouped.values(), key=lambda n: (n.person.key, LEVELS.index(n.level), n.unit))


def _present(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _item(row) -> dict:
    return {"ref": row.ref, "kind": row.kind, "nonconformity": row.nonconformity,
            "title": row.nonconformity_title, "unit": row.unit, "due_on": row.due_on.date().isoformat(),
            "due_is_default": bool(row.due_is_default), "days_overdue": int(row.days_overdue)}


# ---------------------------------------------------------------------------------------------
# What was sent already: the trail's notice events of the day


def sent_today(con, as_of: date) -> set[tuple[str, str, str, str]]:
    """(person, level, item ref, channel) recorded as sent for the day; a failed or pending send is not among them."""
    done = set()
    recorded = store.run(con, "notices_sent", {"day": as_of.isoformat()})
    key = owner_keys(con, recorded["recipient"])
    for r in recorded.itertuples(index=False):
        if r.reason != "sent":
            continue
        detail = json.loads(r.detail)
        done.update((key[r.recipient], r.level, ref, detail["channel"]) for ref in detail["items"])
    return done


def interrupted(con, as_of: date) -> dict[str, tuple[str, str]]:
    """Digests of the day recorded as pending that no sent or failed event followed: {digest: (recipient, channel)}.
    A run stopped between the two (killed, the machine down, the store unreachable once the server had it)."""
    open_ = {}
    for r in store.run(con, "notices_sent", {"day": as_of.isoformat()}).itertuples(index=False):
        detail = json.loads(r.detail)
        if "digest" not in detail:
            continue
        if r.reason == "pending":
            open_[detail["digest"]] = (r.recipient, detail["channel"])
        else:
            open_.pop(detail["digest"], None)
    return open_


def digest_key(person_notices: list[Notice], as_of: date, channel: str) -> str:
    """The same digest (day, channel, person, each level's items) has the same key in every run: an email's
    Message-ID, so a mailbox that already holds a digest sent again can tell it is the same one."""
    parts = [as_of.isoformat(), channel, person_notices[0].person.key]
    parts += sorted(f"{n.level}:{n.unit}:{i['ref']}" for n in person_notices for i in n.items)
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:32]


def unsent(notices_: list[Notice], done: set, channel: str) -> list[Notice]:
    left = []
    for n in notices_:
        items = [i for i in n.items if (n.person.key, n.level, i["ref"], channel) not in done]
        if items:
            left.append(Notice(n.person, n.level, n.unit, items))
    return left


def record(con, actor: str, as_of: date, channel: str, sent: list[Notice], state: str, digest: str) -> None:
    """One event per notice (recipient, level, its items, channel and digest), sealed, in a transaction of its
    own: `pending` before the send, then `sent` or `failed: …`. The run's proof, and the next run's memory of
    what not to send again today."""
    cur = con.cursor()
    try:
        with store.transaction(cur):
            for n in sent:
                cur.execute(
                    "insert into events (actor, entity, ref, field, old, new, reason) "
                    "values ($actor, 'notice', $ref, $level, $day, $detail, $reason)",
                    {"actor": actor, "ref": n.person.name, "level": n.level, "day": as_of.isoformat(),
                     "detail": json.dumps({"channel": channel, "unit": n.unit, "email": n.person.email,
                                           "items": [i["ref"] for i in n.items], "digest": digest},
                                          ensure_ascii=False),
                     "reason": state[:500]},
                )
            block = trail.seal(cur)
        trail.anchor(cur, block)
    finally:
        cur.close()


# ---------------------------------------------------------------------------------------------
# Digests: one per person per day, in the person's language


def digests(notices_: list[Notice]) -> list[list[Notice]]:
    """The notices of each person together, in a stable order."""
    people: dict[str, list[Notice]] = {}
    for n in notices_:
        people.setdefault(n.person.key, []).append(n)
    return [people[k] for k in sorted(people)]


def subject(person_notices: list[Notice], as_of: date, t) -> str:
    count = len({i["ref"] for n in person_notices for i in n.items})
    return t("notice_subject", day=as_of.isoformat(), n=count)


def render_text(person_notices: list[Notice], as_of: date, base_url: str, unit_names: dict, t) -> str:
    """The digest as plain text: a greeting, then each level's items, each with its link."""
    lines = [t("notice_greeting", name=person_notices[0].person.name, day=as_of.isoformat()), ""]
    for level in LEVELS:
        mine = [n for n in person_notices if n.level == level]
        if not mine:
            continue
        items = _in_order([(n.unit, i) for n in mine for i in n.items])
        lines.append(f"{t('notice_level_' + level)} ({len(items)})")
        for unit, i in items:
            lines.append("- " + _line(i, unit_names.get(unit, unit), t))
            lines.append("  " + record_link(base_url, i["ref"]))
        lines.append("")
    lines.append(t("notice_footer"))
    return "\n".join(lines)


def _in_order(items: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Most overdue first, then soonest due, across the person's units."""
    return sorted(items, key=lambda ui: (-ui[1]["days_overdue"], ui[1]["due_on"], ui[1]["ref"]))


def _line(i: dict, unit_name: str, t) -> str:
    due = i["due_on"] + (f" {t('notice_due_default')}" if i["due_is_default"] else "")
    finding = i["title"] if i["kind"] == "nonconformity" else f"{i['title']} ({i['nonconformity']})"
    parts = [i["ref"], finding, unit_name, t("notice_due", due=due)]
    if i["days_overdue"]:
        parts.append(t("notice_days_overdue", n=i["days_overdue"]))
    return " · ".join(parts)


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|<>~"})


def render_markdown(person_notices: list[Notice], as_of: date, base_url: str, unit_names: dict, t) -> str:
    """The digest for a chat robot: stored text escaped, so a title never turns into markup or a link."""
    lines = [f"**{_md(t('notice_greeting', name=person_notices[0].person.name, day=as_of.isoformat()))}**"]
    for level in LEVELS:
        items = _in_order([(n.unit, i) for n in person_notices if n.level == level for i in n.items])
        if items:
            lines.append(f"### {_md(t('notice_level_' + level))} ({len(items)})")
            lines += [f"- [{_md(i['ref'])}]({record_link(base_url, i['ref'])}) "
                      f"{_md(_line(i, unit_names.get(u, u), t).split(' · ', 1)[1])}" for u, i in items]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.translate(_MARKDOWN)


# ---------------------------------------------------------------------------------------------
# The run: work out the day's notices, send what is not sent yet, record each send


def run(con, as_of: date, *, actor: str, dry_run: bool = False, channels=None) -> Outcome:
    """Send the day's notices not yet sent, over every configured channel, each digest as an outbox: recorded
    pending (committed), sent, then recorded sent or failed.

    A crash after the send and before the second record leaves a pending digest that may have arrived. The next
    run sends it again and says so: a reminder lost is worse than one read twice, the window is one SMTP
    conversation or one HTTP post, and the resent email carries the same Message-ID (digest_key), which mail
    stores use to drop a copy they hold. Nothing sent is ever unrecorded: a send happens only after its pending
    record is committed.
    """
    from closeloop import mail

    all_notices = notices(con, as_of)
    done = sent_today(con, as_of)
    if dry_run:
        return Outcome(unsent(all_notices, done, "email"), [])
    channels = channels if channels is not None else mail.configured_channels()
    if not channels:
        raise mail.DeliveryError("notify_no_channel")
    values = settings(con)
    unit_names: dict[str, dict[str, str]] = {}  # language → code → the unit's name in it
    sent, failures, resent = [], [], []
    with store.sender_lock(con):
        done = sent_today(con, as_of)  # again, now that this process is the only sender
        stopped = interrupted(con, as_of)
        for channel in channels:
            for person_notices in digests(unsent(all_notices, done, channel.name)):
                person = person_notices[0].person
                key = digest_key(person_notices, as_of, channel.name)
                t = i18n.translator(catalog_language(person.language))
                lang = catalog_language(person.language)
                if lang not in unit_names:
                    unit_names[lang] = dict(store.run(con, "unit_labels", {"lang": lang}).itertuples(index=False))
                names = unit_names[lang]
                if channel.name == "email" and not person.email:
                    failures.append(i18n.translate(i18n.cli_language(), "notify_no_email", name=person.name,
                                                   n=sum(len(n.items) for n in person_notices)))
                    continue
                if key in stopped:
                    resent.append(i18n.translate(i18n.cli_language(), "notify_resent", channel=channel.name,
                                                 name=person.name))
                record(con, actor, as_of, channel.name, person_notices, "pending", key)
                try:
                    channel.send(person, subject(person_notices, as_of, t),
                                 render_text(person_notices, as_of, values["base_url"], names, t),
                                 render_markdown(person_notices, as_of, values["base_url"], names, t), key)
                except mail.DeliveryError as e:
                    record(con, actor, as_of, channel.name, person_notices, f"failed: {e.reason}", key)
                    failures.append(i18n.translate(i18n.cli_language(), "notify_failed", channel=channel.name,
                                                   name=person.name, reason=e.reason))
                    continue
                record(con, actor, as_of, channel.name, person_notices, "sent", key)
                sent += person_notices
    return Outcome(sent, failures, resent)


# ---------------------------------------------------------------------------------------------
# The calendar: each owner's open actions on their due dates (RFC 5545)


def calendar(con, owner: str, as_of: date, base_url: str | None = None) -> bytes:
    """An iCalendar file of an owner's open actions, one all-day event on each due date."""
    base_url = base_url or settings(con)["base_url"]
    rows = store.run(con, "owner_actions_due", {"as_of": as_of})
    keys = owner_keys(con, [owner, *rows["owner"]])
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Closeloop//notify//EN", "CALSCALE:GREGORIAN"]
    stamp = f"{as_of:%Y%m%d}T000000Z"
    for r in rows.itertuples(index=False):
        if not _present(r.owner) or keys[r.owner] != keys[owner]:
            continue
        due = r.due_on.date()
        lines += [
            "BEGIN:VEVENT",
            f"UID:{r.ref}@closeloop",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{due:%Y%m%d}",
            f"DTEND;VALUE=DATE:{date.fromordinal(due.toordinal() + 1):%Y%m%d}",
            f"SUMMARY:{_ical_text(f'{r.ref} · {r.nonconformity_title}')}",
            f"DESCRIPTION:{_ical_text(r.description or '')}",
            f"URL:{record_link(base_url, r.ref)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines).encode("utf-8")


def _ical_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets folded (CRLF and a space), never inside a UTF-8 character."""
    out, current = [], b""
    for ch in line:
        encoded = ch.encode("utf-8")
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current)
            current = b""
        current += encoded
    out.append(current)
    return "\r\n ".join(part.decode("utf-8") for part in out)


# ---------------------------------------------------------------------------------------------
# Administration: deadlines, thresholds and units' heads, each change an event in the trail

STORED_LANGUAGES = i18n.LANGUAGES
SEVERITY_NAMES = ("major", "minor", "observation")
SETTINGS = ("due_soon_days", "head_after_days", "above_after_days", "base_url")


def _administer(con, who, entity: str, ref: str, select: str, keys: dict, changes: dict, insert: str | None) -> int:
    """Change one row (inserting it first when `insert` is given and it is missing); one event per changed field."""
    if not who.may("manage_users"):
        raise Refused("refused_role", role=who.role or "-", move="administer")
    cur = con.cursor()
    try:
        with store.transaction(cur):
            found = cur.execute(select, keys)
            row = found.fetchone()
            events = []
            if row is None:
                if insert is None:
                    raise Refused("unknown_unit_arg", unit=ref)
                cur.execute(insert, keys | changes)
                events.append((ref, "created", None, None))
                old = {}
            else:
                old = dict(zip([d[0] for d in found.description], row))
            changed = {k: v for k, v in changes.items() if (None if old.get(k) is None else str(old[k])) !=
                       (None if v is None else str(v))}
            for name, value in changed.items():
                # the column names come from this module's callers, never from input; values are bound
                cur.execute(f"update {entity} set {name} = $value, version = version + 1 where "
                            + " and ".join(f"{k} = ${k}" for k in keys), keys | {"value": value})
                events.append((ref, name, None if old.get(name) is None else str(old[name]),
                               None if value is None else str(value)))
            for ref_, field_, before, after in events:
                cur.execute("insert into events (actor, entity, ref, field, old, new, reason) "
                            "values ($actor, $entity, $ref, $field, $old, $new, 'administer')",
                            {"actor": who.actor, "entity": entity.rstrip("s"), "ref": ref_, "field": field_,
                             "old": before, "new": after})
            block = trail.seal(cur)
        trail.anchor(cur, block)
    finally:
        cur.close()
    return len(events)


def set_deadline(con, who, severity: str, finding_days: int, action_days: int | None = None,
                 source: str | None = None) -> int:
    """Days to close a finding of a severity (and source) that comes without a due date, and for its actions."""
    from closeloop.filters import SOURCES

    if severity not in SEVERITY_NAMES or (source and source not in SOURCES):
        raise Refused("deadline_unknown", value=source if severity in SEVERITY_NAMES else severity)
    action_days = action_days or finding_days
    if finding_days < 1 or action_days < 1:
        raise Refused("deadline_days_positive")
    keys = {"severity": severity, "source": source or "any"}
    return _administer(
        con, who, "deadlines", f"{severity}/{source or 'any'}",
        "select finding_days, action_days from deadlines where severity = $severity and source = $source", keys,
        {"finding_days": finding_days, "action_days": action_days},
        "insert into deadlines (severity, source, finding_days, action_days) "
        "values ($severity, $source, $finding_days, $action_days)",
    )


def set_setting(con, who, key: str, value: str) -> int:
    if key not in SETTINGS:
        raise Refused("setting_unknown", name=key, allowed=", ".join(SETTINGS))
    if key != "base_url" and not (value.isdigit() and int(value) >= 0):
        raise Refused("setting_not_days", name=key, value=value)
    return _administer(con, who, "settings", key, "select value from settings where key = $key", {"key": key},
                       {"value": value}, None)


def set_unit_head(con, who, code: str, *, name: str | None, email: str | None, language: str | None) -> int:
    """The unit's head (負責人): the name as people write it, an email, a language (zh-Hans, zh-Hant, en)."""
    if language is not None and language not in STORED_LANGUAGES:
        raise Refused("language_unknown", value=language, allowed=", ".join(STORED_LANGUAGES))
    changes = {k: v.strip() for k, v in (("head_name", name), ("head_email", email), ("head_language", language))
               if v is not None}
    return _administer(con, who, "units", code,
                       "select head_name, head_email, head_language from units where code = $code",
                       {"code": code}, changes, None)
