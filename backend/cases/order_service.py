"""Station orders: a need "ordered" to a station, its queue, and taking, passing on or closing it.

A station is an area of a social-work-station programme where the programme has an active social
worker. An order lands in the station covering the household's area (the nearest such area at or above
it). Taking is one conditional UPDATE (`... WHERE status = 'open'`): two workers taking at once, one
wins and the other gets a 409; the taken order becomes a case in the same transaction.

The public request page names its station by a token derived from the app's secret key (an HMAC of the
programme and area ids), so a poster reveals no id and needs no stored column.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.cases import policy
from backend.cases.models import (
    DEFAULT_ORDER_DUE_HOURS,
    Case,
    CaseOrder,
    OrderCategory,
    OrderPass,
    OrderSource,
    OrderStatus,
    ReferrerKind,
)
from backend.cases.service import do_open_case
from backend.db import utcnow
from backend.errors import Conflict, Forbidden, NotFound, Refused
from backend.i18n import gettext as _
from backend.people.models import Area, Membership, Person, PersonKind, Programme, ProgrammeKind, Role
from backend.people.person_service import do_create_person
from backend.people.policy import area_and_below

TOKEN_BYTES = 12


# --- stations -----------------------------------------------------------------------------------


def _has_worker(programme_id: Any, area_id: Any) -> ColumnElement[bool]:
    return (
        select(Membership.id)
        .where(
            Membership.programme_id == programme_id,
            Membership.area_id == area_id,
            Membership.role == Role.SOCIAL_WORKER,
            Membership.ended_at.is_(None),
        )
        .exists()
    )


async def stations_of(db: AsyncSession, programme_id: int) -> list[Area]:
    """The programme's stations: open areas where it has an active social worker, by path."""
    rows = await db.scalars(
        select(Area).where(_has_worker(programme_id, Area.id), Area.closed_at.is_(None)).order_by(Area.path)
    )
    return list(rows)


async def station_for(db: AsyncSession, programme_id: int, area: Area) -> Area | None:
    """The station covering `area`: the nearest area at or above it with a worker of the programme."""
    ids = [int(part) for part in area.path.strip("/").split("/") if part]
    if not ids:
        return None
    rows = await db.scalars(
        select(Area).where(Area.id.in_(ids), _has_worker(programme_id, Area.id), Area.closed_at.is_(None))
    )
    found = sorted(rows, key=lambda a: len(a.path), reverse=True)
    return found[0] if found else None


async def areas_under(db: AsyncSession, station: Area) -> list[Area]:
    """The station's area and the open areas beneath it (where a household may live), by path."""
    rows = await db.scalars(
        select(Area).where(area_and_below(station.path), Area.closed_at.is_(None)).order_by(Area.path)
    )
    return list(rows)


def station_token(secret_key: str, programme_id: int, area_id: int) -> str:
    digest = hmac.new(
        secret_key.encode(), f"station-request:{programme_id}:{area_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class PublicStation:
    programme: Programme
    station: Area


async def station_by_token(db: AsyncSession, secret_key: str, token: str) -> PublicStation:
    """The station a poster's token names, or 404. Compares against every station of every station
    programme (a few hundred HMACs: microseconds), in constant time each."""
    if not token or len(token) > 32:
        raise NotFound()
    programmes = await db.scalars(
        select(Programme).where(Programme.kind == ProgrammeKind.SOCIAL_WORK_STATION).order_by(Programme.id)
    )
    for programme in programmes:
        for station in await stations_of(db, programme.id):
            if hmac.compare_digest(station_token(secret_key, programme.id, station.id), token):
                return PublicStation(programme, station)
    raise NotFound()


async def get_station_for(db: AsyncSession, user: Principal, area_id: int) -> list[Programme]:
    """The station programmes whose station `area_id` is and that the user works in (its workers, the
    programme's staff); 404 when none."""
    area = await db.get(Area, area_id)
    if area is None:
        raise NotFound()
    programme_ids: set[int] = set()
    for grant in policy.worker_grants(user):
        if area.path.startswith(grant.area_path):
            programme_ids.add(grant.programme_id)
    programme_ids |= set(user.staff_programme_ids)
    if user.is_admin:
        programme_ids |= set(
            (
                await db.scalars(
                    select(Programme.id).where(Programme.kind == ProgrammeKind.SOCIAL_WORK_STATION)
                )
            ).all()
        )
    found = []
    for programme in await db.scalars(
        select(Programme)
        .where(Programme.id.in_(programme_ids), Programme.kind == ProgrammeKind.SOCIAL_WORK_STATION)
        .order_by(Programme.id)
    ):
        if await db.scalar(select(_has_worker(programme.id, area.id))):
            found.append(programme)
    if not found:
        raise NotFound()
    return found


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


# --- the queue ---------------------------------------------------------------------------------


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
    return {g.programme_id for g in policy.worker_grants(user)} | set(user.staff_programme_ids)


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


# --- acting on an order ------------------------------------------------------------------------


def may_act_on(user: Principal, order: CaseOrder) -> bool:
    """Taking, passing on and closing are the station's workers' (`order.station` loaded)."""
    return any(
        g.programme_id == order.programme_id and order.station.path.startswith(g.area_path)
        for g in policy.worker_grants(user)
    )


def require_actor_on(user: Principal, order: CaseOrder) -> None:
    if not may_act_on(user, order):
        raise Forbidden()


def _require_open(order: CaseOrder) -> None:
    if order.status is OrderStatus.TAKEN:
        raise Conflict(_("A colleague has already taken this order."))
    if order.status is not OrderStatus.OPEN:
        raise Conflict(_("This order is already closed."))


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


# --- history -----------------------------------------------------------------------------------


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


async def report_choices(db: AsyncSession, user: Principal, role: Role) -> list[tuple[int, Area, Area]]:
    """(programme id, household area, its station) a scout or worker may order for: the areas under
    the station covering each of her grants in a station programme."""
    seen: set[tuple[int, int]] = set()
    choices: list[tuple[int, Area, Area]] = []
    for grant in user.grants_for(role):
        if grant.programme_kind is not ProgrammeKind.SOCIAL_WORK_STATION:
            continue
        anchor = await db.get_one(Area, grant.area_id)
        station = await station_for(db, grant.programme_id, anchor)
        if station is None:
            continue
        # Her own area first, then the rest of the station's.
        under = await areas_under(db, station)
        under.sort(key=lambda a: (not a.path.startswith(anchor.path), a.path))
        for area in under:
            if (grant.programme_id, area.id) not in seen:
                seen.add((grant.programme_id, area.id))
                choices.append((grant.programme_id, area, station))
    return choices
