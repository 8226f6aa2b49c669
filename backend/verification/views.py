"""What a review card shows of an entry, read as plain columns rather than as ORM objects.

The queue page renders twenty cards on every reload; loading them as CheckIn and Visit objects with
their people, agreements, photo links and flags cost more than the queries themselves (identity map,
relationship loaders). These views carry only what the card macros read, under the same attribute
names as the models, and are filled by one joined query per kind (a meal's flags included) plus one
for the photos of both kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.cases.models import Delivery, DeliveryPhoto, DeliveryStatus, PlanItem, ServiceItem
from backend.db import read_columns
from backend.evidence.models import Photo
from backend.meals.models import CheckIn, CheckInFlag, CheckInPhoto, CheckInStatus, FlagCode, MealSlot
from backend.people.models import Person, Programme, User
from backend.sql import ids_in, json_rows
from backend.verification.strips import Thumb, recent_strip, thumbs
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
    recent: list[Thumb] = field(default_factory=list)
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
    recent: list[Thumb] = field(default_factory=list)


@dataclass(slots=True)
class DeliveryView:
    id: int
    person_id: int
    delivered_on: date
    minutes: int
    delivered_by: str
    people_count: int
    at_home: bool
    note: str
    submitted_at: datetime
    status: DeliveryStatus
    reason: str | None
    replaces_id: int | None
    superseded_at: datetime | None
    sampled_at: datetime | None
    person: Named
    sender: Named
    item_label: str
    time_zone: str
    photos: list[PhotoView] = field(default_factory=list)
    recent: list[Thumb] = field(default_factory=list)


EntryView = MealView | VisitView | DeliveryView

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
DELIVERY_COLUMNS = (
    Delivery.id,
    Delivery.person_id,
    Delivery.delivered_on,
    Delivery.minutes,
    Delivery.delivered_by,
    Delivery.people_count,
    Delivery.at_home,
    Delivery.note,
    Delivery.submitted_at,
    Delivery.status,
    Delivery.reason,
    Delivery.replaces_id,
    Delivery.superseded_at,
    Delivery.sampled_at,
)

# Built once at import and run with the ids bound: building these statements per page cost about as
# much as running them (an alias alone copies its table's columns).
_RESIDENT, _NEIGHBOUR = aliased(Person, name="resident"), aliased(User, name="neighbour")
_CHILD, _MOTHER = aliased(Person, name="child"), aliased(User, name="mother")
_SERVED, _WORKER = aliased(Person, name="served"), aliased(User, name="worker")


def _entries(
    model: Any,
    columns: tuple[Any, ...],
    person: tuple[Any, Any],
    sender: tuple[Any, Any],
    photos: tuple[Any, Any],
    strip: Any,
) -> Any:
    """Entries by id with their person's and sender's names, their programme's time zone, their photos
    and their strip. `person` and `sender` are each (an alias, the entry's column naming it), `photos`
    is (the photo link model, its column naming the entry). The names are looked up per entry by
    primary key, not joined: for twenty entries PostgreSQL hashed every person and user (3.0 ms at
    200,000 check-ins) where twenty look-ups each cost a few microseconds."""
    (person_alias, person_id), (sender_alias, sender_id), (link, link_entry) = person, sender, photos

    def name_of(alias: Any, key: Any) -> Any:
        return select(alias.display_name).where(alias.id == key).scalar_subquery()

    time_zone = select(Programme.time_zone).where(Programme.id == model.programme_id).scalar_subquery()
    own_photos = (
        select(json_rows(link.position, *PHOTO_COLUMNS))
        .select_from(link)
        .join(Photo, Photo.id == link.photo_id)
        .where(link_entry == model.id)
        .scalar_subquery()
    )
    return select(
        *columns,
        name_of(person_alias, person_id).label("person_name"),
        name_of(sender_alias, sender_id).label("sender_name"),
        time_zone.label("time_zone"),
        own_photos.label("photo_rows"),
        strip.label("recent_rows"),
    ).where(ids_in(model.id, "ids"))


# A meal's flag codes ride along with the meal as one string (group_concat on SQLite, string_agg on
# PostgreSQL) rather than in a statement of their own; codes are plain words without commas. The
# separator is given as SQL, not as a string: SQLAlchemy would bind a string as a literal-execute
# parameter and rewrite the statement's SQL on every execution for it.
_FLAG_CODES = (
    select(func.aggregate_strings(CheckInFlag.code, literal_column("','")))  # type: ignore[arg-type]
    .where(CheckInFlag.checkin_id == CheckIn.id)
    .scalar_subquery()
    .label("flag_codes")
)
_MEALS = _entries(
    CheckIn,
    MEAL_COLUMNS,
    (_RESIDENT, CheckIn.resident_id),
    (_NEIGHBOUR, CheckIn.neighbour_id),
    (CheckInPhoto, CheckInPhoto.checkin_id),
    recent_strip(CheckIn, "resident_id", "day", CheckInPhoto, "checkin_id"),
).add_columns(_FLAG_CODES)
_VISITS = _entries(
    Visit,
    VISIT_COLUMNS,
    (_CHILD, Visit.child_id),
    (_MOTHER, Visit.mother_id),
    (VisitPhoto, VisitPhoto.visit_id),
    recent_strip(Visit, "child_id", "visited_at", VisitPhoto, "visit_id"),
)

# A delivery's strip is read along its case's (case_id, delivered_on) index: a case is one person.
_ITEM_LABEL = (
    select(ServiceItem.label)
    .join(PlanItem, PlanItem.service_item_id == ServiceItem.id)
    .where(PlanItem.id == Delivery.plan_item_id)
    .scalar_subquery()
    .label("item_label")
)
_DELIVERIES = _entries(
    Delivery,
    DELIVERY_COLUMNS,
    (_SERVED, Delivery.person_id),
    (_WORKER, Delivery.submitted_by_id),
    (DeliveryPhoto, DeliveryPhoto.delivery_id),
    recent_strip(Delivery, "case_id", "delivered_on", DeliveryPhoto, "delivery_id"),
).add_columns(_ITEM_LABEL)


def photo_view(row: Sequence[Any]) -> PhotoView:
    return PhotoView(*row)


def _photos(rows: list[list[Any]] | None) -> list[PhotoView]:
    """An entry's photo rows (position first, then PHOTO_COLUMNS), in their order."""
    return [photo_view(row[1:]) for row in sorted(rows or [], key=lambda row: int(row[0]))]


async def load_delivery_views(db: AsyncSession, delivery_ids: list[int]) -> dict[int, DeliveryView]:
    """Deliveries by id, each with its person, sender, item, time zone, photos in order and strip."""
    deliveries: dict[int, DeliveryView] = {}
    if delivery_ids:
        for r in (await read_columns(db, _DELIVERIES, {"ids": delivery_ids})).mappings():
            deliveries[r["id"]] = DeliveryView(
                **{c.key: r[c.key] for c in DELIVERY_COLUMNS},
                person=Named(r["person_name"]),
                sender=Named(r["sender_name"]),
                item_label=r["item_label"] or "",
                time_zone=r["time_zone"],
                photos=_photos(r["photo_rows"]),
                recent=thumbs(r["recent_rows"]),
            )
    return deliveries


async def load_views(
    db: AsyncSession, meal_ids: list[int], visit_ids: list[int]
) -> tuple[dict[int, MealView], dict[int, VisitView]]:
    """Check-ins and visits by id, each with its person, sender, time zone, photos in order and strip,
    and a meal with its flags: one statement per kind asked for."""
    meals: dict[int, MealView] = {}
    visits: dict[int, VisitView] = {}
    if meal_ids:
        for r in (await read_columns(db, _MEALS, {"ids": meal_ids})).mappings():
            codes = sorted(r["flag_codes"].split(",")) if r["flag_codes"] else []
            meals[r["id"]] = MealView(
                **{c.key: r[c.key] for c in MEAL_COLUMNS},
                resident=Named(r["person_name"]),
                neighbour=Named(r["sender_name"]),
                time_zone=r["time_zone"],
                photos=_photos(r["photo_rows"]),
                recent=thumbs(r["recent_rows"]),
                flags=[FlagView(FlagCode(code)) for code in codes],
            )
    if visit_ids:
        for r in (await read_columns(db, _VISITS, {"ids": visit_ids})).mappings():
            visits[r["id"]] = VisitView(
                **{c.key: r[c.key] for c in VISIT_COLUMNS},
                child=Named(r["person_name"]),
                mother=Named(r["sender_name"]),
                time_zone=r["time_zone"],
                photos=_photos(r["photo_rows"]),
                recent=thumbs(r["recent_rows"]),
            )
    return meals, visits
