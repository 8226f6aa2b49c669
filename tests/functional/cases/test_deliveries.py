"""Service deliveries of a station's case: the idempotent API, the plain form, the rules, who may log one."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from backend import clock
from backend.cases.models import (
    Case,
    CaseStatus,
    CloseReason,
    DelivererKind,
    Delivery,
    DeliveryPhoto,
    Frequency,
    PlanItem,
    ServiceItem,
)
from backend.db import Database
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.data.corpus import phone_photo
from tests.functional.photos_support import api_put, audit_actions, photo_count

HE, GAO, CHEN = "demo-sw-he", "demo-sw-gao", "demo-sw-chen"
SCOUT = "demo-scout-ma"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class StationCase:
    case_id: int
    item_id: int
    person_id: int


async def open_station_case(
    database: Database,
    world: World,
    *,
    person: str = "tang",
    area: str = "wutong",
    lead: str = HE,
    days_ago: int = 20,
) -> StationCase:
    """A planned case of the station programme with one active plan item (rows written directly: the
    case and plan pages are another part's)."""
    programme = world.cast.programmes["station"]
    lead_id = world.user_id(lead)
    async with database.transaction() as db:
        service_item = await db.scalar(
            select(ServiceItem)
            .where(ServiceItem.programme_id == programme.id)
            .order_by(ServiceItem.id)
            .limit(1)
        )
        assert service_item is not None
        case = Case(
            programme_id=programme.id,
            area_id=world.cast.areas[area].id,
            person_id=world.person_id(person),
            lead_worker_id=lead_id,
            status=CaseStatus.PLANNED,
            opened_at=clock.utcnow() - timedelta(days=days_ago),
            opened_by_id=lead_id,
        )
        db.add(case)
        await db.flush()
        item = PlanItem(
            case_id=case.id,
            service_item_id=service_item.id,
            deliverer_kind=DelivererKind.WORKER,
            deliverer_user_id=lead_id,
            frequency=Frequency.WEEKLY,
            added_by_id=lead_id,
        )
        db.add(item)
        await db.flush()
        return StationCase(case.id, item.id, case.person_id)


def delivery_body(item_id: int, *, photos: list[uuid.UUID] | None = None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plan_item_id": item_id,
        "delivered_on": (clock.today_in(clock.REFERENCE_ZONE) - timedelta(days=1)).isoformat(),
        "minutes": 90,
        "people_count": 2,
        "delivered_by": "",
        "at_home": True,
        "note": "陪唐阿姨买菜，检查暖气。",
        "photo_uuids": [str(u) for u in photos or []],
    }
    body.update(changes)
    return body


async def put_delivery(
    browser: httpx.AsyncClient, client_uuid: uuid.UUID, body: dict[str, Any]
) -> httpx.Response:
    return await browser.put(
        f"/api/deliveries/{client_uuid}", json=body, headers={"x-csrftoken": await csrf_token(browser)}
    )


async def send_photo(browser: httpx.AsyncClient, person_id: int, seed: int) -> uuid.UUID:
    photo_uuid = uuid.uuid4()
    response = await api_put(
        browser, phone_photo((320, 240), seed=seed), client_uuid=photo_uuid, person_id=person_id
    )
    assert response.status_code == 201, response.text
    return photo_uuid


async def form_delivery(
    browser: httpx.AsyncClient,
    case_id: int,
    item_id: int,
    *,
    photos: list[bytes] = (),  # type: ignore[assignment]
    client_uuid: str | None = None,
    url: str | None = None,
    **fields: Any,
) -> httpx.Response:
    data: dict[str, Any] = {
        "_csrf_token": await csrf_token(browser),
        "client_uuid": client_uuid or str(uuid.uuid4()),
        "plan_item_id": str(item_id),
        "delivered_on": clock.today_in(clock.REFERENCE_ZONE).isoformat(),
        "minutes": "45",
        "people_count": "1",
        "at_home": "1",
        "note": "电话回访后上门",
        **fields,
    }
    files = [("photos", (f"p{n}.jpg", photo, "image/jpeg")) for n, photo in enumerate(photos)]
    return await browser.post(url or f"/cases/{case_id}/deliveries/new", data=data, files=files or None)


async def delivery_count(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count(Delivery.id))) or 0)


async def load_delivery(database: Database, delivery_id: int) -> Delivery:
    async with database.transaction(read_only=True) as db:
        return await db.get_one(Delivery, delivery_id)


async def case_status(database: Database, case_id: int) -> CaseStatus:
    async with database.transaction(read_only=True) as db:
        return (await db.get_one(Case, case_id)).status


