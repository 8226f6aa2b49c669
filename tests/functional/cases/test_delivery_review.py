"""Service deliveries in the shared review queue: another worker of the station decides, never the sender;
"needs fix" goes back to her home page, her fix is a new version that enters the queue again."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from backend.cases.models import Delivery, DeliveryPhoto, DeliveryStatus
from backend.db import Database
from backend.people.models import Area, Programme, Role, User
from backend.people.service import do_add_membership
from backend.verification.models import EntryKind
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.data.corpus import phone_photo
from tests.functional.cases.test_deliveries import (
    GAO,
    HE,
    delivery_body,
    delivery_id_of,
    form_delivery,
    load_delivery,
    open_station_case,
    put_delivery,
    send_photo,
)
from tests.functional.photos_support import audit_actions
from tests.functional.review_support import clean_meal, past_days, sent_visit


async def _decide(browser: object, delivery_id: int, decision: str, **fields: str) -> int:
    import httpx

    assert isinstance(browser, httpx.AsyncClient)
    data = {"_csrf_token": await csrf_token(browser), "decision": decision, **fields}
    return (await browser.post(f"/review/delivery/{delivery_id}", data=data)).status_code


async def _photo_ids(database: Database, delivery_id: int) -> list[int]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(
            select(DeliveryPhoto.photo_id)
            .where(DeliveryPhoto.delivery_id == delivery_id)
            .order_by(DeliveryPhoto.position)
        )
        return list(rows)


async def test_another_worker_of_the_station_approves_and_the_sender_cannot_review_her_own(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case = await open_station_case(database, world)
    he, gao = await client_as(HE), await client_as(GAO)
    delivery_id = (await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id))).json()["id"]
    assert (await he.get(f"/review/delivery/{delivery_id}")).status_code == 403
    assert await _decide(he, delivery_id, "approve") == 403
    page = await gao.get(f"/review/delivery/{delivery_id}")
    assert page.status_code == 200 and "唐阿姨" in page.text and 'id="decision-form"' in page.text
    queue = await gao.get("/review?kind=delivery")
    assert queue.status_code == 200 and f'id="card-delivery-{delivery_id}"' in queue.text
    assert await _decide(gao, delivery_id, "approve") == 303
    stored = await load_delivery(database, delivery_id)
    assert stored.status is DeliveryStatus.APPROVED and stored.reviewed_by_id == world.user_id(GAO)
    assert [e.subject_id for e in await audit_actions(database, "service_delivery.reviewed")][-1] == str(
        delivery_id
    )
    assert await _decide(gao, delivery_id, "approve") == 409  # decided once
    for handle in (personas.STAFF, "demo-sw-chen", "demo-scout-ma"):
        browser = await client_as(handle)
        assert (await browser.get(f"/review/delivery/{delivery_id}")).status_code in (403, 404), handle


async def test_needs_fix_goes_back_to_the_sender_whose_fix_is_reviewed_again(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case = await open_station_case(database, world)
    he, gao = await client_as(HE), await client_as(GAO)
    photo = await send_photo(he, case.person_id, seed=31)
    first = (await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id, photos=[photo]))).json()["id"]
    assert await _decide(gao, first, "needs_fix") == 422  # a reason is needed
    assert await _decide(gao, first, "needs_fix", reason="details_missing", note="请写明服务内容") == 303
    assert (await load_delivery(database, first)).status is DeliveryStatus.NEEDS_FIX
    home = await he.get("/")
    assert f'id="returned-delivery-{first}"' in home.text and f"/deliveries/{first}/fix" in home.text
    detail = await he.get(f"/deliveries/{first}")
    assert 'id="delivery-fix"' in detail.text and "请写明服务内容" in detail.text
    assert (await gao.get(f"/deliveries/{first}/fix")).status_code == 403  # not hers
    assert (await he.get(f"/deliveries/{first}/fix")).status_code == 200

    # The fix keeps the photo and changes the minutes: a new version, the old one kept as it was.
    kept = (await _photo_ids(database, first))[0]
    fix_uuid = str(uuid.uuid4())
    url = f"/deliveries/{first}/fix"
    sent = await form_delivery(
        he, case.case_id, case.item_id, url=url, client_uuid=fix_uuid, minutes="120", keep_photo=str(kept)
    )
    assert sent.status_code == 303, sent.text
    second = delivery_id_of(sent.headers["location"])
    again = await form_delivery(
        he, case.case_id, case.item_id, url=url, client_uuid=fix_uuid, minutes="120", keep_photo=str(kept)
    )
    assert again.status_code == 303 and delivery_id_of(again.headers["location"]) == second
    old, new = await load_delivery(database, first), await load_delivery(database, second)
    assert old.superseded_at is not None and old.minutes == 90 and old.status is DeliveryStatus.NEEDS_FIX
    assert (new.version, new.replaces_id, new.minutes, new.status) == (2, first, 120, DeliveryStatus.PENDING)
    assert await _photo_ids(database, second) == [kept]
    assert [e.subject_id for e in await audit_actions(database, "delivery.fixed")] == [str(second)]
    assert f'id="returned-delivery-{first}"' not in (await he.get("/")).text
    assert (await he.get(f"/deliveries/{first}/fix")).status_code == 409

    assert await _decide(gao, first, "approve") == 409  # the old version is no longer decided
    assert f'id="card-delivery-{second}"' in (await gao.get("/review?kind=delivery")).text
    assert await _decide(gao, second, "needs_fix", reason="photo_unclear") == 303

    # This time the fix drops the unclear photo and sends a new one.
    sent = await form_delivery(
        he,
        case.case_id,
        case.item_id,
        url=f"/deliveries/{second}/fix",
        photos=[phone_photo((640, 480), seed=32)],
    )
    assert sent.status_code == 303, sent.text
    third = delivery_id_of(sent.headers["location"])
    photos = await _photo_ids(database, third)
    assert len(photos) == 1 and photos != [kept]
    assert (await load_delivery(database, third)).version == 3
    assert await _decide(gao, third, "approve") == 303
    assert (await load_delivery(database, third)).status is DeliveryStatus.APPROVED


async def test_the_queue_shows_meals_visits_and_deliveries_together_with_their_counts(
    client_as: ClientAs, world: World, database: Database
) -> None:
    # 李娜 reviews the demo's meals and visits at Wutong; here she is a station worker there too.
    async with database.transaction() as db:
        await do_add_membership(
            db,
            user=await db.get_one(User, world.user_id(personas.SOCIAL_WORKER)),
            programme=await db.get_one(Programme, world.cast.programmes["station"].id),
            area=await db.get_one(Area, world.cast.areas["wutong"].id),
            role=Role.SOCIAL_WORKER,
            actor=None,
        )
    case = await open_station_case(database, world)
    he = await client_as(HE)
    delivery_id = (await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id))).json()["id"]
    meal = await clean_meal(database, world, past_days(1, start_back=2)[0], seed=33)
    visit_id = await sent_visit(await client_as(personas.CARING_MOTHER), database, world)
    li = await client_as(personas.SOCIAL_WORKER)
    async with database.transaction(read_only=True) as db:
        pending = await db.scalar(
            select(func.count(Delivery.id)).where(
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.superseded_at.is_(None),
                Delivery.submitted_by_id != world.user_id(personas.SOCIAL_WORKER),
                Delivery.area_id == world.cast.areas["wutong"].id,
            )
        )

    def total_of(html: str) -> int:
        found = re.search(r"<h1>[^<]*<span class=\"muted\">\((\d+)\)</span></h1>", html)
        assert found, html[:2000]
        return int(found.group(1))

    counts = {}
    for kind in EntryKind:
        filtered = await li.get(f"/review?kind={kind.value}")
        assert filtered.status_code == 200 and f'id="card-{kind.value}-' in filtered.text, kind
        counts[kind] = total_of(filtered.text)
    assert counts[EntryKind.MEAL] > 0 and counts[EntryKind.VISIT] > 0
    assert counts[EntryKind.DELIVERY] == pending and pending >= 1
    everything = await li.get("/review")
    assert total_of(everything.text) == sum(counts.values())
    badge = re.search(r'id="review-badge"[^>]*>(\d+)<', everything.text)
    assert badge and int(badge.group(1)) == sum(counts.values())
    assert f'id="card-delivery-{delivery_id}"' in (await li.get("/review?kind=delivery")).text
    assert f'id="card-meal-{meal.id}"' in (await li.get("/review?kind=meal")).text
    assert f'id="card-visit-{visit_id}"' in (await li.get("/review?kind=visit")).text


async def test_bulk_approval_takes_an_unflagged_delivery_or_holds_it_as_a_sample(
    client_as: ClientAs, world: World, database: Database
) -> None:
    case = await open_station_case(database, world)
    he, gao = await client_as(HE), await client_as(GAO)
    delivery_id = (await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id))).json()["id"]
    data = {"_csrf_token": await csrf_token(gao), "entry": f"delivery-{delivery_id}"}
    response = await gao.post("/review/bulk-approve", data=data)
    assert response.status_code == 303
    stored = await load_delivery(database, delivery_id)
    # One entry with a 10 % sample: it is held back, marked, and must be opened and decided alone.
    if "sampled=1" in response.headers["location"]:
        assert stored.sampled_at is not None and stored.flagged and stored.status is DeliveryStatus.PENDING
        assert [e.subject_id for e in await audit_actions(database, "service_delivery.sampled")] == [
            str(delivery_id)
        ]
        assert await _decide(gao, delivery_id, "approve") == 303
    assert (await load_delivery(database, delivery_id)).status is DeliveryStatus.APPROVED
    # The sender's own delivery in a bulk form is left alone.
    mine = (await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id, minutes=30))).json()["id"]
    data = {"_csrf_token": await csrf_token(he), "entry": f"delivery-{mine}"}
    assert (await he.post("/review/bulk-approve", data=data)).status_code == 303
    assert (await load_delivery(database, mine)).status is DeliveryStatus.PENDING


async def test_a_deliverys_note_and_its_review_note_stay_out_of_the_audit_trail(
    client_as: ClientAs, world: World, database: Database
) -> None:
    import json

    from backend.audit import AuditEvent

    marker = "私密备注-Dv9"
    case = await open_station_case(database, world)
    he, gao = await client_as(HE), await client_as(GAO)
    body = delivery_body(case.item_id, note=f"{marker} 上门", delivered_by=f"志愿者 {marker}")
    delivery_id = (await put_delivery(he, uuid.uuid4(), body)).json()["id"]
    assert await _decide(gao, delivery_id, "needs_fix", reason="other", note=f"{marker} 请补充") == 303
    async with database.transaction(read_only=True) as db:
        changes = [c for (c,) in await db.execute(select(AuditEvent.change))]
    assert all(marker not in json.dumps(change, ensure_ascii=False) for change in changes)


async def test_a_reused_photo_flags_the_delivery_which_bulk_approval_then_skips(
    client_as: ClientAs, world: World, database: Database
) -> None:
    from tests.functional.photos_support import api_put

    case = await open_station_case(database, world)
    he, gao = await client_as(HE), await client_as(GAO)
    picture = phone_photo((320, 240), seed=41)
    first_photo = await send_photo(he, case.person_id, seed=41)
    again = uuid.uuid4()
    assert (await api_put(he, picture, client_uuid=again, person_id=case.person_id)).status_code == 201
    first = (await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id, photos=[first_photo]))).json()
    second = (
        await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id, photos=[again], minutes=40))
    ).json()
    assert not (await load_delivery(database, first["id"])).flagged
    assert (await load_delivery(database, second["id"])).flagged
    card = await gao.get(f"/review/delivery/{second['id']}")
    assert card.status_code == 200 and "review-earlier" in card.text
    data = {"_csrf_token": await csrf_token(gao), "entry": f"delivery-{second['id']}"}
    assert (await gao.post("/review/bulk-approve", data=data)).status_code == 303
    assert (await load_delivery(database, second["id"])).status is DeliveryStatus.PENDING


async def test_a_worker_who_moved_to_another_station_can_no_longer_log_or_fix_there(
    client_as: ClientAs, world: World, database: Database
) -> None:
    from backend.people.models import Membership
    from backend.people.service import do_end_membership

    case = await open_station_case(database, world)
    he, gao = await client_as(HE), await client_as(GAO)
    delivery_id = (await put_delivery(he, uuid.uuid4(), delivery_body(case.item_id))).json()["id"]
    assert await _decide(gao, delivery_id, "needs_fix", reason="details_missing") == 303
    station = world.cast.programmes["station"].id
    async with database.transaction() as db:
        user = await db.get_one(User, world.user_id(HE))
        await do_add_membership(
            db,
            user=user,
            programme=await db.get_one(Programme, station),
            area=await db.get_one(Area, world.cast.areas["liuan"].id),
            role=Role.SOCIAL_WORKER,
            actor=None,
        )
        wutong = await db.scalar(
            select(Membership).where(
                Membership.user_id == user.id,
                Membership.programme_id == station,
                Membership.area_id == world.cast.areas["wutong"].id,
                Membership.ended_at.is_(None),
            )
        )
        assert wutong is not None
        await do_end_membership(db, wutong, actor=None)  # type: ignore[arg-type]
    moved = await client_as(HE)
    assert (await put_delivery(moved, uuid.uuid4(), delivery_body(case.item_id))).status_code == 404
    assert (await moved.get(f"/cases/{case.case_id}/deliveries/new")).status_code == 404
    assert (await moved.get(f"/deliveries/{delivery_id}/fix")).status_code in (403, 404)
    assert f'id="returned-delivery-{delivery_id}"' not in (await moved.get("/")).text
