"""Writes for neighbour meal agreements."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.meals.models import Agreement, AgreementStatus
from backend.people.models import Person, Programme, User


async def do_create_agreement(
    db: AsyncSession,
    *,
    programme: Programme,
    resident: Person,
    neighbour: User,
    social_worker: User,
    starts_on: date,
    rate_fen: int = 1500,
    monthly_cap_fen: int = 45000,
    actor: Actor | None,
) -> Agreement:
    agreement = Agreement(
        programme_id=programme.id,
        resident_id=resident.id,
        neighbour_id=neighbour.id,
        social_worker_id=social_worker.id,
        rate_fen=rate_fen,
        monthly_cap_fen=monthly_cap_fen,
        starts_on=starts_on,
        ends_on=None,
        status=AgreementStatus.ACTIVE,
    )
    db.add(agreement)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="agreement.created",
        subject=agreement,
        change={
            "resident_id": resident.id,
            "neighbour_id": neighbour.id,
            "rate_fen": rate_fen,
            "cap_fen": monthly_cap_fen,
        },
    )
    return agreement