def delivery_id_of(location: str) -> int:
    found = re.match(r"^/deliveries/(\d+)\?sent=1$", location)
    assert found, location
    return int(found.group(1))


async def test_same_delivery_sent_five_times_at_once_is_stored_once_and_puts_the_case_in_service(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case = await open_station_case(database, world)
    he = await client_as(HE)
    photo = await send_photo(he, case.person_id, seed=11)
    body = delivery_body(case.item_id, photos=[photo])
    client_uuid = uuid.uuid4()
    before = await delivery_count(database)
    responses = await asyncio.gather(*[put_delivery(he, client_uuid, body) for _ in range(5)])
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    sent = responses[0].json()
    assert (
        sent["status"] == "pending"
        and sent["photo_uuids"] == [str(photo)]
        and sent["case_id"] == case.case_id
    )
    assert await delivery_count(database) == before + 1
    sent_events = [
        e for e in await audit_actions(database, "delivery.sent") if e.subject_id == str(sent["id"])
    ]
    assert len(sent_events) == 1
    assert await case_status(database, case.case_id) is CaseStatus.IN_SERVICE
    stored = await load_delivery(database, sent["id"])
    assert (stored.area_id, stored.person_id, stored.submitted_by_id) == (
        world.cast.areas["wutong"].id,
        case.person_id,
        world.user_id(HE),
    )


async def test_a_uuid_sent_again_with_other_content_or_by_another_worker_is_refused_and_unchanged(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case = await open_station_case(database, world)
    he, gao = await client_as(HE), await client_as(GAO)
    body = delivery_body(case.item_id)
    client_uuid = uuid.uuid4()
    before = await delivery_count(database)
    first = await put_delivery(he, client_uuid, body)
    assert first.status_code == 201, first.text
    again = await put_delivery(he, client_uuid, body)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    changed = await put_delivery(he, client_uuid, {**body, "minutes": 120})
    assert changed.status_code == 409 and CHINESE.search(changed.json()["detail"])
    theirs = await put_delivery(gao, client_uuid, body)
    # Nothing of the first sender's delivery leaks: only a status and the refusal in words.
    assert (
        theirs.status_code == 409 and "唐" not in theirs.text and set(theirs.json()) == {"status", "detail"}
    )
    assert (await load_delivery(database, first.json()["id"])).minutes == 90
    assert await delivery_count(database) == before + 1


async def test_a_delivery_for_another_stations_case_does_not_exist_for_the_worker(
    client_as: ClientAs, world: World, database: Database
) -> None:
    wutong = await open_station_case(database, world)
    before = await delivery_count(database)
    liuan = await open_station_case(database, world, person="xu", area="liuan", lead=CHEN)
    he, chen = await client_as(HE), await client_as(CHEN)
    assert (await put_delivery(chen, uuid.uuid4(), delivery_body(wutong.item_id))).status_code == 404
    assert (await put_delivery(he, uuid.uuid4(), delivery_body(liuan.item_id))).status_code == 404
    assert (await he.get(f"/cases/{liuan.case_id}/deliveries/new")).status_code == 404
    assert (await form_delivery(he, liuan.case_id, liuan.item_id)).status_code == 404
    # The photos API refuses a person she does not work with.
    refused = await api_put(chen, phone_photo((320, 240), seed=12), person_id=wutong.person_id)
    assert refused.status_code == 404
    assert await delivery_count(database) == before


async def test_a_scout_a_mother_a_neighbour_and_staff_cannot_log_a_delivery(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case = await open_station_case(database, world)
    before = await delivery_count(database)
    expected = {SCOUT: 404, personas.CARING_MOTHER: 404, personas.NEIGHBOUR: 404, personas.STAFF: 403}
    seen = {}
    for handle in expected:
        browser = await client_as(handle)
        api = (await put_delivery(browser, uuid.uuid4(), delivery_body(case.item_id))).status_code
        page = (await browser.get(f"/cases/{case.case_id}/deliveries/new")).status_code
        form = (await form_delivery(browser, case.case_id, case.item_id)).status_code
        seen[handle] = api if api == page == form else (api, page, form)
    assert seen == expected
    assert await delivery_count(database) == before


async def test_an_ended_plan_item_or_a_closed_case_is_refused_in_chinese(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case = await open_station_case(database, world)
    before = await delivery_count(database)
    he = await client_as(HE)
    async with database.transaction() as db:
        (await db.get_one(PlanItem, case.item_id)).ended_at = clock.utcnow()
    ended = await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id))
    assert ended.status_code == 409 and CHINESE.search(ended.json()["detail"]), ended.text
    page = await form_delivery(he, case.case_id, case.item_id)
    assert page.status_code == 400 and 'id="plan_item_id-error"' in page.text
    async with database.transaction() as db:
        (await db.get_one(PlanItem, case.item_id)).ended_at = None
        row = await db.get_one(Case, case.case_id)
        row.status, row.closed_at, row.close_reason = CaseStatus.CLOSED, clock.utcnow(), CloseReason.GOALS_MET
    closed = await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id))
    assert closed.status_code == 409 and CHINESE.search(closed.json()["detail"]), closed.text
    assert (await he.get(f"/cases/{case.case_id}/deliveries/new")).status_code == 409
    assert await delivery_count(database) == before


