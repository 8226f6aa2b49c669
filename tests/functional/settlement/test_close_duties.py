"""Separation of duties at the month's close, and the month's self-dealing signals (issue 19)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.audit import AuditEvent
from backend.auth.service import do_issue_code
from backend.db import Database
from backend.meals.models import Agreement, CheckInStatus
from backend.people.models import Programme, Role, User
from backend.people.service import do_add_membership
from backend.settlement import duties
from backend.settlement.models import SignalLook
from backend.settlement.service import SettlementRefused
from tests import factories, personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional.settlement_support import close, last_month, meals, small_cap_agreement


async def dual_member(database: Database, world: World, handle: str) -> int:
    """One person holding a social-worker membership AND a staff membership of the meal programme."""
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.cast.programmes["meals"].id)
        user = await factories.make_user(
            db,
            handle,
            role=Role.SOCIAL_WORKER,
            programme=programme,
            area=world.cast.areas["guiyuan"],
            name="双职",
        )
        await do_add_membership(
            db, user=user, programme=programme, area=world.cast.areas["district"], role=Role.STAFF, actor=None
        )
        return user.id


async def test_staff_member_who_also_approved_a_meal_cannot_close_and_another_can(
    database: Database, world: World
) -> None:
    both = await dual_member(database, world, "demo-both-approver")
    agreement = await small_cap_agreement(database, world, rate=1500, cap=30_000)
    await meals(database, agreement, last_month(), [CheckInStatus.APPROVED], reviewer_id=both)
    await meals(
        database,
        agreement,
        last_month() + timedelta(days=3),
        [CheckInStatus.APPROVED],
        reviewer_id=world.user_id(personas.SOCIAL_WORKER),
        seed=10,
    )
    with pytest.raises(SettlementRefused) as refused:
        await close(database, agreement.programme_id, last_month(), both)
    assert "另一位工作人员" in str(refused.value.detail) or "Another staff member" in str(
        refused.value.detail
    )
    closing = await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    assert closing.meals == 2


async def test_the_creator_of_an_agreement_paid_in_the_month_cannot_close_it(
    database: Database, world: World
) -> None:
    worker = world.user_id(personas.SOCIAL_WORKER)
    async with database.transaction() as db:
        # The social worker who created the agreement also holds a staff membership: still one person.
        await do_add_membership(
            db,
            user=await db.get_one(User, worker),
            programme=await db.get_one(Programme, world.cast.programmes["meals"].id),
            area=world.cast.areas["district"],
            role=Role.STAFF,
            actor=None,
        )
    reviewer = await dual_member(database, world, "demo-other-reviewer")
    agreement = await small_cap_agreement(database, world, rate=1500, cap=30_000)
    await meals(database, agreement, last_month(), [CheckInStatus.APPROVED], reviewer_id=reviewer)
    async with database.transaction(read_only=True) as db:
        found = await duties.duties_of(db, agreement.programme_id, last_month(), worker)
    assert (found.approved, found.created) == (0, 1)
    with pytest.raises(SettlementRefused):
        await close(database, agreement.programme_id, last_month(), worker)
    await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))


async def test_close_page_shows_the_reason_instead_of_the_button(
    client_as: ClientAs, database: Database, world: World
) -> None:
    staff = world.user_id(personas.STAFF)
    agreement = await small_cap_agreement(database, world, rate=1500, cap=30_000)
    await meals(database, agreement, last_month(), [CheckInStatus.APPROVED], reviewer_id=staff)
    browser = await client_as(personas.STAFF)
    page = await browser.get(
        f"/settlement/{agreement.programme_id}", params={"month": f"{last_month():%Y-%m}"}
    )
    assert page.status_code == 200
    duty = re.search(r'id="close-duty">([^<]*)</p>', page.text)
    assert duty is not None
    assert 'id="close-form"' not in page.text
    # In her language (zh_Hans first), naming why.
    assert "审核通过了本月 1 条用餐记录" in duty.group(1)
    assert "本月须由另一位工作人员结算" in duty.group(1)
    response = await browser.post(
        f"/settlement/{agreement.programme_id}/close",
        data={"month": f"{last_month():%Y-%m}", "confirm": "yes", "_csrf_token": await csrf_token(browser)},
    )
    assert response.status_code == 409


async def one_worker_agreement(database: Database, world: World) -> Agreement:
    """An agreement whose creation, neighbour's card and every approval of last month came from one worker."""
    worker = world.user_id(personas.SOCIAL_WORKER)
    agreement = await small_cap_agreement(database, world, rate=1500, cap=30_000)
    async with database.transaction() as db:
        neighbour = await db.get_one(User, agreement.neighbour_id)
        await do_issue_code(
            db,
            neighbour,
            actor=await db.get_one(User, worker),
            secret_key="k" * 32,
            valid_for=timedelta(days=1),
        )
    await meals(database, agreement, last_month(), [CheckInStatus.APPROVED] * 2, reviewer_id=worker, seed=30)
    return agreement


