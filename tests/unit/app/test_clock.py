"""The app's one clock: a chosen day moves it by whole days and it runs on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from backend import clock


@pytest.fixture
def restored() -> Iterator[None]:
    before = clock.shift()
    yield
    clock._shift = before


@pytest.mark.parametrize("day", [date(2027, 3, 1), date(2027, 1, 9), date(2024, 2, 29), date(2026, 12, 31)])
def test_a_chosen_day_is_today_in_shanghai_at_the_real_time_of_day(restored: None, day: date) -> None:
    clock.pretend_today(day)
    assert clock.today_in(clock.REFERENCE_ZONE) == day
    real = datetime.now(UTC)
    assert abs((clock.utcnow() - real) - clock.shift()) < timedelta(minutes=5)
    assert clock.shift() % timedelta(days=1) == timedelta(0)


def test_no_chosen_day_is_the_system_clock(restored: None) -> None:
    clock.pretend_today(None)
    assert abs(clock.utcnow() - datetime.now(UTC)) < timedelta(minutes=5)
