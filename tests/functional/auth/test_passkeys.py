"""Passkeys end to end through the HTTP API, with a software authenticator that can misbehave."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from backend.audit import AuditEvent
from backend.auth.models import Ceremony, Passkey, Session
from backend.db import Database, utcnow
from backend.settings import Settings
from tests import personas
from tests.conftest import BASE_URL, ClientAs, NewBrowser, World, browsers_of, csrf_token
from tests.soft_authenticator import SoftAuthenticator

RP_ID = "testserver.local"


async def _post_json(
    browser: httpx.AsyncClient, url: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await browser.post(url, json=body or {}, headers={"x-csrftoken": await csrf_token(browser)})


async def register(browser: httpx.AsyncClient, key: SoftAuthenticator, **kw: Any) -> httpx.Response:
    start = (await _post_json(browser, "/account/passkeys/options")).json()
    credential = key.create(json.dumps(start["options"]), **kw)
    return await _post_json(
        browser,
        "/account/passkeys",
        {"ceremony": start["ceremony"], "credential": credential, "name": "我的手机"},
    )


async def passkey_signin(browser: httpx.AsyncClient, key: SoftAuthenticator, **kw: Any) -> httpx.Response:
    start = (await _post_json(browser, "/signin/passkey/options")).json()
    assertion = key.get(json.dumps(start["options"]), **kw)
    return await _post_json(
        browser, "/signin/passkey", {"ceremony": start["ceremony"], "credential": assertion}
    )


def soft_key() -> SoftAuthenticator:
    return SoftAuthenticator(rp_id=RP_ID, origin=BASE_URL)


@pytest.fixture
async def mother_key(client_as: ClientAs, world: World) -> SoftAuthenticator:
    key = soft_key()
    browser = await client_as(personas.CARING_MOTHER)
    response = await register(browser, key)
    assert response.status_code == 201, response.text
    return key


async def test_mother_registers_a_passkey_and_signs_in_with_it_alone(
    mother_key: SoftAuthenticator, new_browser: NewBrowser, database: Database
) -> None:
    phone = new_browser()
    response = await passkey_signin(phone, mother_key)
    assert response.status_code == 200, response.text
    assert response.json()["redirect"] == "/"
    assert "carelog_session" in phone.cookies
    assert "您好，王秀英" in (await phone.get("/")).text
    async with database.transaction(read_only=True) as db:
        methods = (await db.scalars(select(Session.method).order_by(Session.id))).all()
        actions = (await db.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert methods[-1] == "passkey"
    assert actions[-2:] == ["passkey.used", "session.started"]
    assert "passkey.added" in actions


async def test_account_page_lists_the_passkey(client_as: ClientAs, mother_key: SoftAuthenticator) -> None:
    page = await (await client_as(personas.CARING_MOTHER)).get("/account")
    assert page.status_code == 200
    assert "我的手机" in page.text


async def test_a_replayed_assertion_is_refused(
    mother_key: SoftAuthenticator, new_browser: NewBrowser
) -> None:
    phone = new_browser()
    start = (await _post_json(phone, "/signin/passkey/options")).json()
    assertion = mother_key.get(json.dumps(start["options"]))
    body = {"ceremony": start["ceremony"], "credential": assertion}
    assert (await _post_json(phone, "/signin/passkey", body)).status_code == 200
    # the same response again: its ceremony is used up
    again = new_browser()
    assert (await _post_json(again, "/signin/passkey", body)).status_code == 400
    # and under a fresh ceremony its challenge does not match
    fresh = (await _post_json(again, "/signin/passkey/options")).json()
    replay = await _post_json(
        again, "/signin/passkey", {"ceremony": fresh["ceremony"], "credential": assertion}
    )
    assert replay.status_code == 400
    assert "通行密钥" in replay.json()["detail"]


@pytest.mark.parametrize(
    "misbehaviour",
    [
        {"origin": "https://evil.example"},
        {"rp_id": "evil.example"},
        {"user_present": False},
        {"kind": "webauthn.create"},
        {"user_handle": b"someone-else-entirely-0123456789"},
    ],
    ids=["wrong-origin", "wrong-rp-id-hash", "no-user-presence", "registration-type", "foreign-user-handle"],
)
async def test_tampered_assertions_are_refused_and_sign_no_one_in(
    mother_key: SoftAuthenticator, new_browser: NewBrowser, misbehaviour: dict[str, Any]
) -> None:
    phone = new_browser()
    response = await passkey_signin(phone, mother_key, **misbehaviour)
    assert response.status_code == 400
    assert "carelog_session" not in phone.cookies


async def test_a_registration_response_cannot_be_used_to_sign_in(
    client_as: ClientAs, world: World, new_browser: NewBrowser
) -> None:
    key = soft_key()
    browser = await client_as(personas.NEIGHBOUR)
    start = (await _post_json(browser, "/account/passkeys/options")).json()
    attestation = key.create(json.dumps(start["options"]))
    phone = new_browser()
    signin = (await _post_json(phone, "/signin/passkey/options")).json()
    response = await _post_json(
        phone, "/signin/passkey", {"ceremony": signin["ceremony"], "credential": attestation}
    )
    assert response.status_code == 400


async def test_counter_going_backwards_is_refused_and_flagged(
    mother_key: SoftAuthenticator, new_browser: NewBrowser, database: Database
) -> None:
    assert (await passkey_signin(new_browser(), mother_key, count=10)).status_code == 200
    cloned = await passkey_signin(new_browser(), mother_key, count=4)
    assert cloned.status_code == 400
    async with database.transaction(read_only=True) as db:
        key = await db.scalar(select(Passkey))
        flagged = await db.scalar(select(AuditEvent).where(AuditEvent.action == "passkey.counter_regressed"))
    assert key is not None and key.flagged_at is not None and key.sign_count == 10
    assert flagged is not None


async def test_synced_passkey_reporting_zero_every_time_is_accepted(
    client_as: ClientAs, world: World, new_browser: NewBrowser
) -> None:
    key = soft_key()
    key.counting = False
    assert (await register(await client_as(personas.NEIGHBOUR), key)).status_code == 201
    for _ in range(3):
        assert (await passkey_signin(new_browser(), key)).status_code == 200


async def test_an_expired_ceremony_is_refused(
    mother_key: SoftAuthenticator, new_browser: NewBrowser, database: Database
) -> None:
    phone = new_browser()
    start = (await _post_json(phone, "/signin/passkey/options")).json()
    async with database.transaction() as db:
        await db.execute(update(Ceremony).values(expires_at=utcnow() - timedelta(seconds=1)))
    assertion = mother_key.get(json.dumps(start["options"]))
    response = await _post_json(
        phone, "/signin/passkey", {"ceremony": start["ceremony"], "credential": assertion}
    )
    assert response.status_code == 400


async def test_a_revoked_passkey_no_longer_signs_in_and_others_cannot_revoke_it(
    client_as: ClientAs, mother_key: SoftAuthenticator, new_browser: NewBrowser, database: Database
) -> None:
    async with database.transaction(read_only=True) as db:
        key_id = await db.scalar(select(Passkey.id))
    stranger = await client_as(personas.OTHER_MOTHER)
    refused = await stranger.post(
        f"/account/passkeys/{key_id}/revoke", data={"_csrf_token": await csrf_token(stranger)}
    )
    assert refused.status_code == 404
    assert (await passkey_signin(new_browser(), mother_key)).status_code == 200
    owner = await client_as(personas.CARING_MOTHER)
    done = await owner.post(
        f"/account/passkeys/{key_id}/revoke", data={"_csrf_token": await csrf_token(owner)}
    )
    assert done.status_code == 303
    assert (await passkey_signin(new_browser(), mother_key)).status_code == 400


async def test_garbage_bodies_get_a_400_not_a_500(
    client_as: ClientAs, world: World, new_browser: NewBrowser
) -> None:
    phone = new_browser()
    token = await csrf_token(phone)
    for body in (b"", b"not json", b"[1,2]", b'{"ceremony": 5, "credential": "x"}', b"{" * 70000):
        response = await phone.post(
            "/signin/passkey",
            content=body,
            headers={"x-csrftoken": token, "content-type": "application/json"},
        )
        assert response.status_code in (400, 413), body[:20]
    browser = await client_as(personas.NEIGHBOUR)
    response = await _post_json(browser, "/account/passkeys", {"ceremony": "nope", "credential": {"id": "x"}})
    assert response.status_code == 400


async def test_json_post_without_csrf_header_is_refused(client: httpx.AsyncClient, world: World) -> None:
    await client.get("/signin")
    response = await client.post("/signin/passkey/options", json={})
    assert response.status_code == 403


async def test_many_failed_passkey_attempts_throttle_that_client_only(
    settings: Settings, world: World, mother_key: SoftAuthenticator
) -> None:
    async with browsers_of(replace(settings, trust_proxy=True), "203.0.113.9", "198.51.100.7") as (
        attacker,
        victim,
    ):
        statuses = [
            (await passkey_signin(attacker, mother_key, origin="https://evil.example")).status_code
            for _ in range(21)
        ]
        assert statuses[:20] == [400] * 20 and statuses[20] == 429
        assert (await passkey_signin(victim, mother_key)).status_code == 200
