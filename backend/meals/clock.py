"""Days and times of the meal plan: stored in UTC, reckoned in the programme's time zone.

"Today", "a future day", the slot's time and the end of a day are all programme-local.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.db import utcnow
from backend.meals.models import SLOT_TIMES, MealSlot
from backend.people.models import Programme


def zone_of(programme: Programme) -> ZoneInfo:
    return ZoneInfo(programme.time_zone)


def local_today(programme: Programme, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(zone_of(programme)).date()


def slot_moment(programme: Programme, day: date, slot: MealSlot) -> datetime:
    """When the meal is due, as a UTC time (lunch 12:00, dinner 18:00, programme-local)."""
    return datetime.combine(day, SLOT_TIMES[slot], tzinfo=zone_of(programme)).astimezone(UTC)


def end_of_day(programme: Programme, day: date) -> datetime:
    """Programme-local midnight after `day`, as a UTC time."""
    return datetime.combine(
        day + timedelta(days=1), datetime.min.time(), tzinfo=zone_of(programme)
    ).astimezone(UTC)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_days(month: date) -> list[date]:
    following = add_months(month, 1)
    return [month + timedelta(days=n) for n in range((following - month).days)]
