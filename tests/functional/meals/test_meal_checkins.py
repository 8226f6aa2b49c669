"""Checking in a meal: the plain form, every rule, and the flags stored for the reviewer."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import TextClause

from backend.audit import AuditEvent
from backend.clock import end_of_day
from backend.db import Database
from backend.meals.checkin_service import CheckInRefused
from backend.meals.demo import WEEKLY_MENUS
from backend.meals.flags import LATE_GRACE
from backend.meals.menus import do_save_menu
from backend.meals.models import Agreement, CheckIn, CheckInStatus, FlagCode, MealSlot, Signatory
from backend.meals.service import (
    do_confirm_as_neighbour,
    do_create_agreement,
    do_end_agreement,
    do_record_resident_confirmation,
)
from backend.people.models import Area, Person, Programme, User
from tests import factories, personas
from tests.conftest import ClientAs, World
from tests.functional.meals_support import (
    agreement_of,
    at,
    checkin_count,
    close_month,
    form_checkin,
    make_checkin,
    meal_jpeg,
    shanghai_today,
    stored_photo,
)


async def _flags(database: Database, checkin_id: int) -> dict[FlagCode, dict[str, object]]:
    async with database.transaction(read_only=True) as db:
        checkin = await db.scalar(
            select(CheckIn).where(CheckIn.id == checkin_id).options(selectinload(CheckIn.flags))
        )
    assert checkin is not None
    return {f.code: f.detail for f in checkin.flags}


async def _execute(database: Database, *statements: tuple[TextClause, dict[str, object]]) -> None:
    async with database.transaction() as db:
        for statement, params in statements:
            await db.execute(statement, params)


async def test_neighbour_checks_in_todays_lunch_with_the_plain_form_and_it_waits_for_review(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    home = await neighbour.get("/")
    assert f'href="/meals/agreements/{agreement.id}/checkin?slot=lunch"' in home.text
    page = await neighbour.get(f"/meals/agreements/{agreement.id}/checkin?slot=lunch")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and 'capture="environment"' in page.text
    assert 'id="checkin-form"' in page.text and 'name="_csrf_token"' in page.text
    # The menu's dishes for today come ticked, as chips.
    assert re.search(r'<input type="checkbox" name="dish" value="[^"]+" checked>', page.text)

    sent = await form_checkin(
        neighbour,
        agreement.id,
        meal_jpeg(1, at(shanghai_today(), 11, 50)),
        dishes=["米饭"],
        extra="红烧肉、 青菜 ",
    )
    assert sent.status_code == 303
    assert re.fullmatch(r"/meals/history\?month=\d{4}-\d{2}&sent=\d+#checkin-\d+", sent.headers["location"])
    async with database.transaction(read_only=True) as db:
        checkin = await db.scalar(select(CheckIn).options(selectinload(CheckIn.photo_links)))
        assert checkin is not None
        event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "meal_checkin.submitted"))
    assert checkin.status is CheckInStatus.PENDING and checkin.reason is None and checkin.note is None
    assert checkin.dishes == ["米饭", "红烧肉", "青菜"] and checkin.day == shanghai_today()
    assert len(checkin.photo_links) == 1
    assert event is not None and event.actor_id == world.user_id(personas.NEIGHBOUR)
    assert event.subject_id == str(checkin.id) and event.change["slot"] == "lunch"

    history = await neighbour.get(sent.headers["location"])
    assert "已发送，社工会进行审核。" in history.text and "等待审核" in history.text
    home = await neighbour.get("/")
    assert "已打卡 · 等待审核" in home.text


async def test_the_same_form_sent_twice_stores_one_meal_and_one_photo(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    form_uuid = str(uuid.uuid4())
    photo = meal_jpeg(2, at(shanghai_today(), 12, 0))
    first = await form_checkin(neighbour, agreement.id, photo, client_uuid=form_uuid)
    second = await form_checkin(neighbour, agreement.id, photo, client_uuid=form_uuid)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert await checkin_count(database) == 1
    async with database.transaction(read_only=True) as db:
        photos = await db.scalar(text("SELECT count(*) FROM photo"))
    assert photos == 1


async def test_a_second_check_in_for_the_same_meal_is_refused_in_chinese(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    assert (await form_checkin(neighbour, agreement.id, meal_jpeg(3))).status_code == 303
    again = await form_checkin(neighbour, agreement.id, meal_jpeg(4))
    assert again.status_code == 409
    assert "这一餐已经打过卡了。" in again.text
    assert await checkin_count(database) == 1


@pytest.mark.parametrize(
    ("days_from_today", "slot", "message", "status"),
    [
        (1, "lunch", "还没到这一天，不能提前打卡。", 422),
        (-70, "lunch", "这一天不在协议的有效日期内。", 422),  # before the 1st of last month, on any day
        (0, "dinner", "这份协议不包括这一餐。", 422),
    ],
    ids=["future-day", "before-the-agreement", "meal-not-in-the-agreement"],
)
async def test_a_meal_the_rules_refuse_is_not_stored(
    client_as: ClientAs,
    world: World,
    database: Database,
    days_from_today: int,
    slot: str,
    message: str,
    status: int,
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    day = shanghai_today() + timedelta(days=days_from_today)
    response = await form_checkin(neighbour, agreement.id, meal_jpeg(5), day=day, slot=slot)
    assert response.status_code == status
    assert message in response.text and 'role="alert"' in response.text
    assert await checkin_count(database) == 0
    async with database.transaction(read_only=True) as db:
        # Refused before the photo was received: no photo stored for nothing.
        assert await db.scalar(text("SELECT count(*) FROM photo")) == 0


async def test_a_day_after_the_agreement_ended_is_refused(world: World, database: Database) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    yesterday = shanghai_today() - timedelta(days=1)
    async with database.transaction() as db:
        loaded = await db.get_one(Agreement, agreement.id)
        worker = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
        await do_end_agreement(db, loaded, ends_on=yesterday - timedelta(days=1), actor=worker)
    with pytest.raises(CheckInRefused) as refused:
        await make_checkin(database, agreement, yesterday, seed=6)
    assert refused.value.field == "day" and refused.value.status_code == 422
    # A day still inside the ended agreement may be checked in (late), and is.
    checkin = await make_checkin(database, agreement, yesterday - timedelta(days=1), seed=7)
    assert checkin.id is not None


async def test_an_agreement_not_yet_confirmed_takes_no_check_ins(world: World, database: Database) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    async with database.transaction() as db:
        await db.execute(
            update(Agreement)
            .where(Agreement.id == agreement.id)
            .values(resident_confirmed_at=None, resident_signatory=None)
        )
    with pytest.raises(CheckInRefused, match="三方全部确认"):
        await make_checkin(database, agreement, shanghai_today(), seed=8)


async def test_a_closed_month_is_refused_by_the_service(world: World, database: Database) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    day = shanghai_today().replace(day=1)
    await close_month(database, agreement.programme_id, day)
    with pytest.raises(CheckInRefused) as refused:
        await make_checkin(database, agreement, day, seed=9)
    assert refused.value.status_code == 409
    assert await checkin_count(database) == 0


async def test_a_closed_month_is_refused_by_the_database_too(world: World, database: Database) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    yesterday = shanghai_today() - timedelta(days=1)
    checkin = await make_checkin(database, agreement, yesterday, seed=10)
    await close_month(database, agreement.programme_id, yesterday)

    def row(day: object, key: str) -> dict[str, object]:
        return {
            "uuid": uuid.uuid4().hex if database.engine.dialect.name == "sqlite" else str(uuid.uuid4()),
            "a": agreement.id,
            "p": agreement.programme_id,
            "r": agreement.resident_id,
            "n": agreement.neighbour_id,
            "day": day,
            "key": key,
        }

    insert = text(
        "INSERT INTO meal_checkin (client_uuid, agreement_id, programme_id, resident_id, neighbour_id,"
        " day, slot, dishes, planned_dishes, content_sha256, submitted_at, status, created_at)"
        " VALUES (:uuid, :a, :p, :r, :n, :day, 'dinner', '[]', '[]', :key, CURRENT_TIMESTAMP, 'pending',"
        " CURRENT_TIMESTAMP)"
    )
    day_value = yesterday if database.engine.dialect.name == "postgresql" else yesterday.isoformat()
    statements = [
        (insert, row(day_value, "x" * 64)),
        (text("UPDATE meal_checkin SET status = 'approved' WHERE id = :id"), {"id": checkin.id}),
    ]
    for statement, params in statements:
        with pytest.raises(IntegrityError, match="closed"):
            await _execute(database, (statement, params))
    # Deleting the closed month's meal is refused as well (its photo links go first, as the FKs ask).
    with pytest.raises(IntegrityError, match="closed"):
        await _execute(
            database,
            (text("DELETE FROM meal_checkin_photo WHERE checkin_id = :id"), {"id": checkin.id}),
            (text("DELETE FROM meal_checkin WHERE id = :id"), {"id": checkin.id}),
        )
    async with database.transaction(read_only=True) as db:
        status = await db.scalar(select(CheckIn.status).where(CheckIn.id == checkin.id))
    assert status is CheckInStatus.PENDING and await checkin_count(database) == 1


async def test_a_check_in_after_the_day_and_its_grace_is_accepted_and_flagged_late(
    world: World, database: Database
) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    day = shanghai_today() - timedelta(days=2)
    day_end = end_of_day(agreement.programme, day)
    in_time = await make_checkin(
        database, agreement, day, seed=11, now=day_end + LATE_GRACE - timedelta(minutes=1)
    )
    assert FlagCode.LATE not in await _flags(database, in_time.id)
    next_day = day + timedelta(days=1)
    late = await make_checkin(
        database,
        agreement,
        next_day,
        seed=13,
        now=end_of_day(agreement.programme, next_day) + LATE_GRACE + timedelta(minutes=1),
    )
    flags = await _flags(database, late.id)
    assert flags[FlagCode.LATE]["hours_after_day"] == 12.0


async def test_a_clean_check_in_carries_no_flag(world: World, database: Database) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    day = shanghai_today()
    # The day's own menu: a clean check-in sends what was planned, whichever weekday the clock says.
    dishes = WEEKLY_MENUS[personas.NEIGHBOUR][day.weekday()]
    checkin = await make_checkin(
        database, agreement, day, seed=14, captured_at=at(day, 11, 40), now=at(day, 12, 5), dishes=dishes
    )
    assert await _flags(database, checkin.id) == {}


async def test_photo_capture_time_missing_or_three_hours_off_is_flagged(
    world: World, database: Database
) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    yesterday = shanghai_today() - timedelta(days=1)
    no_time = await stored_photo(
        database,
        uploader_id=agreement.neighbour_id,
        person_id=agreement.resident_id,
        seed=15,
        captured_at=None,
    )
    first = await make_checkin(database, agreement, yesterday, seed=15, photo=no_time)
    assert FlagCode.CAPTURE_TIME_MISSING in await _flags(database, first.id)
    day_before = yesterday - timedelta(days=1)
    early = await make_checkin(database, agreement, day_before, seed=16, captured_at=at(day_before, 8, 30))
    flags = await _flags(database, early.id)
    assert flags[FlagCode.CAPTURE_TIME_FAR]["photos"] == [
        {"photo_id": early_photo_id(flags), "hours_off": -3.5}
    ]
    within = await make_checkin(
        database,
        agreement,
        day_before - timedelta(days=1),
        seed=17,
        captured_at=at(day_before - timedelta(days=1), 9, 1),
    )
    assert FlagCode.CAPTURE_TIME_FAR not in await _flags(database, within.id)


def early_photo_id(flags: dict[FlagCode, dict[str, object]]) -> object:
    photos = flags[FlagCode.CAPTURE_TIME_FAR]["photos"]
    assert isinstance(photos, list)
    return photos[0]["photo_id"]


async def test_the_same_photo_sent_again_is_flagged_reused(world: World, database: Database) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    yesterday = shanghai_today() - timedelta(days=1)
    first = await make_checkin(
        database, agreement, yesterday - timedelta(days=1), seed=18, captured_at=at(yesterday, 12)
    )
    # The very same picture (same bytes, sent under a new photo UUID) for the next day's meal.
    second = await make_checkin(database, agreement, yesterday, seed=18, captured_at=at(yesterday, 12))
    flags = await _flags(database, second.id)
    (reused,) = flags[FlagCode.PHOTO_REUSED]["photos"]  # type: ignore[misc]
    assert reused["reuse_of_id"] == first.photo_links[0].photo_id and reused["distance"] == 0
    assert FlagCode.PHOTO_REUSED not in await _flags(database, first.id)


async def test_dishes_entirely_different_from_the_menu_are_flagged(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    day = shanghai_today() - timedelta(days=1)
    async with database.transaction() as db:
        loaded = await db.get_one(Agreement, agreement.id)
        neighbour = await db.get_one(User, agreement.neighbour_id)
        await do_save_menu(
            db,
            loaded,
            month=day.replace(day=1),
            weekdays={},
            days={(MealSlot.LUNCH, day): ("红烧肉", "米饭")},
            actor=neighbour,
        )
    off_plan = await make_checkin(database, agreement, day, seed=19, dishes=("饺子", "紫菜汤"))
    flags = await _flags(database, off_plan.id)
    assert flags[FlagCode.DISHES_OFF_PLAN] == {"planned": 2, "sent": 2}
    async with database.transaction(read_only=True) as db:
        planned = await db.scalar(select(CheckIn.planned_dishes).where(CheckIn.id == off_plan.id))
    assert planned == ["红烧肉", "米饭"]
    # One dish in common (in any letter case or width) is not "entirely different".
    partly = await make_checkin(
        database, agreement, day - timedelta(days=7), seed=20, dishes=("米饭", "饺子")
    )
    assert FlagCode.DISHES_OFF_PLAN not in await _flags(database, partly.id)


async def test_a_meal_beyond_the_monthly_cap_is_flagged(world: World, database: Database) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    async with database.transaction() as db:
        await db.execute(update(Agreement).where(Agreement.id == agreement.id).values(monthly_cap_fen=3000))
    agreement = await agreement_of(database, world.person_id("qian"))
    today = shanghai_today()
    days = [today - timedelta(days=n) for n in range(3) if (today - timedelta(days=n)).month == today.month]
    if len(days) < 3:  # early in the month: use last month's last days instead
        last = today.replace(day=1) - timedelta(days=1)
        days = [last - timedelta(days=n) for n in range(3)]
    checkins = [
        await make_checkin(database, agreement, day, seed=21 + n) for n, day in enumerate(reversed(days))
    ]
    assert FlagCode.OVER_CAP not in await _flags(database, checkins[1].id)
    flags = await _flags(database, checkins[2].id)
    assert flags[FlagCode.OVER_CAP] == {"meals": 3, "amount_fen": 4500, "cap_fen": 3000}


async def _second_agreement_for(database: Database, world: World, handle: str) -> Agreement:
    """Another resident in Guiyuan, cooked for by the same neighbour."""
    async with database.transaction() as db:
        qian = await db.get_one(Person, world.person_id("qian"))
        programme = await db.get_one(Programme, qian.programme_id)
        area = await db.get_one(Area, qian.area_id)
        resident = await factories.make_person(db, programme, area, name="第二位居民")
        neighbour = await db.get_one(User, world.user_id(handle))
        worker = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
        agreement = await do_create_agreement(
            db,
            programme=programme,
            resident=resident,
            neighbour=neighbour,
            social_worker=worker,
            starts_on=shanghai_today() - timedelta(days=30),
            actor=worker,
        )
        await do_confirm_as_neighbour(db, agreement, actor=neighbour)
        await do_record_resident_confirmation(
            db, agreement, signatory=Signatory.GUARDIAN, paper_photo=None, actor=worker
        )
    return await agreement_of(database, agreement.resident_id)


async def test_the_same_photo_on_two_agreements_is_flagged(world: World, database: Database) -> None:
    first_agreement = await agreement_of(database, world.person_id("qian"))
    second_agreement = await _second_agreement_for(database, world, personas.NEIGHBOUR)
    yesterday = shanghai_today() - timedelta(days=1)
    first = await make_checkin(database, first_agreement, yesterday, seed=30)
    second = await make_checkin(database, second_agreement, yesterday, seed=30)
    flags = await _flags(database, second.id)
    assert flags[FlagCode.PHOTO_ON_OTHER_AGREEMENT] == {"checkin_ids": [first.id]}
    assert FlagCode.PHOTO_REUSED in flags  # the pipeline saw the same bytes too


async def test_the_same_household_and_meal_on_two_agreements_is_flagged(
    world: World, database: Database
) -> None:
    old = await agreement_of(database, world.person_id("qian"))
    today = shanghai_today()
    first = await make_checkin(database, old, today, seed=31)
    async with database.transaction() as db:
        loaded = await db.get_one(Agreement, old.id)
        worker = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
        await do_end_agreement(db, loaded, ends_on=today, actor=worker)
        resident = await db.get_one(Person, old.resident_id)
        programme = await db.get_one(Programme, old.programme_id)
        other = await db.get_one(User, world.user_id(personas.OTHER_NEIGHBOUR))
        new = await do_create_agreement(
            db,
            programme=programme,
            resident=resident,
            neighbour=other,
            social_worker=worker,
            starts_on=today,
            actor=worker,
        )
        await do_confirm_as_neighbour(db, new, actor=other)
        await do_record_resident_confirmation(
            db, new, signatory=Signatory.RESIDENT, paper_photo=None, actor=worker
        )
    second = await make_checkin(database, await agreement_of(database, old.resident_id), today, seed=32)
    assert (await _flags(database, second.id))[FlagCode.SAME_HOUSEHOLD_DAY] == {"checkin_ids": [first.id]}


async def test_the_reviewer_sees_the_flags_and_the_neighbour_only_that_she_was_late(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    day = shanghai_today() - timedelta(days=3)
    checkin = await make_checkin(
        database, agreement, day, seed=33, captured_at=at(day, 6, 0), now=at(day + timedelta(days=2), 9)
    )
    worker_page = (await (await client_as(personas.SOCIAL_WORKER)).get(f"/meals/checkins/{checkin.id}")).text
    assert "拍摄时间离饭点较远" in worker_page and "补打卡" in worker_page
    own_page = (await (await client_as(personas.NEIGHBOUR)).get(f"/meals/checkins/{checkin.id}")).text
    assert "补打卡" in own_page and "拍摄时间离饭点较远" not in own_page and "供审核参考" not in own_page


async def test_status_and_amount_fields_in_the_form_are_ignored(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    sent = await form_checkin(
        neighbour,
        agreement.id,
        meal_jpeg(40),
        more={
            "status": "approved",
            "amount_fen": "99999",
            "reason": "ok",
            "note": "自己批准",
            "neighbour_id": "1",
        },
    )
    assert sent.status_code == 303
    async with database.transaction(read_only=True) as db:
        checkin = await db.scalar(select(CheckIn))
    assert checkin is not None
    assert checkin.status is CheckInStatus.PENDING and checkin.reason is None and checkin.note is None
    assert checkin.neighbour_id == world.user_id(personas.NEIGHBOUR)
    assert not hasattr(checkin, "amount_fen")


async def test_a_neighbour_cannot_check_in_with_the_form_for_a_resident_not_in_her_agreements(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    zheng = await agreement_of(database, world.person_id("zheng"))
    assert (await neighbour.get(f"/meals/agreements/{zheng.id}/checkin")).status_code == 404
    assert (await form_checkin(neighbour, zheng.id, meal_jpeg(41))).status_code == 404
    worker = await client_as(personas.SOCIAL_WORKER)
    assert (await form_checkin(worker, zheng.id, meal_jpeg(42))).status_code == 403
    assert await checkin_count(database) == 0
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(text("SELECT count(*) FROM photo")) == 0


async def test_a_form_without_a_photo_or_a_dish_says_what_is_missing(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    response = await form_checkin(neighbour, agreement.id, b"", dishes=[], extra=" 、 ")
    assert response.status_code == 400
    assert "请给饭菜拍一张照片。" in response.text and "请至少填写一道菜。" in response.text
    bad_photo = await form_checkin(neighbour, agreement.id, b"<svg onload=alert(1)>")
    assert bad_photo.status_code == 415 and 'id="photo-error"' in bad_photo.text
    assert await checkin_count(database) == 0


async def test_the_check_in_page_says_before_the_photo_when_a_meal_cannot_be_checked_in(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    await close_month(database, agreement.programme_id, shanghai_today())
    page = await (await client_as(personas.NEIGHBOUR)).get(f"/meals/agreements/{agreement.id}/checkin")
    assert page.status_code == 200
    assert "这个月已经结算关账，不能再添加记录。" in page.text and 'role="alert"' in page.text


async def test_the_same_form_sent_six_times_at_once_stores_one_meal(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    form_uuid = str(uuid.uuid4())
    photo = meal_jpeg(43, at(shanghai_today(), 11, 50))
    responses = await asyncio.gather(
        *[form_checkin(neighbour, agreement.id, photo, client_uuid=form_uuid) for _ in range(6)]
    )
    assert [r.status_code for r in responses] == [303] * 6
    assert len({r.headers["location"] for r in responses}) == 1
    assert await checkin_count(database) == 1
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(text("SELECT count(*) FROM photo")) == 1
