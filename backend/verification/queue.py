"""The review queue: pending current entries a reviewer may decide, flagged first, then oldest.

Meal check-ins, visits and service deliveries are listed by one UNION query, so ordering, paging and
the count in the navigation are done by the database. A card carries what a reviewer needs on a phone:
the entry's photos, the same person's photos of the last seven days, the dishes against the menu, the
flags (all read with the entry, views.py) and, for a reused photo, the earlier one (when the reviewer
may see it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, bindparam, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.cases import policy as cases_policy
from backend.cases.models import Delivery
from backend.cases.policy import reviewable_deliveries
from backend.db import read_columns
from backend.evidence.models import Photo
from backend.evidence.policy import visible_photos
from backend.meals import policy as meals_policy
from backend.meals.models import CheckIn
from backend.verification.models import Entry, EntryKind
from backend.verification.policy import reviewable_checkins, reviewable_visits
from backend.verification.service import is_flagged
from backend.verification.strips import Thumb
from backend.verification.views import (
    PHOTO_COLUMNS,
    DeliveryView,
    EntryView,
    MealView,
    Named,
    PhotoView,
    load_delivery_views,
    load_views,
    photo_view,
)
from backend.visits import policy as visits_policy
from backend.visits.models import Visit

PAGE_SIZE = 20
# The page is read along the order index once the scope holds this many times the rows it needs.
WALK_FROM = 4


def _meal_filter(user: Principal, *, indexed: bool = True) -> tuple[Any, ...]:
    return (
        CheckIn.awaiting_review(),
        reviewable_checkins(user, indexed=indexed),
    )


def _visit_filter(user: Principal, *, indexed: bool = True) -> tuple[Any, ...]:
    return (
        Visit.awaiting_review(),
        reviewable_visits(user, indexed=indexed),
    )


def _delivery_filter(user: Principal, *, indexed: bool = True) -> tuple[Any, ...]:
    return (
        Delivery.awaiting_review(),
        reviewable_deliveries(user, indexed=indexed),
    )


def _meal_rows(user: Principal, *, indexed: bool = True) -> Any:
    return select(
        literal(EntryKind.MEAL.value).label("kind"),
        CheckIn.id.label("id"),
        CheckIn.flagged.label("flagged"),
        CheckIn.submitted_at.label("submitted_at"),
    ).where(*_meal_filter(user, indexed=indexed))


def _visit_rows(user: Principal, *, indexed: bool = True) -> Any:
    return select(
        literal(EntryKind.VISIT.value).label("kind"),
        Visit.id.label("id"),
        Visit.flagged.label("flagged"),
        Visit.submitted_at.label("submitted_at"),
    ).where(*_visit_filter(user, indexed=indexed))


def _delivery_rows(user: Principal, *, indexed: bool = True) -> Any:
    return select(
        literal(EntryKind.DELIVERY.value).label("kind"),
        Delivery.id.label("id"),
        Delivery.flagged.label("flagged"),
        Delivery.submitted_at.label("submitted_at"),
    ).where(*_delivery_filter(user, indexed=indexed))


_MODELS: dict[EntryKind, Any] = {
    EntryKind.MEAL: CheckIn,
    EntryKind.VISIT: Visit,
    EntryKind.DELIVERY: Delivery,
}
_ROWS = {EntryKind.MEAL: _meal_rows, EntryKind.VISIT: _visit_rows, EntryKind.DELIVERY: _delivery_rows}
_FILTERS = {
    EntryKind.MEAL: _meal_filter,
    EntryKind.VISIT: _visit_filter,
    EntryKind.DELIVERY: _delivery_filter,
}


def _first_rows(user: Principal, kind: EntryKind, flagged: bool, sqlite: bool) -> Any:
    """One kind's first `reach` flagged (or unflagged) rows, oldest first, read along its order index
    (flagged, submitted_at, id; migration 0014): flagged and unflagged are read apart so that the index
    serves both. On SQLite the scope is written so that no index on its columns applies
    (`indexed=False`): given one, SQLite took it and sorted every pending row in scope (1M check-ins:
    10.7 ms against 1.2 ms along the order index). PostgreSQL's planner walks the order index by
    itself, and with the scope so written it misjudged how many rows match and sorted them all."""
    model = _MODELS[kind]
    rows = _ROWS[kind](user, indexed=not sqlite)
    return (
        rows.where(model.flagged == flagged)
        .order_by(model.submitted_at, model.id)
        .limit(bindparam("reach", type_=Integer))
        .subquery()
    )


def _scope(user: Principal) -> Principal:
    """The key the queue's statements are cached under: only what they depend on (who she is and her
    grants), so every session of one reviewer shares one entry and a changed grant makes a new one."""
    return replace(user, session_id=0, display_name="", locale=None)


@lru_cache(maxsize=256)
def _rows(user: Principal, kind: EntryKind | None) -> Any:
    """The queue's rows as a subquery. Built once per reviewer and filter (callers pass _scope(user)):
    building this statement cost about a third of the page query. Statements are immutable, so
    sharing them between requests is safe."""
    if kind is not None:
        return _ROWS[kind](user).subquery()
    return union_all(*(rows(user) for rows in _ROWS.values())).subquery()


@lru_cache(maxsize=512)
def _page(user: Principal, kind: EntryKind | None, walk: bool, sqlite: bool, counted: bool = False) -> Any:
    """A page of the queue. With `walk`, each kind's first offset + limit rows are read along its order
    index and only those are merged: a page of 20 among 1,509 pending check-ins took 0.07 ms this way
    and 2.08 ms sorting them all (SQLite). Without it, every row in scope is sorted, which is cheaper
    when the scope holds few pending entries among many others (the walk would pass over them).
    With `counted`, each row also carries the queue's total (see load_queue)."""
    if walk:
        kinds = [kind] if kind is not None else list(_ROWS)
        parts = [select(*_first_rows(user, k, f, sqlite).c) for k in kinds for f in (True, False)]
        rows = union_all(*parts).subquery()
    else:
        rows = _rows(user, kind)
    columns = [rows.c.kind, rows.c.id]
    if counted:  # the total rides along, counted once per statement (an uncorrelated subquery)
        columns.append(_count(user, kind).scalar_subquery().label("total"))
    return (
        select(*columns)
        .order_by(rows.c.flagged.desc(), rows.c.submitted_at, rows.c.kind, rows.c.id)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )


