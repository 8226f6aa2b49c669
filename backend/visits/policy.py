"""Who may see and do what with pairings and visits, as SQL conditions built from the user.

A child's visits (and so their photos) are seen by the mother of the child's current pairing, the
social workers of the child's area and the programme's staff; nobody else, not even a mother whose
pairing has ended. What a user may not see does not exist for them (404). Only the paired mother
logs and corrects visits; others who may see a visit but not change it get a 403.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.errors import Forbidden, NotFound
from backend.people.models import Area, Membership, Person, Programme, ProgrammeKind, Role
from backend.people.policy import area_and_below, visible_programmes
from backend.visits.models import Pairing, PairingStatus, Visit, VisitPhoto


def _children_under(path: str) -> Any:
    return select(Person.id).where(
        Person.area_id.in_(select(Area.id).where(area_and_below(path)).scalar_subquery())
    )


def visible_pairings(user: Principal) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    conditions: list[ColumnElement[bool]] = [
        and_(Pairing.mother_id == user.id, Pairing.status == PairingStatus.ACTIVE)
    ]
    if user.staff_programme_ids:
        conditions.append(Pairing.programme_id.in_(user.staff_programme_ids))
    for grant in user.grants_for(Role.SOCIAL_WORKER):
        conditions.append(
            and_(
                Pairing.programme_id == grant.programme_id,
                Pairing.child_id.in_(_children_under(grant.area_path)),
            )
        )
    return or_(*conditions)


def visible_visits(user: Principal) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    active_own = select(Pairing.id).where(
        Pairing.mother_id == user.id, Pairing.status == PairingStatus.ACTIVE
    )
    conditions: list[ColumnElement[bool]] = [Visit.pairing_id.in_(active_own)]
    if user.staff_programme_ids:
        conditions.append(Visit.programme_id.in_(user.staff_programme_ids))
    for grant in user.grants_for(Role.SOCIAL_WORKER):
        conditions.append(
            and_(
                Visit.programme_id == grant.programme_id, Visit.child_id.in_(_children_under(grant.area_path))
            )
        )
    return or_(*conditions)


def pairing_options() -> list[Any]:
    return [
        selectinload(Pairing.child).selectinload(Person.area),
        selectinload(Pairing.child).selectinload(Person.programme),
        selectinload(Pairing.mother),
    ]


def visit_options() -> list[Any]:
    return [
        selectinload(Visit.photo_links).selectinload(VisitPhoto.photo),
        selectinload(Visit.child).selectinload(Person.programme),
        selectinload(Visit.mother),
        selectinload(Visit.pairing),
    ]


async def get_pairing_for(db: AsyncSession, user: Principal, pairing_id: int) -> Pairing:
    pairing = await db.scalar(
        select(Pairing).where(Pairing.id == pairing_id, visible_pairings(user)).options(*pairing_options())
    )
    if pairing is None:
        raise NotFound()
    return pairing


async def list_own_pairings(db: AsyncSession, user: Principal) -> list[Pairing]:
    """The mother's current pairings, oldest first (the ones she may log visits for)."""
    rows = await db.scalars(
        select(Pairing)
        .where(Pairing.mother_id == user.id, Pairing.status == PairingStatus.ACTIVE)
        .options(*pairing_options())
        .order_by(Pairing.started_at, Pairing.id)
    )
    return list(rows)


def require_mother_of(user: Principal, pairing: Pairing) -> None:
    if pairing.mother_id != user.id or pairing.status is not PairingStatus.ACTIVE:
        raise Forbidden()


async def get_visit_for(db: AsyncSession, user: Principal, visit_id: int) -> Visit:
    visit = await db.scalar(
        select(Visit).where(Visit.id == visit_id, visible_visits(user)).options(*visit_options())
    )
    if visit is None:
        raise NotFound()
    return visit


def is_social_worker_for(user: Principal, child: Person) -> bool:
    """A social worker of the child's programme whose area holds the child. `child.area` loaded."""
    return any(
        g.programme_id == child.programme_id and child.area.path.startswith(g.area_path)
        for g in user.grants_for(Role.SOCIAL_WORKER)
    )


def require_social_worker_for(user: Principal, child: Person) -> None:
    if not is_social_worker_for(user, child):
        raise Forbidden()


def require_matching_viewer(user: Principal, child: Person) -> None:
    """The area's social workers match; the programme's staff may watch."""
    if not (
        user.is_admin or child.programme_id in user.staff_programme_ids or is_social_worker_for(user, child)
    ):
        raise Forbidden()


# ---- the programme's side: checklist, mothers' profiles, pairing frequency, meetings ----


def is_staff_of(user: Principal, programme_id: int) -> bool:
    return user.is_admin or programme_id in user.staff_programme_ids


def works_in(user: Principal, programme_id: int, area_path: str) -> bool:
    """Staff of the programme, or one of its social workers whose area holds `area_path`."""
    return is_staff_of(user, programme_id) or any(
        g.programme_id == programme_id and area_path.startswith(g.area_path)
        for g in user.grants_for(Role.SOCIAL_WORKER)
    )


async def get_mothers_programme_for(db: AsyncSession, user: Principal, programme_id: int) -> Programme:
    """A caring-mother programme the user belongs to (404 otherwise)."""
    programme = await db.scalar(
        select(Programme).where(
            Programme.id == programme_id,
            Programme.kind == ProgrammeKind.CARING_MOTHERS,
            visible_programmes(user),
        )
    )
    if programme is None:
        raise NotFound()
    return programme


def visible_mother_memberships(user: Principal) -> ColumnElement[bool]:
    """Caring mothers' current memberships: her own, and those in the areas of a social worker or staff."""
    mothers = and_(Membership.role == Role.CARING_MOTHER, Membership.ended_at.is_(None))
    if user.is_admin:
        return mothers
    conditions: list[ColumnElement[bool]] = [Membership.user_id == user.id]
    if user.staff_programme_ids:
        conditions.append(Membership.programme_id.in_(user.staff_programme_ids))
    for grant in user.grants_for(Role.SOCIAL_WORKER):
        conditions.append(
            and_(
                Membership.programme_id == grant.programme_id,
                Membership.area_id.in_(select(Area.id).where(area_and_below(grant.area_path))),
            )
        )
    return and_(mothers, or_(*conditions))


async def mother_memberships_for(db: AsyncSession, user: Principal, mother_id: int) -> list[Membership]:
    """The mother's memberships the user may see, oldest programme first; none is a 404."""
    rows = list(
        await db.scalars(
            select(Membership)
            .where(Membership.user_id == mother_id, visible_mother_memberships(user))
            .options(
                selectinload(Membership.user),
                selectinload(Membership.area),
                selectinload(Membership.programme).selectinload(Programme.area),
            )
            .order_by(Membership.programme_id, Membership.id)
        )
    )
    if not rows:
        raise NotFound()
    return rows


def uses_caring_mothers_work(user: Principal) -> bool:
    """Staff or social workers of a caring-mother programme (they get the programme-side pages)."""
    return user.is_admin or any(
        g.programme_kind is ProgrammeKind.CARING_MOTHERS and g.role in (Role.STAFF, Role.SOCIAL_WORKER)
        for g in user.grants
    )
