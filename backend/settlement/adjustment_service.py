"""Adjustments over the review threshold: held until a second staff member decides (issue 19).

An adjustment whose size (either sign) is above `settings.adjustment_review_fen` is written as a
pending `settlement_adjustment`, not into the ledger: it counts in no total and no statement sum. A
staff member of the programme other than its creator approves it (the ledger line is written then,
into its month, which must still be open) or refuses it (it never counts). "Other" is by user: one
person holding two memberships is still one person, and a check constraint refuses it in the
database as well. A month cannot close while an adjustment dated into it is pending (the safe
choice: nothing is silently moved to another month; see statements.pending_adjustments_in_month).
The reason is free text: audit events carry the adjustment's id, agreement, month and amount only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.db import utcnow
from backend.errors import Conflict, NotFound
from backend.i18n import gettext as _
from backend.meals.models import Agreement
from backend.settlement.models import (
    Adjustment,
    AdjustmentStatus,
    LedgerKind,
    LedgerLine,
    lock_period,
    month_of,
)


class AdjustmentRefused(Conflict):
    """A decision the rules refuse (409), with a message in the user's language."""


# As settings.Settings.adjustment_review_fen's default: a caller that passes no threshold is reviewed.
DEFAULT_REVIEW_FEN = 15_000


def needs_review(amount_fen: int, review_fen: int) -> bool:
    return abs(amount_fen) > review_fen


async def do_request_adjustment(
    db: AsyncSession,
    agreement: Agreement,
    month: date,
    *,
    amount_fen: int,
    reason: str,
    actor: Actor,
    now: datetime | None = None,
) -> Adjustment:
    """Hold an adjustment for a second staff member. The caller (service.do_add_adjustment) has checked
    the amount, the reason and that the month is open, holding the period's lock."""
    adjustment = Adjustment(
        programme_id=agreement.programme_id,
        month=month_of(month),
        agreement_id=agreement.id,
        amount_fen=amount_fen,
        reason=reason.strip(),
        status=AdjustmentStatus.PENDING,
        created_by_id=actor.id,
        created_at=now or utcnow(),
    )
    db.add(adjustment)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="settlement.adjustment_requested",
        subject=adjustment,
        change={
            "agreement_id": agreement.id,
            "month": adjustment.month.isoformat(),
            "amount_fen": amount_fen,
            "status": AdjustmentStatus.PENDING.value,
        },
    )
    return adjustment


async def get_adjustment_for(db: AsyncSession, programme_id: int, adjustment_id: int) -> Adjustment:
    """An adjustment of a programme the caller already loaded for the user (404 otherwise)."""
    adjustment = await db.scalar(
        select(Adjustment).where(Adjustment.id == adjustment_id, Adjustment.programme_id == programme_id)
    )
    if adjustment is None:
        raise NotFound()
    return adjustment


async def do_decide_adjustment(
    db: AsyncSession,
    adjustment: Adjustment,
    *,
    approve: bool,
    actor: Actor,
    now: datetime | None = None,
) -> Adjustment:
    """Approve (the ledger line is written) or refuse a pending adjustment, as a second staff member."""
    now = now or utcnow()
    if adjustment.created_by_id == actor.id:
        raise AdjustmentRefused(_("Another staff member must decide an adjustment you entered yourself."))
    period = await lock_period(db, adjustment.programme_id, adjustment.month)
    # Read again under the period's lock: a decision that raced this one has committed by now.
    await db.refresh(adjustment)
    if adjustment.status is not AdjustmentStatus.PENDING:
        raise AdjustmentRefused(_("This adjustment has already been decided."))
    if approve and period.closed_at is not None:
        raise AdjustmentRefused(
            _("That month is closed; date the correction into a later month that is still open.")
        )
    if approve:
        line = LedgerLine(
            programme_id=adjustment.programme_id,
            month=adjustment.month,
            agreement_id=adjustment.agreement_id,
            kind=LedgerKind.ADJUSTMENT,
            amount_fen=adjustment.amount_fen,
            reason=adjustment.reason,
            created_by_id=adjustment.created_by_id,
            created_at=now,
        )
        db.add(line)
        await db.flush()
        adjustment.ledger_line_id = line.id
    adjustment.status = AdjustmentStatus.APPROVED if approve else AdjustmentStatus.REFUSED
    adjustment.decided_by_id = actor.id
    adjustment.decided_at = now
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="settlement.adjustment_approved" if approve else "settlement.adjustment_refused",
        subject=adjustment,
        change={
            "agreement_id": adjustment.agreement_id,
            "month": adjustment.month.isoformat(),
            "amount_fen": adjustment.amount_fen,
            "status": [AdjustmentStatus.PENDING.value, adjustment.status.value],
            "created_by_id": adjustment.created_by_id,
            "ledger_line_id": adjustment.ledger_line_id,
        },
    )
    return adjustment


async def held_adjustments(
    db: AsyncSession, agreement_ids: Sequence[int], month: date
) -> dict[int, list[Adjustment]]:
    """{agreement id: pending and refused adjustments of the month} (approved ones are ledger lines)."""
    held: dict[int, list[Adjustment]] = {}
    if not agreement_ids:
        return held
    for adjustment in await db.scalars(
        select(Adjustment)
        .where(
            Adjustment.agreement_id.in_(agreement_ids),
            Adjustment.month == month_of(month),
            Adjustment.status != AdjustmentStatus.APPROVED,
        )
        .order_by(Adjustment.id)
    ):
        held.setdefault(adjustment.agreement_id, []).append(adjustment)
    return held
