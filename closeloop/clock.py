"""The organisation's time zone: what "today" is, and how a stored (UTC) time is shown."""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from closeloop.refusal import Refused

# The organisation's zone unless CLOSELOOP_TZ names another (an IANA name: Asia/Shanghai, Asia/Hong_Kong, UTC).
# Not the machine's: a server or a container usually keeps UTC, which turned 00:30 in Shanghai into yesterday.
DEFAULT_ZONE = "Asia/Shanghai"


def zone() -> ZoneInfo:
    return _zone(os.environ.get("CLOSELOOP_TZ", "").strip() or DEFAULT_ZONE)


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Refused("cli_bad_zone", zone=name) from None


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def today(now: datetime | None = None) -> date:
    """The date in the organisation's zone at `now` (default: this moment): the default as-of, due soon, overdue."""
    return (now or utc_now()).astimezone(zone()).date()


def local(at: datetime) -> datetime:
    """A stored time in the organisation's zone; a time without a zone is UTC, as the store keeps every time."""
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(zone())


def shown(at: datetime | None, seconds: bool = True) -> str:
    """2026-07-01 00:30:00 +08:00: the time in the organisation's zone, with its offset, so it is never misread."""
    if at is None or at is pd.NaT:
        return ""
    there = local(at)
    offset = there.strftime("%z")
    return there.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + f" {offset[:3]}:{offset[3:]}"


def shown_column(times: pd.Series) -> pd.Series:
    """shown() over a column of stored times (a page's table, an export)."""
    return times.map(lambda at: shown(None if pd.isna(at) else pd.Timestamp(at).to_pydatetime()))
