"""Who may see which photos, as one SQL condition built from the user.

Access follows today's relationships (issue 19), never who once uploaded a photo:
- staff see the photos of people of their programmes, social workers those of people of their
  programme in their areas (the photographed paper of a meal agreement included);
- a caring mother sees the photos of the children of her current pairings taken since that pairing
  began; once it ends she sees none of them, her own uploads included (the visits stay for workers);
- a neighbour sees the photos she took of the residents of her current agreements, never an earlier
  neighbour's, nor the signed paper of an agreement (that is for social workers and staff);
- a photo about nobody is seen by its uploader alone, except a hardship scout's photo sent with a
  station order: the workers and staff who may read the order see it too (cases/policy.py).
Anything else does not exist for the user: a 404. Sealed originals (when kept at all) are for staff of
the photo's programme and administrators only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.cases.models import CaseOrder
from backend.cases.policy import visible_orders
from backend.errors import NotFound, Refused
from backend.evidence.models import Photo
from backend.meals.models import Agreement, AgreementStatus
from backend.people.models import Area, Person, Role
from backend.pillar import policy as pillar_policy
from backend.pillar.models import Contact
from backend.visits.models import Pairing, PairingStatus


def _people_worked_with(user: Principal) -> ColumnElement[bool] | None:
    """People a staff member or social worker sees through her role (None without such a role)."""
    conditions: list[ColumnElement[bool]] = []
    if user.staff_programme_ids:
        conditions.append(Person.programme_id.in_(user.staff_programme_ids))
    for grant in user.grants_for(Role.SOCIAL_WORKER):
        areas = select(Area.id).where(Area.path.startswith(grant.area_path, autoescape=True))
        conditions.append(and_(Person.programme_id == grant.programme_id, Person.area_id.in_(areas)))
    return or_(*conditions) if conditions else None


def visible_photos(user: Principal) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    conditions: list[ColumnElement[bool]] = [
        and_(Photo.uploaded_by_id == user.id, Photo.subject_person_id.is_(None))
    ]
    if user.staff_programme_ids or user.grants_for(Role.SOCIAL_WORKER):
        # A station order's photo (about nobody yet): whoever may read the order.
        orders = select(CaseOrder.photo_id).where(CaseOrder.photo_id.is_not(None), visible_orders(user))
        conditions.append(Photo.id.in_(orders.scalar_subquery()))
    if pillar_policy.is_pillar_user(user):
        # A pillar group's contact photo (sent about nobody: group members cannot send photos about
        # the mother's person record): whoever may read the contact, while that access lasts.
        contacts = select(Contact.photo_id).where(
            Contact.photo_id.is_not(None), pillar_policy.visible_rows(Contact, user)
        )
        conditions.append(Photo.id.in_(contacts.scalar_subquery()))
    worked_with = _people_worked_with(user)
    if worked_with is not None:
        conditions.append(Photo.subject_person_id.in_(select(Person.id).where(worked_with).scalar_subquery()))
    if user.has_role(Role.CARING_MOTHER):
        # Her current children, from the day the pairing began: not what an earlier mother saw.
        conditions.append(
            exists().where(
                Pairing.mother_id == user.id,
                Pairing.status == PairingStatus.ACTIVE,
                Pairing.child_id == Photo.subject_person_id,
                Pairing.started_at <= Photo.created_at,
            )
        )
    if user.has_role(Role.NEIGHBOUR):
        residents = select(Agreement.resident_id).where(
            Agreement.neighbour_id == user.id, Agreement.status == AgreementStatus.ACTIVE
        )
        papers = select(Agreement.resident_confirmation_photo_id).where(
            Agreement.resident_confirmation_photo_id.is_not(None)
        )
        conditions.append(
            and_(
                Photo.uploaded_by_id == user.id,
                Photo.subject_person_id.in_(residents.scalar_subquery()),
                Photo.id.not_in(papers.scalar_subquery()),
            )
        )
    return or_(*conditions)


async def get_photo_for(db: AsyncSession, user: Principal, photo_id: int) -> Photo:
    photo = await db.scalar(select(Photo).where(Photo.id == photo_id, visible_photos(user)))
    if photo is None:
        raise NotFound()
    return photo


async def own_photos_by_uuid(
    db: AsyncSession, user: Principal, client_uuids: Sequence[uuid.UUID], *, missing: Refused
) -> list[Photo]:
    """The user's own photos with these client UUIDs, in the order given (a repeated UUID once).
    Raises `missing` when any has not arrived: another user's UUID finds nothing, and says nothing."""
    wanted = list(dict.fromkeys(client_uuids))
    if not wanted:
        return []
    rows = await db.scalars(
        select(Photo).where(Photo.uploaded_by_id == user.id, Photo.client_uuid.in_(wanted))
    )
    by_uuid = {p.client_uuid: p for p in rows}
    if len(by_uuid) != len(wanted):
        raise missing
    return [by_uuid[u] for u in wanted]


async def list_photos_of_person(
    db: AsyncSession, user: Principal, person_id: int, *, limit: int = 60
) -> list[Photo]:
    rows = await db.scalars(
        select(Photo)
        .where(Photo.subject_person_id == person_id, visible_photos(user))
        .order_by(Photo.created_at.desc(), Photo.id.desc())
        .limit(limit)
    )
    return list(rows)


def may_see_original(user: Principal, photo: Photo) -> bool:
    """Originals keep EXIF and GPS: only staff of the photo's programme, or an administrator."""
    if user.is_admin:
        return True
    return photo.programme_id is not None and photo.programme_id in user.staff_programme_ids
