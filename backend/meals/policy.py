"""Who may see and do what in the meal plan, as SQL conditions built from the user.

Seeing: staff see their programmes' agreements and check-ins, social workers those of residents in
their areas (and any agreement they are responsible for), a neighbour her own. Anything else is a 404.
Doing: social workers of the resident's area create and end agreements and record the resident's
confirmation; only the agreement's neighbour confirms it, writes its menu and checks in its meals.
Someone who may see an agreement but not do the thing gets a 403.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from backend.auth.principal import Grant, Principal
from backend.errors import Forbidden, NotFound
from backend.meals.models import Agreement, CheckIn, CheckInPhoto
from backend.people.models import Area, Person, ProgrammeKind, Role
from backend.people.policy import area_and_below


def meal_grants(user: Principal, role: Role) -> tuple[Grant, ...]:
    return tuple(g for g in user.grants_for(role) if g.programme_kind is ProgrammeKind.NEIGHBOUR_MEALS)


def _residents_under(grant: Grant) -> ColumnElement[bool]:
    return Person.area_id.in_(select(Area.id).where(area_and_below(grant.area_path)).scalar_subquery())


def visible_agreements(user: Principal) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    conditions: list[ColumnElement[bool]] = [
        Agreement.neighbour_id == user.id,
        Agreement.social_worker_id == user.id,
    ]
    if user.staff_programme_ids:
        conditions.append(Agreement.programme_id.in_(user.staff_programme_ids))
    for grant in user.grants_for(Role.SOCIAL_WORKER):
        residents = select(Person.id).where(_residents_under(grant))
        conditions.append(
            and_(Agreement.programme_id == grant.programme_id, Agreement.resident_id.in_(residents))
        )
    return or_(*conditions)


def visible_checkins(user: Principal) -> ColumnElement[bool]:
    """A check-in is seen by whoever sees its agreement."""
    if user.is_admin:
        return true()
    agreements = select(Agreement.id).where(visible_agreements(user))
    return CheckIn.agreement_id.in_(agreements.scalar_subquery())


def _agreement_options() -> list[Any]:
    # All many-to-one: joined into the agreement's own query (one round trip, not seven; rows are
    # not multiplied). The check-in page, which neighbours open at every meal, loads one agreement.
    return [
        joinedload(Agreement.resident).joinedload(Person.area),
        joinedload(Agreement.resident).joinedload(Person.programme),
        joinedload(Agreement.resident).joinedload(Person.guardian),
        joinedload(Agreement.programme),
        joinedload(Agreement.neighbour),
        joinedload(Agreement.social_worker),
    ]


async def get_agreement_for(db: AsyncSession, user: Principal, agreement_id: int) -> Agreement:
    agreement = await db.scalar(
        select(Agreement)
        .where(Agreement.id == agreement_id, visible_agreements(user))
        .options(*_agreement_options())
    )
    if agreement is None:
        raise NotFound()
    return agreement


async def list_agreements_for(db: AsyncSession, user: Principal, *, limit: int = 300) -> list[Agreement]:
    rows = await db.scalars(
        select(Agreement)
        .where(visible_agreements(user))
        .options(*_agreement_options())
        .order_by(Agreement.status, Agreement.starts_on.desc(), Agreement.id.desc())
        .limit(limit)
    )
    return list(rows)


def checkin_options() -> list[Any]:
    return [
        selectinload(CheckIn.photo_links).selectinload(CheckInPhoto.photo),
        selectinload(CheckIn.flags),
        selectinload(CheckIn.resident),
    ]


async def get_checkin_for(db: AsyncSession, user: Principal, checkin_id: int) -> CheckIn:
    checkin = await db.scalar(
        select(CheckIn).where(CheckIn.id == checkin_id, visible_checkins(user)).options(*checkin_options())
    )
    if checkin is None:
        raise NotFound()
    return checkin


def uses_meal_plan(user: Principal) -> bool:
    """Anyone with a role in a neighbour meal programme (or an administrator)."""
    return user.is_admin or any(g.programme_kind is ProgrammeKind.NEIGHBOUR_MEALS for g in user.grants)


def require_meal_plan(user: Principal) -> None:
    if not uses_meal_plan(user):
        raise Forbidden()


def may_create_agreements(user: Principal) -> bool:
    return bool(meal_grants(user, Role.SOCIAL_WORKER))


def require_social_worker_of(user: Principal, agreement: Agreement) -> None:
    """Only a social worker whose area holds the resident manages the agreement (staff only watch)."""
    for grant in user.grants_for(Role.SOCIAL_WORKER):
        if grant.programme_id == agreement.programme_id and agreement.resident.area.path.startswith(
            grant.area_path
        ):
            return
    raise Forbidden()


def require_neighbour_of(user: Principal, agreement: Agreement) -> None:
    if agreement.neighbour_id != user.id:
        raise Forbidden()


def residents_for_new_agreement(user: Principal) -> ColumnElement[bool]:
    """Residents of meal programmes in the social worker's areas."""
    conditions = [
        and_(Person.programme_id == g.programme_id, _residents_under(g))
        for g in meal_grants(user, Role.SOCIAL_WORKER)
    ]
    return or_(*conditions) if conditions else false()
