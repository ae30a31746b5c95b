"""The filters every page shares: a frozen value, its limits, its SQL parameters and its sentence."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from closeloop import clock

DEFAULT_WINDOW_DAYS = 365


def year_ending(as_of: date) -> tuple[date, date]:
    """The 12 months ending on as_of, both ends included: 2026-06-30 → 2025-07-01 … 2026-06-30."""
    try:
        a_year_before = as_of.replace(year=as_of.year - 1)
    except ValueError:  # 29 February
        a_year_before = as_of.replace(year=as_of.year - 1, day=28)
    return a_year_before + timedelta(days=1), as_of


@dataclass(frozen=True)
class Filters:
    as_of: date
    since: date
    until: date
    unit: str | None = None
    sources: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    window_days: int = DEFAULT_WINDOW_DAYS

    @classmethod
    def default(cls, as_of: date | None = None, **changes) -> Filters:
        as_of = as_of or clock.today()
        since, until = year_ending(as_of)
        return cls(as_of=as_of, since=since, until=until, **changes)

    def params(self, scope: str | None = None) -> dict:
        """Every SQL parameter a page query may use; the runner binds the ones it needs."""
        return {
            "as_of": self.as_of,
            "since": self.since,
            "until": self.until,
            "unit": self.unit,
            "sources": list(self.sources),
            "severities": list(self.severities),
            "categories": list(self.categories),
            "window_days": self.window_days,
            "scope": scope,
        }

    def previous(self) -> Filters:
        """The period of the same length just before this one, as of its last day."""
        length = self.until - self.since + timedelta(days=1)
        until = self.since - timedelta(days=1)
        return dataclasses.replace(self, as_of=until, since=self.since - length, until=until)

    def replace(self, **changes) -> Filters:
        return dataclasses.replace(self, **changes)


# The values a filter may hold: the sidebar (closeloop/sidebar.py), links and the command line all check them.
SOURCES = ("internal_audit", "inspection", "satisfaction_survey", "management_review", "superior_assessment")
SEVERITIES = ("major", "minor", "observation")
WINDOW_LIMITS = (1, 3650)
# The dates a filter, a link or an argument may name. The real ledgers reach back to 1904; past these a
# date is a typo (0202 for 2026), and the period's arithmetic (a year before as-of, the period before
# this one) stays well inside what Python's dates and DuckDB's hold.
DATE_LIMITS = (date(1900, 1, 1), date(2199, 12, 31))
# Each option of a select costs the browser on every page load: all 17,087 units of the 1M demo were
# 0.65 MB per run and ~1.5 s of the browser's CPU. Past this many units the picker offers the tree
# opened along the chosen unit's path, and a search box finds any unit by name or code.
UNITS_LISTED_WHOLE = 500
UNIT_MATCHES_LISTED = 100


def parsed(key: str, raw: str, allowed: set | None):
    """A URL value as the widget's value, or None when it is not one the widget can hold."""
    try:
        if key in ("as_of", "since", "until"):
            day = date.fromisoformat(raw)
            return day if DATE_LIMITS[0] <= day <= DATE_LIMITS[1] else None
        if key == "window_days":
            days = int(raw)
            return days if WINDOW_LIMITS[0] <= days <= WINDOW_LIMITS[1] else None
    except ValueError:
        return None
    if key in ("sources", "severities", "categories"):
        return [code for code in raw.split(",") if code in allowed]
    return raw if raw in allowed else None


def encoded(value) -> str | None:
    if isinstance(value, (list, tuple)):
        return ",".join(value) or None
    if isinstance(value, date):
        return value.isoformat()
    return None if value in (None, "") else str(value)


def unit_options(units, chosen: str | None, search: str = "") -> tuple[list[str], int]:
    """The unit codes the picker offers, in tree order, and how many units the search matches.

    A small tree is offered whole. A large one is offered opened along the chosen unit's path: the
    top units, the children of each unit from the top down to the chosen one, and the chosen one's own.
    A search offers instead the units whose code or name, in either language, contains it (at most
    UNIT_MATCHES_LISTED, the closest), and the chosen unit.
    """
    codes, parents = units["code"], units["parent_code"]
    if len(units) <= UNITS_LISTED_WHOLE:
        return list(codes), 0
    needle = folded(search)
    if needle:
        distance = pd.concat([_distance(field, needle) for field in (codes, units["name"], units["name_en"])],
                             axis=1).min(axis=1)
        closest = distance.dropna().sort_values(kind="stable").index[:UNIT_MATCHES_LISTED]
        return list(codes[distance.index.isin(closest) | (codes == chosen)]), int(distance.notna().sum())
    parent_of = dict(zip(codes, parents))
    opened = set(codes[~parents.isin(parent_of)])
    while chosen in parent_of:
        opened.add(chosen)
        chosen = parent_of[chosen]
    return list(codes[~parents.isin(parent_of) | parents.isin(opened)]), 0


def searched_unit(units, search: str) -> str | None:
    """The unit a search names: its code or name exactly, in either language, or the only unit that matches."""
    needle = folded(search)
    if not needle:
        return None
    exact = units[(units["code"].str.casefold() == needle) | (units["name"].str.casefold() == needle)
                  | (units["name_en"].str.casefold() == needle)]
    found, matching = (list(exact["code"]), len(exact)) if len(exact) else unit_options(units, None, needle)
    return found[0] if matching == 1 else None


def folded(text: str) -> str:
    """Text as the unit search compares it: full-width forms half-width, case folded."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _distance(names: pd.Series, needle: str) -> pd.Series:
    """How far each name is from the search, NaN where it does not contain it: a match that ends a word
    comes first ("party branch no. 12" is No. 12, not No. 1210), then the shorter name."""
    folded = names.str.casefold()
    ends_a_word = folded.str.contains(re.escape(needle) + r"(?!\w)")
    return (names.str.len() + 10_000 * ~ends_a_word).where(folded.str.contains(needle, regex=False))


def matches_note(search: str, matching: int, t) -> str:
    if not matching:
        return t("unit_search_none", text=search)
    if matching > UNIT_MATCHES_LISTED:
        return t("unit_search_more", n=f"{matching:,}", shown=UNIT_MATCHES_LISTED)
    return t("unit_search_matches", n=matching)


def describe(f: Filters, t, unit_label: str | None) -> str:
    """The sentence that tells a meeting what it is looking at. unit_label names the unit in view: the filter's,
    or with none chosen the unit a scoped viewer is held to (session.unit_label); None is the whole organisation."""
    name = unit_label or f.unit
    scope = t("units_below", name=name) if name else t("whole_organisation")
    parts = [t("overview_caption", as_of=f.as_of, since=f.since, until=f.until, scope=scope)]
    if f.sources:
        parts.append(t("filter_sentence_sources", v=", ".join(t(f"source_{s}") for s in f.sources)))
    if f.severities:
        parts.append(t("filter_sentence_severities", v=", ".join(t(f"severity_{s}") for s in f.severities)))
    if f.categories:
        parts.append(t("filter_sentence_categories", v=", ".join(f.categories)))
    return " ".join(parts)


def opening_as_of(last_on: date | None, today: date | None = None) -> date:
    """The as-of date the dashboard opens on: today, or the data's last day when the data ends before
    today (a store of past data would otherwise open on an empty period: nothing opened or closed)."""
    today = today or clock.today()
    return last_on if last_on is not None and last_on < today else today
