"""Entries sent back to the person who submitted them: what she sees on her home page.

Only current versions with status "needs fix" are listed; once she sends a fix, the old version is
superseded and drops off the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.cases.models import Case, Delivery, DeliveryStatus
from backend.cases.policy import visible_cases
from backend.meals.models import CheckIn, CheckInStatus
from backend.verification.models import Entry, EntryKind
from backend.visits.models import Visit, VisitStatus
from backend.visits.policy import visible_visits

LIMIT = 20


@dataclass(frozen=True, slots=True)
class Returned:
    kind: EntryKind
    entry: Entry

    @property
    def person_name(self) -> str:
        entry = self.entry
        if isinstance(entry, CheckIn):
            return entry.resident.display_name
        return entry.person.display_name if isinstance(entry, Delivery) else entry.child.display_name


async def returned_to(db: AsyncSession, user: Principal) -> list[Returned]:
    meals = await db.scalars(
        select(CheckIn)
        .where(
            CheckIn.neighbour_id == user.id,
            CheckIn.status == CheckInStatus.NEEDS_FIX,
            CheckIn.superseded_at.is_(None),
        )
        .options(selectinload(CheckIn.resident))
        .order_by(CheckIn.reviewed_at.desc(), CheckIn.id.desc())
        .limit(LIMIT)
    )
    visits = await db.scalars(
        select(Visit)
        .where(
            Visit.mother_id == user.id,
            Visit.status == VisitStatus.NEEDS_FIX,
            Visit.superseded_at.is_(None),
            visible_visits(user),  # not once her pairing has ended: the visit stays with the workers
        )
        .options(selectinload(Visit.child))
        .order_by(Visit.reviewed_at.desc(), Visit.id.desc())
        .limit(LIMIT)
    )
    deliveries = await db.scalars(
        select(Delivery)
        .where(
            Delivery.submitted_by_id == user.id,
            Delivery.status == DeliveryStatus.NEEDS_FIX,
            Delivery.superseded_at.is_(None),
            # Not once she has left the station: the delivery stays with its workers.
            Delivery.case_id.in_(select(Case.id).where(visible_cases(user))),
        )
        .options(selectinload(Delivery.person))
        .order_by(Delivery.reviewed_at.desc(), Delivery.id.desc())
        .limit(LIMIT)
    )
    return (
        [Returned(EntryKind.MEAL, c) for c in meals]
        + [Returned(EntryKind.VISIT, v) for v in visits]
        + [Returned(EntryKind.DELIVERY, d) for d in deliveries]
    )
