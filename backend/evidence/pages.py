"""What a person's page shows: the photos this user may see, an upload form and a worker's pairing work."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.evidence.policy import list_photos_of_person
from backend.people.models import Person, PersonKind, Role
from backend.people.remit import in_remit
from backend.visits.models import Pairing, PairingStatus


async def person_page_context(
    db: AsyncSession, user: Principal, person: Person, *, upload_error: str | None = None
) -> dict[str, Any]:
    photos = await list_photos_of_person(db, user, person.id)
    zone = ZoneInfo(person.programme.time_zone)
    # When it was taken if known, else when it arrived; in the programme's time zone.
    times = {
        p.id: (p.captured_at or p.created_at).astimezone(zone).strftime("%Y-%m-%d %H:%M") for p in photos
    }
    return {
        "principal": user,
        "person": person,
        "photos": photos,
        "photo_times": times,
        # A new UUID per rendered form: submitting the same form twice stores one photo.
        "upload_uuid": str(uuid.uuid4()),
        "upload_error": upload_error,
        "pairing_work": await _pairing_work(db, user, person),
        # Edit, move and end links for those who keep this person (people/remit.py).
        "may_keep": in_remit(user, person.programme_id, person.area.path),
    }


async def _pairing_work(db: AsyncSession, user: Principal, person: Person) -> dict[str, Any] | None:
    """A worker reaches a child from her home (overdue visits, her people): the child's pairing work
    (visit frequency, ending the pairing, or finding a mother) is one tap from the child's page."""
    if person.kind is not PersonKind.CHILD or not (
        user.has_role(Role.SOCIAL_WORKER) or user.has_role(Role.STAFF)
    ):
        return None
    pairing = await db.scalar(
        select(Pairing).where(Pairing.child_id == person.id, Pairing.status == PairingStatus.ACTIVE)
    )
    return {"pairing": pairing, "worker": user.has_role(Role.SOCIAL_WORKER)}
