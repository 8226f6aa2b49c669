"""Sign-in cards handed over in person, and recovery after a lost phone."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from backend.audit import AuditEvent
from backend.db import Database
from tests import personas
from tests.conftest import ClientAs, NewBrowser, World, csrf_token
from tests.functional.auth.test_passkeys import passkey_signin, register, soft_key

CODE = re.compile(r'class="code card-code">([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<')


async def issue(browser: httpx.AsyncClient, user_id: int) -> httpx.Response:
    return await browser.post(f"/cards/{user_id}", data={"_csrf_token": await csrf_token(browser)})


async def test_social_worker_issues_a_card_that_signs_the_mother_in_once(
    client_as: ClientAs, world: World, new_browser: NewBrowser, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    listing = await worker.get("/cards")
    assert listing.status_code == 200 and "王秀英" in listing.text
    card = await issue(worker, world.user_id(personas.CARING_MOTHER))
    assert card.status_code == 200
    assert "<svg" in card.text and "王秀英" in card.text
    code = CODE.search(card.text)
    assert code is not None
    phone = new_browser()
    signed = await phone.post("/signin", data={"code": code.group(1), "_csrf_token": await csrf_token(phone)})
    assert signed.status_code == 303
    assert "您好，王秀英" in (await phone.get("/")).text
    again = new_browser()
    assert (
        await again.post("/signin", data={"code": code.group(1), "_csrf_token": await csrf_token(again)})
    ).status_code == 400
    async with database.transaction(read_only=True) as db:
        event = await db.scalar(
            select(AuditEvent).where(AuditEvent.action == "signin_code.issued").order_by(AuditEvent.id.desc())
        )
    assert event is not None and event.actor_id == world.user_id(personas.SOCIAL_WORKER)


@pytest.mark.parametrize(
    ("issuer", "target", "status"),
    [
        (personas.SOCIAL_WORKER, personas.SOCIAL_WORKER, 403),  # herself
        (personas.SOCIAL_WORKER, "demo-mother-zhang", 404),  # a mother of the other street
        (personas.SOCIAL_WORKER, personas.OTHER_STREET_WORKER, 404),  # a fellow worker
        (personas.SOCIAL_WORKER, personas.STAFF, 404),  # staff: would grant more than her own role
        (personas.STAFF, personas.STAFF, 403),
        (personas.OUTSIDER, personas.NEIGHBOUR, 404),  # another district
        (personas.CARING_MOTHER, personas.NEIGHBOUR, 403),  # not an issuer at all
        (personas.NEIGHBOUR, personas.NEIGHBOUR, 403),
    ],
)
async def test_cards_are_refused_outside_the_issuers_remit(
    client_as: ClientAs, world: World, database: Database, issuer: str, target: str, status: int
) -> None:
    browser = await client_as(issuer)
    response = await issue(browser, world.user_id(target))
    assert response.status_code == status
    assert "card-code" not in response.text
    async with database.transaction(read_only=True) as db:
        issued = (
            await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "signin_code.issued", AuditEvent.actor_id == world.user_id(issuer)
                )
            )
        ).all()
    assert issued == []


async def test_staff_may_issue_for_social_workers_but_workers_list_only_their_field_people(
    client_as: ClientAs, world: World
) -> None:
    staff = await client_as(personas.STAFF)
    assert (await issue(staff, world.user_id(personas.SOCIAL_WORKER))).status_code == 200
    page = (await (await client_as(personas.SOCIAL_WORKER)).get("/cards")).text
    listing = page.split("<main", 1)[1]  # the people listed, not her own name in the menu
    for name in ("王秀英", "刘芳", "赵桂兰", "孙玉梅"):
        assert name in listing
    for name in ("张丽", "吴凤英", "陈静", "周敏", "李娜"):
        assert name not in listing


async def test_mothers_and_neighbours_cannot_open_the_card_page(client_as: ClientAs, world: World) -> None:
    for handle in (personas.CARING_MOTHER, personas.NEIGHBOUR):
        assert (await (await client_as(handle)).get("/cards")).status_code == 403


async def test_nobody_outside_her_area_can_open_the_sign_out_everywhere_page(
    client_as: ClientAs, world: World
) -> None:
    mother = world.user_id(personas.CARING_MOTHER)
    for handle in (personas.OTHER_STREET_WORKER, personas.NEIGHBOUR, personas.OTHER_MOTHER):
        assert (await (await client_as(handle)).get(f"/cards/{mother}/recover")).status_code in (403, 404)


async def test_lost_phone_recovery_ends_sessions_and_revokes_passkeys(
    client_as: ClientAs, world: World, new_browser: NewBrowser
) -> None:
    key = soft_key()
    mother_phone = await client_as(personas.CARING_MOTHER)
    assert (await register(mother_phone, key)).status_code == 201
    worker = await client_as(personas.SOCIAL_WORKER)
    mother = world.user_id(personas.CARING_MOTHER)
    cards = (await worker.get("/cards")).text
    assert f'href="/cards/{mother}/recover"' in cards and f'action="/cards/{mother}/recover"' not in cards
    asked = await worker.get(f"/cards/{mother}/recover")
    assert asked.status_code == 200 and "让王秀英在所有设备上退出？" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    # Without the confirmation (an old form, a stray tap): asked first, nothing done.
    unconfirmed = await worker.post(
        f"/cards/{mother}/recover", data={"_csrf_token": await csrf_token(worker)}
    )
    assert unconfirmed.status_code == 302 and unconfirmed.headers["location"] == f"/cards/{mother}/recover"
    assert (await mother_phone.get("/")).status_code == 200
    response = await worker.post(
        f"/cards/{mother}/recover", data={"_csrf_token": await csrf_token(worker), "confirm": "yes"}
    )
    assert response.status_code == 200
    assert "删除 1 个通行密钥" in response.text
    assert (await mother_phone.get("/")).headers["location"] == "/signin"
    assert (await passkey_signin(new_browser(), key)).status_code == 400


async def test_sign_out_everywhere_ends_every_session_of_mine_only(client_as: ClientAs, world: World) -> None:
    phone_a = await client_as(personas.NEIGHBOUR)
    phone_b = await client_as(personas.NEIGHBOUR)
    someone_else = await client_as(personas.OTHER_NEIGHBOUR)
    response = await phone_a.post(
        "/account/signout-everywhere", data={"_csrf_token": await csrf_token(phone_a)}
    )
    assert response.status_code == 303
    assert (await phone_b.get("/")).headers["location"] == "/signin"
    assert (await phone_a.get("/")).status_code == 303
    assert (await someone_else.get("/")).status_code == 200


async def test_card_page_is_marked_no_store(client_as: ClientAs, world: World) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    card = await issue(worker, world.user_id(personas.NEIGHBOUR))
    assert card.headers["cache-control"] == "no-store"


async def test_a_flagged_passkey_shows_on_the_workers_card_page(
    client_as: ClientAs, world: World, new_browser: NewBrowser
) -> None:
    key = soft_key()
    assert (await register(await client_as(personas.CARING_MOTHER), key)).status_code == 201
    assert (await passkey_signin(new_browser(), key, count=9)).status_code == 200
    assert (await passkey_signin(new_browser(), key, count=3)).status_code == 400
    listing = (await (await client_as(personas.SOCIAL_WORKER)).get("/cards")).text
    assert "计数器倒退" in listing


async def test_home_offers_a_passkey_until_one_is_added(client_as: ClientAs, world: World) -> None:
    phone = await client_as(personas.NEIGHBOUR)
    assert 'id="passkey-offer"' in (await phone.get("/")).text
    assert (await register(phone, soft_key())).status_code == 201
    assert 'id="passkey-offer"' not in (await phone.get("/")).text


async def test_the_passkey_suggestion_comes_after_her_meals_in_plain_words_and_can_be_hidden(
    client_as: ClientAs, world: World
) -> None:
    phone = await client_as(personas.NEIGHBOUR)
    page = (await phone.get("/")).text
    assert "通行密钥" not in page.split('id="passkey-offer"')[1].split("</div>")[0]
    assert "下次用指纹或刷脸登录" in page
    assert page.index('id="meals-today"') < page.index('id="passkey-offer"')
    hidden = await phone.post("/home/passkey-offer/dismiss", data={"_csrf_token": await csrf_token(phone)})
    assert hidden.status_code == 303 and hidden.headers["location"] == "/"
    assert 'id="passkey-offer"' not in (await phone.get("/")).text
    other_phone = await client_as(personas.NEIGHBOUR)  # another phone of hers still shows it
    assert 'id="passkey-offer"' in (await other_phone.get("/")).text
