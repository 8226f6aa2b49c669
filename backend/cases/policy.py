"""Who may see and do what in case work, as SQL conditions built from the user (shared by every part).

A case, its assessments, plan and deliveries, and an order's words are seen by the social workers of
the case's (order's) station area and the areas above it, and by the programme's staff; nobody else.
A hardship scout sees only her own reports, and of them only what she wrote and their status; the
public sees nothing. What a user may not see does not exist for them (404); one she may see but not
change is a 403.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Grant, Principal
from backend.cases.models import Case, CaseOrder, Delivery, DeliveryPhoto, OrderSource
from backend.errors import Forbidden, NotFound
from backend.people.models import Area, Person, ProgrammeKind, Role
from backend.people.policy import area_and_below
from backend.pillar.models import AgencyWorker, PillarFile

CASE_KINDS = (ProgrammeKind.SOCIAL_WORK_STATION, ProgrammeKind.PILLAR_MOTHERS)
# Orders, station queues, opening a case directly and the station figures are the stations' alone: a
# pillar mother's case opens with her file (pillar/), and her programme has its own figures.
STATION_KINDS = (ProgrammeKind.SOCIAL_WORK_STATION,)


def _areas_under(path: str) -> Any:
    return select(Area.id).where(area_and_below(path)).scalar_subquery()


def worker_grants(user: Principal) -> tuple[Grant, ...]:
    """Her social-worker grants in case-work programmes: each a station (area) and all beneath it."""
    return tuple(g for g in user.grants_for(Role.SOCIAL_WORKER) if g.programme_kind in CASE_KINDS)


def is_case_worker(user: Principal) -> bool:
    return bool(worker_grants(user))


def station_grants(user: Principal) -> tuple[Grant, ...]:
    """Her social-worker grants at social-work stations (not pillar-mother agencies)."""
    return tuple(g for g in worker_grants(user) if g.programme_kind in STATION_KINDS)


def is_station_worker(user: Principal) -> bool:
    return bool(station_grants(user))


def is_case_staff(user: Principal) -> bool:
    return user.is_admin or any(g.role is Role.STAFF and g.programme_kind in CASE_KINDS for g in user.grants)


def is_scout(user: Principal) -> bool:
    return user.has_role(Role.HARDSHIP_SCOUT)


def agency_cases(user: Principal) -> Any:
    """The cases (ids) of the pillar-mother files whose delivering agency she currently works for: a
    worker of a pillar programme serves those mothers only, not every mother of her area."""
    mine = select(AgencyWorker.agency_id).where(
        AgencyWorker.user_id == user.id, AgencyWorker.ended_at.is_(None)
    )
    return select(PillarFile.case_id).where(PillarFile.agency_id.in_(mine)).scalar_subquery()


def _grant_term(grant: Grant, programme_col: Any, area_col: Any, case_col: Any, user: Principal) -> Any:
    term = and_(programme_col + 0 == grant.programme_id, area_col.in_(_areas_under(grant.area_path)))
    if grant.programme_kind is ProgrammeKind.PILLAR_MOTHERS:
        # A pillar worker's reach is her agency's mothers; rows without a case (none yet) are not hers.
        return and_(term, case_col.in_(agency_cases(user))) if case_col is not None else None
    return term


def _scoped(programme_col: Any, area_col: Any, user: Principal, case_col: Any = None) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    conditions: list[ColumnElement[bool]] = []
    if user.staff_programme_ids:
        conditions.append(programme_col.in_(user.staff_programme_ids))
    for grant in worker_grants(user):
        # `programme_col + 0`: the same values, but no index on the programme can serve the term, so
        # SQLite (left without statistics) reads a worker's list along its station index instead of
        # walking every row of the programme (bench/cases.py, 200,000 cases: queue 85.7 -> 10.7 ms,
        # case list 16.9 -> 4.7 ms). Staff keep the plain term: the programme is their whole scope.
        term = _grant_term(grant, programme_col, area_col, case_col, user)
        if term is not None:
            conditions.append(term)
    return or_(*conditions) if conditions else false()


def visible_cases(user: Principal) -> ColumnElement[bool]:
    return _scoped(Case.programme_id, Case.area_id, user, Case.id)


def visible_orders(user: Principal) -> ColumnElement[bool]:
    """Orders whose whole content the user may read (workers of the station, staff)."""
    return _scoped(CaseOrder.programme_id, CaseOrder.station_area_id, user)


def own_reports(user: Principal) -> ColumnElement[bool]:
    """A scout's own reports (she sees what she wrote and the status, nothing a worker added)."""
    return and_(CaseOrder.reported_by_id == user.id, CaseOrder.source == OrderSource.SCOUT)


def visible_deliveries(user: Principal) -> ColumnElement[bool]:
    return or_(
        _scoped(Delivery.programme_id, Delivery.area_id, user, Delivery.case_id),
        Delivery.submitted_by_id == user.id,
    )


def reviewable_deliveries(user: Principal, *, indexed: bool = True) -> ColumnElement[bool]:
    """The social workers of the delivery's station area (or above), never the one who sent it."""
    programme = Delivery.programme_id if indexed else Delivery.programme_id + 0
    area = Delivery.area_id if indexed else Delivery.area_id + 0
    conditions = []
    for g in worker_grants(user):
        term = and_(programme == g.programme_id, area.in_(_areas_under(g.area_path)))
        if g.programme_kind is ProgrammeKind.PILLAR_MOTHERS:
            term = and_(term, Delivery.case_id.in_(agency_cases(user)))
        conditions.append(term)
    if not conditions:
        return false()
    return and_(or_(*conditions), Delivery.submitted_by_id != user.id)


def case_options() -> list[Any]:
    return [
        selectinload(Case.person).selectinload(Person.area),
        selectinload(Case.area),
        selectinload(Case.lead_worker),
        selectinload(Case.order),
    ]


def delivery_options() -> list[Any]:
    return [
        selectinload(Delivery.photo_links).selectinload(DeliveryPhoto.photo),
        selectinload(Delivery.case).selectinload(Case.person),
        selectinload(Delivery.plan_item),
        selectinload(Delivery.submitter),
    ]


async def get_case_for(db: AsyncSession, user: Principal, case_id: int) -> Case:
    case = await db.scalar(
        select(Case).where(Case.id == case_id, visible_cases(user)).options(*case_options())
    )
    if case is None:
        raise NotFound()
    return case


def works_on(user: Principal, case: Case) -> bool:
    """A social worker of the case's programme whose area holds the case's station (`case.area` loaded)."""
    return any(
        g.programme_id == case.programme_id and case.area.path.startswith(g.area_path)
        for g in worker_grants(user)
    )


def require_worker_on(user: Principal, case: Case) -> None:
    """Case work (assess, plan, deliver, close) is the station's social workers'; staff only look."""
    if not works_on(user, case):
        raise Forbidden()


async def get_order_for(db: AsyncSession, user: Principal, order_id: int) -> CaseOrder:
    order = await db.scalar(
        select(CaseOrder)
        .where(CaseOrder.id == order_id, visible_orders(user))
        .options(selectinload(CaseOrder.station), selectinload(CaseOrder.household_area))
    )
    if order is None:
        raise NotFound()
    return order


async def get_delivery_for(db: AsyncSession, user: Principal, delivery_id: int) -> Delivery:
    delivery = await db.scalar(
        select(Delivery)
        .where(Delivery.id == delivery_id, visible_deliveries(user))
        .options(*delivery_options())
    )
    if delivery is None:
        raise NotFound()
    return delivery
