"""Caring mothers' meetings: monthly street meetings and quarterly district meetings, who records
them, who sees them, and every rule refusing with nothing stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from backend.db import Database
from backend.visits.models import Meeting, MeetingAttendee, MeetingLevel
from tests import factories, personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional.photos_support import audit_actions


async def _meetings(database: Database) -> list[Meeting]:
    async with database.transaction(read_only=True) as db:
        return list(await db.scalars(select(Meeting).order_by(Meeting.id)))


async def _attendees(database: Database, meeting_id: int) -> list[int]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(
            select(MeetingAttendee.user_id)
            .where(MeetingAttendee.meeting_id == meeting_id)
            .order_by("user_id")
        )
        return list(rows)


async def _record(browser: httpx.AsyncClient, area_id: int, **fields: Any) -> httpx.Response:
    data: dict[str, Any] = {
        "_csrf_token": await csrf_token(browser),
        "held_on": (factories.today() - timedelta(days=2)).isoformat(),
        "level": "street_monthly",
        "others_count": "2",
        "results": "交流了陪伴阅读的做法。",
        "problems": "有孩子周末无人照看。",
        **fields,
    }
    return await browser.post(f"/areas/{area_id}/meetings", data=data)


async def test_the_streets_social_worker_records_a_monthly_meeting_with_who_came(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    wutong = world.cast.areas["wutong"].id
    page = await worker.get(f"/areas/{wutong}/meetings")
    assert page.status_code == 200 and 'id="meeting-form"' in page.text
    assert "王秀英" in page.text and "刘芳" in page.text and "张丽" not in page.text  # her street's mothers
    wang, liu = world.user_id(personas.CARING_MOTHER), world.user_id(personas.OTHER_MOTHER)
    demo = await _meetings(database)  # the demo's meeting of last month
    answer = await _record(worker, wutong, attendee=[str(wang), str(liu)], status="approved")
    assert answer.status_code == 303, answer.text
    [meeting] = (await _meetings(database))[len(demo) :]
    assert (meeting.level, meeting.area_id, meeting.others_count) == (MeetingLevel.STREET_MONTHLY, wutong, 2)
    assert meeting.results == "交流了陪伴阅读的做法。" and meeting.recorded_by_id == world.user_id(
        personas.SOCIAL_WORKER
    )
    assert await _attendees(database, meeting.id) == sorted([wang, liu])
    event = (await audit_actions(database, "meeting.recorded"))[-1]
    assert event.change["attendee_ids"] == sorted([wang, liu]) and "交流" not in str(event.change)
    detail = await worker.get(answer.headers["location"])
    assert detail.status_code == 200 and "有孩子周末无人照看" in detail.text and "刘芳" in detail.text


async def test_an_areas_meetings_are_listed_latest_first(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    wutong = world.cast.areas["wutong"].id
    for days_ago in (40, 5, 70):
        day = (factories.today() - timedelta(days=days_ago)).isoformat()
        assert (await _record(worker, wutong, held_on=day)).status_code == 303
    page = (await worker.get(f"/areas/{wutong}/meetings")).text
    listed = page.split('id="meetings-list"')[1]
    days = [(factories.today() - timedelta(days=d)).isoformat() for d in (5, 40, 70)]
    assert [listed.index(d) for d in days] == sorted(listed.index(d) for d in days)


async def test_a_meeting_breaking_a_rule_is_refused_and_nothing_is_stored(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    wutong = world.cast.areas["wutong"].id
    tomorrow = (factories.today() + timedelta(days=1)).isoformat()
    zhang = world.user_id("demo-mother-zhang")  # a mother of another street
    before = await _meetings(database)
    events = await audit_actions(database, "meeting.recorded")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"held_on": tomorrow}, "held_on"),
        ({"held_on": "2026-02-30"}, "held_on"),
        ({"held_on": ""}, "held_on"),
        ({"held_on": "1999-01-01"}, "held_on"),
        ({"level": "district_quarterly"}, "level"),  # a street holds street meetings
        ({"level": "weekly"}, "level"),
        ({"attendee": [str(zhang)]}, "attendees"),
        ({"attendee": [str(world.user_id(personas.NEIGHBOUR))]}, "attendees"),
        ({"others_count": "0"}, "attendees"),  # nobody came
        ({"others_count": "-3"}, "others_count"),
        ({"others_count": "1001"}, "others_count"),
        ({"results": "好" * 2001}, "results"),
        ({"problems": "难" * 2001}, "problems"),
    ]
    for fields, field in cases:
        answer = await _record(worker, wutong, **fields)
        assert answer.status_code == 400 and f'id="{field}-error"' in answer.text, fields
    assert [m.id for m in await _meetings(database)] == [m.id for m in before]
    assert len(await audit_actions(database, "meeting.recorded")) == len(events)


async def test_the_same_meeting_sent_twice_is_recorded_once(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    wutong = world.cast.areas["wutong"].id
    before = len(await _meetings(database))
    assert (await _record(worker, wutong)).status_code == 303
    again = await _record(worker, wutong)
    assert again.status_code == 409 and 'id="held_on-error"' in again.text
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count(Meeting.id))) == before + 1


async def test_staff_record_the_quarterly_district_meeting_which_street_workers_do_not_see(
    client_as: ClientAs, world: World, database: Database
) -> None:
    district = world.cast.areas["district"].id
    before = len(await _meetings(database))
    staff = await client_as(personas.STAFF)
    page = await staff.get(f"/areas/{district}/meetings")
    assert page.status_code == 200 and "张丽" in page.text and "王秀英" in page.text  # every mother
    street = await _record(staff, district)
    assert street.status_code == 400 and 'id="level-error"' in street.text
    answer = await _record(
        staff, district, level="district_quarterly", attendee=[str(world.user_id("demo-mother-zhang"))]
    )
    assert answer.status_code == 303
    worker = await client_as(personas.SOCIAL_WORKER)
    assert (await worker.get(f"/areas/{district}/meetings")).status_code == 404
    assert (await _record(worker, district, level="district_quarterly")).status_code == 404
    assert (await worker.get(answer.headers["location"])).status_code == 404
    assert len(await _meetings(database)) == before + 1


async def test_a_community_has_no_meetings_and_another_street_is_not_hers(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    before = await _meetings(database)
    assert (await worker.get(f"/areas/{world.cast.areas['guiyuan'].id}/meetings")).status_code == 404
    assert (await worker.get(f"/areas/{world.cast.areas['liuan'].id}/meetings")).status_code == 404
    assert (await _record(worker, world.cast.areas["liuan"].id)).status_code == 404
    assert (await worker.get("/areas/999999/meetings")).status_code == 404
    for handle in (personas.CARING_MOTHER, personas.NEIGHBOUR, personas.OUTSIDER):
        browser = await client_as(handle)
        assert (await browser.get(f"/areas/{world.cast.areas['wutong'].id}/meetings")).status_code == 404
    assert len(await _meetings(database)) == len(before)


async def test_a_mother_sees_the_meetings_she_attended_without_the_problems_or_who_else_came(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    wutong = world.cast.areas["wutong"].id
    answer = await _record(worker, wutong, attendee=[str(world.user_id(personas.CARING_MOTHER))])
    url = answer.headers["location"].split("?")[0]
    mother = await client_as(personas.CARING_MOTHER)
    home = (await mother.get("/")).text
    assert 'id="my-meetings"' in home and url in home
    page = await mother.get(url)
    assert page.status_code == 200 and "交流了陪伴阅读的做法" in page.text
    assert "有孩子周末无人照看" not in page.text and 'id="meeting-who"' not in page.text
    for handle, status in (
        (personas.OTHER_MOTHER, 404),  # did not come
        ("demo-mother-zhang", 404),
        (personas.NEIGHBOUR, 404),
        (personas.OUTSIDER, 404),
        (personas.OTHER_STREET_WORKER, 404),
        (personas.STAFF, 200),
    ):
        browser = await client_as(handle)
        assert (await browser.get(url)).status_code == status, handle


async def test_the_demo_has_last_months_street_meeting(client_as: ClientAs, world: World) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    page = (await worker.get(f"/areas/{world.cast.areas['wutong'].id}/meetings")).text
    assert 'id="meetings-list"' in page
    mother = (await (await client_as(personas.OTHER_MOTHER)).get("/")).text
    assert 'id="my-meetings"' in mother
