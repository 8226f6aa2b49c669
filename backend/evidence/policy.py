"""Who may see which photos, as one SQL condition built from the user.

The uploader always sees her own photos. A photo about a person is seen by whoever may see that
person (backend.people.policy.visible_people: caring mothers their paired children, social workers
their areas, staff their programmes). Anything else does not exist for the user: a 404.
Sealed originals (when kept at all) are for staff of the photo's programme and administrators only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import NotFound, Refused
from backend.evidence.models import Photo
from backend.people.models import Person
from backend.people.policy import visible_people


def visible_photos(user: Principal) -> ColumnElement[bool]:
    people = select(Person.id).where(visible_people(user)).scalar_subquery()
    return or_(
        Photo.uploaded_by_id == user.id,
        and_(Photo.subject_person_id.is_not(None), Photo.subject_person_id.in_(people)),
    )


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
