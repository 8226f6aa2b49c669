"""What a review card shows beside its entry: the same person's photos of the seven days before (the
strip), and for a reused-photo flag the earlier photos it matched. Each is one statement for the
whole page of cards (see queue.load_cards)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, literal, null, select, type_coerce, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.db import ids_in, read_columns
from backend.evidence.models import Photo
from backend.evidence.policy import visible_photos
from backend.meals.models import CheckIn, CheckInPhoto
from backend.verification.models import EntryKind
from backend.verification.views import PHOTO_COLUMNS, MealView, photo_view
from backend.visits.models import Visit, VisitPhoto

if TYPE_CHECKING:
    from backend.verification.queue import Card

RECENT_DAYS = 7


@dataclass(frozen=True, slots=True)
class Thumb:
    """What a strip of small photos needs: read as plain columns, not as photo objects."""

    id: int
    thumb_width: int
    thumb_height: int


def _moment(card: Card) -> Any:
    """When an entry happened, as its table stores it: a meal's day, a visit's time."""
    return card.entry.day if isinstance(card.entry, MealView) else card.entry.visited_at


def _person_id(card: Card) -> int:
    return card.entry.resident_id if isinstance(card.entry, MealView) else card.entry.child_id


def _recent_photos(kind: EntryKind, person: Any, model: Any, moment: Any, link: Any, link_entry: Any) -> Any:
    """Photos of some people between two moments, with the entry's kind and its moment in the column
    of its type (a meal's day, a visit's time; NULL in the other), for a UNION ALL of both kinds."""
    day = moment if kind is EntryKind.MEAL else type_coerce(null(), CheckIn.day.type)
    at = moment if kind is EntryKind.VISIT else type_coerce(null(), Visit.visited_at.type)
    name = kind.value
    return (
        select(
            literal(name).label("kind"),
            person.label("person_id"),
            model.id.label("entry_id"),
            day.label("day"),
            at.label("at"),
            Photo.id.label("photo_id"),
            Photo.thumb_width,
            Photo.thumb_height,
        )
        .select_from(model)
        .join(link, link_entry == model.id)
        .join(Photo, Photo.id == link.photo_id)
        .where(
            ids_in(person, f"{name}_people"),
            moment >= bindparam(f"{name}_since", type_=moment.type),
            moment <= bindparam(f"{name}_until", type_=moment.type),
            model.superseded_at.is_(None),
        )
    )


# Built once at import: both kinds' strips in one statement, newest first within each kind.
_RECENT_ROWS = union_all(
    _recent_photos(
        EntryKind.MEAL, CheckIn.resident_id, CheckIn, CheckIn.day, CheckInPhoto, CheckInPhoto.checkin_id
    ),
    _recent_photos(EntryKind.VISIT, Visit.child_id, Visit, Visit.visited_at, VisitPhoto, VisitPhoto.visit_id),
).subquery()
_RECENT = select(_RECENT_ROWS).order_by(
    _RECENT_ROWS.c.kind, _RECENT_ROWS.c.day.desc(), _RECENT_ROWS.c.at.desc(), _RECENT_ROWS.c.entry_id.desc()
)


async def attach_recent(db: AsyncSession, cards: list[Card]) -> None:
    """One query for the whole page: each card's person's photos in the seven days before its entry.

    No photo-visibility condition here: these are entries of the same resident or child as an entry
    the reviewer may decide, and an entry's photos are always of its own person (the check-in and
    visit services refuse any other), so she may see them. On PostgreSQL that condition cost 35 ms.
    """
    if not cards:
        return
    week = timedelta(days=RECENT_DAYS)
    bounds: dict[str, Any] = {}
    for kind in EntryKind:
        mine = [c for c in cards if c.kind is kind]
        bounds[f"{kind.value}_people"] = sorted({_person_id(c) for c in mine})
        bounds[f"{kind.value}_since"] = min(_moment(c) for c in mine) - week if mine else None
        bounds[f"{kind.value}_until"] = max(_moment(c) for c in mine) if mine else None
    strips: dict[tuple[str, int], list[tuple[int, Any, Thumb]]] = defaultdict(list)
    for kind_name, person_id, entry_id, day, at, photo_id, width, height in await read_columns(
        db, _RECENT, bounds
    ):
        when = day if kind_name == EntryKind.MEAL.value else at
        strips[kind_name, person_id].append((entry_id, when, Thumb(photo_id, width, height)))
    for card in cards:
        moment = _moment(card)
        card.recent = [
            thumb
            for entry_id, when, thumb in strips[card.kind.value, _person_id(card)]
            if entry_id != card.entry.id and moment - week <= when <= moment
        ]


async def attach_earlier(db: AsyncSession, user: Principal, cards: list[Card]) -> None:
    wanted: dict[int, list[Card]] = defaultdict(list)
    for card in cards:
        for photo in card.entry.photos:
            if photo.reuse_of_id is not None:
                wanted[photo.reuse_of_id].append(card)
    if not wanted:
        return
    rows = await read_columns(db, select(*PHOTO_COLUMNS).where(Photo.id.in_(wanted), visible_photos(user)))
    for row in rows:
        photo = photo_view(row.tuple())
        for card in wanted[photo.id]:
            card.earlier.append(photo)
