"""Statements: what a programme's month pays, per agreement and per meal, draft or closed.

A draft is computed whenever it is asked for and never stored. A closed month's ledger holds one meal
line per agreement (meals paid, capped amount); its per-meal breakdown is computed again from the
month's check-ins by the same rule, which closing used and which cannot give another answer since the
month's check-ins cannot change (service and triggers). Each closed statement is checked against its
line: if the meal count or the sum differs (a check-in or the line was changed behind the triggers'
back), the statement says so (`ledger_mismatch`) and its money is the ledger's, what was paid. Either
way a statement lists every approved current meal of the month in (day, slot, id) order with what it
is paid (0 past the cap), and the adjustments dated into the month. Large months are read in batches
of agreements (each has at most two meals a day), so exports stream with bounded memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.clock import add_months
from backend.evidence.models import Photo
from backend.meals.models import Agreement, AgreementStatus, CheckIn, CheckInPhoto, CheckInStatus, MealSlot
from backend.people.models import Programme, User
from backend.settlement.adjustment_service import held_adjustments
from backend.settlement.models import Adjustment, AdjustmentStatus, LedgerKind, LedgerLine, SettlementPeriod
from backend.settlement.rate_service import paid_terms, terms_for_month
from backend.settlement.rules import capped_total, meal_amounts

BATCH_AGREEMENTS = 100


@dataclass(frozen=True, slots=True)
class MealLine:
    checkin_id: int
    day: date
    slot: MealSlot
    amount_fen: int
    photo_sha256: tuple[str, ...] = ()
    reviewer: str | None = None
    reviewed_at: datetime | None = None


@dataclass
class AgreementStatement:
    agreement: Agreement
    meals: list[MealLine] = field(default_factory=list)
    adjustments: list[LedgerLine] = field(default_factory=list)
    # A closed month: (meals, fen) of the agreement's meal line in the ledger, (0, 0) without one.
    # None for a draft.
    ledger: tuple[int, int] | None = None
    # The rate the month pays this agreement: its own, at most the programme's for the month.
    rate_fen: int | None = None
    cap_fen: int | None = None
    # Adjustments over the review threshold not in the ledger: pending (not counted yet) or refused.
    held: list[Adjustment] = field(default_factory=list)

    @property
    def pending_adjustments(self) -> list[Adjustment]:
        return [a for a in self.held if a.status is AdjustmentStatus.PENDING]

    @property
    def recomputed_fen(self) -> int:
        """What the listed meals are paid by the rule, as they are now."""
        return sum(m.amount_fen for m in self.meals)

    @property
    def ledger_mismatch(self) -> bool:
        """A closed month whose ledger line does not match its meals computed again."""
        return self.ledger is not None and self.ledger != (len(self.meals), self.recomputed_fen)

    @property
    def meals_fen(self) -> int:
        """The meals' money: the ledger's once the month is closed (what was paid), else the draft's."""
        return self.ledger[1] if self.ledger is not None else self.recomputed_fen

    @property
    def adjustments_fen(self) -> int:
        return sum(a.amount_fen for a in self.adjustments)

    @property
    def total_fen(self) -> int:
        return self.meals_fen + self.adjustments_fen

    @property
    def capped(self) -> bool:
        rate = self.rate_fen if self.rate_fen is not None else self.agreement.rate_fen
        return any(m.amount_fen < rate for m in self.meals)


@dataclass
class MonthSummary:
    programme: Programme
    month: date
    period: SettlementPeriod | None
    agreements: list[AgreementStatement]
    counts: dict[CheckInStatus, int]

    @property
    def closed(self) -> bool:
        return self.period is not None and self.period.closed_at is not None

    @property
    def total_fen(self) -> int:
        return sum(a.total_fen for a in self.agreements)

    @property
    def meals_fen(self) -> int:
        return sum(a.meals_fen for a in self.agreements)

    @property
    def adjustments_fen(self) -> int:
        return sum(a.adjustments_fen for a in self.agreements)

    @property
    def approved_meals(self) -> int:
        return sum(len(a.meals) for a in self.agreements)

    @property
    def pending_adjustments(self) -> list[tuple[AgreementStatement, Adjustment]]:
        """Adjustments of the month waiting for a second staff member (counted in no total)."""
        return [(s, a) for s in self.agreements for a in s.pending_adjustments]

    @property
    def mismatches(self) -> list[AgreementStatement]:
        """Agreements whose closed ledger line does not match their meals computed again."""
        return [a for a in self.agreements if a.ledger_mismatch]

    @property
    def pending(self) -> int:
        return self.counts.get(CheckInStatus.PENDING, 0)

    @property
    def needs_fix(self) -> int:
        return self.counts.get(CheckInStatus.NEEDS_FIX, 0)

    @property
    def rejected(self) -> int:
        return self.counts.get(CheckInStatus.REJECTED, 0)


