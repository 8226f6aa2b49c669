"""Station orders, the writes: a need "ordered" to a station, and taking, passing on or closing it.

Taking is one conditional UPDATE (`... WHERE status = 'open'`): two workers taking at once, one wins and
the other gets a 409; the taken order becomes a case in the same transaction. Stations and their poster
tokens are in stations.py; the queue and an order's history in order_queries.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.cases import policy
from backend.cases.models import (
    Case,
    CaseOrder,
    OrderCategory,
    OrderPass,
    OrderSource,
    OrderStatus,
    ReferrerKind,
)
from backend.cases.service import do_open_case
from backend.cases.stations import stations_of
from backend.db import utcnow
from backend.errors import Conflict, Forbidden, Refused
from backend.i18n import gettext as _
from backend.people.models import Area, Person, PersonKind, Programme
from backend.people.person_service import do_create_person
from backend.people.policy import area_and_below

# --- creating --------------------------------------------------------------------------------


@dataclass
class OrderDraft:
    programme_id: int
    station: Area
    household_area: Area
    source: OrderSource
    category: OrderCategory
    description: str
    contact: str
    client_uuid: uuid.UUID | None
    referrer_kind: ReferrerKind | None = None
    referrer_name: str | None = None
    reported_by_id: int | None = None
    photo_id: int | None = None

    def same_as(self, order: CaseOrder) -> bool:
        return (
            order.programme_id == self.programme_id
            and order.household_area_id == self.household_area.id
            and order.source is self.source
            and order.category is self.category
            and order.description == self.description
            and order.contact == self.contact
            and order.reported_by_id == self.reported_by_id
        )


def _resent(existing: CaseOrder, draft: OrderDraft) -> CaseOrder:
    if not draft.same_as(existing):
        raise Refused(
            _("This form was already sent with different content. Please open a new form."),
            field="form",
            status_code=409,
        )
    return existing


async def find_order_by_uuid(db: AsyncSession, client_uuid: uuid.UUID) -> CaseOrder | None:
    found: CaseOrder | None = await db.scalar(select(CaseOrder).where(CaseOrder.client_uuid == client_uuid))
    return found


async def do_create_order(
    db: AsyncSession, draft: OrderDraft, *, actor: Actor | None, now: datetime | None = None
) -> tuple[CaseOrder, bool]:
    """Store the order once per client UUID: (order, created). A resend with the same content answers
    with the first; with other content (or another sender's UUID), a 409 that says nothing of it."""
    if draft.client_uuid is not None:
        existing = await find_order_by_uuid(db, draft.client_uuid)
        if existing is not None:
            return _resent(existing, draft), False
    order = CaseOrder(
        client_uuid=draft.client_uuid,
        programme_id=draft.programme_id,
        station_area_id=draft.station.id,
        household_area_id=draft.household_area.id,
        source=draft.source,
        referrer_kind=draft.referrer_kind,
        referrer_name=draft.referrer_name,
        category=draft.category,
        description=draft.description,
        contact=draft.contact,
        reported_by_id=draft.reported_by_id,
        photo_id=draft.photo_id,
        created_at=now or utcnow(),
    )
    try:
        # A savepoint: the same UUID committed meanwhile (PostgreSQL) fails only this insert.
        async with db.begin_nested():
            db.add(order)
            await db.flush()
    except IntegrityError:
        existing = await find_order_by_uuid(db, draft.client_uuid) if draft.client_uuid else None
        if existing is None:
            raise
        return _resent(existing, draft), False
    await audit.record(
        db,
        actor=actor,
        action="order.created",
        subject=order,
        change={
            "source": order.source.value,
            "category": order.category.value,
            "station_area_id": order.station_area_id,
            "household_area_id": order.household_area_id,
            "photo": order.photo_id is not None,
        },
    )
    return order, True


# --- acting on an order ------------------------------------------------------------------------


def may_act_on(user: Principal, order: CaseOrder) -> bool:
    """Taking, passing on and closing are the station's workers' (`order.station` loaded)."""
    return any(
        g.programme_id == order.programme_id and order.station.path.startswith(g.area_path)
        for g in policy.station_grants(user)
    )


def require_actor_on(user: Principal, order: CaseOrder) -> None:
    if not may_act_on(user, order):
        raise Forbidden()


def _require_open(order: CaseOrder) -> None:
    if order.status is OrderStatus.TAKEN:
        raise Conflict(_("A colleague has already taken this order."))
    if order.status is not OrderStatus.OPEN:
        raise Conflict(_("This order is already closed."))


async def do_take_order(
    db: AsyncSession,
    order: CaseOrder,
    *,
    person_id: int | None,
    new_name: str,
    actor: Principal,
    now: datetime | None = None,
) -> Case:
    """Take the order (one taker wins) and open its case for the household chosen or named."""
    now = now or utcnow()
    require_actor_on(actor, order)
    _require_open(order)
    programme = await db.get_one(Programme, order.programme_id)
    if person_id is not None:
        person = await db.scalar(
            select(Person)
            .join(Area, Area.id == Person.area_id)
            .where(
                Person.id == person_id,
                Person.programme_id == order.programme_id,
                area_and_below(order.station.path),
            )
        )
        if person is None:
            raise Refused(_("Choose a household from the list."), field="person_id", status_code=422)
    elif new_name.strip():
        person = None
    else:
        raise Refused(
            _("Choose the household from the list, or enter the name of a new one."),
            field="person_id",
            status_code=422,
        )
    taken = await db.execute(
        update(CaseOrder)
        .where(CaseOrder.id == order.id, CaseOrder.status == OrderStatus.OPEN)
        .values(status=OrderStatus.TAKEN, taken_by_id=actor.id, taken_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        raise Conflict(_("A colleague has already taken this order."))
    await db.refresh(order)
    if person is None:
        area = order.household_area or order.station
        person = await do_create_person(
            db,
            programme=programme,
            area=area,
            kind=PersonKind.RESIDENT,
            display_name=new_name,
            actor=actor,
        )
    await audit.record(
        db,
        actor=actor,
        action="order.taken",
        subject=order,
        change={"status": ["open", "taken"], "person_id": person.id, "new_person": person_id is None},
    )
    station = await db.get_one(Area, order.station_area_id)
    return await do_open_case(
        db,
        programme=programme,
        area=station,
        person=person,
        lead_worker_id=actor.id,
        actor=actor,
        order=order,
        now=now,
    )


async def do_pass_order(
    db: AsyncSession,
    order: CaseOrder,
    *,
    to_area_id: int,
    reason: str,
    actor: Principal,
    now: datetime | None = None,
) -> OrderPass:
    require_actor_on(actor, order)
    _require_open(order)
    stations = {s.id: s for s in await stations_of(db, order.programme_id)}
    if to_area_id not in stations or to_area_id == order.station_area_id:
        raise Refused(_("Choose another station of this programme."), field="to_area_id", status_code=422)
    passed = OrderPass(
        order_id=order.id,
        from_area_id=order.station_area_id,
        to_area_id=to_area_id,
        passed_by_id=actor.id,
        reason=reason,
        created_at=now or utcnow(),
    )
    db.add(passed)
    order.station_area_id = to_area_id
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="order.passed",
        subject=order,
        change={"station_area_id": [passed.from_area_id, to_area_id], "pass_id": passed.id},
    )
    return passed


async def do_close_order(
    db: AsyncSession, order: CaseOrder, *, note: str, actor: Principal, now: datetime | None = None
) -> CaseOrder:
    require_actor_on(actor, order)
    _require_open(order)
    closed = await db.execute(
        update(CaseOrder)
        .where(CaseOrder.id == order.id, CaseOrder.status == OrderStatus.OPEN)
        .values(status=OrderStatus.CLOSED, closed_at=now or utcnow(), closed_by_id=actor.id, close_note=note)
        .execution_options(synchronize_session=False)
    )
    if getattr(closed, "rowcount", 0) != 1:
        raise Conflict(_("Someone else has already taken or closed this order."))
    await db.refresh(order)
    await audit.record(
        db, actor=actor, action="order.closed", subject=order, change={"status": ["open", "closed"]}
    )
    return order
