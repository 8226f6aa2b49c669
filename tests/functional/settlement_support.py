"""Helpers for the settlement tests: months, reviewed meals, agreements with a small cap."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.clock import add_months
from backend.db import Database, utcnow
from backend.meals.models import Agreement, CheckIn, CheckInStatus, Signatory
from backend.meals.service import (
    do_confirm_as_neighbour,
    do_create_agreement,
    do_record_resident_confirmation,
)
from backend.people.models import Person, Programme, User
from backend.settlement.service import Closing, do_close_month
from tests import factories, personas
from tests.conftest import World
from tests.functional import meals_support


def last_month() -> date:
    return add_months(meals_support.shanghai_today().replace(day=1), -1)


def this_month() -> date:
    return meals_support.shanghai_today().replace(day=1)


async def review(database: Database, checkin_id: int, status: CheckInStatus, reviewer_id: int) -> None:
    """Decide a pending check-in through the review service, as the queue does."""
    from backend.verification.models import Decision, Reason
    from backend.verification.service import do_review

    decision = {
        CheckInStatus.APPROVED: Decision.APPROVE,
        CheckInStatus.NEEDS_FIX: Decision.NEEDS_FIX,
        CheckInStatus.REJECTED: Decision.REJECT,
    }[status]
    reason = None if decision is Decision.APPROVE else Reason.PHOTO_UNCLEAR
    async with database.transaction() as db:
        checkin = await db.get_one(CheckIn, checkin_id)
        reviewer = await db.get_one(User, reviewer_id)
        await do_review(
            db, checkin, decision=decision, reason=reason, note=None, actor=reviewer, now=utcnow()
        )


async def meals(
    database: Database,
    agreement: Agreement,
    month: date,
    statuses: list[CheckInStatus],
    *,
    reviewer_id: int,
    seed: int = 0,
) -> list[CheckIn]:
    """One lunch a day from the month's first day, each left with the given status."""
    made = []
    for n, status in enumerate(statuses):
        checkin = await meals_support.make_checkin(
            database, agreement, month + timedelta(days=n), seed=seed + n
        )
        if status is not CheckInStatus.PENDING:
            await review(database, checkin.id, status, reviewer_id)
        made.append(checkin)
    return made


async def small_cap_agreement(database: Database, world: World, *, rate: int, cap: int) -> Agreement:
    """A confirmed agreement of the demo meal programme with its own rate and cap, from last month."""
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.cast.programmes["meals"].id)
        area = world.cast.areas["guiyuan"]
        resident = await factories.make_person(db, programme, area, name="测试老人")
        neighbour = await db.get_one(User, world.user_id(personas.NEIGHBOUR))
        worker = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
        resident = await db.get_one(Person, resident.id)
        agreement = await do_create_agreement(
            db,
            programme=programme,
            resident=resident,
            neighbour=neighbour,
            social_worker=worker,
            starts_on=last_month(),
            rate_fen=rate,
            monthly_cap_fen=cap,
            actor=worker,
        )
        await do_confirm_as_neighbour(db, agreement, actor=neighbour)
        await do_record_resident_confirmation(
            db, agreement, signatory=Signatory.RESIDENT, paper_photo=None, actor=worker
        )
    return await meals_support.agreement_of(database, agreement.resident_id)


async def close(database: Database, programme_id: int, month: date, actor_id: int | None) -> Closing:
    async with database.transaction() as db:
        programme = await db.get_one(Programme, programme_id)
        actor = await db.get_one(User, actor_id) if actor_id is not None else None
        return await do_close_month(db, programme, month, actor=actor)


async def load_agreement(database: Database, agreement_id: int) -> Agreement:
    async with database.transaction(read_only=True) as db:
        agreement = await db.scalar(
            select(Agreement)
            .where(Agreement.id == agreement_id)
            .options(selectinload(Agreement.programme), selectinload(Agreement.resident))
        )
    assert agreement is not None
    return agreement


async def principal_of(database: Database, user_id: int):  # type: ignore[no-untyped-def]
    """The Principal a signed-in session of this user would carry (for calling read functions)."""
    from backend.auth.principal import Grant, Principal
    from backend.people.models import Membership

    async with database.transaction(read_only=True) as db:
        user = await db.get_one(User, user_id)
        memberships = await db.scalars(
            select(Membership)
            .where(Membership.user_id == user_id, Membership.ended_at.is_(None))
            .options(selectinload(Membership.programme), selectinload(Membership.area))
        )
        grants = tuple(
            Grant(
                m.programme_id,
                m.programme.name,
                m.programme.kind,
                m.role,
                m.area_id,
                m.area.path,
                m.area.name,
            )
            for m in memberships
        )
        return Principal(user.id, 0, user.display_name, None, user.is_admin, grants)
