"""The caring mother's part of the home page: her children, who is due a visit, her recent visits."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.visits import policy
from backend.visits.due import PairingDue, due_for
from backend.visits.models import Visit

RECENT = 5


@dataclass
class MotherHome:
    pairings: list[PairingDue] = field(default_factory=list)
    recent: list[Visit] = field(default_factory=list)


async def load_mother_home(db: AsyncSession, user: Principal) -> MotherHome:
    pairings = await policy.list_own_pairings(db, user)
    recent = await db.scalars(
        select(Visit)
        .where(Visit.mother_id == user.id, Visit.superseded_at.is_(None), policy.visible_visits(user))
        .options(*policy.visit_options())
        .order_by(Visit.visited_at.desc(), Visit.id.desc())
        .limit(RECENT)
    )
    return MotherHome(pairings=await due_for(db, pairings), recent=list(recent))
