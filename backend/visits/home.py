"""The caring mother's part of the home page: her children, who is due a visit, her recent visits."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.people.models import Person, PersonKind, Programme, ProgrammeKind
from backend.people.policy import visible_people
from backend.visits import policy
from backend.visits.due import DueState, PairingDue, due_for
from backend.visits.meeting_service import meetings_attended
from backend.visits.models import Meeting, Pairing, PairingStatus, Visit

RECENT = 5


@dataclass
class MotherHome:
    pairings: list[PairingDue] = field(default_factory=list)
    recent: list[Visit] = field(default_factory=list)
    meetings: list[Meeting] = field(default_factory=list)


async def load_mother_home(db: AsyncSession, user: Principal) -> MotherHome:
    pairings = await policy.list_own_pairings(db, user)
    recent = await db.scalars(
        select(Visit)
        .where(Visit.mother_id == user.id, Visit.superseded_at.is_(None), policy.visible_visits(user))
        .options(*policy.visit_options())
        .order_by(Visit.visited_at.desc(), Visit.id.desc())
        .limit(RECENT)
    )
    return MotherHome(
        pairings=await due_for(db, pairings), recent=list(recent), meetings=await meetings_attended(db, user)
    )


@dataclass
class WorkerHome:
    """Children of her areas waiting for a caring mother, and pairings whose visit is overdue."""

    waiting: list[Person] = field(default_factory=list)
    overdue: list[PairingDue] = field(default_factory=list)
    # Visits waiting for review, newest first, until the review queue (issue 6) takes them over.
    pending: list[Visit] = field(default_factory=list)


async def load_worker_home(db: AsyncSession, user: Principal, *, limit: int = 100) -> WorkerHome:
    """Only caring-mother programmes in her areas: the same SQL conditions as every other view."""
    active = select(Pairing.child_id).where(Pairing.status == PairingStatus.ACTIVE)
    mothers_programmes = select(Programme.id).where(Programme.kind == ProgrammeKind.CARING_MOTHERS)
    waiting = await db.scalars(
        select(Person)
        .where(
            Person.kind == PersonKind.CHILD,
            Person.programme_id.in_(mothers_programmes),
            Person.id.not_in(active),
            visible_people(user),
        )
        .options(selectinload(Person.area))
        .order_by(Person.area_id, Person.display_name, Person.id)
        .limit(limit)
    )
    pairings = await db.scalars(
        select(Pairing)
        .where(Pairing.status == PairingStatus.ACTIVE, policy.visible_pairings(user))
        .options(*policy.pairing_options())
        .order_by(Pairing.id)
        .limit(limit * 5)
    )
    due = await due_for(db, list(pairings))
    overdue = sorted((d for d in due if d.state is DueState.OVERDUE), key=lambda d: (d.due_on, d.pairing.id))
    pending = await db.scalars(
        select(Visit)
        .where(Visit.awaiting_review(), policy.visible_visits(user))
        .options(*policy.visit_options())
        .order_by(Visit.submitted_at.desc(), Visit.id.desc())
        .limit(20)
    )
    return WorkerHome(waiting=list(waiting), overdue=overdue, pending=list(pending))
