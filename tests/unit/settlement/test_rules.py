"""The money rule: approved meals x rate, capped per month, the crossing meal paid the remainder."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, literal, select

from backend.settlement.forms import parse_signed_fen
from backend.settlement.rules import capped_total, meal_amount_sql, meal_amounts


def test_the_meal_that_crosses_the_cap_is_paid_the_remainder() -> None:
    assert meal_amounts(4, 1500, 4000) == [1500, 1500, 1000, 0]
    assert meal_amounts(31, 1500, 45000)[-2:] == [1500, 0]
    assert meal_amounts(0, 1500, 45000) == []
    assert capped_total(31, 1500, 45000) == 45000 and capped_total(0, 1500, 45000) == 0


@given(
    meals=st.integers(min_value=0, max_value=62),
    rate=st.integers(min_value=1, max_value=100_000),
    extra=st.integers(min_value=0, max_value=5_000_000),
)
def test_amounts_are_whole_fen_never_above_the_rate_and_sum_to_the_capped_total(
    meals: int, rate: int, extra: int
) -> None:
    cap = rate + extra  # the agreement's check constraint: cap >= rate
    amounts = meal_amounts(meals, rate, cap)
    assert len(amounts) == meals
    assert all(isinstance(a, int) and 0 <= a <= rate for a in amounts)
    assert amounts == sorted(amounts, reverse=True)
    assert sum(amounts) == capped_total(meals, rate, cap) == min(meals * rate, cap)


def test_adjustments_are_signed_whole_fen() -> None:
    assert parse_signed_fen("-1500") == -1500
    assert parse_signed_fen("＋２００") == 200  # full-width digits from a Chinese keyboard
    assert parse_signed_fen("−300") == -300  # the typographic minus
    for bad in ("15.5", "1e9", "1,500", "", "abc", "-", "1234567890"):
        assert parse_signed_fen(bad) is None


@given(
    meals=st.integers(min_value=1, max_value=62),
    rate=st.integers(min_value=1, max_value=100_000),
    extra=st.integers(min_value=0, max_value=5_000_000),
)
def test_the_sql_form_of_the_rule_pays_what_the_python_form_pays(meals: int, rate: int, extra: int) -> None:
    # Closing a month prices its meals in SQL (one INSERT ... SELECT); it must agree with meal_amounts.
    cap = rate + extra
    engine = create_engine("sqlite://")
    numbers = (
        select(literal(1).label("n")).union_all(*[select(literal(k)) for k in range(2, meals + 1)]).subquery()
    )
    query = select(meal_amount_sql(numbers.c.n, literal(rate), literal(cap))).order_by(numbers.c.n)
    with engine.connect() as conn:
        assert [int(a) for a in conn.scalars(query)] == meal_amounts(meals, rate, cap)
