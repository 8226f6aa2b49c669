"""The money rule, once: approved meals x rate, capped per agreement and month, in integer fen.

Every other place that shows an amount (the neighbour's history, draft statements, closing, reports)
calls these functions; none repeats the rule.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, case, cast


def meal_amounts(meals: int, rate_fen: int, cap_fen: int) -> list[int]:
    """What each of a month's approved meals (in day, slot, id order) is paid: the rate until the cap
    is reached, the remainder for the meal that crosses it, 0 for every later one."""
    amounts = []
    left = cap_fen
    for _ in range(meals):
        paid = min(rate_fen, left)
        amounts.append(paid)
        left -= paid
    return amounts


def capped_total(meals: int, rate_fen: int, cap_fen: int) -> int:
    """The month's amount for an agreement: the sum of meal_amounts, without listing them."""
    return sum(meal_amounts(meals, rate_fen, cap_fen))


def capped_total_sql(meals: Any, rate_fen: Any, cap_fen: Any) -> Any:
    """capped_total as a SQL expression, for closing a month in one INSERT ... SELECT ... GROUP BY:
    meals x rate, at most the cap (the cap is at least the rate, a check constraint of the agreement).
    A unit test checks it against capped_total on both engines."""
    # In 64 bits: a month's meals x a large rate can pass PostgreSQL's 32-bit integer on the way.
    uncapped = cast(meals, BigInteger) * rate_fen
    return case((uncapped < cap_fen, uncapped), else_=cap_fen)
