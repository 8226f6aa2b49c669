"""Money is integer fen and is shown in yuan without ever passing through a float."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backend.labels import fen_to_yuan


def test_fen_are_shown_as_yuan_with_two_decimals() -> None:
    assert fen_to_yuan(1500) == "15.00"
    assert fen_to_yuan(45000) == "450.00"
    assert fen_to_yuan(5) == "0.05"
    assert fen_to_yuan(0) == "0.00"
    assert fen_to_yuan(-1550) == "-15.50"


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_yuan_text_round_trips_to_the_same_fen(fen: int) -> None:
    text = fen_to_yuan(fen)
    whole, cents = text.lstrip("-").split(".")
    assert (int(whole) * 100 + int(cents)) * (-1 if text.startswith("-") else 1) == fen


def test_times_are_shown_in_the_programmes_zone_not_utc() -> None:
    from datetime import UTC, datetime

    from backend.labels import local_time

    late_evening_utc = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)
    assert local_time(late_evening_utc, "Asia/Shanghai", "%Y-%m-%d") == "2026-11-26"
    assert local_time(late_evening_utc, "Asia/Shanghai") == "2026-11-26 01:30"
    assert local_time(late_evening_utc, "Asia/Urumqi", "%H:%M") == "23:30"