async def test_bad_minutes_people_a_future_day_and_seven_photos_are_refused_in_chinese(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case = await open_station_case(database, world, days_ago=3)
    before = await delivery_count(database)
    he = await client_as(HE)
    tomorrow = (clock.today_in(clock.REFERENCE_ZONE) + timedelta(days=1)).isoformat()
    before_opening = (clock.today_in(clock.REFERENCE_ZONE) - timedelta(days=10)).isoformat()
    bad = [
        {"minutes": 3},
        {"minutes": 1000},
        {"people_count": 0},
        {"people_count": 501},
        {"delivered_on": tomorrow},
        {"delivered_on": before_opening},
        {"photo_uuids": [str(uuid.uuid4()) for _ in range(7)]},
    ]
    for change in bad:
        response = await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id, **change))
        assert response.status_code == 422, (change, response.text)
        assert CHINESE.search(response.json()["detail"]), response.text
    status_field = await put_delivery(he, uuid.uuid4(), {**delivery_body(case.item_id), "status": "approved"})
    assert status_field.status_code == 400 and "status" in status_field.json()["detail"]
    not_json = await he.put(
        f"/api/deliveries/{uuid.uuid4()}", content=b"{", headers={"x-csrftoken": await csrf_token(he)}
    )
    assert not_json.status_code == 400
    for fields in (
        {"minutes": "3"},
        {"people_count": "0"},
        {"delivered_on": tomorrow},
        {"delivered_on": "x"},
    ):
        page = await form_delivery(he, case.case_id, case.item_id, **fields)
        assert page.status_code in (400, 422) and 'class="field-error"' in page.text, fields
    seven = [phone_photo((64, 48), seed=n) for n in range(7)]
    page = await form_delivery(he, case.case_id, case.item_id, photos=seven)
    assert page.status_code == 400 and 'id="photos-error"' in page.text
    assert await delivery_count(database) == before


async def test_only_her_own_photos_of_the_cases_person_go_on_a_delivery(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case = await open_station_case(database, world)
    before = await delivery_count(database)
    he, gao = await client_as(HE), await client_as(GAO)
    gaos = await send_photo(gao, case.person_id, seed=13)
    assert (
        await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id, photos=[gaos]))
    ).status_code == 404
    of_luo = await send_photo(he, world.person_id("luo"), seed=14)
    refused = await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id, photos=[of_luo]))
    assert refused.status_code == 422 and CHINESE.search(refused.json()["detail"])
    assert await delivery_count(database) == before