@lru_cache(maxsize=256)
def _count(user: Principal, kind: EntryKind | None) -> Any:
    """The total on its own. It counts ids only, without the flag the order needs, so it reads
    nothing but the covering indexes of migration 0012."""
    ids = {k: select(_MODELS[k].id).where(*_FILTERS[k](user)) for k in _ROWS}
    counted: Any = ids[kind] if kind is not None else union_all(*ids.values())
    return select(func.count()).select_from(counted.subquery())


async def queue_size(db: AsyncSession, user: Principal, kind: EntryKind | None = None) -> int:
    return int((await read_columns(db, _count(_scope(user), kind))).scalar() or 0)


@dataclass
class Card:
    kind: EntryKind
    entry: EntryView
    # For a reused-photo flag: the earlier photos it matched, where the reviewer may see them.
    earlier: list[PhotoView] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.kind.value}-{self.entry.id}"

    @property
    def recent(self) -> list[Thumb]:
        """Photos of the same resident or child from the seven days before, newest first."""
        return self.entry.recent

    @property
    def time_zone(self) -> str:
        return self.entry.time_zone

    @property
    def person(self) -> Named:
        if isinstance(self.entry, MealView):
            return self.entry.resident
        return self.entry.person if isinstance(self.entry, DeliveryView) else self.entry.child

    @property
    def off_plan(self) -> list[str]:
        """Dishes sent that the menu did not plan (meals only; empty without a menu)."""
        if not isinstance(self.entry, MealView) or not self.entry.planned_dishes:
            return []
        planned = {d.casefold() for d in self.entry.planned_dishes}
        return [d for d in self.entry.dishes if d.casefold() not in planned]

    @property
    def sampled(self) -> bool:
        return self.entry.sampled_at is not None

    @property
    def flagged(self) -> bool:
        """The rule the services store in the entry's `flagged` column, which orders the queue (tested
        to agree for every pending entry)."""
        return is_flagged(self.entry)


@dataclass
class QueuePage:
    cards: list[Card]
    total: int
    offset: int
    kind: EntryKind | None

    @property
    def next_offset(self) -> int | None:
        following = self.offset + len(self.cards)
        return following if following < self.total else None


# The last total seen for each reviewer's scope and filter, in this process. A page is read along the
# order index or by sorting depending on the total (see _page), and once a total is known the next
# page's statement chooses by it and counts the total itself: one statement fewer per page (the queue
# page's two most frequent statements become one). A hint only: a stale total can choose the slower
# way to read a page, never other entries or another total. SQLite only: on PostgreSQL every reviewer
# of a programme runs the same SQL (her area is a parameter), so one prepared statement serves a
# street's reviewer and the whole district's, and after five runs PostgreSQL may plan it once for all.
# Count and page in one statement planned that way took 67-112 ms for the district-wide reviewer at a
# million check-ins (16-23 ms before the switch); as two statements they keep 23 ms (bench/scale.py).
_LAST_TOTALS: dict[tuple[Principal, EntryKind | None], int] = {}
_LAST_TOTALS_KEPT = 1024


