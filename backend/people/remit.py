"""Who may change the people served, and where: the writing side of backend/people/policy.py.

A social worker keeps the people of her areas (an area under one of her social-worker memberships of
that programme); staff keep everyone in their programmes. Seeing a person is policy.visible_people;
a person she may see but not change (a caring mother's child) is a 403.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.errors import Forbidden
from backend.people.admin_policy import FIELD_ROLES
from backend.people.models import Area, Membership, Person, Programme, Role, User
from backend.people.policy import area_and_below


def may_keep_people(user: Principal) -> bool:
    return user.is_admin or user.has_role(Role.STAFF) or user.has_role(Role.SOCIAL_WORKER)


def in_remit(user: Principal, programme_id: int, area_path: str) -> bool:
    """May she add, change, move or end people of this programme in this area?"""
    if user.is_admin or programme_id in user.staff_programme_ids:
        return True
    return any(
        g.programme_id == programme_id and area_path.startswith(g.area_path)
        for g in user.grants_for(Role.SOCIAL_WORKER)
    )


def require_remit(user: Principal, person: Person) -> None:
    if not in_remit(user, person.programme_id, person.area.path):
        raise Forbidden()


async def places_for(db: AsyncSession, user: Principal) -> list[tuple[Programme, Area]]:
    """The (programme, area) pairs she may put a person in: open areas within her remit, tree order."""
    programmes = list(
        await db.scalars(
            select(Programme)
            .where(true() if user.is_admin else Programme.id.in_({g.programme_id for g in user.grants}))
            .options(selectinload(Programme.area))
            .order_by(Programme.id)
        )
    )
    places: list[tuple[Programme, Area]] = []
    for programme in programmes:
        roots = (
            [programme.area.path]
            if user.is_admin or programme.id in user.staff_programme_ids
            else [g.area_path for g in user.grants_for(Role.SOCIAL_WORKER) if g.programme_id == programme.id]
        )
        if not roots:
            continue
        areas = await db.scalars(
            select(Area)
            .where(or_(*(area_and_below(path) for path in roots)), Area.closed_at.is_(None))
            .order_by(Area.path)
        )
        places.extend((programme, area) for area in areas)
    return places


def visible_users(user: Principal) -> ColumnElement[bool]:
    """The users list: staff see the users of their programmes; social workers the caring mothers and
    neighbours with memberships in their areas; nobody else is listed anything (the route answers 403)."""
    if user.is_admin:
        return true()
    conditions: list[ColumnElement[bool]] = []
    staff = user.staff_programme_ids
    if staff:
        conditions.append(exists().where(Membership.user_id == User.id, Membership.programme_id.in_(staff)))
    for grant in user.grants_for(Role.SOCIAL_WORKER):
        conditions.append(
            exists().where(
                Membership.user_id == User.id,
                Membership.programme_id == grant.programme_id,
                Membership.role.in_(FIELD_ROLES),
                Membership.area_id.in_(
                    select(Area.id).where(area_and_below(grant.area_path)).scalar_subquery()
                ),
            )
        )
    return or_(*conditions) if conditions else false()


def may_list_users(user: Principal) -> bool:
    return user.is_admin or user.has_role(Role.STAFF) or user.has_role(Role.SOCIAL_WORKER)
