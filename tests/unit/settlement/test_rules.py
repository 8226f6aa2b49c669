"""The money rule: approved meals x rate, capped per month, the crossing meal paid the remainder."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, literal, select
from sqlalchemy.dialects import postgresql

from backend.settlement.forms import parse_signed_yuan
from backend.settlement.rules import capped_total, capped_total_sql, meal_amounts
from tests.conftest import PG_ADMIN_DSN, require_postgres


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


def test_adjustments_are_typed_in_yuan_and_kept_as_exact_fen() -> None:
    cases = {
        "15": 1500,
        "15.5": 1550,
        "15.50": 1550,
        "-7.05": -705,
        "＋２００": 20000,
        "−3.2": -320,
        "¥15": 1500,
        "15元": 1500,
        " 0.01 ": 1,
        "9999999.99": 999999999,
        "0.1": 10,
    }
    for raw, fen in cases.items():
        assert parse_signed_yuan(raw) == fen, raw
    for bad in ("15.555", "1e9", "1,500", "", "abc", "-", ".5", "15.", "12345678", "NaN", "--1", "15.5.5"):
        assert parse_signed_yuan(bad) is None, bad


# (meals, rate, cap) cases for the SQL form: none, below, at and past the cap, the cap equal to the
# rate, and a month of two meals a day at a large rate (meals x rate beyond 32 bits is not possible
# with the agreement's limits, but the product must not overflow on the way either).
SQL_CASES = [
    (0, 1500, 45000),
    (1, 1500, 45000),
    (29, 1500, 45000),
    (30, 1500, 45000),
    (31, 1500, 45000),
    (62, 1500, 45000),
    (4, 1500, 4000),
    (3, 1500, 1500),
    (62, 100_000, 5_100_000),
    (62, 2_000_000_000, 2_000_000_000),
]


def _sql_totals(dialect: str) -> list[int]:
    query = select(*[capped_total_sql(literal(m), literal(r), literal(c)) for m, r, c in SQL_CASES])
    if dialect == "sqlite":
        with create_engine("sqlite://").connect() as conn:
            row = conn.execute(query).one()
        return [int(v) for v in row]
    require_postgres()
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))

    async def run() -> list[int]:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            record = await conn.fetchrow(sql)
        finally:
            await conn.close()
        assert record is not None
        return [int(v) for v in record.values()]

    return asyncio.run(run())


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_sql_form_of_the_capped_total_pays_what_the_python_form_pays(dialect: str) -> None:
    # Closing a month writes each agreement's total in SQL (one INSERT ... SELECT ... GROUP BY); it must
    # agree with capped_total, which is what the statements and the history show.
    assert _sql_totals(dialect) == [capped_total(m, r, c) for m, r, c in SQL_CASES]


@given(
    meals=st.integers(min_value=0, max_value=62),
    rate=st.integers(min_value=1, max_value=100_000),
    extra=st.integers(min_value=0, max_value=5_000_000),
)
def test_the_sql_form_of_the_capped_total_agrees_on_sqlite_for_any_agreement(
    meals: int, rate: int, extra: int
) -> None:
    cap = rate + extra
    with create_engine("sqlite://").connect() as conn:
        total = conn.scalar(select(capped_total_sql(literal(meals), literal(rate), literal(cap))))
    assert total == capped_total(meals, rate, cap)
