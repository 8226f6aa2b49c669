"""`carelog close-month` on both databases: refuses while meals wait, then closes once, prints the total
and the audit head, and refuses a second time."""

from __future__ import annotations

import asyncio

from backend.db import Database
from backend.meals.models import CheckInStatus
from backend.settings import Settings
from backend.settlement.statements import period_of
from tests import personas
from tests.conftest import World
from tests.functional import meals_support
from tests.functional.cli.test_cli import _carelog
from tests.functional.settlement_support import last_month, meals, review


async def test_close_month_from_the_command_line(
    world: World, database: Database, settings: Settings
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    worker = world.user_id(personas.SOCIAL_WORKER)
    made = await meals(
        database, agreement, last_month(), [CheckInStatus.APPROVED, CheckInStatus.PENDING], reviewer_id=worker
    )
    args = ("close-month", "--programme", str(agreement.programme_id), "--month", f"{last_month():%Y-%m}")
    refused = await asyncio.to_thread(_carelog, settings, *args)
    assert refused.returncode == 1 and "1" in refused.stderr
    await review(database, made[1].id, CheckInStatus.APPROVED, worker)
    closed = await asyncio.to_thread(_carelog, settings, *args, "--by", personas.STAFF)
    assert closed.returncode == 0, closed.stderr
    assert "2 approved meals, 30.00 yuan (3000 fen)" in closed.stdout
    async with database.transaction(read_only=True) as db:
        period = await period_of(db, agreement.programme_id, last_month())
    assert period is not None and period.audit_head_hash in closed.stdout
    assert period.closed_by_id == world.user_id(personas.STAFF) and period.total_fen == 3000
    again = await asyncio.to_thread(_carelog, settings, *args)
    assert again.returncode == 1
    bad = await asyncio.to_thread(_carelog, settings, "close-month", "--programme", "1", "--month", "2026-13")
    assert bad.returncode == 2
