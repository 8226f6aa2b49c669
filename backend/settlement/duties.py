"""Separation of duties at the month's close, and the month's self-dealing signals (issue 19).

- Nobody closes a month in which she approved a meal check-in of that programme or created an
  agreement paid in it. People are compared by USER id: a person holding a social-worker and a staff
  membership is one person, and her approvals count whichever membership she used.
- A self-dealing signal is an agreement paid in the month whose creation, every sign-in card issued to
  its neighbour and every approval of its paid check-ins of the month came from one and the same
  worker. It is not a block (a small station may have one worker): staff see it with its check-ins
  and record it as looked at (SignalLook, audited); closing waits until every signal is looked at.
  The signals of a month are one SQL query (correlated subqueries, no query per agreement).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth.models import SignInCode
from backend.clock import add_months
from backend.i18n import gettext as _
from backend.meals.models import Agreement, CheckIn, CheckInStatus, MealSlot
from backend.people.models import Programme, User
from backend.settlement.models import SignalLook, month_of
from backend.settlement.statements import paid_in_month


@dataclass(frozen=True, slots=True)
class Duties:
    """What one person did in a month that keeps her from closing it."""

    approved: int  # meal check-ins of the month she approved
    created: int  # agreements paid in the month that she created

    @property
    def conflict(self) -> bool:
        return bool(self.approved or self.created)

    def reason(self) -> str | None:
        if not self.conflict:
            return None
        parts = []
        if self.approved:
            parts.append(_("you approved %(num)s meal check-ins of this month") % {"num": self.approved})
        if self.created:
            parts.append(_("you created %(num)s agreements paid in this month") % {"num": self.created})
        return _("You cannot close this month: %(why)s. Another staff member must close this month.") % {
            "why": _("; ").join(parts)
        }


async def duties_of(db: AsyncSession, programme_id: int, month: date, user_id: int) -> Duties:
    """One query: her approvals of the month's check-ins and her agreements paid in the month."""
    month = month_of(month)
    in_month = and_(
        CheckIn.programme_id == programme_id,
        CheckIn.day >= month,
        CheckIn.day < add_months(month, 1),
    )
    approved = (
        select(func.count(CheckIn.id))
        .where(in_month, CheckIn.status == CheckInStatus.APPROVED, CheckIn.reviewed_by_id == user_id)
        .scalar_subquery()
    )
    created = (
        select(func.count(func.distinct(Agreement.id)))
        .join(CheckIn, CheckIn.agreement_id == Agreement.id)
        .where(*paid_in_month(programme_id, month), Agreement.created_by_id == user_id)
        .scalar_subquery()
    )
    row = (await db.execute(select(approved, created))).one()
    return Duties(approved=int(row[0] or 0), created=int(row[1] or 0))


@dataclass(frozen=True, slots=True)
class SignalMeal:
    checkin_id: int
    day: date
    slot: MealSlot


@dataclass(slots=True)
class Signal:
    agreement_id: int
    worker_id: int
    worker_name: str
    looked_by_id: int | None
    meals: list[SignalMeal] = field(default_factory=list)

    @property
    def looked_at(self) -> bool:
        return self.looked_by_id is not None


async def month_signals(db: AsyncSession, programme_id: int, month: date) -> list[Signal]:
    """Every self-dealing signal of the month, with its paid check-ins, in one query."""
    month = month_of(month)
    paid = paid_in_month(programme_id, month)
    approvals = (
        select(
            CheckIn.agreement_id.label("agreement_id"),
            func.min(CheckIn.reviewed_by_id).label("first"),
            func.max(CheckIn.reviewed_by_id).label("last"),
            func.count(CheckIn.reviewed_by_id).label("reviewed"),
            func.count(CheckIn.id).label("meals"),
        )
        .where(*paid)
        .group_by(CheckIn.agreement_id)
        .subquery()
    )
    # Every card issued to the neighbour came from the creator: none from anyone else, none from the
    # command line (issued_by NULL), at least one.
    cards = select(SignInCode.id).where(SignInCode.user_id == Agreement.neighbour_id)
    other_cards = cards.where(
        (SignInCode.issued_by_id.is_(None)) | (SignInCode.issued_by_id != Agreement.created_by_id)
    )
    rows = await db.execute(
        select(
            Agreement.id,
            Agreement.created_by_id,
            User.display_name,
            SignalLook.looked_by_id,
            CheckIn.id,
            CheckIn.day,
            CheckIn.slot,
        )
        .select_from(approvals)
        .join(Agreement, Agreement.id == approvals.c.agreement_id)
        .join(User, User.id == Agreement.created_by_id)
        .join(CheckIn, and_(CheckIn.agreement_id == Agreement.id, *paid))
        .outerjoin(
            SignalLook,
            and_(
                SignalLook.programme_id == programme_id,
                SignalLook.month == month,
                SignalLook.agreement_id == Agreement.id,
            ),
        )
        .where(
            Agreement.created_by_id.is_not(None),
            approvals.c.first == Agreement.created_by_id,
            approvals.c.last == Agreement.created_by_id,
            approvals.c.reviewed == approvals.c.meals,
            cards.exists(),
            ~other_cards.exists(),
        )
        .order_by(Agreement.id, CheckIn.day, CheckIn.slot, CheckIn.id)
    )
    signals: dict[int, Signal] = {}
    for agreement_id, worker_id, worker_name, looked_by_id, checkin_id, day, slot in rows:
        signal = signals.get(agreement_id)
        if signal is None:
            assert worker_id is not None  # the query keeps only agreements with a creator
            signal = signals[agreement_id] = Signal(agreement_id, worker_id, worker_name, looked_by_id)
        signal.meals.append(SignalMeal(checkin_id, day, slot))
    return list(signals.values())


def unlooked(signals: list[Signal]) -> list[Signal]:
    return [s for s in signals if not s.looked_at]


class SignalNotFound(Exception):
    """No such signal in that month (or it was looked at already)."""


async def do_mark_signal_looked_at(
    db: AsyncSession, programme: Programme, month: date, agreement_id: int, *, actor: Actor
) -> SignalLook:
    """Record that a staff member looked at one signal of the month (idempotent per signal)."""
    month = month_of(month)
    signal = next(
        (s for s in await month_signals(db, programme.id, month) if s.agreement_id == agreement_id), None
    )
    if signal is None:
        raise SignalNotFound()
    existing = await db.scalar(
        select(SignalLook).where(
            SignalLook.programme_id == programme.id,
            SignalLook.month == month,
            SignalLook.agreement_id == agreement_id,
        )
    )
    if existing is not None:
        return existing
    look = SignalLook(
        programme_id=programme.id,
        month=month,
        agreement_id=agreement_id,
        worker_id=signal.worker_id,
        looked_by_id=actor.id,
    )
    db.add(look)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="settlement.signal_looked_at",
        subject=look,
        change={
            "programme_id": programme.id,
            "month": month.isoformat(),
            "agreement_id": agreement_id,
            "worker_id": signal.worker_id,
            "meals": len(signal.meals),
        },
    )
    return look