def slot_order() -> ColumnElement[int]:
    """Lunch before dinner (the stored strings would sort the other way)."""
    return case((CheckIn.slot == MealSlot.LUNCH, 0), else_=1)


def _in_month(column: Any, month: date) -> ColumnElement[bool]:
    return and_(column >= month, column < add_months(month, 1))


def paid_in_month(programme_id: int, month: date) -> list[ColumnElement[bool]]:
    """The check-ins a closed month pays: the programme's approved current check-ins of that month.
    Closing counts them into the ledger and `carelog check` counts them again: one condition."""
    return [
        CheckIn.programme_id == programme_id,
        _in_month(CheckIn.day, month),
        CheckIn.status == CheckInStatus.APPROVED,
        CheckIn.superseded_at.is_(None),
    ]


def _approved_current(agreement_ids: Sequence[int], month: date) -> list[ColumnElement[bool]]:
    return [
        CheckIn.agreement_id.in_(agreement_ids),
        _in_month(CheckIn.day, month),
        CheckIn.status == CheckInStatus.APPROVED,
        CheckIn.superseded_at.is_(None),
    ]


async def period_of(db: AsyncSession, programme_id: int, month: date) -> SettlementPeriod | None:
    return await db.scalar(
        select(SettlementPeriod).where(
            SettlementPeriod.programme_id == programme_id, SettlementPeriod.month == month
        )
    )


async def meal_totals(
    db: AsyncSession, agreement_ids: Sequence[int], month: date
) -> dict[int, tuple[int, int]]:
    """{agreement id: (approved meals, amount in fen)} for the month: the count in SQL, the rule once."""
    if not agreement_ids:
        return {}
    return await _totals(db, _approved_current(agreement_ids, month), month)


async def paid_totals(db: AsyncSession, programme_id: int, month: date) -> dict[int, tuple[int, int]]:
    """The same for every agreement of a programme's month (the ledger check counts them again)."""
    return await _totals(db, paid_in_month(programme_id, month), month)


async def _totals(
    db: AsyncSession, conditions: Sequence[ColumnElement[bool]], month: date
) -> dict[int, tuple[int, int]]:
    rows = list(
        await db.execute(
            select(
                Agreement.id,
                Agreement.programme_id,
                Agreement.rate_fen,
                Agreement.monthly_cap_fen,
                func.count(CheckIn.id),
            )
            .join(CheckIn, CheckIn.agreement_id == Agreement.id)
            .where(*conditions)
            .group_by(Agreement.id, Agreement.programme_id, Agreement.rate_fen, Agreement.monthly_cap_fen)
        )
    )
    terms = await terms_for_month(db, {row[1] for row in rows}, month)
    return {
        agreement_id: (int(meals), capped_total(int(meals), *paid_terms(rate, cap, terms[programme_id])))
        for agreement_id, programme_id, rate, cap, meals in rows
    }


async def pending_adjustments_in_month(db: AsyncSession, programme_id: int, month: date) -> int:
    """Adjustments dated into the month still waiting for a second staff member: closing refuses
    while there are any (adjustment_service.py)."""
    count = await db.scalar(
        select(func.count()).where(
            Adjustment.programme_id == programme_id,
            Adjustment.month == month,
            Adjustment.status == AdjustmentStatus.PENDING,
        )
    )
    return int(count or 0)


