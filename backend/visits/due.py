"""Who is due a visit: for each current pairing, the last visit that counts and the next one expected.

A visit counts unless it was rejected or replaced by a newer version. A pairing without any visit is
due one interval after it started. "Due soon" is the last DUE_SOON_DAYS before that date.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.visits.models import Pairing, Visit, VisitStatus

DUE_SOON_DAYS = 7


class DueState(enum.StrEnum):
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    OK = "ok"


@dataclass(frozen=True, slots=True)
class PairingDue:
    pairing: Pairing
    last_visit_at: datetime | None
    due_on: date
    state: DueState


async def last_visits(db: AsyncSession, pairing_ids: list[int]) -> dict[int, datetime]:
    if not pairing_ids:
        return {}
    rows = await db.execute(
        select(Visit.pairing_id, func.max(Visit.visited_at))
        .where(
            Visit.pairing_id.in_(pairing_ids),
            Visit.superseded_at.is_(None),
            Visit.status != VisitStatus.REJECTED,
        )
        .group_by(Visit.pairing_id)
    )
    # max() keeps the column's type (ReturnTypeFromArgs), so both engines hand back aware UTC times.
    return {pairing_id: moment for pairing_id, moment in rows if moment is not None}


async def due_for(
    db: AsyncSession, pairings: list[Pairing], *, now: datetime | None = None
) -> list[PairingDue]:
    now = now or utcnow()
    last = await last_visits(db, [p.id for p in pairings])
    result = []
    for pairing in pairings:
        zone = ZoneInfo(pairing.child.programme.time_zone)
        since = last.get(pairing.id, pairing.started_at)
        due_on = since.astimezone(zone).date() + timedelta(days=pairing.visit_interval_days)
        today = now.astimezone(zone).date()
        if due_on < today:
            state = DueState.OVERDUE
        elif due_on <= today + timedelta(days=DUE_SOON_DAYS):
            state = DueState.DUE_SOON
        else:
            state = DueState.OK
        result.append(PairingDue(pairing, last.get(pairing.id), due_on, state))
    return result
