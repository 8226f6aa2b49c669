"""The one write path for money (house rule 3): closing a month and adding adjustments.

Closing locks the month's period row FOR UPDATE first (PostgreSQL; SQLite writers are serialised),
so a check-in or a review of that month either committed before (and is counted, or blocks the
closing while still pending) or waits and is then refused by the triggers of migration 0008. Closing
refuses while any current check-in of the month is still pending; meals sent back or rejected are
simply not paid. It writes one ledger line per agreement with approved meals, carrying the number of
meals and their capped amount by the same rule as the draft statement (rules.py), records its audit
event, and stores that event's hash (the chain's head) on the period. The per-meal breakdown of a
closed month is recomputed from its check-ins (statements.py), which cannot change after closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.clock import local_today
from backend.db import utcnow
from backend.errors import Conflict
from backend.i18n import gettext as _
from backend.meals.models import Agreement, CheckIn
from backend.people.models import Programme
from backend.settlement import duties
from backend.settlement.adjustment_service import DEFAULT_REVIEW_FEN, do_request_adjustment, needs_review
from backend.settlement.models import (
    Adjustment,
    LedgerKind,
    LedgerLine,
    SettlementPeriod,
    lock_period,
    month_of,
)
from backend.settlement.rate_service import least_sql, month_terms
from backend.settlement.rules import capped_total_sql
from backend.settlement.statements import paid_in_month, pending_adjustments_in_month, pending_in_month

MAX_REASON = 500
# |amount| of one adjustment: ten times the default monthly cap is already far beyond any correction.
MAX_ADJUSTMENT_FEN = 10_000_000


class SettlementRefused(Conflict):
    """A settlement step the rules refuse (409), with a message in the user's language."""


@dataclass(frozen=True, slots=True)
class Closing:
    period: SettlementPeriod
    meals: int
    total_fen: int


async def do_close_month(
    db: AsyncSession,
    programme: Programme,
    month: date,
    *,
    actor: Actor | None,
    now: datetime | None = None,
) -> Closing:
    """Close a past month of a programme. `actor` None is the operator at the command line."""
    now = now or utcnow()
    month = month_of(month)
    if month >= local_today(programme, now).replace(day=1):
        raise SettlementRefused(_("Only a month that has ended can be closed."))
    period = await lock_period(db, programme.id, month, for_update=True)
    if period.closed_at is not None:
        raise SettlementRefused(_("This month is already closed."))
    pending = await pending_in_month(db, programme.id, month)
    if pending:
        raise SettlementRefused(
            _("Check-ins of this month still waiting for review: %(num)s. Decide them before closing.")
            % {"num": pending}
        )
    # A held adjustment would otherwise be approved into a closed month or silently moved (issue 19).
    held = await pending_adjustments_in_month(db, programme.id, month)
    if held:
        raise SettlementRefused(
            _("Adjustments of this month waiting for a second staff member: %(num)s. Decide them first.")
            % {"num": held}
        )
    await _check_duties(db, programme.id, month, actor=actor)
    meals, total = await _write_meal_lines(db, programme.id, month, actor=actor, now=now)
    event = await audit.record(
        db,
        actor=actor,
        action="settlement.month_closed",
        subject=period,
        change={
            "programme_id": programme.id,
            "month": month.isoformat(),
            "meals": meals,
            "total_fen": total,
            "via": "web" if actor is not None else "command line",
        },
    )
    period.closed_at = now
    period.closed_by_id = actor.id if actor is not None else None
    period.audit_head_hash = event.hash
    period.audit_event_id = event.id
    period.total_fen = total
    await db.flush()
    return Closing(period, meals, total)


async def _check_duties(db: AsyncSession, programme_id: int, month: date, *, actor: Actor | None) -> None:
    """Separation of duties (settlement/duties.py): she who approved a meal of the month or created an
    agreement paid in it does not close it (the operator at the command line names no person, and is
    checked as the person she names with --by); and every self-dealing signal must be looked at."""
    if actor is not None:
        reason = (await duties.duties_of(db, programme_id, month, actor.id)).reason()
        if reason is not None:
            raise SettlementRefused(reason)
    waiting = duties.unlooked(await duties.month_signals(db, programme_id, month))
    if waiting:
        raise SettlementRefused(
            _("Signals of this month not yet looked at: %(num)s. Look at each one before closing.")
            % {"num": len(waiting)}
        )