async def status_counts(
    db: AsyncSession, programme_id: int, month: date, *, extra: ColumnElement[bool] | None = None
) -> dict[CheckInStatus, int]:
    """Current check-ins of the month by status (superseded versions are not counted)."""
    query = (
        select(CheckIn.status, func.count(CheckIn.id))
        .where(
            CheckIn.programme_id == programme_id,
            _in_month(CheckIn.day, month),
            CheckIn.superseded_at.is_(None),
        )
        .group_by(CheckIn.status)
    )
    if extra is not None:
        query = query.where(extra)
    return {CheckInStatus(status): int(n) for status, n in await db.execute(query)}


async def pending_in_month(db: AsyncSession, programme_id: int, month: date) -> int:
    """Current check-ins of the month still waiting for review, as closing counts them: through the
    partial index of pending current check-ins (migration 0011)."""
    count = await db.scalar(
        select(func.count()).where(
            CheckIn.programme_id == programme_id,
            _in_month(CheckIn.day, month),
            CheckIn.awaiting_review(),
        )
    )
    return int(count or 0)


def month_agreements(programme_id: int, month: date) -> ColumnElement[bool]:
    """Agreements a month's statement lists: current ones that overlap it, and any with a meal or a
    ledger line in it (an ended agreement without either has nothing to show)."""
    with_lines = select(LedgerLine.agreement_id).where(
        LedgerLine.programme_id == programme_id, LedgerLine.month == month
    )
    with_meals = select(CheckIn.agreement_id).where(
        CheckIn.programme_id == programme_id, _in_month(CheckIn.day, month)
    )
    overlaps = and_(
        Agreement.starts_on < add_months(month, 1),
        or_(Agreement.ends_on.is_(None), Agreement.ends_on >= month),
        Agreement.neighbour_confirmed_at.is_not(None),
        Agreement.status == AgreementStatus.ACTIVE,
    )
    return and_(
        Agreement.programme_id == programme_id,
        or_(overlaps, Agreement.id.in_(with_lines), Agreement.id.in_(with_meals)),
    )


