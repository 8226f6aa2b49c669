"""The process's one clock. Every "now" and "today" in the app comes from here, never from the system
directly, so that a test (or a trainer showing the demo) can choose the date.

`CARELOG_TODAY` (test and development only) moves the clock by whole days so that the local date in
Asia/Shanghai, the default programme zone, is the one chosen when the process starts; the time of day
stays the real one and the clock runs on. A production server refuses the setting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
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


# The calendar of a programme (or anything with a time zone): days are reckoned where it runs, while
# times are stored in UTC. "Today", a future day and the end of a day are all local to it.


class Zoned(Protocol):
    @property
    def time_zone(self) -> str: ...


def zone_of(holder: Zoned) -> ZoneInfo:
    return ZoneInfo(holder.time_zone)


def local_today(holder: Zoned, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(zone_of(holder)).date()


def end_of_day(holder: Zoned, day: date) -> datetime:
    """Local midnight after `day`, as a UTC time."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone_of(holder)).astimezone(
        UTC
    )


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_days(month: date) -> list[date]:
    following = add_months(month, 1)
    return [month + timedelta(days=n) for n in range((following - month).days)]
