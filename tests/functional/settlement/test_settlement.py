"""Settlement rules on both databases: only approved meals are paid, capped; a closed month never
changes (service and database); the ledger is append-only; closing twice at once gives one result."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from backend.clock import add_months
from backend.db import Database
from backend.meals.checkin_service import CheckInRefused
from backend.meals.models import CheckInStatus
from backend.meals.queries import month_amounts
from backend.people.models import Programme, User
from backend.settlement.models import LedgerKind, LedgerLine, SettlementPeriod
from backend.settlement.service import SettlementRefused, do_add_adjustment
from backend.settlement.statements import month_summary
from tests import personas
from tests.conftest import World
from tests.functional import meals_support
from tests.functional.settlement_support import (
    close,
    last_month,
    load_agreement,
    meals,
    small_cap_agreement,
    this_month,
)

# A copy of a check-in into another day, straight into the table (past the service).
COPY_CHECKIN = (
    "INSERT INTO meal_checkin (client_uuid, agreement_id, programme_id, resident_id, neighbour_id,"
    " day, slot, dishes, planned_dishes, content_sha256, submitted_at, status, created_at)"
    " SELECT :u, agreement_id, programme_id, resident_id, neighbour_id, :d, slot, dishes,"
    " planned_dishes, content_sha256, submitted_at, 'pending', created_at FROM meal_checkin WHERE id = :id"
)
A, R, N, P = CheckInStatus.APPROVED, CheckInStatus.REJECTED, CheckInStatus.NEEDS_FIX, CheckInStatus.PENDING


async def _summary(database: Database, programme_id: int, month=None):  # type: ignore[no-untyped-def]
    async with database.transaction(read_only=True) as db:
        programme = await db.get_one(Programme, programme_id)
        return await month_summary(db, programme, month or last_month())


async def _ledger(database: Database) -> list[tuple[int, int | None, int]]:
    """(agreement, meals, fen) of every ledger line, in the order written."""
    async with database.transaction(read_only=True) as db:
        rows = await db.execute(
            select(LedgerLine.agreement_id, LedgerLine.meal_count, LedgerLine.amount_fen).order_by(
                LedgerLine.id
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_only_approved_meals_are_paid(world: World, database: Database) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    reviewer = world.user_id(personas.SOCIAL_WORKER)
    made = await meals(database, agreement, last_month(), [A, R, N, A], reviewer_id=reviewer)
    summary = await _summary(database, agreement.programme_id)
    (statement,) = [s for s in summary.agreements if s.agreement.id == agreement.id]
    assert [m.checkin_id for m in statement.meals] == [made[0].id, made[3].id]
    assert statement.total_fen == 3000 and not summary.closed
    closing = await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    assert (closing.meals, closing.total_fen) == (2, 3000)
    # One line for the agreement's month; the closed statement lists the same meals, recomputed.
    assert await _ledger(database) == [(agreement.id, 2, 3000)]
    after = await _summary(database, agreement.programme_id)
    assert after.closed and after.total_fen == 3000
    (closed,) = [s for s in after.agreements if s.agreement.id == agreement.id]
    assert [m.checkin_id for m in closed.meals] == [made[0].id, made[3].id]
    assert closed.ledger == (2, 3000) and not closed.ledger_mismatch and not after.mismatches
    assert (
        after.period is not None and after.period.audit_head_hash and len(after.period.audit_head_hash) == 64
    )


async def test_the_meal_that_crosses_the_cap_is_paid_the_remainder_and_later_ones_nothing(
    world: World, database: Database
) -> None:
    agreement = await small_cap_agreement(database, world, rate=1500, cap=4000)
    made = await meals(
        database, agreement, last_month(), [A, A, A, A], reviewer_id=world.user_id(personas.SOCIAL_WORKER)
    )
    summary = await _summary(database, agreement.programme_id)
    (statement,) = [s for s in summary.agreements if s.agreement.id == agreement.id]
    assert [m.amount_fen for m in statement.meals] == [1500, 1500, 1000, 0]
    assert [m.checkin_id for m in statement.meals] == [c.id for c in made]
    async with database.transaction(read_only=True) as db:
        # The neighbour's history uses the same rule.
        assert await month_amounts(db, [agreement.id], last_month()) == {agreement.id: (4, 4000)}
    await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    assert await _ledger(database) == [(agreement.id, 4, 4000)]
    closed = await _summary(database, agreement.programme_id)
    (statement,) = [s for s in closed.agreements if s.agreement.id == agreement.id]
    assert [m.amount_fen for m in statement.meals] == [1500, 1500, 1000, 0]
    assert statement.ledger == (4, 4000) and not statement.ledger_mismatch


async def test_closing_is_refused_while_meals_wait_for_review_and_writes_nothing(
    world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    await meals(
        database, agreement, last_month(), [A, P, P], reviewer_id=world.user_id(personas.SOCIAL_WORKER)
    )
    with pytest.raises(SettlementRefused) as refused:
        await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    assert "2" in str(refused.value.detail)
    assert await _ledger(database) == []
    assert not (await _summary(database, agreement.programme_id)).closed


async def test_the_current_month_cannot_be_closed(world: World, database: Database) -> None:
    with pytest.raises(SettlementRefused):
        await close(database, world.cast.programmes["meals"].id, this_month(), world.user_id(personas.STAFF))


async def test_a_closed_month_refuses_every_write_in_the_service_and_the_database(
    world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    reviewer = world.user_id(personas.SOCIAL_WORKER)
    made = await meals(database, agreement, last_month(), [A, R], reviewer_id=reviewer)
    await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    staff_id = world.user_id(personas.STAFF)
    # Service: a new check-in, a second closing, an adjustment into the closed month.
    with pytest.raises(CheckInRefused):
        await meals_support.make_checkin(database, agreement, last_month() + timedelta(days=5), seed=90)
    with pytest.raises(SettlementRefused):
        await close(database, agreement.programme_id, last_month(), staff_id)
    loaded = await load_agreement(database, agreement.id)
    async with database.transaction() as db:
        staff = await db.get_one(User, staff_id)
        with pytest.raises(SettlementRefused):
            await do_add_adjustment(db, loaded, last_month(), amount_fen=-1500, reason="重复", actor=staff)
    # Database: review, move, delete, insert a check-in; insert a ledger line; reopen the period.
    statements = [
        ("UPDATE meal_checkin SET status = 'approved' WHERE id = :id", {"id": made[1].id}),
        ("UPDATE meal_checkin SET day = :d WHERE id = :id", {"id": made[0].id, "d": this_month()}),
        ("DELETE FROM meal_checkin WHERE id = :id", {"id": made[1].id}),
        (
            COPY_CHECKIN,
            {"id": made[0].id, "d": last_month() + timedelta(days=9), "u": uuid.uuid4().hex},
        ),
        (
            "INSERT INTO settlement_ledger_line (programme_id, month, agreement_id, kind, amount_fen, reason,"
            " created_at) VALUES (:p, :m, :a, 'adjustment', 100, 'x', CURRENT_TIMESTAMP)",
            {"p": agreement.programme_id, "m": last_month(), "a": agreement.id},
        ),
        ("UPDATE settlement_period SET closed_at = NULL WHERE month = :m", {"m": last_month()}),
        ("DELETE FROM settlement_period WHERE month = :m", {"m": last_month()}),
    ]
    for sql, params in statements:
        with pytest.raises(DBAPIError):
            async with database.transaction() as db:
                await db.execute(text(sql), params)
    assert len(await _ledger(database)) == 1


async def test_a_correction_after_closing_is_an_adjustment_in_a_later_open_month(
    world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    await meals(database, agreement, last_month(), [A, A], reviewer_id=world.user_id(personas.SOCIAL_WORKER))
    await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    loaded = await load_agreement(database, agreement.id)
    async with database.transaction() as db:
        staff = await db.get_one(User, world.user_id(personas.STAFF))
        for amount, errors in ((0, "amount"), (1500, "reason")):
            with pytest.raises(SettlementRefused):
                await do_add_adjustment(
                    db,
                    loaded,
                    this_month(),
                    amount_fen=amount,
                    reason="" if errors == "reason" else "x",
                    actor=staff,
                )
        line = await do_add_adjustment(
            db, loaded, this_month(), amount_fen=-1500, reason="上月一餐重复", actor=staff
        )
        assert line.kind is LedgerKind.ADJUSTMENT
    summary = await _summary(database, agreement.programme_id, this_month())
    (statement,) = [s for s in summary.agreements if s.agreement.id == agreement.id]
    assert statement.adjustments_fen == -1500 and statement.total_fen == -1500
    assert (
        await _summary(database, agreement.programme_id)
    ).total_fen == 3000  # the closed month is untouched


async def test_ledger_lines_cannot_be_updated_or_deleted(world: World, database: Database) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    await meals(database, agreement, last_month(), [A], reviewer_id=world.user_id(personas.SOCIAL_WORKER))
    await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    for sql in (
        "UPDATE settlement_ledger_line SET amount_fen = 999999",
        "DELETE FROM settlement_ledger_line",
    ):
        with pytest.raises(DBAPIError):
            async with database.transaction() as db:
                await db.execute(text(sql))
    assert await _ledger(database) == [(agreement.id, 1, 1500)]


async def test_a_second_meal_line_for_an_agreement_and_month_is_refused_by_the_database(
    world: World, database: Database
) -> None:
    # One meal line per agreement and month (a partial unique index); adjustments are not limited.
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    line = (
        "INSERT INTO settlement_ledger_line (programme_id, month, agreement_id, kind, meal_count, amount_fen,"
        " reason, created_at) VALUES (:p, :m, :a, :k, :n, :f, :r, CURRENT_TIMESTAMP)"
    )
    meal = {"p": agreement.programme_id, "m": this_month(), "a": agreement.id, "k": "meal", "n": 2}
    async with database.transaction() as db:
        await db.execute(text(line), meal | {"f": 3000, "r": None})
        for _ in range(2):
            await db.execute(text(line), meal | {"k": "adjustment", "n": None, "f": 100, "r": "x"})
    for bad in (
        meal | {"f": 1500, "r": None},  # a second meal line
        meal | {"m": add_months(this_month(), 1), "n": 0, "f": 0, "r": None},  # no meal counted
        meal | {"m": add_months(this_month(), 1), "f": 3000, "r": "x"},  # a meal line with a reason
        meal | {"k": "adjustment", "f": 100, "r": "x"},  # an adjustment with a meal count
    ):
        with pytest.raises(DBAPIError):
            async with database.transaction() as db:
                await db.execute(text(line), bad)
    assert await _ledger(database) == [
        (agreement.id, 2, 3000),
        (agreement.id, None, 100),
        (agreement.id, None, 100),
    ]


async def test_closing_twice_at_once_gives_one_result(world: World, database: Database) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    await meals(
        database, agreement, last_month(), [A, A, A, R], reviewer_id=world.user_id(personas.SOCIAL_WORKER)
    )
    drafts = await asyncio.gather(*[_summary(database, agreement.programme_id) for _ in range(3)])
    assert {d.total_fen for d in drafts} == {4500}
    staff = world.user_id(personas.STAFF)
    results = await asyncio.gather(
        *[close(database, agreement.programme_id, last_month(), staff) for _ in range(3)],
        return_exceptions=True,
    )
    closings = [r for r in results if not isinstance(r, BaseException)]
    assert len(closings) == 1 and closings[0].total_fen == 4500
    assert all(isinstance(r, SettlementRefused) for r in results if isinstance(r, BaseException))
    assert await _ledger(database) == [(agreement.id, 3, 4500)]
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count(SettlementPeriod.id))) >= 1
    assert (await _summary(database, agreement.programme_id)).total_fen == 4500


async def test_a_check_in_sent_while_the_month_closes_waits_and_is_refused(
    world: World, database: Database
) -> None:
    """The race: closing holds the period row; a check-in into that month (through the service, and
    straight into the table past it) waits for the closing to commit and is then refused."""
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    made = await meals(
        database, agreement, last_month(), [A], reviewer_id=world.user_id(personas.SOCIAL_WORKER)
    )
    photo = await meals_support.stored_photo(
        database, uploader_id=agreement.neighbour_id, person_id=agreement.resident_id, seed=77
    )
    locked = asyncio.Event()  # the closing holds the period, its transaction still open
    commit_started = 0.0  # when the closing began to commit (0 until then)

    async def closing() -> None:
        from backend.settlement.service import do_close_month

        nonlocal commit_started
        async with database.transaction() as db:
            programme = await db.get_one(Programme, agreement.programme_id)
            await do_close_month(
                db, programme, last_month(), actor=await db.get_one(User, world.user_id(personas.STAFF))
            )
            locked.set()
            await asyncio.sleep(0.5)  # the check-ins below start while this is not yet committed
            commit_started = time.monotonic()

    def refused_after_the_commit_began() -> bool:
        # Not "after closing() returned": once the commit frees the period, asyncio may run the
        # refused check-in before the closing coroutine resumes. Before the commit nothing can refuse it.
        return 0 < commit_started <= time.monotonic()

    async def check_in() -> BaseException | None:
        await locked.wait()
        try:
            await meals_support.make_checkin(
                database, agreement, last_month() + timedelta(days=3), seed=5, photo=photo
            )
        except CheckInRefused as exc:
            assert refused_after_the_commit_began()
            return exc
        return None

    async def raw_insert() -> BaseException | None:
        await locked.wait()
        try:
            async with database.transaction() as db:
                await db.execute(
                    text(COPY_CHECKIN),
                    {"id": made[0].id, "d": last_month() + timedelta(days=6), "u": uuid.uuid4().hex},
                )
        except DBAPIError as exc:
            assert refused_after_the_commit_began()
            return exc
        return None

    _, by_service, by_table = await asyncio.gather(closing(), check_in(), raw_insert())
    assert isinstance(by_service, CheckInRefused)
    assert isinstance(by_table, DBAPIError)
    summary = await _summary(database, agreement.programme_id)
    assert summary.closed and summary.approved_meals == 1 and summary.pending == 0


async def test_a_closing_that_comes_second_sees_the_check_in_and_refuses(
    world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    await meals(database, agreement, last_month(), [A], reviewer_id=world.user_id(personas.SOCIAL_WORKER))
    photo = await meals_support.stored_photo(
        database, uploader_id=agreement.neighbour_id, person_id=agreement.resident_id, seed=78
    )

    async def check_in_held_open() -> None:
        from sqlalchemy.orm import selectinload

        from backend.meals.checkin_service import CheckInDraft, do_check_in
        from backend.meals.models import Agreement, MealSlot

        async with database.transaction() as db:
            loaded = await db.scalar(
                select(Agreement)
                .where(Agreement.id == agreement.id)
                .options(selectinload(Agreement.programme))
            )
            assert loaded is not None
            day = last_month() + timedelta(days=4)
            draft = CheckInDraft(agreement.id, MealSlot.LUNCH, day, ("米饭",), (photo.client_uuid,))
            await do_check_in(
                db,
                loaded,
                draft,
                [photo],
                client_uuid=uuid.uuid4(),
                actor=await db.get_one(User, agreement.neighbour_id),
                now=meals_support.at(day, 12, 30),
            )
            await asyncio.sleep(0.5)

    async def closing_second() -> BaseException | None:
        await asyncio.sleep(0.15)
        try:
            await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
        except SettlementRefused as exc:
            return exc
        return None

    _, refused = await asyncio.gather(check_in_held_open(), closing_second())
    assert isinstance(refused, SettlementRefused)
    assert not (await _summary(database, agreement.programme_id)).closed


async def test_a_fix_sent_into_a_closed_month_is_refused_and_changes_nothing(
    world: World, database: Database
) -> None:
    from backend.meals.checkin_service import CheckInDraft, do_check_in
    from backend.meals.models import CheckIn, MealSlot

    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    made = await meals(
        database, agreement, last_month(), [A, N], reviewer_id=world.user_id(personas.SOCIAL_WORKER)
    )
    await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    photo = await meals_support.stored_photo(
        database, uploader_id=agreement.neighbour_id, person_id=agreement.resident_id, seed=81
    )
    loaded = await load_agreement(database, agreement.id)

    async def send_fix() -> None:
        async with database.transaction() as db:
            old = await db.get_one(CheckIn, made[1].id)
            draft = CheckInDraft(agreement.id, MealSlot.LUNCH, old.day, ("米饭",), (photo.client_uuid,))
            await do_check_in(
                db,
                await db.merge(loaded),
                draft,
                [photo],
                client_uuid=uuid.uuid4(),
                actor=await db.get_one(User, agreement.neighbour_id),
                replaces=old,
            )

    with pytest.raises(CheckInRefused) as refused:
        await send_fix()
    assert refused.value.status_code == 409
    async with database.transaction(read_only=True) as db:
        old = await db.get_one(CheckIn, made[1].id)
        assert old.superseded_at is None and old.status is N