async def _photo_hashes(db: AsyncSession, checkin_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """{check-in id: SHA-256 of each received photo, in the order they were sent}."""
    photos: dict[int, list[str]] = defaultdict(list)
    if not checkin_ids:
        return {}
    rows = await db.execute(
        select(CheckInPhoto.checkin_id, Photo.received_sha256)
        .join(Photo, Photo.id == CheckInPhoto.photo_id)
        .where(CheckInPhoto.checkin_id.in_(checkin_ids))
        .order_by(CheckInPhoto.checkin_id, CheckInPhoto.position)
    )
    for checkin_id, sha in rows:
        photos[checkin_id].append(sha)
    return {k: tuple(v) for k, v in photos.items()}


async def _reviewers(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await db.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in rows}


async def draft_meal_lines(
    db: AsyncSession, agreements: Sequence[Agreement], month: date
) -> dict[int, list[tuple[CheckIn, int]]]:
    """{agreement id: [(approved meal, fen)]}: the rule applied to the meals as they are now."""
    by_id = {a.id: a for a in agreements}
    meals: dict[int, list[CheckIn]] = defaultdict(list)
    for checkin in await db.scalars(
        select(CheckIn)
        .where(*_approved_current(list(by_id), month))
        .order_by(CheckIn.agreement_id, CheckIn.day, slot_order(), CheckIn.id)
    ):
        meals[checkin.agreement_id].append(checkin)
    terms = await terms_for_month(db, {a.programme_id for a in agreements}, month)
    lines = {}
    for agreement_id, checkins in meals.items():
        agreement = by_id[agreement_id]
        rate, cap = paid_terms(agreement.rate_fen, agreement.monthly_cap_fen, terms[agreement.programme_id])
        amounts = meal_amounts(len(checkins), rate, cap)
        lines[agreement_id] = list(zip(checkins, amounts, strict=True))
    return lines


async def ledger_meals(
    db: AsyncSession, agreement_ids: Sequence[int], month: date
) -> dict[int, tuple[int, int]]:
    """{agreement id: (meals, fen)} of the month's meal lines in the ledger (closed months)."""
    if not agreement_ids:
        return {}
    rows = await db.execute(
        select(LedgerLine.agreement_id, LedgerLine.meal_count, LedgerLine.amount_fen).where(
            LedgerLine.agreement_id.in_(agreement_ids),
            LedgerLine.month == month,
            LedgerLine.kind == LedgerKind.MEAL,
        )
    )
    return {agreement_id: (int(meals or 0), int(fen)) for agreement_id, meals, fen in rows}


async def agreement_statements(
    db: AsyncSession, agreements: Sequence[Agreement], month: date, *, closed: bool
) -> list[AgreementStatement]:
    """Statements for a batch of agreements of one programme and month, with each meal's evidence."""
    if not agreements:
        return []
    ids = [a.id for a in agreements]
    lines = await draft_meal_lines(db, agreements, month)
    terms = await terms_for_month(db, {a.programme_id for a in agreements}, month)
    held = await held_adjustments(db, ids, month)
    ledger = await ledger_meals(db, ids, month) if closed else None
    checkin_ids = [c.id for pairs in lines.values() for c, _ in pairs]
    photos = await _photo_hashes(db, checkin_ids)
    reviewers = await _reviewers(
        db, {c.reviewed_by_id for pairs in lines.values() for c, _ in pairs if c.reviewed_by_id}
    )
    adjustments: dict[int, list[LedgerLine]] = defaultdict(list)
    for line in await db.scalars(
        select(LedgerLine)
        .where(
            LedgerLine.agreement_id.in_(ids),
            LedgerLine.month == month,
            LedgerLine.kind == LedgerKind.ADJUSTMENT,
        )
        .order_by(LedgerLine.id)
    ):
        adjustments[line.agreement_id].append(line)
    return [
        AgreementStatement(
            agreement=a,
            meals=[
                MealLine(
                    checkin_id=c.id,
                    day=c.day,
                    slot=c.slot,
                    amount_fen=fen,
                    photo_sha256=photos.get(c.id, ()),
                    reviewer=reviewers.get(c.reviewed_by_id) if c.reviewed_by_id else None,
                    reviewed_at=c.reviewed_at,
                )
                for c, fen in lines.get(a.id, [])
            ],
            adjustments=adjustments.get(a.id, []),
            ledger=ledger.get(a.id, (0, 0)) if ledger is not None else None,
            rate_fen=paid_terms(a.rate_fen, a.monthly_cap_fen, terms[a.programme_id])[0],
            cap_fen=paid_terms(a.rate_fen, a.monthly_cap_fen, terms[a.programme_id])[1],
            held=held.get(a.id, []),
        )
        for a in agreements
    ]


def _agreement_query(programme_id: int, month: date, only: Sequence[int] | None) -> Select[Agreement]:
    query = (
        select(Agreement)
        .where(month_agreements(programme_id, month))
        .options(selectinload(Agreement.resident), selectinload(Agreement.neighbour))
        .order_by(Agreement.id)
    )
    if only is not None:
        query = query.where(Agreement.id.in_(only))
    return query


async def iter_statements(
    db: AsyncSession,
    programme_id: int,
    month: date,
    *,
    closed: bool,
    only: Sequence[int] | None = None,
    batch: int = BATCH_AGREEMENTS,
) -> AsyncIterator[AgreementStatement]:
    """Every agreement's statement of the month, a batch of agreements at a time (for exports)."""
    last_id = 0
    while True:
        query = _agreement_query(programme_id, month, only)
        agreements = list(await db.scalars(query.where(Agreement.id > last_id).limit(batch)))
        if not agreements:
            return
        for statement in await agreement_statements(db, agreements, month, closed=closed):
            yield statement
        last_id = agreements[-1].id


async def month_summary(
    db: AsyncSession, programme: Programme, month: date, *, only: Sequence[int] | None = None
) -> MonthSummary:
    """The whole month in memory (for pages): draft or closed, with the status counts."""
    period = await period_of(db, programme.id, month)
    closed = period is not None and period.closed_at is not None
    statements = [s async for s in iter_statements(db, programme.id, month, closed=closed, only=only)]
    extra = CheckIn.agreement_id.in_(only) if only is not None else None
    counts = await status_counts(db, programme.id, month, extra=extra)
    return MonthSummary(programme, month, period, statements, counts)
