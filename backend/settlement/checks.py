"""Every closed month's ledger against its meals computed again (for `carelog check`).

A closed month's ledger holds one meal line per agreement: the meals paid and their capped amount.
Its check-ins cannot change after closing (service and triggers), so counting them again by the same
rule must give the same line; where it does not, a check-in or the ledger was changed behind the
triggers' back, and the month is named. One grouped count per closed month, not one per agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.settlement.models import LedgerKind, LedgerLine, SettlementPeriod
from backend.settlement.statements import paid_totals


@dataclass(frozen=True, slots=True)
class LedgerMismatch:
    programme_id: int
    month: date
    agreement_id: int
    ledger: tuple[int, int]  # (meals, fen) of the meal line; (0, 0) without one
    recomputed: tuple[int, int]  # (meals, fen) of the month's approved current check-ins now


async def _ledger(db: AsyncSession, programme_id: int, month: date) -> dict[int, tuple[int, int]]:
    rows = await db.execute(
        select(LedgerLine.agreement_id, LedgerLine.meal_count, LedgerLine.amount_fen).where(
            LedgerLine.programme_id == programme_id,
            LedgerLine.month == month,
            LedgerLine.kind == LedgerKind.MEAL,
        )
    )
    return {agreement_id: (int(meals or 0), int(fen)) for agreement_id, meals, fen in rows}


async def closed_month_mismatches(db: AsyncSession) -> tuple[int, list[LedgerMismatch]]:
    """(closed months checked, every agreement whose ledger line and recomputation disagree)."""
    periods = list(
        await db.execute(
            select(SettlementPeriod.programme_id, SettlementPeriod.month)
            .where(SettlementPeriod.closed_at.is_not(None))
            .order_by(SettlementPeriod.programme_id, SettlementPeriod.month)
        )
    )
    found = []
    for programme_id, month in periods:
        ledger = await _ledger(db, programme_id, month)
        recomputed = await paid_totals(db, programme_id, month)
        for agreement_id in sorted(ledger.keys() | recomputed.keys()):
            paid, now = ledger.get(agreement_id, (0, 0)), recomputed.get(agreement_id, (0, 0))
            if paid != now:
                found.append(LedgerMismatch(programme_id, month, agreement_id, paid, now))
    return len(periods), found