async def test_one_worker_doing_everything_is_a_signal_that_must_be_looked_at_before_closing(
    client_as: ClientAs, database: Database, world: World
) -> None:
    agreement = await one_worker_agreement(database, world)
    month = f"{last_month():%Y-%m}"
    async with database.transaction(read_only=True) as db:
        (signal,) = await duties.month_signals(db, agreement.programme_id, last_month())
    assert signal.agreement_id == agreement.id
    assert signal.worker_id == world.user_id(personas.SOCIAL_WORKER)
    assert len(signal.meals) == 2 and not signal.looked_at

    browser = await client_as(personas.STAFF)
    page = await browser.get(f"/settlement/{agreement.programme_id}", params={"month": month})
    assert f'id="signal-{agreement.id}"' in page.text
    assert f"/meals/checkins/{signal.meals[0].checkin_id}" in page.text
    assert 'id="close-signals"' in page.text and 'id="close-form"' not in page.text
    with pytest.raises(SettlementRefused):
        await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))

    looked = await browser.post(
        f"/settlement/{agreement.programme_id}/signals/looked",
        data={"month": month, "agreement_id": str(agreement.id), "_csrf_token": await csrf_token(browser)},
    )
    assert looked.status_code == 303
    async with database.transaction(read_only=True) as db:
        rows = (await db.scalars(select(SignalLook))).all()
        events = await db.scalar(
            select(func.count()).where(AuditEvent.action == "settlement.signal_looked_at")
        )
    assert [(r.agreement_id, r.looked_by_id) for r in rows] == [(agreement.id, world.user_id(personas.STAFF))]
    assert events == 1
    page = await browser.get(f"/settlement/{agreement.programme_id}", params={"month": month})
    assert 'id="close-form"' in page.text
    closing = await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    assert closing.meals == 2


async def test_a_second_worker_anywhere_in_the_chain_is_no_signal(database: Database, world: World) -> None:
    worker = world.user_id(personas.SOCIAL_WORKER)
    agreement = await small_cap_agreement(database, world, rate=1500, cap=30_000)
    async with database.transaction() as db:
        neighbour = await db.get_one(User, agreement.neighbour_id)
        await do_issue_code(
            db,
            neighbour,
            actor=await db.get_one(User, worker),
            secret_key="k" * 32,
            valid_for=timedelta(days=1),
        )
    await meals(database, agreement, last_month(), [CheckInStatus.APPROVED], reviewer_id=worker)
    other = await dual_member(database, world, "demo-second-reviewer")
    await meals(
        database,
        agreement,
        last_month() + timedelta(days=5),
        [CheckInStatus.APPROVED],
        reviewer_id=other,
        seed=9,
    )
    async with database.transaction(read_only=True) as db:
        assert await duties.month_signals(db, agreement.programme_id, last_month()) == []


async def test_a_signal_of_another_month_or_agreement_cannot_be_marked(
    client_as: ClientAs, database: Database, world: World
) -> None:
    agreement = await one_worker_agreement(database, world)
    browser = await client_as(personas.STAFF)
    token = await csrf_token(browser)
    for data in ({"agreement_id": str(agreement.id + 999)}, {"agreement_id": "x"}):
        response = await browser.post(
            f"/settlement/{agreement.programme_id}/signals/looked",
            data={"month": f"{last_month():%Y-%m}", "_csrf_token": token, **data},
        )
        assert response.status_code == 400
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count()).select_from(SignalLook)) == 0


async def test_signals_of_a_month_are_one_query(database: Database, world: World) -> None:
    from sqlalchemy import event

    agreement = await one_worker_agreement(database, world)
    second = await one_worker_agreement(database, world)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engines = {database.engine.sync_engine, database.read_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        async with database.transaction(read_only=True) as db:
            statements.clear()
            found = await duties.month_signals(db, agreement.programme_id, last_month())
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    assert {s.agreement_id for s in found} == {agreement.id, second.id}
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
