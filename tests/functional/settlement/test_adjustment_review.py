"""Adjustments over the review threshold need a second staff member (issue 19), on both databases:
held as pending and counted nowhere until another staff member approves; the creator can never decide
her own, whatever other roles she holds; approving needs a recent sign-in; a month cannot close while
one of its adjustments is pending; statements and exports list every adjustment with its status; the
free-text reason is never copied into an audit event."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from backend.audit import AuditEvent
from backend.auth.models import Session
from backend.db import Database, utcnow
from backend.meals.models import CheckInStatus
from backend.people.models import Area, Programme, Role, User
from backend.settlement.adjustment_service import AdjustmentRefused, do_decide_adjustment
from backend.settlement.models import Adjustment, AdjustmentStatus, LedgerKind, LedgerLine
from backend.settlement.service import do_add_adjustment
from tests import factories, personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional import meals_support
from tests.functional.settlement_support import last_month, load_agreement, meals, this_month

SECOND_STAFF = "staff-second-wu"
REASON = "上月漏记三餐，居民家属电话确认"  # free text: must never reach the audit trail


def _m(month) -> str:  # type: ignore[no-untyped-def]
    return month.strftime("%Y-%m")


async def _second_staff(database: Database, world: World) -> int:
    """Another staff member of the demo meal programme (created with the factories)."""
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.cast.programmes["meals"].id)
        district = await db.get_one(Area, world.cast.areas["district"].id)
        user = await factories.make_user(
            db, SECOND_STAFF, role=Role.STAFF, programme=programme, area=district, name="吴敏"
        )
        return user.id


async def _adjust(
    browser: httpx.AsyncClient, pid: int, agreement_id: int, month, amount: str
) -> httpx.Response:  # type: ignore[no-untyped-def]
    data = {
        "_csrf_token": await csrf_token(browser),
        "agreement_id": str(agreement_id),
        "month": _m(month),
        "amount_yuan": amount,
        "reason": REASON,
    }
    return await browser.post(f"/settlement/{pid}/adjustments", data=data)


async def _decide(
    browser: httpx.AsyncClient, pid: int, adjustment_id: int, decision: str, month
) -> httpx.Response:  # type: ignore[no-untyped-def]
    data = {
        "_csrf_token": await csrf_token(browser),
        "adjustment_id": str(adjustment_id),
        "decision": decision,
        "month": _m(month),
    }
    return await browser.post(f"/settlement/{pid}/adjustments/decide", data=data)


async def _adjustments(database: Database) -> list[Adjustment]:
    async with database.transaction(read_only=True) as db:
        return list(await db.scalars(select(Adjustment).order_by(Adjustment.id)))


async def _adjustment_lines(database: Database) -> list[tuple[int, int]]:
    async with database.transaction(read_only=True) as db:
        rows = await db.execute(
            select(LedgerLine.agreement_id, LedgerLine.amount_fen)
            .where(LedgerLine.kind == LedgerKind.ADJUSTMENT)
            .order_by(LedgerLine.id)
        )
        return [(a, f) for a, f in rows]


async def test_an_adjustment_over_the_threshold_counts_only_after_a_second_staff_member_approves_it(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    pid = agreement.programme_id
    wu_id = await _second_staff(database, world)
    zhou, wu = await client_as(personas.STAFF), await client_as(SECOND_STAFF)
    # 200 yuan: over the default threshold of 150 yuan.
    assert (await _adjust(zhou, pid, agreement.id, this_month(), "200")).status_code == 303
    (held,) = await _adjustments(database)
    assert held.status is AdjustmentStatus.PENDING and held.amount_fen == 20000
    assert await _adjustment_lines(database) == []
    page = await zhou.get(f"/settlement/{pid}", params={"month": _m(this_month())})
    assert "pending-adjustments" in page.text and "待批准" in page.text
    assert f'id="decide-{held.id}"' not in page.text  # not offered to the person who entered it
    statement = await wu.get(f"/settlement/{pid}/statement", params={"month": _m(this_month())})
    assert "200.00" in statement.text and "待批准，不计入" in statement.text
    page = await wu.get(f"/settlement/{pid}", params={"month": _m(this_month())})
    assert f'id="decide-{held.id}"' in page.text
    assert (await _decide(wu, pid, held.id, "approve", this_month())).status_code == 303
    (decided,) = await _adjustments(database)
    assert decided.status is AdjustmentStatus.APPROVED and decided.decided_by_id == wu_id
    assert await _adjustment_lines(database) == [(agreement.id, 20000)]
    statement = await wu.get(f"/settlement/{pid}/statement", params={"month": _m(this_month())})
    assert "已计入" in statement.text and "待批准，不计入" not in statement.text
    # Deciding twice changes nothing.
    again = await _decide(wu, pid, held.id, "refuse", this_month())
    assert again.status_code == 409 and await _adjustment_lines(database) == [(agreement.id, 20000)]


async def test_an_adjustment_at_the_threshold_counts_at_once(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    zhou = await client_as(personas.STAFF)
    assert (
        await _adjust(zhou, agreement.programme_id, agreement.id, this_month(), "-150")
    ).status_code == 303
    assert await _adjustments(database) == []
    assert await _adjustment_lines(database) == [(agreement.id, -15000)]


async def test_the_creator_cannot_approve_her_own_adjustment_even_holding_another_membership(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    pid = agreement.programme_id
    staff_id = world.user_id(personas.STAFF)
    async with database.transaction() as db:
        # The same person also a social worker of the programme: still one person.
        programme = await db.get_one(Programme, pid)
        street = await db.get_one(Area, world.cast.areas["wutong"].id)
        from backend.people.service import do_add_membership

        await do_add_membership(
            db,
            user=await db.get_one(User, staff_id),
            programme=programme,
            area=street,
            role=Role.SOCIAL_WORKER,
            actor=None,
        )
    zhou = await client_as(personas.STAFF)
    assert (await _adjust(zhou, pid, agreement.id, this_month(), "-300")).status_code == 303
    (held,) = await _adjustments(database)
    for decision in ("approve", "refuse"):
        refused = await _decide(zhou, pid, held.id, decision, this_month())
        assert refused.status_code == 409 and "另一位" in refused.text
    # The service refuses too, and the database as a last line.
    async with database.transaction() as db:
        with pytest.raises(AdjustmentRefused):
            await do_decide_adjustment(
                db,
                await db.get_one(Adjustment, held.id),
                approve=True,
                actor=await db.get_one(User, staff_id),
            )
    with pytest.raises(DBAPIError):
        async with database.transaction() as db:
            await db.execute(
                text(
                    "UPDATE settlement_adjustment SET status = 'approved', decided_by_id = created_by_id,"
                    " decided_at = CURRENT_TIMESTAMP WHERE id = :id"
                ),
                {"id": held.id},
            )
    (still,) = await _adjustments(database)
    assert still.status is AdjustmentStatus.PENDING and await _adjustment_lines(database) == []


async def test_approving_an_adjustment_needs_a_recent_sign_in(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    pid = agreement.programme_id
    wu_id = await _second_staff(database, world)
    zhou, wu = await client_as(personas.STAFF), await client_as(SECOND_STAFF)
    assert (await _adjust(zhou, pid, agreement.id, this_month(), "500")).status_code == 303
    (held,) = await _adjustments(database)
    async with database.transaction() as db:
        await db.execute(
            update(Session)
            .where(Session.user_id == wu_id)
            .values(verified_at=utcnow() - timedelta(minutes=16))
        )
    answer = await _decide(wu, pid, held.id, "approve", this_month())
    assert answer.status_code == 303 and answer.headers["location"].startswith("/account/confirm")
    (still,) = await _adjustments(database)
    assert still.status is AdjustmentStatus.PENDING and await _adjustment_lines(database) == []


async def test_a_month_cannot_close_while_an_adjustment_in_it_is_pending(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    pid = agreement.programme_id
    await meals(
        database,
        agreement,
        last_month(),
        [CheckInStatus.APPROVED],
        reviewer_id=world.user_id(personas.SOCIAL_WORKER),
    )
    await _second_staff(database, world)
    zhou, wu = await client_as(personas.STAFF), await client_as(SECOND_STAFF)
    assert (await _adjust(zhou, pid, agreement.id, last_month(), "160")).status_code == 303
    (held,) = await _adjustments(database)
    close = {"_csrf_token": await csrf_token(wu), "month": _m(last_month()), "confirm": "yes"}
    # The page says so before anyone tries: no close form while one is pending.
    page = await wu.get(f"/settlement/{pid}", params={"month": _m(last_month())})
    assert 'id="close-pending-adjustments"' in page.text and 'id="close-form"' not in page.text
    refused = await wu.post(f"/settlement/{pid}/close", data=close)
    assert refused.status_code == 409 and "等待另一位工作人员" in refused.text
    # Refused, it never counts, and the month closes with the meal only; the statement still lists it.
    assert (await _decide(wu, pid, held.id, "refuse", last_month())).status_code == 303
    closed = await wu.post(f"/settlement/{pid}/close", data=close)
    assert closed.status_code == 303
    assert await _adjustment_lines(database) == []
    export = await wu.get(f"/settlement/{pid}/statement.csv", params={"month": _m(last_month())})
    rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    held_rows = [r for r in rows if r and "不计入" in r[0]]
    assert len(held_rows) == 1 and held_rows[0][10] == "16000" and held_rows[0][12] == REASON


async def test_an_adjustment_of_another_programme_cannot_be_decided_through_this_one(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    await _second_staff(database, world)
    zhou, wu = await client_as(personas.STAFF), await client_as(SECOND_STAFF)
    assert (await _adjust(zhou, agreement.programme_id, agreement.id, this_month(), "300")).status_code == 303
    (held,) = await _adjustments(database)
    # The outsider's programme: not one of wu's (404), and the adjustment is not of it either.
    assert (
        await _decide(wu, world.outsider_programme_id, held.id, "approve", this_month())
    ).status_code == 404
    outsider = await client_as(personas.OUTSIDER)
    answer = await _decide(outsider, agreement.programme_id, held.id, "approve", this_month())
    assert answer.status_code == 404
    assert (await _adjustments(database))[0].status is AdjustmentStatus.PENDING


async def test_adjustment_reasons_are_not_copied_into_audit_events(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    pid = agreement.programme_id
    await _second_staff(database, world)
    zhou, wu = await client_as(personas.STAFF), await client_as(SECOND_STAFF)
    assert (await _adjust(zhou, pid, agreement.id, this_month(), "20")).status_code == 303  # at once
    assert (await _adjust(zhou, pid, agreement.id, this_month(), "400")).status_code == 303  # held
    held = (await _adjustments(database))[0]
    assert (await _decide(wu, pid, held.id, "approve", this_month())).status_code == 303
    async with database.transaction(read_only=True) as db:
        events = list(
            await db.scalars(select(AuditEvent).where(AuditEvent.action.like("settlement.adjustment%")))
        )
    assert sorted(e.action for e in events) == [
        "settlement.adjustment_added",
        "settlement.adjustment_approved",
        "settlement.adjustment_requested",
    ]
    for event in events:
        assert "reason" not in event.change and REASON not in str(event.change)
        assert event.change["amount_fen"] in (2000, 40000)


async def test_a_service_caller_without_a_threshold_is_reviewed_at_the_default(
    world: World, database: Database
) -> None:
    agreement = await load_agreement(
        database, (await meals_support.agreement_of(database, world.person_id("qian"))).id
    )
    async with database.transaction() as db:
        staff = await db.get_one(User, world.user_id(personas.STAFF))
        held = await do_add_adjustment(
            db, agreement, this_month(), amount_fen=15001, reason=REASON, actor=staff
        )
        at_once = await do_add_adjustment(
            db, agreement, this_month(), amount_fen=15000, reason=REASON, actor=staff
        )
    assert isinstance(held, Adjustment) and held.status is AdjustmentStatus.PENDING
    assert isinstance(at_once, LedgerLine)
