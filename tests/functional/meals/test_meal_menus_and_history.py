"""Monthly menus that pre-fill check-ins, and the neighbour's history with its running amount."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

from sqlalchemy import func, select, update

from backend.audit import AuditEvent, verify_chain
from backend.clock import add_months, month_days
from backend.db import Database
from backend.demo import create_demo
from backend.evidence.models import Photo
from backend.evidence.service import photo_key
from backend.meals.demo import PAST_DAYS, WEEKLY_MENUS
from backend.meals.menus import planned_dishes
from backend.meals.models import Agreement, CheckIn, CheckInFlag, CheckInStatus, FlagCode, MealSlot
from backend.meals.queries import month_amounts
from backend.people.models import Programme
from backend.settlement.statements import month_summary
from backend.storage import PhotoStore
from backend.verification.demo import LAST_MONTH_TOTAL_FEN
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional.meals_support import agreement_of, make_checkin, shanghai_today


def _first_weekday(month: date, weekday: int) -> date:
    day = month
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


async def test_neighbour_writes_next_months_menu_and_it_plans_each_day(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    next_month = add_months(shanghai_today().replace(day=1), 1)
    # A day of its own, not a Monday: the Monday line written later must not reach it (15 Feb 2027 is one).
    special = next_month.replace(day=15 if next_month.replace(day=15).weekday() != 0 else 16)
    url = f"/meals/agreements/{agreement.id}/menu"
    page = await neighbour.get(f"{url}?month={next_month:%Y-%m}")
    assert page.status_code == 200 and 'id="menu-form"' in page.text and 'name="lunch-w0"' in page.text
    saved = await neighbour.post(
        url,
        data={
            "_csrf_token": await csrf_token(neighbour),
            "month": f"{next_month:%Y-%m}",
            "lunch-w0": "饺子，紫菜汤",
            "lunch-w2": " 米饭、红烧肉、红烧肉 ",
            "lunch-d0-day": special.isoformat(),
            "lunch-d0-dishes": "长寿面",
            "status": "approved",  # not a menu field: never read
        },
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith(
        f"?month={next_month:%Y-%m}&saved=1"
    )
    shown = await neighbour.get(saved.headers["location"])
    assert (
        "菜单已保存。" in shown.text
        and 'value="饺子、紫菜汤"' in shown.text
        and 'value="长寿面"' in shown.text
    )
    async with database.transaction(read_only=True) as db:
        loaded = await db.get_one(Agreement, agreement.id)
        # The first Monday and Wednesday fall in the first week, never on the 15th.
        assert await planned_dishes(db, loaded, MealSlot.LUNCH, _first_weekday(next_month, 0)) == [
            "饺子",
            "紫菜汤",
        ]
        assert await planned_dishes(db, loaded, MealSlot.LUNCH, _first_weekday(next_month, 2)) == [
            "米饭",
            "红烧肉",
        ]
        assert await planned_dishes(db, loaded, MealSlot.LUNCH, special) == ["长寿面"]
        assert await planned_dishes(db, loaded, MealSlot.LUNCH, _first_weekday(next_month, 4)) == []
        event = await db.scalar(
            select(AuditEvent)
            .where(AuditEvent.action == "meal_menu.saved")
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    assert event is not None and event.actor_id == world.user_id(personas.NEIGHBOUR)
    assert event.change["weekday_lines"] == 2 and event.change["day_lines"] == 1

    # Saving again replaces the month: what is left out is gone.
    await neighbour.post(
        url,
        data={"_csrf_token": await csrf_token(neighbour), "month": f"{next_month:%Y-%m}", "lunch-w0": "馄饨"},
    )
    async with database.transaction(read_only=True) as db:
        assert await planned_dishes(db, loaded, MealSlot.LUNCH, special) == []


async def test_the_check_in_page_comes_ticked_with_todays_dishes_from_the_menu(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    page = html.unescape((await neighbour.get(f"/meals/agreements/{agreement.id}/checkin")).text)
    for dish in WEEKLY_MENUS[personas.NEIGHBOUR][shanghai_today().weekday()]:
        assert f'<input type="checkbox" name="dish" value="{dish}" checked>' in page


async def test_the_social_worker_reads_the_menu_but_cannot_write_it(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    agreement = await agreement_of(database, world.person_id("qian"))
    page = await worker.get(f"/meals/agreements/{agreement.id}/menu")
    assert page.status_code == 200 and 'id="menu-form"' not in page.text
    assert WEEKLY_MENUS[personas.NEIGHBOUR][0][1] in page.text
    refused = await worker.post(
        f"/meals/agreements/{agreement.id}/menu",
        data={"_csrf_token": await csrf_token(worker), "month": f"{shanghai_today():%Y-%m}", "lunch-w0": "x"},
    )
    assert refused.status_code == 403


async def test_a_past_month_or_a_day_of_another_month_is_refused_and_the_typing_kept(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    url = f"/meals/agreements/{agreement.id}/menu"
    last_month = add_months(shanghai_today().replace(day=1), -1)
    past = await neighbour.post(
        url,
        data={"_csrf_token": await csrf_token(neighbour), "month": f"{last_month:%Y-%m}", "lunch-w1": "面条"},
    )
    assert past.status_code == 400 and "只能填写本月和下月的菜单。" in past.text
    this_month = shanghai_today().replace(day=1)
    wrong_day = await neighbour.post(
        url,
        data={
            "_csrf_token": await csrf_token(neighbour),
            "month": f"{this_month:%Y-%m}",
            "lunch-w1": "新的周二菜",
            "lunch-d0-day": add_months(this_month, 1).isoformat(),
            "lunch-d0-dishes": "别的月份",
        },
    )
    assert wrong_day.status_code == 400 and "请选择本月的某一天。" in wrong_day.text
    assert 'value="新的周二菜"' in wrong_day.text and 'value="别的月份"' in wrong_day.text
    async with database.transaction(read_only=True) as db:
        loaded = await db.get_one(Agreement, agreement.id)
        tuesday = _first_weekday(this_month, 1)
        assert await planned_dishes(db, loaded, MealSlot.LUNCH, tuesday) == list(
            WEEKLY_MENUS[personas.NEIGHBOUR][1]
        )


def _month_with_three_past_days() -> tuple[date, list[date]]:
    today = shanghai_today()
    if today.day > 3:
        return today.replace(day=1), [today - timedelta(days=n) for n in (1, 2, 3)]
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), [last - timedelta(days=n) for n in (0, 1, 2)]


async def test_history_shows_each_meal_with_its_state_and_the_approved_amount_capped(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await agreement_of(database, world.person_id("qian"))
    month, days = _month_with_three_past_days()
    made = [await make_checkin(database, agreement, day, seed=60 + n) for n, day in enumerate(days)]
    neighbour = await client_as(personas.NEIGHBOUR)
    url = f"/meals/history?month={month:%Y-%m}"
    before = (await neighbour.get(url)).text
    assert before.count("等待审核") == 3 and "已通过 0 餐" in before and "0.00 元" in before

    # Reviews are issue 6's: here the statuses are set directly, as a reviewer's decisions would.
    async with database.transaction() as db:
        await db.execute(
            update(CheckIn)
            .where(CheckIn.id.in_([made[0].id, made[1].id]))
            .values(status=CheckInStatus.APPROVED)
        )
        await db.execute(
            update(CheckIn)
            .where(CheckIn.id == made[2].id)
            .values(status=CheckInStatus.REJECTED, reason="photo_not_meal", note="照片不是这一餐")
        )
    page = (await neighbour.get(url)).text
    assert "已通过 2 餐" in page and "30.00 元" in page and "每月最多 450.00 元" in page
    assert "未通过" in page and "原因： 照片里看不到饭菜或探访情况 · 照片不是这一餐" in page
    assert re.search(rf'id="checkin-{made[0].id}"', page)

    async with database.transaction() as db:
        await db.execute(update(Agreement).where(Agreement.id == agreement.id).values(monthly_cap_fen=2000))
    capped = (await neighbour.get(url)).text
    assert "已通过 2 餐" in capped and "20.00 元" in capped and "30.00 元" not in capped
    async with database.transaction(read_only=True) as db:
        assert await month_amounts(db, [agreement.id], month) == {agreement.id: (2, 2000)}
        assert await month_amounts(db, [agreement.id], add_months(month, -1)) == {}


async def test_history_shows_only_her_own_meals_and_is_hers_alone(
    client_as: ClientAs, world: World, database: Database
) -> None:
    yesterday = shanghai_today() - timedelta(days=1)
    theirs = await make_checkin(
        database, await agreement_of(database, world.person_id("zheng")), yesterday, seed=70
    )
    mine = await make_checkin(
        database, await agreement_of(database, world.person_id("qian")), yesterday, seed=71
    )
    page = (await (await client_as(personas.NEIGHBOUR)).get(f"/meals/history?month={yesterday:%Y-%m}")).text
    assert f'id="checkin-{mine.id}"' in page and f'id="checkin-{theirs.id}"' not in page
    assert "郑奶奶" not in page
    assert (
        await (await client_as(personas.NEIGHBOUR)).get(f"/meals/checkins/{theirs.id}")
    ).status_code == 404
    for handle in (personas.SOCIAL_WORKER, personas.STAFF, personas.CARING_MOTHER):
        assert (await (await client_as(handle)).get("/meals/history")).status_code == 403


async def test_history_moves_between_months_but_not_into_the_future(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    this_month = shanghai_today().replace(day=1)
    page = (await neighbour.get("/meals/history")).text
    assert f"/meals/history?month={add_months(this_month, -1):%Y-%m}" in page
    assert f"/meals/history?month={add_months(this_month, 1):%Y-%m}" not in page
    earlier = (await neighbour.get(f"/meals/history?month={add_months(this_month, -1):%Y-%m}")).text
    assert f"/meals/history?month={this_month:%Y-%m}" in earlier


async def test_the_demo_with_a_photo_store_has_past_meals_whose_photos_are_kept(database: Database) -> None:
    store = PhotoStore.from_url("memory://")
    async with database.transaction() as db:
        await create_demo(db, store=store)
    async with database.transaction(read_only=True) as db:
        checkins = (await db.scalars(select(CheckIn))).all()
        flags = await db.scalar(
            select(func.count(CheckInFlag.id)).where(CheckInFlag.code == FlagCode.OVER_CAP)
        )
        photos = (await db.scalars(select(Photo))).all()
        report = await verify_chain(db)
    recent = [c for c in checkins if c.day >= shanghai_today() - timedelta(days=PAST_DAYS)]
    assert len(recent) == 9 and {c.status for c in recent} == {CheckInStatus.PENDING}
    assert all(c.day < shanghai_today() for c in checkins)
    last_month = [c for c in checkins if c not in recent]
    assert {c.status for c in last_month} == {CheckInStatus.APPROVED, CheckInStatus.REJECTED}
    most = max(
        sum(1 for c in last_month if c.agreement_id == a) for a in {c.agreement_id for c in last_month}
    )
    assert flags == (1 if most > 30 else 0)  # 冯爷爷's 31st meal goes over the cap, when there is one
    assert all(c.reviewed_by_id is not None for c in last_month)
    for photo in photos:
        assert await store.get(photo_key(photo.display_sha256)) is not None
        assert await store.get(photo_key(photo.thumb_sha256)) is not None
    assert report.first_bad_id is None


async def test_the_demos_last_month_settles_to_the_documented_total(database: Database) -> None:
    store = PhotoStore.from_url("memory://")
    async with database.transaction() as db:
        cast = await create_demo(db, store=store)
    last_month = add_months(shanghai_today().replace(day=1), -1)
    async with database.transaction(read_only=True) as db:
        programme = await db.get_one(Programme, cast.people["qian"].programme_id)
        summary = await month_summary(db, programme, last_month)
    assert summary.rejected == 1
    if shanghai_today().day > PAST_DAYS:  # otherwise the meal demo's pending days fall in last month
        assert summary.pending == 0
        assert summary.total_fen == LAST_MONTH_TOTAL_FEN == 102000
        assert summary.approved_meals == 18 + 20 + len(month_days(last_month))
