"""What a person's page shows about photos: the ones this user may see, and a fresh upload form."""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.evidence.policy import list_photos_of_person
from backend.people.models import Person


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
    }
