"""The strip on a review card: the same resident's (or child's) photos of the seven days before the entry,
newest first, read as one column of the entry's own row (views.py) rather than by a statement of its own.

No photo-visibility condition here: these are entries of the same resident or child as an entry the
reviewer may decide, and an entry's photos are always of its own person (the check-in and visit services
refuse any other), so she may see them. On PostgreSQL that condition cost 35 ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from backend.evidence.models import Photo
from backend.sql import days_before, json_rows, moment_key

RECENT_DAYS = 7


@dataclass(frozen=True, slots=True)
class Thumb:
    """What a strip of small photos needs: read as plain columns, not as photo objects."""

    id: int
    thumb_width: int
    thumb_height: int


def recent_strip(model: Any, person: str, moment: str, link: Any, link_entry: str) -> Any:
    """A correlated subquery for a statement over `model` (CheckIn or Visit): the photos of the entry's
    person's other current entries whose `moment` (a meal's day, a visit's time) lies within
    RECENT_DAYS before the entry's own, as json_rows of (moment key, entry id, the photo's position in
    its entry, photo id, thumbnail width, height). `person`, `moment` and `link_entry` name the columns
    on the model and on its photo link. The look-up runs per card along the (person, moment) index of
    each table."""
    other = aliased(model, name=f"recent_{model.__tablename__}")
    link_alias = aliased(link, name=f"recent_{link.__tablename__}")
    photo = aliased(Photo, name="recent_photo")
    at = getattr(model, moment)
    their_at = getattr(other, moment)
    return (
        select(
            json_rows(
                moment_key(their_at),
                other.id,
                link_alias.position,
                photo.id,
                photo.thumb_width,
                photo.thumb_height,
            )
        )
        .select_from(other)
        .join(link_alias, getattr(link_alias, link_entry) == other.id)
        .join(photo, photo.id == link_alias.photo_id)
        .where(
            getattr(other, person) == getattr(model, person),
            their_at >= days_before(at, RECENT_DAYS),
            their_at <= at,
            other.superseded_at.is_(None),
            other.id != model.id,
        )
        .scalar_subquery()
    )


def thumbs(rows: list[list[Any]] | None) -> list[Thumb]:
    """A strip's rows (see recent_strip) as thumbnails, newest first (later moment, then later entry;
    within one entry, the order its photos were stored in)."""
    if not rows:
        return []
    ordered = sorted(rows, key=lambda r: (r[0], r[1], -r[2]), reverse=True)
    return [Thumb(photo_id, width, height) for *_order, photo_id, width, height in ordered]
