"""Rates and caps belong to the programme (issue 19), on both databases: no path lets an agreement
carry, or be paid, more than its programme's rate; a change of the programme's rate applies from a
stated month, never to a past or closed one, and each month is paid at the rate in effect for it."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select, text

from backend.audit import AuditEvent
from backend.clock import add_months
from backend.db import Database
from backend.errors import Refused
from backend.meals.models import Agreement, CheckInStatus
from backend.meals.queries import month_amounts
from backend.meals.service import do_create_agreement
from backend.people.models import Area, Person, Programme, User
from backend.settlement.checks import closed_month_mismatches
from backend.settlement.models import LedgerKind, LedgerLine, ProgrammeRate
from backend.settlement.rate_service import month_terms
from tests import factories, personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional import meals_support
from tests.functional.settlement_support import close, last_month, meals, this_month

A = CheckInStatus.APPROVED


def _m(month) -> str:  # type: ignore[no-untyped-def]
    return month.strftime("%Y-%m")


async def _rules(
    browser: httpx.AsyncClient, pid: int, rate: str, cap: str, from_month: str
) -> httpx.Response:
    data = {
        "rate": rate,
        "monthly_cap": cap,
        "from_month": from_month,
        "_csrf_token": await csrf_token(browser),
    }
    return await browser.post(f"/programmes/{pid}/rules", data=data)


async def _amounts(database: Database, agreement_id: int, month) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with database.transaction(read_only=True) as db:
        return (await month_amounts(db, [agreement_id], month)).get(agreement_id, (0, 0))


async def _programme(database: Database, pid: int) -> tuple[int | None, int | None, list[tuple[str, int]]]:
    async with database.transaction(read_only=True) as db:
        programme = await db.get_one(Programme, pid)
        rows = await db.execute(
            select(ProgrammeRate.from_month, ProgrammeRate.rate_fen)
            .where(ProgrammeRate.programme_id == pid)
            .order_by(ProgrammeRate.from_month)
        )
        return programme.rate_fen, programme.monthly_cap_fen, [(m.isoformat(), r) for m, r in rows]


async def test_a_lower_rate_from_this_month_pays_this_month_at_it_and_last_month_at_the_old_one(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    pid = agreement.programme_id
    worker = world.user_id(personas.SOCIAL_WORKER)
    await meals(database, agreement, last_month(), [A, A], reviewer_id=worker)
    await meals(database, agreement, this_month(), [A], reviewer_id=worker, seed=40)
    staff = await client_as(personas.STAFF)
    assert (await _rules(staff, pid, "12", "360", _m(this_month()))).status_code == 303
    assert await _amounts(database, agreement.id, last_month()) == (2, 3000)
    assert await _amounts(database, agreement.id, this_month()) == (1, 1200)
    # Closing last month pays its own month's rate; `carelog check` recomputes the same.
    closing = await close(database, pid, last_month(), world.user_id(personas.STAFF))
    assert closing.total_fen == 3000
    async with database.transaction(read_only=True) as db:
        assert (await closed_month_mismatches(db))[1] == []
    page = (await staff.get(f"/programmes/{pid}")).text
    assert f"自 {_m(this_month())} 起：每餐 12.00 元" in page
    async with database.transaction(read_only=True) as db:
        event = await db.scalar(
            select(AuditEvent)
            .where(AuditEvent.action == "programme.rules_changed")
            .order_by(AuditEvent.id.desc())
        )
    assert event is not None and event.change["from_month"] == this_month().isoformat()
    assert event.change["month_rate_fen"] == [1500, 1200]


async def test_a_rate_change_into_a_closed_or_past_month_is_refused_and_nothing_changes(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    pid = agreement.programme_id
    await close(database, pid, last_month(), world.user_id(personas.STAFF))
    before = await _programme(database, pid)
    staff = await client_as(personas.STAFF)
    closed = await _rules(staff, pid, "10", "300", _m(last_month()))
    assert closed.status_code == 422 and 'id="from_month-error"' in closed.text and "已结算" in closed.text
    past = await _rules(staff, pid, "10", "300", _m(add_months(last_month(), -1)))
    assert past.status_code == 422 and 'id="from_month-error"' in past.text
    garbled = await _rules(staff, pid, "10", "300", "2026-13")
    assert garbled.status_code == 422 and 'id="from_month-error"' in garbled.text
    assert await _programme(database, pid) == before


async def test_a_rate_change_from_next_month_leaves_this_month_at_the_old_rate(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    pid = agreement.programme_id
    await meals(database, agreement, this_month(), [A], reviewer_id=world.user_id(personas.SOCIAL_WORKER))
    staff = await client_as(personas.STAFF)
    following = add_months(this_month(), 1)
    assert (await _rules(staff, pid, "10", "300", _m(following))).status_code == 303
    assert await _amounts(database, agreement.id, this_month()) == (1, 1500)
    async with database.transaction(read_only=True) as db:
        assert await month_terms(db, pid, this_month()) == (1500, 45000)
        assert await month_terms(db, pid, following) == (1000, 30000)
        assert await month_terms(db, pid, add_months(following, 5)) == (1000, 30000)


async def test_an_agreement_forged_above_its_programmes_rate_is_paid_at_the_programmes_rate(
    world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    async with database.transaction() as db:
        # Past the service, straight into the row: the settlement still pays the programme's terms.
        await db.execute(
            text("UPDATE meal_agreement SET rate_fen = 9900, monthly_cap_fen = 990000 WHERE id = :id"),
            {"id": agreement.id},
        )
    await meals(database, agreement, last_month(), [A, A], reviewer_id=world.user_id(personas.SOCIAL_WORKER))
    assert await _amounts(database, agreement.id, last_month()) == (2, 3000)
    closing = await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    assert closing.total_fen == 3000
    async with database.transaction(read_only=True) as db:
        paid = await db.scalar(
            select(LedgerLine.amount_fen).where(
                LedgerLine.agreement_id == agreement.id, LedgerLine.kind == LedgerKind.MEAL
            )
        )
    assert paid == 3000


async def test_the_agreement_form_refuses_a_rate_or_cap_above_the_programmes(
    client_as: ClientAs, world: World, database: Database
) -> None:
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.cast.programmes["meals"].id)
        area = await db.get_one(Area, world.cast.areas["guiyuan"].id)
        resident = await factories.make_person(db, programme, area, name="新居民")
    worker = await client_as(personas.SOCIAL_WORKER)
    for field, value in (("rate_fen", "1501"), ("monthly_cap_fen", "45001")):
        fields = {
            "client_uuid": str(uuid.uuid4()),
            "resident_id": str(resident.id),
            "neighbour_id": str(world.user_id(personas.NEIGHBOUR)),
            "starts_on": meals_support.shanghai_today().isoformat(),
            "ends_on": "",
            "serves_lunch": "on",
            "rate_fen": "1500",
            "monthly_cap_fen": "45000",
            "signatory": "",
            field: value,
            "_csrf_token": await csrf_token(worker),
        }
        response = await worker.post("/meals/agreements", data=fields, files={"paper_photo": ("", b"", "")})
        assert response.status_code == 422 and f'id="{field}-error"' in response.text, field
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(Agreement.id).where(Agreement.resident_id == resident.id)) is None


async def test_the_service_refuses_an_agreement_above_the_rate_of_a_programme_that_lowered_it(
    client_as: ClientAs, world: World, database: Database
) -> None:
    pid = world.cast.programmes["meals"].id
    staff = await client_as(personas.STAFF)
    assert (await _rules(staff, pid, "12", "360", "")).status_code == 303  # empty: from this month
    async with database.transaction() as db:
        programme = await db.get_one(Programme, pid)
        area = await db.get_one(Area, world.cast.areas["guiyuan"].id)
        resident = await db.get_one(Person, (await factories.make_person(db, programme, area)).id)
        worker = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
        with pytest.raises(Refused):
            await do_create_agreement(
                db,
                programme=programme,
                resident=resident,
                neighbour=await db.get_one(User, world.user_id(personas.NEIGHBOUR)),
                social_worker=worker,
                starts_on=this_month(),
                rate_fen=1500,
                actor=worker,
            )
    async with database.transaction(read_only=True) as db:
        assert await month_terms(db, pid, this_month()) == (1200, 36000)


async def test_the_check_in_api_ignores_a_forged_rate_cap_or_amount(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    today = meals_support.shanghai_today()
    photo = await meals_support.put_photo(
        neighbour, meals_support.meal_jpeg(3, meals_support.at(today, 11, 45)), world.person_id("qian")
    )
    body = {
        "agreement_id": agreement.id,
        "slot": "lunch",
        "day": today.isoformat(),
        "dishes": ["米饭", "红烧肉"],
        "photo_uuids": [str(photo)],
        "rate_fen": 99900,
        "monthly_cap_fen": 9990000,
        "amount_fen": 99900,
    }
    answer = await meals_support.put_checkin(neighbour, body)
    assert answer.status_code in (201, 400, 422), answer.text
    after = await meals_support.agreement_of(database, world.person_id("qian"))
    assert (
        (after.rate_fen, after.monthly_cap_fen)
        == (agreement.rate_fen, agreement.monthly_cap_fen)
        == (1500, 45000)
    )
    if answer.status_code == 201:
        from tests.functional.settlement_support import review

        await review(database, answer.json()["id"], A, world.user_id(personas.SOCIAL_WORKER))
        assert await _amounts(database, agreement.id, today.replace(day=1)) == (1, 1500)


async def test_the_demo_agreements_carry_at_most_their_programmes_terms(
    world: World, database: Database
) -> None:
    async with database.transaction(read_only=True) as db:
        rows = (
            await db.execute(
                select(
                    Agreement.rate_fen,
                    Agreement.monthly_cap_fen,
                    Programme.rate_fen,
                    Programme.monthly_cap_fen,
                ).join(Programme, Programme.id == Agreement.programme_id)
            )
        ).all()
    assert rows and all(a_rate <= p_rate and a_cap <= p_cap for a_rate, a_cap, p_rate, p_cap in rows)
