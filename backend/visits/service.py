"""Writes for caring-mother pairings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.people.models import Person, Programme, User
from backend.visits.models import Pairing, PairingStatus


async def do_pair(
    db: AsyncSession, *, programme: Programme, child: Person, mother: User, actor: Actor | None
) -> Pairing:
    pairing = Pairing(
        programme_id=programme.id, child_id=child.id, mother_id=mother.id, status=PairingStatus.ACTIVE
    )
    db.add(pairing)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pairing.started",
        subject=pairing,
        change={"child_id": child.id, "mother_id": mother.id},
    )
    return pairing
