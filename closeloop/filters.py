"""The filters every page shares: a frozen value, its SQL parameters and its sentence."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta

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
        as_of = as_of or date.today()
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
