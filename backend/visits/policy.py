"""Who may see and do what with pairings and visits, as SQL conditions built from the user.

A child's visits (and so their photos) are seen by the mother of the child's current pairing, the
social workers of the child's area and the programme's staff; nobody else, not even a mother whose
pairing has ended. What a user may not see does not exist for them (404). Only the paired mother
logs and corrects visits; others who may see a visit but not change it get a 403.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.errors import Forbidden, NotFound
from backend.evidence.models import Photo
from backend.people.models import Area, Person, Role
from backend.people.policy import area_and_below
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


async def own_photos_by_uuid(db: AsyncSession, user: Principal, client_uuids: list[uuid.UUID]) -> list[Photo]:
    """The user's own photos with these client UUIDs (another user's UUID finds nothing)."""
    if not client_uuids:
        return []
    rows = await db.scalars(
        select(Photo).where(Photo.uploaded_by_id == user.id, Photo.client_uuid.in_(client_uuids))
    )
    return list(rows)


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
