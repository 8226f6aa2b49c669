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


def _entries(model: Any, columns: tuple[Any, ...], person: tuple[Any, Any], sender: tuple[Any, Any]) -> Any:
    """Entries by id with their person's and sender's names and their programme's time zone.
    `person` and `sender` are each (an alias, the entry's column naming it). The names are looked up
    per entry by primary key, not joined: for twenty entries PostgreSQL hashed every person and user
    (3.0 ms at 200,000 check-ins) where twenty look-ups each cost a few microseconds."""
    (person_alias, person_id), (sender_alias, sender_id) = person, sender

    def name_of(alias: Any, key: Any) -> Any:
        return select(alias.display_name).where(alias.id == key).scalar_subquery()

    time_zone = select(Programme.time_zone).where(Programme.id == model.programme_id).scalar_subquery()
    return select(
        *columns,
        name_of(person_alias, person_id).label("person_name"),
        name_of(sender_alias, sender_id).label("sender_name"),
        time_zone.label("time_zone"),
    ).where(model.id.in_(_IDS))


def _photos(entry_id: Any, link: Any) -> Any:
    """The entries' photos, in their order."""
    return (
        select(entry_id, *PHOTO_COLUMNS)
        .join(Photo, Photo.id == link.photo_id)
        .where(entry_id.in_(_IDS))
        .order_by(entry_id, link.position)
    )


_MEALS = _entries(CheckIn, MEAL_COLUMNS, (_RESIDENT, CheckIn.resident_id), (_NEIGHBOUR, CheckIn.neighbour_id))
_MEAL_PHOTOS = _photos(CheckInPhoto.checkin_id, CheckInPhoto)
_MEAL_FLAGS = (
    select(CheckInFlag.checkin_id, CheckInFlag.code)
    .where(CheckInFlag.checkin_id.in_(_IDS))
    .order_by(CheckInFlag.checkin_id, CheckInFlag.code)
)
_VISITS = _entries(Visit, VISIT_COLUMNS, (_CHILD, Visit.child_id), (_MOTHER, Visit.mother_id))
_VISIT_PHOTOS = _photos(VisitPhoto.visit_id, VisitPhoto)


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
            resident=Named(r["person_name"]),
            neighbour=Named(r["sender_name"]),
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
            child=Named(r["person_name"]),
            mother=Named(r["sender_name"]),
            time_zone=r["time_zone"],
        )
        for r in (await db.execute(_VISITS, bound)).mappings()
    }
    for entry_id, *photo in await db.execute(_VISIT_PHOTOS, bound):
        views[entry_id].photos.append(photo_view(photo))
    return views