async def test_worker_logs_a_delivery_through_the_plain_form_with_and_without_photos(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case = await open_station_case(database, world)
    before = await delivery_count(database)
    he = await client_as(HE)
    page = await he.get(f"/cases/{case.case_id}/deliveries/new")
    assert (
        page.status_code == 200
        and 'id="delivery-form"' in page.text
        and 'data-outbox="delivery"' in page.text
    )
    photos = [phone_photo((640, 480), seed=21), phone_photo((640, 480), seed=22)]
    client_uuid = str(uuid.uuid4())
    sent = await form_delivery(he, case.case_id, case.item_id, photos=photos, client_uuid=client_uuid)
    assert sent.status_code == 303, sent.text
    delivery_id = delivery_id_of(sent.headers["location"])
    async with database.transaction(read_only=True) as db:
        links = (
            await db.scalars(select(DeliveryPhoto).where(DeliveryPhoto.delivery_id == delivery_id))
        ).all()
    assert len(links) == 2
    # Sent again (a double tap): the same delivery, no new photos.
    photos_before = await photo_count(database)
    again = await form_delivery(he, case.case_id, case.item_id, photos=photos, client_uuid=client_uuid)
    assert again.status_code == 303 and delivery_id_of(again.headers["location"]) == delivery_id
    assert await photo_count(database) == photos_before
    plain = await form_delivery(he, case.case_id, case.item_id, status="approved", submitted_by_id="1")
    assert plain.status_code == 303
    second = await load_delivery(database, delivery_id_of(plain.headers["location"]))
    assert second.status.value == "pending" and second.submitted_by_id == world.user_id(HE)
    assert await delivery_count(database) == before + 2
    shown = await he.get(f"/deliveries/{delivery_id}?sent=1")
    assert (
        shown.status_code == 200
        and 'id="delivery-status"' in shown.text
        and 'id="delivery-sent"' in shown.text
    )
    listed = await he.get(f"/cases/{case.case_id}/deliveries")
    assert listed.status_code == 200 and f'id="case-delivery-{delivery_id}"' in listed.text
    assert 'id="case-log-delivery"' in listed.text


async def test_a_delivery_is_seen_by_the_stations_workers_and_staff_only(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case = await open_station_case(database, world)
    he = await client_as(HE)
    response = await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id))
    delivery_id = response.json()["id"]
    expected = {
        HE: 200,
        GAO: 200,
        personas.STAFF: 200,
        CHEN: 404,
        SCOUT: 404,
        personas.SOCIAL_WORKER: 404,
        personas.CARING_MOTHER: 404,
        personas.OUTSIDER: 404,
    }
    seen = {}
    for handle in expected:
        browser = he if handle == HE else await client_as(handle)
        detail = (await browser.get(f"/deliveries/{delivery_id}")).status_code
        listed = (await browser.get(f"/cases/{case.case_id}/deliveries")).status_code
        seen[handle] = detail if detail == listed else (detail, listed)
    assert seen == expected
    staff = await client_as(personas.STAFF)
    assert 'id="case-log-delivery"' not in (await staff.get(f"/cases/{case.case_id}/deliveries")).text


async def test_the_case_page_lists_deliveries_newest_first_with_the_log_link_for_station_workers_only(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case = await open_station_case(database, world)
    he = await client_as(HE)
    today = clock.today_in(clock.REFERENCE_ZONE)
    older = await put_delivery(
        he, uuid.uuid4(), delivery_body(case.item_id, delivered_on=(today - timedelta(days=3)).isoformat())
    )
    newer = await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id, delivered_on=today.isoformat()))
    page = await he.get(f"/cases/{case.case_id}")
    assert (
        page.status_code == 200
        and 'id="case-deliveries"' in page.text
        and 'id="case-log-delivery"' in page.text
    )
    fragment = await he.get(f"/cases/{case.case_id}/deliveries", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    first, second = f'id="case-delivery-{newer.json()["id"]}"', f'id="case-delivery-{older.json()["id"]}"'
    assert fragment.text.index(first) < fragment.text.index(second)
    staff_page = await (await client_as(personas.STAFF)).get(f"/cases/{case.case_id}")
    assert 'id="case-deliveries"' in staff_page.text and 'id="case-log-delivery"' not in staff_page.text


async def test_a_delivery_into_a_closed_month_is_refused_and_so_is_its_review(
    client_as: ClientAs, world: World, database: Database
) -> None:
    from tests.functional.meals_support import close_month

    case = await open_station_case(database, world, days_ago=70)
    he, gao = await client_as(HE), await client_as(GAO)
    last_month = clock.today_in(clock.REFERENCE_ZONE).replace(day=1) - timedelta(days=2)
    pending = await put_delivery(
        he, uuid.uuid4(), delivery_body(case.item_id, delivered_on=last_month.isoformat())
    )
    assert pending.status_code == 201
    await close_month(database, world.cast.programmes["station"].id, last_month)
    before = await delivery_count(database)
    refused = await put_delivery(
        he, uuid.uuid4(), delivery_body(case.item_id, delivered_on=last_month.isoformat(), minutes=30)
    )
    assert refused.status_code == 409 and CHINESE.search(refused.json()["detail"]), refused.text
    assert await delivery_count(database) == before
    decided = await gao.post(
        f"/review/delivery/{pending.json()['id']}",
        data={"_csrf_token": await csrf_token(gao), "decision": "approve"},
    )
    assert decided.status_code == 409
    assert (await load_delivery(database, pending.json()["id"])).status.value == "pending"


def test_the_openapi_schema_describes_the_delivery_api(app: Any) -> None:
    schema = app.openapi_schema.to_schema()
    operation = schema["paths"]["/api/deliveries/{client_uuid}"]["put"]
    assert {"200", "201", "400", "401", "403", "404", "409", "422", "503"} <= set(operation["responses"])
    assert "plan_item_id" in str(schema["components"]["schemas"])
