"""kill -9 of `carelog close-month` while it writes: all or nothing, and the rerun gives the same totals.

SQLite only: another connection can see the closing's write lock (BEGIN IMMEDIATE fails at once while
it is held), which tells the test that the closing's transaction is open; the kill then lands at a
moment ever later inside it, until one comes after the commit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.audit import verify_chain
from backend.db import Database
from backend.meals.models import CheckInStatus
from backend.people.models import Programme
from backend.settings import Settings
from backend.settlement.models import LedgerLine, SettlementPeriod
from backend.settlement.statements import month_summary
from tests import personas
from tests.conftest import World
from tests.functional.ops_support import CARELOG, carelog, carelog_env
from tests.functional.settlement_support import last_month, meals, small_cap_agreement

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
APPROVED = CheckInStatus.APPROVED


async def _state(database: Database, programme_id: int, month: date) -> tuple[bool, int, int, int]:
    """(closed, ledger lines, meals they pay, ledger total fen) of the month."""
    async with database.transaction(read_only=True) as db:
        period = await db.scalar(
            select(SettlementPeriod).where(
                SettlementPeriod.programme_id == programme_id, SettlementPeriod.month == month
            )
        )
        lines = await db.scalar(
            select(func.count(LedgerLine.id)).where(
                LedgerLine.programme_id == programme_id, LedgerLine.month == month
            )
        )
        paid, total = (
            await db.execute(
                select(
                    func.coalesce(func.sum(LedgerLine.meal_count), 0),
                    func.coalesce(func.sum(LedgerLine.amount_fen), 0),
                ).where(LedgerLine.programme_id == programme_id, LedgerLine.month == month)
            )
        ).one()
    closed = period is not None and period.closed_at is not None
    return closed, int(lines or 0), int(paid or 0), int(total or 0)


def _writer_active(path: str) -> bool:
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


async def test_kill_9_during_close_month_leaves_all_or_nothing_and_the_rerun_gives_the_same_totals(
    settings: Settings, world: World, database: Database, tmp_path: Path
) -> None:
    reviewer = world.user_id(personas.SOCIAL_WORKER)
    month = last_month()
    for n in range(8):  # enough agreements and meals that the closing takes a moment
        agreement = await small_cap_agreement(database, world, rate=1500, cap=30_000)
        await meals(database, agreement, month, [APPROVED] * 24, reviewer_id=reviewer, seed=1000 * n)
    programme_id = agreement.programme_id
    async with database.transaction(read_only=True) as db:
        draft = await month_summary(db, await db.get_one(Programme, programme_id), month)
    assert draft.approved_meals == 8 * 24 and draft.total_fen == 8 * 30_000  # each agreement capped
    # One ledger line per agreement, paying its meals of the month.
    written = (True, 8, draft.approved_meals, draft.total_fen)

    args = [str(CARELOG), "close-month", "--programme", str(programme_id), "--month", f"{month:%Y-%m}"]
    db_file = settings.database_url.split("///", 1)[1]
    killed_mid_write = 0
    # Kill ever later inside the closing's transaction, until one kill comes too late to stop it.
    for delay in (0.0, 0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.25):
        proc = await asyncio.create_subprocess_exec(
            *args,
            env=carelog_env(settings),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        # Polling another process's lock: there is no event to wait on.
        while proc.returncode is None and not _writer_active(db_file):  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        if proc.returncode is None:
            await asyncio.sleep(delay)
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        state = await _state(database, programme_id, month)
        if state[0]:  # it had committed before the kill: all of it
            assert state == written
            break
        assert state == (False, 0, 0, 0), "a killed closing left part of its ledger"
        killed_mid_write += proc.returncode == -signal.SIGKILL
    print(f"close-month killed inside its transaction {killed_mid_write} times")
    assert killed_mid_write >= 1  # at least one kill landed while the closing held the write lock

    async with database.transaction(read_only=True) as db:
        assert (await verify_chain(db)).first_bad_id is None
    rerun = await carelog(settings, *args[1:])
    if not (await _state(database, programme_id, month))[0]:
        pytest.fail(f"the rerun did not close the month:\n{rerun.output}")
    assert await _state(database, programme_id, month) == written
    async with database.transaction(read_only=True) as db:
        closed = await month_summary(db, await db.get_one(Programme, programme_id), month)
        assert (await verify_chain(db)).first_bad_id is None
    assert (closed.closed, closed.approved_meals, closed.total_fen) == (True, 8 * 24, 8 * 30_000)
    again = await carelog(settings, *args[1:])  # a second closing is refused and changes nothing
    assert again.returncode == 1, again.output
    assert await _state(database, programme_id, month) == written
