"""The process's one clock. Every "now" and "today" in the app comes from here, never from the system
directly, so that a test (or a trainer showing the demo) can choose the date.

`CARELOG_TODAY` (test and development only) moves the clock by whole days so that the local date in
Asia/Shanghai, the default programme zone, is the one chosen when the process starts; the time of day
stays the real one and the clock runs on. A production server refuses the setting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

REFERENCE_ZONE = ZoneInfo("Asia/Shanghai")

_shift = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC) + _shift


def system_utcnow() -> datetime:
    """The machine's own time, never moved: for comparing with times the operating system or a storage
    service stamped (a file's modification time), which a chosen day does not move."""
    return datetime.now(UTC)


def now_in(zone: ZoneInfo) -> datetime:
    return utcnow().astimezone(zone)


def today_in(zone: ZoneInfo) -> date:
    return now_in(zone).date()


def pretend_today(day: date | None) -> None:
    """Move the clock so that today (Asia/Shanghai) is `day`; None puts it back to the system's."""
    global _shift
    if day is None:
        _shift = timedelta(0)
        return
    real_today = datetime.now(UTC).astimezone(REFERENCE_ZONE).date()
    _shift = timedelta(days=(day - real_today).days)


def shift() -> timedelta:
    return _shift
