"""A meal programme's rate and cap by month (issue 19): which terms pay a month, and dating a change.

The programme's columns (rate_fen, monthly_cap_fen) hold the latest rules set, the most a new
agreement may carry. What a month pays is read from `programme_rate`: the row with the latest
`from_month` not after the month; a programme that never had a dated change pays its columns. An
agreement is paid at its own rate and cap, but never above the programme's for that month (a lower
rate agreed with one neighbour stays lower; a programme's cut applies to every agreement). A change
is dated from the current open month or a later one, never into a closed or past month.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import Actor
from backend.clock import local_today
from backend.db import utcnow
from backend.errors import Refused
from backend.i18n import lazy_gettext as _l
from backend.meals.models import DEFAULT_MONTHLY_CAP_FEN, DEFAULT_RATE_FEN
from backend.people.models import Programme
from backend.settlement.models import ProgrammeRate, SettlementPeriod, month_of

# The row that keeps the rules in force before a programme's first dated change.
SINCE_EVER = date(2000, 1, 1)

Terms = tuple[int, int]  # (rate fen, monthly cap fen)


def _own_terms(rate_fen: int | None, cap_fen: int | None) -> Terms:
    return rate_fen or DEFAULT_RATE_FEN, cap_fen or DEFAULT_MONTHLY_CAP_FEN


async def terms_for_month(db: AsyncSession, programme_ids: Iterable[int], month: date) -> dict[int, Terms]:
    """{programme id: (rate, cap)} in effect for the month: two queries for any number of programmes."""
    ids = sorted(set(programme_ids))
    if not ids:
        return {}
    found = {
        pid: _own_terms(rate, cap)
        for pid, rate, cap in await db.execute(
            select(Programme.id, Programme.rate_fen, Programme.monthly_cap_fen).where(Programme.id.in_(ids))
        )
    }
    latest = (
        select(ProgrammeRate.programme_id, func.max(ProgrammeRate.from_month).label("from_month"))
        .where(ProgrammeRate.programme_id.in_(ids), ProgrammeRate.from_month <= month_of(month))
        .group_by(ProgrammeRate.programme_id)
        .subquery()
    )
    rows = await db.execute(
        select(ProgrammeRate.programme_id, ProgrammeRate.rate_fen, ProgrammeRate.monthly_cap_fen).join(
            latest,
            (latest.c.programme_id == ProgrammeRate.programme_id)
            & (latest.c.from_month == ProgrammeRate.from_month),
        )
    )
    for pid, rate, cap in rows:
        found[pid] = (rate, cap)
    return found


async def month_terms(db: AsyncSession, programme_id: int, month: date) -> Terms:
    return (await terms_for_month(db, [programme_id], month))[programme_id]


def paid_terms(agreement_rate: int, agreement_cap: int, programme: Terms) -> Terms:
    """An agreement's terms for a month: its own, at most the programme's (the cap stays >= the rate:
    both pairs have cap >= rate)."""
    return min(agreement_rate, programme[0]), min(agreement_cap, programme[1])


def least_sql(column: Any, ceiling: int) -> Any:
    """min(column, ceiling) on both engines (SQLite has no LEAST)."""
    return case((column < ceiling, column), else_=ceiling)


async def latest_closed_month(db: AsyncSession, programme_id: int) -> date | None:
    closed = await db.scalar(
        select(func.max(SettlementPeriod.month)).where(
            SettlementPeriod.programme_id == programme_id, SettlementPeriod.closed_at.is_not(None)
        )
    )
    return closed


async def check_from_month(
    db: AsyncSession, programme: Programme, from_month: date, *, now: datetime | None = None
) -> date:
    """The first of the month a change applies from; refused (field `from_month`) in a past or
    closed month."""
    from_month = month_of(from_month)
    closed = await latest_closed_month(db, programme.id)
    if closed is not None and from_month <= closed:
        raise Refused(
            _l("That month is closed: a new rate can apply only from a month after %(month)s.")
            % {"month": closed.strftime("%Y-%m")},
            field="from_month",
            status_code=409,
        )
    if from_month < local_today(programme, now).replace(day=1):
        raise Refused(
            _l("A new rate can apply from this month or a later one, not from a month already past."),
            field="from_month",
        )
    return from_month


async def do_date_programme_rate(
    db: AsyncSession,
    programme: Programme,
    *,
    rate_fen: int,
    monthly_cap_fen: int,
    from_month: date,
    actor: Actor | None,
    now: datetime | None = None,
) -> Terms | None:
    """Record the programme's terms from a month on. Returns the terms it replaced for that month, or
    None when they were the same (nothing written). The caller (people/service.do_set_programme_rules)
    records the audit event and keeps the programme's columns."""
    from_month = await check_from_month(db, programme, from_month, now=now)
    before = await month_terms(db, programme.id, from_month)
    if before == (rate_fen, monthly_cap_fen):
        return None
    has_rows = await db.scalar(
        select(ProgrammeRate.id).where(ProgrammeRate.programme_id == programme.id).limit(1)
    )
    if has_rows is None:
        # Months before this change keep paying what they paid until now.
        current = _own_terms(programme.rate_fen, programme.monthly_cap_fen)
        db.add(
            ProgrammeRate(
                programme_id=programme.id,
                from_month=SINCE_EVER,
                rate_fen=current[0],
                monthly_cap_fen=current[1],
                set_by_id=None,
                created_at=now or utcnow(),
            )
        )
    row = await db.scalar(
        select(ProgrammeRate).where(
            ProgrammeRate.programme_id == programme.id, ProgrammeRate.from_month == from_month
        )
    )
    if row is None:
        row = ProgrammeRate(programme_id=programme.id, from_month=from_month)
        db.add(row)
    row.rate_fen, row.monthly_cap_fen = rate_fen, monthly_cap_fen
    row.set_by_id = actor.id if actor is not None else None
    row.created_at = now or utcnow()
    await db.flush()
    return before


async def rate_history(db: AsyncSession, programme_id: int) -> list[ProgrammeRate]:
    return list(
        await db.scalars(
            select(ProgrammeRate)
            .where(ProgrammeRate.programme_id == programme_id, ProgrammeRate.from_month > SINCE_EVER)
            .order_by(ProgrammeRate.from_month.desc())
        )
    )
