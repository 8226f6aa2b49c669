"""The money rule, once: approved meals x rate, capped per agreement and month, in integer fen.

Every other place that shows an amount (the neighbour's history, draft statements, closing, reports)
calls these functions; none repeats the rule.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case


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


def meal_amount_sql(n: Any, rate_fen: Any, cap_fen: Any) -> Any:
    """meal_amounts' n-th amount (n from 1) as a SQL expression, for closing a month in one statement:
    what is left of the cap before meal n, at most the rate and at least 0. A unit test checks it
    against meal_amounts on both engines."""
    left = cap_fen - (n - 1) * rate_fen
    return case((left >= rate_fen, rate_fen), (left > 0, left), else_=0)
