"""The station's order queue: who sees which orders, overdue marks, taking (one taker wins), passing on,
closing, and ordering on behalf of a referrer."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from backend.audit import AuditEvent
from backend.auth.principal import Grant, Principal
from backend.cases.models import Case, CaseOrder, OrderPass, OrderSource, OrderStatus, ReferrerKind
from backend.cases.order_queries import list_queue
from backend.db import Database
from backend.people.models import Person, Programme, ProgrammeKind, Role
from tests import personas
from tests.conftest import ClientAs, World, csrf_token

HE, GAO, CHEN, SCOUT = "demo-sw-he", "demo-sw-gao", "demo-sw-chen", "demo-scout-ma"


async def post(browser: httpx.AsyncClient, url: str, **fields: Any) -> httpx.Response:
    data = {k: str(v) for k, v in fields.items()}
    return await browser.post(url, data={**data, "_csrf_token": await csrf_token(browser)})


async def demo_orders(database: Database) -> dict[str, CaseOrder]:
    """The demo's orders by what they are: scout (open), resident (open, overdue), closed, taken (Liu'an's
    school referral) and luo (Wutong's referral, taken into Luo's case)."""
    async with database.transaction(read_only=True) as db:
        rows = list(await db.scalars(select(CaseOrder).order_by(CaseOrder.id)))
    found = {}
    for order in rows:
        if order.status is OrderStatus.TAKEN:
            found["taken" if order.referrer_kind is ReferrerKind.SCHOOL else "luo"] = order
        elif order.status is OrderStatus.CLOSED:
            found["closed"] = order
        elif order.source is OrderSource.SCOUT:
            found["scout"] = order
        else:
            found["resident"] = order
    return found


async def load(database: Database, order_id: int) -> CaseOrder:
    async with database.transaction(read_only=True) as db:
        return await db.get_one(CaseOrder, order_id)


async def case_count(database: Database, order_id: int | None = None) -> int:
    query = select(func.count()).select_from(Case)
    if order_id is not None:
        query = query.where(Case.order_id == order_id)
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(query) or 0)


def queue_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li id="order-(\d+)">', html)]


async def test_a_worker_sees_her_stations_queue_open_first_oldest_first_with_the_overdue_marked(
    client_as: ClientAs, world: World, database: Database
) -> None:
    orders = await demo_orders(database)
    he = await client_as(HE)
    assert 'id="station-orders-link"' in (await he.get("/")).text
    page = await he.get("/orders")
    assert page.status_code == 200
    ids = queue_ids(page.text)
    # Wutong's: the open ones first (the three-day-old one before this morning's), then the rest, newest
    # first.
    assert ids == [orders["resident"].id, orders["scout"].id, orders["closed"].id, orders["luo"].id]
    assert orders["taken"].id not in ids  # Liu'an's
    assert page.text.count('class="tag flag order-overdue"') == 1
    # Liu'an's worker sees Liu'an's queue only, and Wutong's orders do not exist for her.
    chen = await client_as(CHEN)
    assert queue_ids((await chen.get("/orders")).text) == [orders["taken"].id]
    for order in ("scout", "resident", "closed"):
        assert (await chen.get(f"/orders/{orders[order].id}")).status_code == 404


async def test_staff_see_every_station_and_can_filter_the_overdue(
    client_as: ClientAs, world: World, database: Database
) -> None:
    orders = await demo_orders(database)
    staff = await client_as(personas.STAFF)
    everything = queue_ids((await staff.get("/orders")).text)
    assert sorted(everything) == sorted(o.id for o in orders.values())
    assert queue_ids((await staff.get("/orders?overdue=1")).text) == [orders["resident"].id]
    shown = await staff.get(f"/orders/{orders['resident'].id}")
    assert shown.status_code == 200 and 'id="order-overdue"' in shown.text
    # Staff look; taking is the station's workers'.
    assert 'id="order-take-form"' not in shown.text
    taken = await post(staff, f"/orders/{orders['scout'].id}/take", new_name="唐阿姨")
    assert taken.status_code == 403
    assert (await load(database, orders["scout"].id)).status is OrderStatus.OPEN


async def test_overdue_follows_the_programmes_hours_and_the_clock_passed_in(
    world: World, database: Database
) -> None:
    orders = await demo_orders(database)
    programme = world.cast.programmes["station"]
    grant = Grant(
        programme_id=programme.id,
        programme_name=programme.name,
        programme_kind=ProgrammeKind.SOCIAL_WORK_STATION,
        role=Role.STAFF,
        area_id=world.cast.areas["district"].id,
        area_path=world.cast.areas["district"].path,
        area_name="",
    )
    staff = Principal(
        id=world.user_id(personas.STAFF),
        session_id=0,
        display_name="",
        locale=None,
        is_admin=False,
        grants=(grant,),
    )
    scout_order = orders["scout"]
    async with database.transaction(read_only=True) as db:
        at_47 = await list_queue(
            db, staff, now=scout_order.created_at + timedelta(hours=47), overdue_only=True
        )
        at_49 = await list_queue(
            db, staff, now=scout_order.created_at + timedelta(hours=49), overdue_only=True
        )
    assert scout_order.id not in [r.order.id for r in at_47]
    assert scout_order.id in [r.order.id for r in at_49]
    async with database.transaction() as db:
        await db.execute(update(Programme).where(Programme.id == programme.id).values(order_due_hours=2))
    async with database.transaction(read_only=True) as db:
        rows = await list_queue(db, staff, now=scout_order.created_at + timedelta(hours=3))
    late = {r.order.id: r.overdue for r in rows}
    assert late[scout_order.id] is True and late[orders["closed"].id] is False


async def test_a_worker_takes_an_order_for_a_new_household_and_a_case_opens(
    client_as: ClientAs, world: World, database: Database
) -> None:
    orders = await demo_orders(database)
    he = await client_as(HE)
    page = await he.get(f"/orders/{orders['scout'].id}")
    assert page.status_code == 200 and 'id="order-take-form"' in page.text
    # The household area's people come first in the list.
    assert page.text.index("唐阿姨") < page.text.index("罗大爷")
    taken = await post(he, f"/orders/{orders['scout'].id}/take", person_id="new", new_name="唐桂芳")
    assert taken.status_code == 303
    async with database.transaction(read_only=True) as db:
        case = await db.scalar(select(Case).where(Case.order_id == orders["scout"].id))
        assert case is not None
        person = await db.get_one(Person, case.person_id)
        events = [
            e.action
            for e in await db.scalars(
                select(AuditEvent).where(AuditEvent.subject_id == str(orders["scout"].id))
            )
            if e.action.startswith("order.")
        ]
    assert taken.headers["location"].endswith(f"/{case.id}")
    assert case.lead_worker_id == world.user_id(HE) and case.area_id == world.cast.areas["wutong"].id
    assert person.display_name == "唐桂芳" and person.area_id == world.cast.areas["guiyuan"].id
    order = await load(database, orders["scout"].id)
    assert order.status is OrderStatus.TAKEN and order.taken_by_id == world.user_id(HE)
    assert "order.taken" in events
    # Taken: a second take is a clear 409, and nothing new is written.
    again = await post(he, f"/orders/{orders['scout'].id}/take", person_id="new", new_name="唐桂芳")
    assert again.status_code == 409 and "已被同事接单" in again.text
    assert await case_count(database, orders["scout"].id) == 1


async def test_a_worker_takes_an_order_for_a_household_already_known(
    client_as: ClientAs, world: World, database: Database
) -> None:
    orders = await demo_orders(database)
    he = await client_as(HE)
    taken = await post(he, f"/orders/{orders['scout'].id}/take", person_id=world.person_id("tang"))
    assert taken.status_code == 303
    async with database.transaction(read_only=True) as db:
        case = await db.scalar(select(Case).where(Case.order_id == orders["scout"].id))
    assert case is not None and case.person_id == world.person_id("tang")


async def test_two_workers_taking_at_once_one_wins_and_one_case_opens(
    client_as: ClientAs, world: World, database: Database
) -> None:
    orders = await demo_orders(database)
    he, gao = await client_as(HE), await client_as(GAO)
    url = f"/orders/{orders['resident'].id}/take"
    fields = {"person_id": str(world.person_id("luo"))}
    tokens = [await csrf_token(he), await csrf_token(gao)]
    responses = await asyncio.gather(
        he.post(url, data={**fields, "_csrf_token": tokens[0]}),
        gao.post(url, data={**fields, "_csrf_token": tokens[1]}),
    )
    assert sorted(r.status_code for r in responses) == [303, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert "已被同事接单" in loser.text
    assert await case_count(database, orders["resident"].id) == 1
    order = await load(database, orders["resident"].id)
    winner = HE if responses[0].status_code == 303 else GAO
    assert order.status is OrderStatus.TAKEN and order.taken_by_id == world.user_id(winner)


async def test_taking_refuses_a_household_of_another_station_or_no_household_and_changes_nothing(
    client_as: ClientAs, world: World, database: Database
) -> None:
    orders = await demo_orders(database)
    he = await client_as(HE)
    cases_before = await case_count(database)
    url = f"/orders/{orders['scout'].id}/take"
    other = await post(he, url, person_id=world.person_id("xu"))  # Liu'an's household
    assert other.status_code == 422 and 'id="person_id-error"' in other.text
    nothing = await post(he, url, person_id="new", new_name="")
    assert nothing.status_code == 400 and 'id="person_id-error"' in nothing.text
    long_name = await post(he, url, person_id="new", new_name="名" * 5000)
    assert long_name.status_code == 400 and 'id="new_name-error"' in long_name.text
    junk = await post(he, url, person_id="1; DROP TABLE case_order")
    assert junk.status_code == 400
    assert (await load(database, orders["scout"].id)).status is OrderStatus.OPEN
    assert await case_count(database) == cases_before


async def test_passing_an_order_on_moves_it_to_the_other_stations_queue_with_its_reason(
    client_as: ClientAs, world: World, database: Database
) -> None:
    orders = await demo_orders(database)
    he, chen = await client_as(HE), await client_as(CHEN)
    order_id = orders["resident"].id
    liuan = world.cast.areas["liuan"].id
    # A reason is required; a community is not a station.
    no_reason = await post(he, f"/orders/{order_id}/pass", to_area_id=liuan, reason="")
    assert no_reason.status_code == 400 and 'id="reason-error"' in no_reason.text
    not_station = await post(
        he, f"/orders/{order_id}/pass", to_area_id=world.cast.areas["guiyuan"].id, reason="住址不对"
    )
    assert not_station.status_code == 422 and 'id="to_area_id-error"' in not_station.text
    assert (await load(database, order_id)).station_area_id == world.cast.areas["wutong"].id

    passed = await post(he, f"/orders/{order_id}/pass", to_area_id=liuan, reason="这户人家已搬到六安街道。")
    assert passed.status_code == 303
    assert order_id not in queue_ids((await he.get("/orders")).text)
    assert order_id in queue_ids((await chen.get("/orders")).text)
    assert (await he.get(f"/orders/{order_id}")).status_code == 404
    page = await chen.get(f"/orders/{order_id}")
    assert page.status_code == 200 and "这户人家已搬到六安街道。" in page.text
    async with database.transaction(read_only=True) as db:
        moves = (await db.scalars(select(OrderPass).where(OrderPass.order_id == order_id))).all()
        event = await db.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "order.passed", AuditEvent.subject_id == str(order_id)
            )
        )
    assert [(m.from_area_id, m.to_area_id) for m in moves] == [(world.cast.areas["wutong"].id, liuan)]
    assert event is not None and "搬" not in str(event.change)


async def test_closing_an_order_without_a_case_needs_a_note(
    client_as: ClientAs, world: World, database: Database
) -> None:
    orders = await demo_orders(database)
    he = await client_as(HE)
    order_id = orders["resident"].id
    empty = await post(he, f"/orders/{order_id}/close", note="   ")
    assert empty.status_code == 400 and 'id="note-error"' in empty.text
    assert (await load(database, order_id)).status is OrderStatus.OPEN
    closed = await post(he, f"/orders/{order_id}/close", note="已由社区居委会解决。")
    assert closed.status_code == 303
    order = await load(database, order_id)
    assert order.status is OrderStatus.CLOSED and order.closed_by_id == world.user_id(HE)
    again = await post(he, f"/orders/{order_id}/close", note="再关一次")
    assert again.status_code == 409
    assert (await load(database, order_id)).close_note == "已由社区居委会解决。"


async def test_a_worker_orders_on_behalf_of_a_school_once_per_form(
    client_as: ClientAs, world: World, database: Database
) -> None:
    he = await client_as(HE)
    page = await he.get("/orders/new")
    assert page.status_code == 200 and 'id="order-new-form"' in page.text
    fields = {
        "referrer_kind": "school",
        "referrer_name": "梧桐小学",
        "area_id": world.cast.areas["guiyuan"].id,
        "category": "minors",
        "description": "学生家长长期在外，孩子无人照看。",
        "contact": "班主任 王老师",
        "client_uuid": str(uuid.uuid4()),
    }
    first = await post(he, "/orders", **fields)
    second = await post(he, "/orders", **fields)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    async with database.transaction(read_only=True) as db:
        order = await db.scalar(
            select(CaseOrder).where(CaseOrder.client_uuid == uuid.UUID(fields["client_uuid"]))
        )
    assert order is not None and order.source is OrderSource.REFERRER
    assert order.station_area_id == world.cast.areas["wutong"].id and order.referrer_name == "梧桐小学"
    # A referrer kind not on the list, a community of another station: refused, nothing stored.
    for bad in (
        {"referrer_kind": "police"},
        {"area_id": world.cast.areas["hetang"].id},
        {"referrer_name": ""},
    ):
        response = await post(he, "/orders", **{**fields, **bad, "client_uuid": str(uuid.uuid4())})
        assert response.status_code == 400, bad
    async with database.transaction(read_only=True) as db:
        referred = await db.scalar(select(func.count()).where(CaseOrder.source == OrderSource.REFERRER))
    assert referred == 3  # the demo's two and this one


async def test_the_poster_shows_the_stations_link_and_qr_code_to_its_workers_only(
    client_as: ClientAs, world: World, new_browser: Any
) -> None:
    wutong = world.cast.areas["wutong"].id
    he = await client_as(HE)
    poster = await he.get(f"/stations/{wutong}/poster")
    assert poster.status_code == 200 and "<svg" in poster.text
    link = re.search(r'href="https?://[^"]+(/request/[A-Za-z0-9_-]+)"', poster.text)
    assert link is not None
    assert (await new_browser().get(link.group(1))).status_code == 200
    staff = await client_as(personas.STAFF)
    assert (await staff.get(f"/stations/{wutong}/poster")).status_code == 200
    assert (await (await client_as(CHEN)).get(f"/stations/{wutong}/poster")).status_code == 404
    assert (await (await client_as(SCOUT)).get(f"/stations/{wutong}/poster")).status_code == 404


async def test_people_of_other_schemes_get_nothing_of_the_orders(
    client_as: ClientAs, world: World, database: Database
) -> None:
    orders = await demo_orders(database)
    order_id = orders["scout"].id
    for handle in (personas.CARING_MOTHER, personas.NEIGHBOUR, personas.SOCIAL_WORKER, personas.OUTSIDER):
        browser = await client_as(handle)
        for url in ("/orders", "/orders/new", "/scout", "/scout/report"):
            assert (await browser.get(url)).status_code == 403, (handle, url)
        assert (await browser.get(f"/orders/{order_id}")).status_code == 404, handle
        for action in ("take", "pass", "close"):
            response = await post(browser, f"/orders/{order_id}/{action}", new_name="x", reason="x", note="x")
            assert response.status_code == 404, (handle, action)
    assert (await load(database, order_id)).status is OrderStatus.OPEN


async def test_staff_set_the_hours_after_which_an_order_is_overdue_on_the_programme_page(
    client_as: ClientAs, world: World, database: Database
) -> None:
    programme_id = world.cast.programmes["station"].id
    staff = await client_as(personas.STAFF)
    page = await staff.get(f"/programmes/{programme_id}")
    assert page.status_code == 200 and 'id="order-due-hours"' in page.text and 'value="48"' in page.text
    for bad in ("0", "721", "abc", "1" * 40):
        refused = await post(staff, f"/programmes/{programme_id}/rules", order_due_hours=bad)
        assert refused.status_code == 422 and 'id="order_due_hours-error"' in refused.text, bad
    saved = await post(staff, f"/programmes/{programme_id}/rules", order_due_hours="2")
    assert saved.status_code == 303
    async with database.transaction(read_only=True) as db:
        programme = await db.get_one(Programme, programme_id)
        event = await db.scalar(
            select(AuditEvent)
            .where(AuditEvent.action == "programme.rules_changed", AuditEvent.subject_id == str(programme_id))
            .order_by(AuditEvent.id.desc())
        )
    assert programme.order_due_hours == 2
    assert event is not None and event.change["order_due_hours"] == [None, 2]
    # Now this morning's scout report (three hours old) is overdue too.
    orders = await demo_orders(database)
    assert queue_ids((await staff.get("/orders?overdue=1")).text) == [
        orders["resident"].id,
        orders["scout"].id,
    ]
    # A worker may not change the programme's rules.
    worker = await client_as(HE)
    assert (await post(worker, f"/programmes/{programme_id}/rules", order_due_hours="5")).status_code == 403
