"""Public requests closed without a case lose their words after PUBLIC_WORDS_DAYS: the description,
the contact and the closing note are blanked (the row stays, so the station's figures and the audit
chain keep counting it). Run by `carelog purge`, beside the sign-in leftovers (auth/purge.py).

Only residents' public requests: nobody signed in stands behind them, and nobody can ask for them to be
kept. Taken orders are part of a case and follow the case's retention; scouts' and referrers' reports
stay for the station's workers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit, clock
from backend.cases.models import CaseOrder, OrderSource, OrderStatus

PUBLIC_WORDS_DAYS = 90


async def purge_closed_public_requests(
    db: AsyncSession, *, now: datetime | None = None, batch: int | None = None
) -> int:
    """Blank the words of public requests closed more than PUBLIC_WORDS_DAYS ago; how many were."""
    cutoff = (now or clock.utcnow()) - timedelta(days=PUBLIC_WORDS_DAYS)
    query = (
        select(CaseOrder)
        .where(
            CaseOrder.source == OrderSource.RESIDENT,
            CaseOrder.status == OrderStatus.CLOSED,
            CaseOrder.closed_at < cutoff,
            or_(CaseOrder.description != "", CaseOrder.contact != "", CaseOrder.close_note.is_not(None)),
        )
        .order_by(CaseOrder.id)
    )
    if batch is not None:
        query = query.limit(batch)
    orders = list(await db.scalars(query))
    for order in orders:
        order.description, order.contact, order.close_note = "", "", None
    await db.flush()
    for order in orders:
        await audit.record(db, actor=None, action="order.purged", subject=order, change={"words": True})
    return len(orders)
