"""Who reviews what: the social workers of the entry's area, never the person who submitted it.

Reviewable entries are a SQL condition, so the queue, its count and a single load share one rule.
Someone who may see an entry (its submitter, staff) but not review it gets a 403; someone who may not
see it gets a 404.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, false, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.cases import policy as cases_policy
from backend.cases.models import Delivery
from backend.cases.policy import reviewable_deliveries
from backend.errors import Forbidden, NotFound
from backend.meals import policy as meals_policy
from backend.meals.models import CheckIn
from backend.people.models import Area, Person, Role
from backend.people.policy import area_and_below
from backend.sql import in_constants
from backend.verification.models import Entry, EntryKind
from backend.visits import policy as visits_policy
from backend.visits.models import Visit


def _people_under(path: str) -> Any:
    return select(Person.id).where(
        Person.area_id.in_(select(Area.id).where(area_and_below(path)).scalar_subquery())
    )


def _review_areas(user: Principal) -> list[tuple[str, list[int]]]:
    """The reviewer's area trees, each with the programmes she reviews there (one condition per tree,
    not per grant: a worker of two programmes in one area scans that area once)."""
    areas: dict[str, list[int]] = {}
    for g in user.grants_for(Role.SOCIAL_WORKER):
        areas.setdefault(g.area_path, []).append(g.programme_id)
    return sorted((path, sorted(ids)) for path, ids in areas.items())


def _unindexed(column: Any, indexed: bool) -> Any:
    """The column, or with `indexed=False` the column + 0: the same values, but no index on the column
    can serve the condition, so the planner reads the table along another index (the queue's order
    index, see queue._first_rows). SQLite ignores SQLAlchemy's index hints; this works on both engines."""
    return column if indexed else column + literal_column("0", Integer)


def reviewable_checkins(user: Principal, *, indexed: bool = True) -> ColumnElement[bool]:
    programme, resident = _unindexed(CheckIn.programme_id, indexed), _unindexed(CheckIn.resident_id, indexed)
    conditions = [
        and_(in_constants(programme, ids), resident.in_(_people_under(path)))
        for path, ids in _review_areas(user)
    ]
    if not conditions:
        return false()
    return and_(or_(*conditions), CheckIn.neighbour_id != user.id)


def reviewable_visits(user: Principal, *, indexed: bool = True) -> ColumnElement[bool]:
    programme, child = _unindexed(Visit.programme_id, indexed), _unindexed(Visit.child_id, indexed)
    conditions = [
        and_(in_constants(programme, ids), child.in_(_people_under(path)))
        for path, ids in _review_areas(user)
    ]
    if not conditions:
        return false()
    return and_(or_(*conditions), Visit.mother_id != user.id)


def is_reviewer(user: Principal) -> bool:
    return user.has_role(Role.SOCIAL_WORKER)


def require_reviewer(user: Principal) -> None:
    if not is_reviewer(user):
        raise Forbidden()


async def get_entry_for_review(db: AsyncSession, user: Principal, kind: EntryKind, entry_id: int) -> Entry:
    """The entry if the user may review it; 404 if she may not see it, 403 if she may only see it."""
    entry: Entry | None
    model: type[CheckIn] | type[Visit] | type[Delivery]
    if kind is EntryKind.DELIVERY:
        entry = await db.scalar(
            select(Delivery)
            .where(Delivery.id == entry_id, cases_policy.visible_deliveries(user))
            .options(*cases_policy.delivery_options())
        )
        allowed = reviewable_deliveries(user)
        model = Delivery
    elif kind is EntryKind.MEAL:
        entry = await db.scalar(
            select(CheckIn)
            .where(CheckIn.id == entry_id, meals_policy.visible_checkins(user))
            .options(*meals_policy.checkin_options())
        )
        allowed = reviewable_checkins(user)
        model = CheckIn
    else:
        entry = await db.scalar(
            select(Visit)
            .where(Visit.id == entry_id, visits_policy.visible_visits(user))
            .options(*visits_policy.visit_options())
        )
        allowed = reviewable_visits(user)
        model = Visit
    if entry is None:
        raise NotFound()
    if await db.scalar(select(model.id).where(model.id == entry_id, allowed)) is None:
        raise Forbidden()
    return entry
