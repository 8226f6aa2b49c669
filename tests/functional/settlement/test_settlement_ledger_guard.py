"""The ledger's closed-month guard checks every line of a statement (on PostgreSQL once per statement,
migration 0011): one line into a closed month refuses the whole INSERT; closing counts only the
month's own pending check-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from backend.db import Database
from backend.meals.models import CheckInStatus
from backend.settlement.models import LedgerLine, SettlementPeriod
from backend.settlement.service import SettlementRefused
from backend.settlement.statements import pending_in_month
from tests import personas
from tests.conftest import World
from tests.functional import meals_support
from tests.functional.settlement_support import close, last_month, meals, this_month

A, P = CheckInStatus.APPROVED, CheckInStatus.PENDING
TWO_LINES = (
    "INSERT INTO settlement_ledger_line (programme_id, month, agreement_id, kind, amount_fen, reason,"
    " created_at) VALUES (:p, :m1, :a, 'adjustment', 100, 'x', CURRENT_TIMESTAMP),"
    " (:p, :m2, :a, 'adjustment', 200, 'y', CURRENT_TIMESTAMP)"
)


async def _lines(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count(LedgerLine.id))) or 0)


@pytest.mark.parametrize("closed_first", [True, False])
async def test_one_statement_with_a_line_in_a_closed_month_writes_no_line(
    world: World, database: Database, closed_first: bool
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    await meals(database, agreement, last_month(), [A], reviewer_id=world.user_id(personas.SOCIAL_WORKER))
    await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    months = (last_month(), this_month()) if closed_first else (this_month(), last_month())
    with pytest.raises(DBAPIError) as refused:
        async with database.transaction() as db:
            await db.execute(
                text(TWO_LINES),
                {"p": agreement.programme_id, "a": agreement.id, "m1": months[0], "m2": months[1]},
            )
    assert "settlement_ledger_line: the month" in str(refused.value) and "is closed" in str(refused.value)
    assert await _lines(database) == 1  # the closed month's meal line only


async def test_lines_into_open_months_pass_the_guard_and_closing_counts_them(
    world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    async with database.transaction() as db:
        await db.execute(
            text(TWO_LINES),
            {"p": agreement.programme_id, "a": agreement.id, "m1": last_month(), "m2": this_month()},
        )
    await meals(database, agreement, last_month(), [A], reviewer_id=world.user_id(personas.SOCIAL_WORKER))
    closing = await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    assert (closing.meals, closing.total_fen) == (1, 1500 + 100)
    async with database.transaction(read_only=True) as db:
        closed = await db.scalar(
            select(SettlementPeriod.closed_at).where(SettlementPeriod.month == last_month())
        )
    assert closed is not None
    assert await _lines(database) == 3


async def test_closing_counts_only_its_own_months_pending_check_ins(world: World, database: Database) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    reviewer = world.user_id(personas.SOCIAL_WORKER)
    await meals(database, agreement, last_month(), [A, P, P], reviewer_id=reviewer)
    await meals(database, agreement, this_month(), [P], reviewer_id=reviewer, seed=50)
    async with database.transaction(read_only=True) as db:
        assert await pending_in_month(db, agreement.programme_id, last_month()) == 2
        assert await pending_in_month(db, agreement.programme_id, this_month()) == 1
        assert await pending_in_month(db, agreement.programme_id, last_month() - timedelta(days=1)) == 0
    with pytest.raises(SettlementRefused):
        await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
