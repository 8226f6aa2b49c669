"""Reading orders: the station queue (open first, overdue by the programme's hours, in SQL), a scout's
own reports, the households a taker may choose, and an order's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.cases import policy
from backend.cases.models import (
    DEFAULT_ORDER_DUE_HOURS,
    Case,
    CaseOrder,
    OrderPass,
    OrderStatus,
)
from backend.people.models import Area, Person, Programme
from backend.people.policy import area_and_below


async def due_cutoffs(db: AsyncSession, programme_ids: set[int], now: datetime) -> dict[int, datetime]:
    """Per programme: an open order created before this moment is overdue."""
    if not programme_ids:
        return {}
    rows = await db.execute(
        select(Programme.id, Programme.order_due_hours).where(Programme.id.in_(programme_ids))
    )
    return {pid: now - timedelta(hours=hours or DEFAULT_ORDER_DUE_HOURS) for pid, hours in rows}


def overdue_condition(cutoffs: dict[int, datetime]) -> ColumnElement[bool]:
    if not cutoffs:
        return false()
    return and_(
        CaseOrder.status == OrderStatus.OPEN,
        or_(*(and_(CaseOrder.programme_id == pid, CaseOrder.created_at < at) for pid, at in cutoffs.items())),
    )


def _queue_programmes(user: Principal) -> set[int]:
    return {g.programme_id for g in policy.station_grants(user)} | set(user.staff_programme_ids)


@dataclass(frozen=True, slots=True)
class QueueRow:
    order: CaseOrder
    overdue: bool


async def list_queue(
    db: AsyncSession, user: Principal, *, now: datetime, overdue_only: bool = False, limit: int = 200
) -> list[QueueRow]:
    """The orders the user may read: open first (oldest first), then the rest (newest first)."""
    programme_ids = _queue_programmes(user)
    if user.is_admin:
        programme_ids |= set((await db.scalars(select(CaseOrder.programme_id).distinct())).all())
    overdue = overdue_condition(await due_cutoffs(db, programme_ids, now))
    is_open = CaseOrder.status == OrderStatus.OPEN
    query = (
        select(CaseOrder, case((overdue, True), else_=False))
        .where(policy.visible_orders(user))
        .options(selectinload(CaseOrder.station), selectinload(CaseOrder.household_area))
        .order_by(
            case((is_open, 0), else_=1),
            case((is_open, CaseOrder.created_at), else_=None),
            CaseOrder.created_at.desc(),
            CaseOrder.id,
        )
        .limit(limit)
    )
    if overdue_only:
        query = query.where(overdue)
    return [QueueRow(order, bool(late)) for order, late in (await db.execute(query)).all()]


async def is_overdue(db: AsyncSession, order: CaseOrder, *, now: datetime) -> bool:
    cutoffs = await due_cutoffs(db, {order.programme_id}, now)
    return order.status is OrderStatus.OPEN and order.created_at < cutoffs[order.programme_id]


async def scout_reports(db: AsyncSession, user: Principal, *, limit: int = 100) -> list[CaseOrder]:
    rows = await db.scalars(
        select(CaseOrder)
        .where(policy.own_reports(user))
        .options(selectinload(CaseOrder.household_area))
        .order_by(CaseOrder.created_at.desc(), CaseOrder.id.desc())
        .limit(limit)
    )
    return list(rows)


async def household_choices(db: AsyncSession, order: CaseOrder, *, limit: int = 50) -> list[Person]:
    """People of the programme in the station's areas, the household area's first, by name."""
    first = order.household_area_id or 0
    rows = await db.scalars(
        select(Person)
        .join(Area, Area.id == Person.area_id)
        .where(Person.programme_id == order.programme_id, area_and_below(order.station.path))
        .options(selectinload(Person.area))
        .order_by(case((Person.area_id == first, 0), else_=1), Person.display_name, Person.id)
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class OrderHistory:
    passes: list[OrderPass]
    areas: dict[int, Area]
    names: dict[int, str]
    case_id: int | None


async def order_history(db: AsyncSession, order: CaseOrder) -> OrderHistory:
    from backend.people.models import User

    passes = list(
        await db.scalars(
            select(OrderPass)
            .where(OrderPass.order_id == order.id)
            .order_by(OrderPass.created_at, OrderPass.id)
        )
    )
    area_ids = {p.from_area_id for p in passes} | {p.to_area_id for p in passes}
    areas = {a.id: a for a in await db.scalars(select(Area).where(Area.id.in_(area_ids)))} if area_ids else {}
    user_ids = {p.passed_by_id for p in passes} | {
        i for i in (order.taken_by_id, order.closed_by_id, order.reported_by_id) if i is not None
    }
    names = (
        {u.id: u.display_name for u in await db.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    case_id = await db.scalar(select(Case.id).where(Case.order_id == order.id))
    return OrderHistory(passes, areas, names, case_id)