async def load_queue(
    db: AsyncSession,
    user: Principal,
    *,
    kind: EntryKind | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> QueuePage:
    scope = _scope(user)
    reach = offset + limit
    bounds = {"offset": offset, "limit": limit, "reach": reach}
    sqlite = db.get_bind().dialect.name == "sqlite"
    hint = _LAST_TOTALS.get((scope, kind))
    page: list[Any] = []
    if hint is not None and hint > offset and sqlite:
        page = list(
            (await read_columns(db, _page(scope, kind, hint > WALK_FROM * reach, sqlite, True), bounds)).all()
        )
    if page:
        total = int(page[0].total)
    else:
        # The total first: it reads only the scope's covering index (migration 0012), and it chooses
        # how the page is read. An index walk passes over other reviewers' pending entries until it
        # has offset + limit of hers, so a scope holding few of them is sorted instead.
        total = await queue_size(db, user, kind)
        if total > offset:
            walk = total > WALK_FROM * reach
            page = list((await read_columns(db, _page(scope, kind, walk, sqlite), bounds)).all())
    if len(_LAST_TOTALS) >= _LAST_TOTALS_KEPT:
        _LAST_TOTALS.clear()
    _LAST_TOTALS[scope, kind] = total
    refs = [(EntryKind(row.kind), int(row.id)) for row in page]
    cards = await load_cards(db, user, refs) if refs else []
    return QueuePage(cards=cards, total=total, offset=offset, kind=kind)


async def load_cards(db: AsyncSession, user: Principal, refs: list[tuple[EntryKind, int]]) -> list[Card]:
    """Cards for `refs`, in their order, read as plain columns (see views.py for why)."""
    meals, visits = await load_views(
        db, [i for k, i in refs if k is EntryKind.MEAL], [i for k, i in refs if k is EntryKind.VISIT]
    )
    deliveries = await load_delivery_views(db, [i for k, i in refs if k is EntryKind.DELIVERY])
    views: dict[EntryKind, dict[int, Any]] = {
        EntryKind.MEAL: meals,
        EntryKind.VISIT: visits,
        EntryKind.DELIVERY: deliveries,
    }
    cards: list[Card] = []
    for kind, entry_id in refs:
        view = views[kind].get(entry_id)
        if view is not None:
            cards.append(Card(kind, view))
    await attach_earlier(db, user, cards)
    return cards


async def attach_earlier(db: AsyncSession, user: Principal, cards: list[Card]) -> None:
    """For a reused-photo flag, the earlier photos it matched, where this reviewer may see them
    (one statement for the page, and only when a card on it carries such a flag)."""
    wanted: dict[int, list[Card]] = defaultdict(list)
    for card in cards:
        for photo in card.entry.photos:
            if photo.reuse_of_id is not None:
                wanted[photo.reuse_of_id].append(card)
    if not wanted:
        return
    rows = await read_columns(db, select(*PHOTO_COLUMNS).where(Photo.id.in_(wanted), visible_photos(user)))
    for row in rows:
        photo = photo_view(tuple(row))
        for card in wanted[photo.id]:
            card.earlier.append(photo)


async def neighbours_in_queue(
    db: AsyncSession, user: Principal, kind: EntryKind, entry_id: int
) -> tuple[tuple[EntryKind, int] | None, tuple[EntryKind, int] | None]:
    """The queue entries before and after this one (for j/k on a desktop and "next" after a decision)."""
    rows = _rows(_scope(user), None)
    order = [rows.c.flagged.desc(), rows.c.submitted_at, rows.c.kind, rows.c.id]
    numbered = select(rows.c.kind, rows.c.id, func.row_number().over(order_by=order).label("n")).subquery()
    here = await db.scalar(
        select(numbered.c.n).where(numbered.c.kind == kind.value, numbered.c.id == entry_id)
    )
    if here is None:  # already decided: the next is whatever now heads the queue
        first = (await db.execute(select(numbered.c.kind, numbered.c.id).where(numbered.c.n == 1))).first()
        return None, (EntryKind(first[0]), int(first[1])) if first else None
    around = await db.execute(
        select(numbered.c.kind, numbered.c.id, numbered.c.n).where(numbered.c.n.in_([here - 1, here + 1]))
    )
    before = after = None
    for k, i, n in around:
        if n < here:
            before = (EntryKind(k), int(i))
        else:
            after = (EntryKind(k), int(i))
    return before, after


async def load_reviewable(
    db: AsyncSession, user: Principal, refs: list[tuple[EntryKind, int]]
) -> list[Entry]:
    """The entries among `refs` that this reviewer may decide; any other reference is dropped."""
    entries: list[Entry] = []
    meal_ids = [i for k, i in refs if k is EntryKind.MEAL]
    visit_ids = [i for k, i in refs if k is EntryKind.VISIT]
    if meal_ids:
        checkins = await db.scalars(
            select(CheckIn)
            .where(CheckIn.id.in_(meal_ids), reviewable_checkins(user))
            .options(*meals_policy.checkin_options())
            .order_by(CheckIn.id)
        )
        entries.extend(checkins)
    if visit_ids:
        visits = await db.scalars(
            select(Visit)
            .where(Visit.id.in_(visit_ids), reviewable_visits(user))
            .options(*visits_policy.visit_options())
            .order_by(Visit.id)
        )
        entries.extend(visits)
    delivery_ids = [i for k, i in refs if k is EntryKind.DELIVERY]
    if delivery_ids:
        deliveries = await db.scalars(
            select(Delivery)
            .where(Delivery.id.in_(delivery_ids), reviewable_deliveries(user))
            .options(*cases_policy.delivery_options())
            .order_by(Delivery.id)
        )
        entries.extend(deliveries)
    return entries
