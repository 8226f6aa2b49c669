"""What a review card shows of an entry, read as plain columns rather than as ORM objects.

The queue page renders twenty cards on every reload; loading them as CheckIn and Visit objects with
their people, agreements, photo links and flags cost more than the queries themselves (identity map,
relationship loaders). These frozen views carry only what the card macros read, under the same
attribute names as the models, and are filled by one joined query per kind plus one for photos and
one for meal flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.evidence.models import Photo
from backend.meals.models import CheckIn, CheckInFlag, CheckInPhoto, CheckInStatus, FlagCode, MealSlot
from backend.people.models import Person, Programme, User
from backend.visits.models import Visit, VisitPhoto, VisitStatus


@dataclass(frozen=True, slots=True)
class Named:
    display_name: str


@dataclass(frozen=True, slots=True)
class PhotoView:
    id: int
    thumb_width: int
    thumb_height: int
    display_width: int
    display_height: int
    reuse_of_id: int | None


@dataclass(frozen=True, slots=True)
class FlagView:
    code: FlagCode


@dataclass(slots=True)
class MealView:
    id: int
    resident_id: int
    day: date
    slot: MealSlot
    dishes: list[str]
    planned_dishes: list[str]
    submitted_at: datetime
    status: CheckInStatus
    reason: str | None
    replaces_id: int | None
    superseded_at: datetime | None
    sampled_at: datetime | None
    resident: Named
    neighbour: Named
    time_zone: str
    photos: list[PhotoView] = field(default_factory=list)
    flags: list[FlagView] = field(default_factory=list)


@dataclass(slots=True)
class VisitView:
    id: int
    child_id: int
    visited_at: datetime
    duration_minutes: int
    need_areas: list[str]
    checklist: list[str]
    note: str
    submitted_at: datetime
    status: VisitStatus
    reason: str | None
    replaces_id: int | None
    superseded_at: datetime | None
    sampled_at: datetime | None
    child: Named
    mother: Named
    time_zone: str
    photos: list[PhotoView] = field(default_factory=list)


EntryView = MealView | VisitView

PHOTO_COLUMNS = (
    Photo.id,
    Photo.thumb_width,
    Photo.thumb_height,
    Photo.display_width,
    Photo.display_height,
    Photo.reuse_of_id,
)

MEAL_COLUMNS = (
    CheckIn.id,
    CheckIn.resident_id,
    CheckIn.day,
    CheckIn.slot,
    CheckIn.dishes,
    CheckIn.planned_dishes,
    CheckIn.submitted_at,
    CheckIn.status,
    CheckIn.reason,
    CheckIn.replaces_id,
    CheckIn.superseded_at,
    CheckIn.sampled_at,
)
VISIT_COLUMNS = (
    Visit.id,
    Visit.child_id,
    Visit.visited_at,
    Visit.duration_minutes,
    Visit.need_areas,
    Visit.checklist,
    Visit.note,
    Visit.submitted_at,
    Visit.status,
    Visit.reason,
    Visit.replaces_id,
    Visit.superseded_at,
    Visit.sampled_at,
)

# Built once at import and run with the ids bound: building these statements per page cost about as
# much as running them (an alias alone copies its table's columns).
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_RESIDENT, _NEIGHBOUR = aliased(Person, name="resident"), aliased(User, name="neighbour")
_CHILD, _MOTHER = aliased(Person, name="child"), aliased(User, name="mother")

_MEALS = (
    select(
        *MEAL_COLUMNS,
        _RESIDENT.display_name.label("resident_name"),
        _NEIGHBOUR.display_name.label("neighbour_name"),
        Programme.time_zone,
    )
    .join(_RESIDENT, _RESIDENT.id == CheckIn.resident_id)
    .join(_NEIGHBOUR, _NEIGHBOUR.id == CheckIn.neighbour_id)
    .join(Programme, Programme.id == CheckIn.programme_id)
    .where(CheckIn.id.in_(_IDS))
)
_MEAL_PHOTOS = (
    select(CheckInPhoto.checkin_id, *PHOTO_COLUMNS)
    .join(Photo, Photo.id == CheckInPhoto.photo_id)
    .where(CheckInPhoto.checkin_id.in_(_IDS))
    .order_by(CheckInPhoto.checkin_id, CheckInPhoto.position)
)
_MEAL_FLAGS = (
    select(CheckInFlag.checkin_id, CheckInFlag.code)
    .where(CheckInFlag.checkin_id.in_(_IDS))
    .order_by(CheckInFlag.checkin_id, CheckInFlag.code)
)
_VISITS = (
    select(
        *VISIT_COLUMNS,
        _CHILD.display_name.label("child_name"),
        _MOTHER.display_name.label("mother_name"),
        Programme.time_zone,
    )
    .join(_CHILD, _CHILD.id == Visit.child_id)
    .join(_MOTHER, _MOTHER.id == Visit.mother_id)
    .join(Programme, Programme.id == Visit.programme_id)
    .where(Visit.id.in_(_IDS))
)
_VISIT_PHOTOS = (
    select(VisitPhoto.visit_id, *PHOTO_COLUMNS)
    .join(Photo, Photo.id == VisitPhoto.photo_id)
    .where(VisitPhoto.visit_id.in_(_IDS))
    .order_by(VisitPhoto.visit_id, VisitPhoto.position)
)


def photo_view(row: Sequence[Any]) -> PhotoView:
    return PhotoView(*row)


async def load_meal_views(db: AsyncSession, ids: list[int]) -> dict[int, MealView]:
    """Check-ins by id with their resident, neighbour, time zone, photos in order and flags."""
    if not ids:
        return {}
    bound = {"ids": ids}
    views = {
        r["id"]: MealView(
            **{c.key: r[c.key] for c in MEAL_COLUMNS},
            resident=Named(r["resident_name"]),
            neighbour=Named(r["neighbour_name"]),
            time_zone=r["time_zone"],
        )
        for r in (await db.execute(_MEALS, bound)).mappings()
    }
    for entry_id, *photo in await db.execute(_MEAL_PHOTOS, bound):
        views[entry_id].photos.append(photo_view(photo))
    for entry_id, code in await db.execute(_MEAL_FLAGS, bound):
        views[entry_id].flags.append(FlagView(code))
    return views


async def load_visit_views(db: AsyncSession, ids: list[int]) -> dict[int, VisitView]:
    """Visits by id with their child, mother, time zone and photos in order."""
    if not ids:
        return {}
    bound = {"ids": ids}
    views = {
        r["id"]: VisitView(
            **{c.key: r[c.key] for c in VISIT_COLUMNS},
            child=Named(r["child_name"]),
            mother=Named(r["mother_name"]),
            time_zone=r["time_zone"],
        )
        for r in (await db.execute(_VISITS, bound)).mappings()
    }
    for entry_id, *photo in await db.execute(_VISIT_PHOTOS, bound):
        views[entry_id].photos.append(photo_view(photo))
    return views