async def _write_meal_lines(
    db: AsyncSession, programme_id: int, month: date, *, actor: Actor | None, now: datetime
) -> tuple[int, int]:
    """One ledger line per agreement with approved current meals in the month: their number and the
    capped amount, in one INSERT ... SELECT ... GROUP BY. Returns the number of meals paid and the
    month's total with its adjustments."""
    meals = func.count(CheckIn.id)
    table = LedgerLine.__table__
    # The agreement's own terms, at most the programme's for this month (rate_service.py).
    rate, cap = await month_terms(db, programme_id, month)
    lines = (
        select(
            literal(programme_id, table.c.programme_id.type),
            literal(month, table.c.month.type),
            CheckIn.agreement_id,
            literal(LedgerKind.MEAL, table.c.kind.type),
            meals,
            capped_total_sql(
                meals, least_sql(Agreement.rate_fen, rate), least_sql(Agreement.monthly_cap_fen, cap)
            ),
            literal(actor.id if actor is not None else None, table.c.created_by_id.type),
            literal(now, table.c.created_at.type),
        )
        .join(Agreement, Agreement.id == CheckIn.agreement_id)
        .where(*paid_in_month(programme_id, month))
        .group_by(CheckIn.agreement_id, Agreement.rate_fen, Agreement.monthly_cap_fen)
        .order_by(CheckIn.agreement_id)
    )
    columns = ["programme_id", "month", "agreement_id", "kind", "meal_count", "amount_fen", "created_by_id"]
    # One line per agreement, not per meal: on PostgreSQL each line pays four foreign-key checks, and
    # per meal that was most of closing's time (310,000 lines: 12.9-14.9 s with the keys, 2.8-3.7 s
    # without, on a loaded 2-core machine). The totals below read the ledger again rather than
    # INSERT ... RETURNING: they take in the month's adjustments too.
    await db.execute(insert(LedgerLine).from_select([*columns, "created_at"], lines))
    paid, total = (
        await db.execute(
            select(
                func.coalesce(func.sum(LedgerLine.meal_count), 0),
                func.coalesce(func.sum(LedgerLine.amount_fen), 0),
            ).where(LedgerLine.programme_id == programme_id, LedgerLine.month == month)
        )
    ).one()
    return int(paid or 0), int(total or 0)


def check_adjustment(amount_fen: int | None, reason: str | None) -> dict[str, str]:
    """Field errors of an adjustment, in the user's language (empty when it may be written)."""
    errors = {}
    if amount_fen is None or amount_fen == 0 or abs(amount_fen) > MAX_ADJUSTMENT_FEN:
        errors["amount_fen"] = _(
            "Enter the amount in yuan with at most two decimals (for example 15 or -7.50): "
            "positive to pay more, negative to take back, not 0."
        )
    if not (reason or "").strip():
        errors["reason"] = _("Say why the amount is corrected, and which month it corrects.")
    elif len((reason or "").strip()) > MAX_REASON:
        errors["reason"] = _("Keep the reason under 500 characters.")
    return errors


async def do_add_adjustment(
    db: AsyncSession,
    agreement: Agreement,
    month: date,
    *,
    amount_fen: int,
    reason: str,
    actor: Actor,
    now: datetime | None = None,
    review_fen: int = DEFAULT_REVIEW_FEN,
) -> LedgerLine | Adjustment:
    """A correction (positive or negative fen) dated into an open month of the agreement's programme.
    Up to `review_fen` (either sign) it is a ledger line at once; above, it is held as a pending
    Adjustment until a second staff member decides (adjustment_service.py). The reason stays out of
    the audit event (free text): the event carries ids, the month and the amount."""
    errors = check_adjustment(amount_fen, reason)
    if errors:
        raise SettlementRefused(next(iter(errors.values())))
    month = month_of(month)
    period = await lock_period(db, agreement.programme_id, month)
    if period.closed_at is not None:
        raise SettlementRefused(
            _("That month is closed; date the correction into a later month that is still open.")
        )
    if needs_review(amount_fen, review_fen):
        return await do_request_adjustment(
            db, agreement, month, amount_fen=amount_fen, reason=reason, actor=actor, now=now
        )
    line = LedgerLine(
        programme_id=agreement.programme_id,
        month=month,
        agreement_id=agreement.id,
        kind=LedgerKind.ADJUSTMENT,
        amount_fen=amount_fen,
        reason=reason.strip(),
        created_by_id=actor.id,
        created_at=now or utcnow(),
    )
    db.add(line)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="settlement.adjustment_added",
        subject=line,
        change={"agreement_id": agreement.id, "month": month.isoformat(), "amount_fen": amount_fen},
    )
    return line
