"""Who may run the organisation: programmes, their area trees, users and their memberships.

Loaders answer as the house rule says: an object of a programme the user has no part in is a 404; one
of her own programme that her role may not change is a 403. An administrator acts as staff of every
programme. Staff manage everyone of their programmes; a social worker manages the field roles of her
areas (caring mothers, neighbours, scouts; a pillar programme's volunteers and mothers, not its
cadres). Account-wide changes (the name, deactivation) need every current membership of the person to
be in the actor's remit: a worker must not rename someone another programme knows.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.errors import Forbidden, NotFound
from backend.people.models import Area, Membership, Programme, ProgrammeKind, Role, User

# The field roles of each kind of programme (volunteers, the people served who sign in), which its
# social workers may add at their areas and its staff anywhere in it.
FIELD_ROLES_OF: dict[ProgrammeKind, tuple[Role, ...]] = {
    ProgrammeKind.NEIGHBOUR_MEALS: (Role.NEIGHBOUR,),
    ProgrammeKind.CARING_MOTHERS: (Role.CARING_MOTHER,),
    ProgrammeKind.SOCIAL_WORK_STATION: (Role.HARDSHIP_SCOUT,),
    ProgrammeKind.PILLAR_MOTHERS: (Role.VOLUNTEER, Role.PILLAR_MOTHER),
}
# Roles of one kind of programme that only its staff give (a pillar group's federation cadre).
STAFF_ROLES_OF: dict[ProgrammeKind, tuple[Role, ...]] = {
    ProgrammeKind.PILLAR_MOTHERS: (Role.CADRE,),
}
FIELD_ROLES = frozenset(role for roles in FIELD_ROLES_OF.values() for role in roles)
# A role that belongs to some kinds of programme only: never given in a programme of another kind.
KIND_ROLES = FIELD_ROLES | frozenset(role for roles in STAFF_ROLES_OF.values() for role in roles)
# The kinds a programme can be created as through the pages (the built ones).
BUILT_KINDS = (
    ProgrammeKind.NEIGHBOUR_MEALS,
    ProgrammeKind.CARING_MOTHERS,
    ProgrammeKind.SOCIAL_WORK_STATION,
    ProgrammeKind.PILLAR_MOTHERS,
)


def may_create_programmes(user: Principal) -> bool:
    return user.is_admin


def may_see_organisation(user: Principal) -> bool:
    return user.is_admin or bool(user.staff_programme_ids)


def is_staff_of(user: Principal, programme_id: int) -> bool:
    return user.is_admin or programme_id in user.staff_programme_ids


def _member_of(user: Principal, programme_id: int) -> bool:
    return user.is_admin or any(g.programme_id == programme_id for g in user.grants)


async def get_programme_for(db: AsyncSession, user: Principal, programme_id: int) -> Programme:
    """A programme its staff manage: 403 for its other members, 404 for everyone else."""
    programme = await db.scalar(
        select(Programme).where(Programme.id == programme_id).options(selectinload(Programme.area))
    )
    if programme is None or not _member_of(user, programme.id):
        raise NotFound()
    if not is_staff_of(user, programme.id):
        raise Forbidden()
    return programme


async def programmes_managed_by(db: AsyncSession, user: Principal) -> list[Programme]:
    query = select(Programme).options(selectinload(Programme.area)).order_by(Programme.name)
    if not user.is_admin:
        query = query.where(Programme.id.in_(user.staff_programme_ids))
    return list(await db.scalars(query))


async def programmes_of_area(db: AsyncSession, area: Area) -> list[Programme]:
    """The programmes whose area is this one or above it (their staff oversee it)."""
    rows = await db.scalars(select(Programme).options(selectinload(Programme.area)).order_by(Programme.id))
    return [p for p in rows if area.path.startswith(p.area.path)]


async def get_area_for(db: AsyncSession, user: Principal, area_id: int) -> tuple[Area, Programme]:
    """An area and a programme of the user's staff over it: 403 for a mere member there, else 404."""
    area = await db.get(Area, area_id)
    if area is None:
        raise NotFound()
    programmes = await programmes_of_area(db, area)
    for programme in programmes:
        if is_staff_of(user, programme.id):
            return area, programme
    if any(_member_of(user, p.id) for p in programmes):
        raise Forbidden()
    raise NotFound()


def may_add_role(user: Principal, programme: Programme, area: Area, role: Role) -> bool:
    """May the user give someone this role in this programme at this area?"""
    field = FIELD_ROLES_OF.get(programme.kind, ())
    if role in KIND_ROLES and role not in field + STAFF_ROLES_OF.get(programme.kind, ()):
        return False
    if is_staff_of(user, programme.id):
        return area.path.startswith(programme.area.path)
    if role not in field:
        return False
    return any(
        g.role is Role.SOCIAL_WORKER and g.programme_id == programme.id and area.path.startswith(g.area_path)
        for g in user.grants
    )


def roles_to_add(user: Principal, programme: Programme) -> list[Role]:
    field = list(FIELD_ROLES_OF.get(programme.kind, ()))
    if is_staff_of(user, programme.id):
        return [Role.SOCIAL_WORKER, Role.STAFF, *STAFF_ROLES_OF.get(programme.kind, ()), *field]
    return field if field and _worker_areas(user, programme.id) else []


def _worker_areas(user: Principal, programme_id: int) -> list[str]:
    return [g.area_path for g in user.grants_for(Role.SOCIAL_WORKER) if g.programme_id == programme_id]


def may_add_users(user: Principal) -> bool:
    return user.is_admin or bool(user.roles & {Role.STAFF, Role.SOCIAL_WORKER})


def covers(user: Principal, membership: Membership) -> bool:
    """Is this membership one the user manages?"""
    if is_staff_of(user, membership.programme_id):
        return True
    if membership.role not in FIELD_ROLES:
        return False
    return any(
        g.role is Role.SOCIAL_WORKER
        and g.programme_id == membership.programme_id
        and membership.area.path.startswith(g.area_path)
        for g in user.grants
    )


async def get_user_for(db: AsyncSession, user: Principal, user_id: int) -> User:
    """A user the actor manages through at least one membership (ended ones count: she can be taken
    back). Anyone else, and administrators' accounts for non-administrators, are 404."""
    target = await db.scalar(
        select(User)
        .where(User.id == user_id)
        .options(
            selectinload(User.memberships).selectinload(Membership.area),
            selectinload(User.memberships).selectinload(Membership.programme),
        )
    )
    if target is None:
        raise NotFound()
    if user.is_admin:
        return target
    if target.is_admin or not any(covers(user, m) for m in target.memberships):
        raise NotFound()
    return target


def may_change_account(user: Principal, target: User) -> bool:
    """Name and account changes: every current membership of hers is in the actor's remit."""
    return user.is_admin or all(covers(user, m) for m in target.memberships if m.ended_at is None)


def may_set_active(user: Principal, target: User) -> bool:
    if user.is_admin:
        return True
    current = [m for m in target.memberships if m.ended_at is None] or target.memberships
    return all(is_staff_of(user, m.programme_id) for m in current)


def require(condition: bool) -> None:
    if not condition:
        raise Forbidden()
