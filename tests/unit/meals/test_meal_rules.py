"""Meal-plan rules that need no database: money input, dish lists, content fingerprints, programme time."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.clock import add_months, end_of_day, month_days
from backend.meals.checkin_service import CheckInDraft
from backend.meals.forms import MAX_RATE_FEN, MIN_RATE_FEN, normalize_dishes, parse_fen, split_dishes
from backend.meals.models import MealSlot, slot_moment
from backend.people.models import Programme


def _rate(text: str) -> tuple[int | None, str | None]:
    return parse_fen(text, minimum=MIN_RATE_FEN, maximum=MAX_RATE_FEN)


@pytest.mark.parametrize(
    "text", ["15.5", "-15", "1e9", "text", "十五", "1,500", "15.00", "", " ", "+15", "0x10", "1_500"]
)
def test_an_amount_that_is_not_a_whole_number_of_fen_is_refused(text: str) -> None:
    value, error = _rate(text)
    assert value is None and error is not None


@pytest.mark.parametrize(
    ("text", "fen"), [("1500", 1500), (" 1500 ", 1500), ("１５００", 1500), ("1", 1), ("100000", 100000)]
)
def test_a_whole_number_of_fen_is_taken_exactly(text: str, fen: int) -> None:
    assert _rate(text) == (fen, None)


@pytest.mark.parametrize("text", ["0", "100001", "999999999"])
def test_an_amount_out_of_bounds_names_the_bounds(text: str) -> None:
    value, error = _rate(text)
    assert value is None and error is not None and "100000" in error


@given(st.integers(min_value=MIN_RATE_FEN, max_value=MAX_RATE_FEN))
def test_every_whole_fen_in_range_round_trips(fen: int) -> None:
    assert _rate(str(fen)) == (fen, None)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2))
def test_no_decimal_amount_is_ever_taken(amount: object) -> None:
    text = f"{amount:f}"
    if "." in text or text.startswith("-"):
        assert _rate(text)[0] is None


def test_dishes_are_trimmed_folded_and_each_kept_once_in_order() -> None:
    typed = split_dishes("米饭，红烧肉、 青菜 ;米饭\n ＴＯＦＵ / tofu")
    assert normalize_dishes(typed) == ("米饭", "红烧肉", "青菜", "TOFU")


def test_a_check_ins_fingerprint_ignores_photo_order_but_not_dishes() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    first = CheckInDraft(1, MealSlot.LUNCH, date(2026, 11, 20), ("米饭", "青菜"), (a, b))
    assert (
        first.content_sha256
        == CheckInDraft(1, MealSlot.LUNCH, date(2026, 11, 20), ("米饭", "青菜"), (b, a)).content_sha256
    )
    assert (
        first.content_sha256
        != CheckInDraft(1, MealSlot.LUNCH, date(2026, 11, 20), ("青菜", "米饭"), (a, b)).content_sha256
    )
    assert (
        first.content_sha256
        != CheckInDraft(1, MealSlot.DINNER, date(2026, 11, 20), ("米饭", "青菜"), (a, b)).content_sha256
    )


def test_meal_times_and_day_ends_are_reckoned_in_the_programmes_zone() -> None:
    shanghai = Programme(time_zone="Asia/Shanghai")
    assert slot_moment(shanghai, date(2026, 11, 20), MealSlot.LUNCH) == datetime(
        2026, 11, 20, 4, 0, tzinfo=UTC
    )
    assert slot_moment(shanghai, date(2026, 11, 20), MealSlot.DINNER) == datetime(
        2026, 11, 20, 10, 0, tzinfo=UTC
    )
    assert end_of_day(shanghai, date(2026, 11, 20)) == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    urumqi = Programme(time_zone="Asia/Urumqi")
    assert slot_moment(urumqi, date(2026, 11, 20), MealSlot.LUNCH) == datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def test_months_step_over_year_ends_and_have_their_days() -> None:
    assert add_months(date(2026, 12, 1), 1) == date(2027, 1, 1)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert len(month_days(date(2028, 2, 1))) == 29 and month_days(date(2026, 11, 1))[-1] == date(2026, 11, 30)
