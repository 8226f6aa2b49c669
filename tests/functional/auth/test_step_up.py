"""Step-up for money: closing a month needs a proof of the person (a fresh code, or a passkey WITH user
verification) within the last 15 minutes, renewed on the CURRENT session by the confirm page."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select, update

from backend.auth.models import Session
from backend.db import Database, utcnow
from tests import personas
from tests.conftest import ClientAs, NewBrowser, World, csrf_token, issue_code
from tests.functional.auth.test_passkeys import _post_json, passkey_signin, register, soft_key
from tests.functional.settlement_support import last_month
from tests.soft_authenticator import SoftAuthenticator, b64url, unb64url

FLAG_UV = 0x04


def without_user_verification(key: SoftAuthenticator, assertion: dict[str, Any]) -> dict[str, Any]:
    """The same assertion as a passkey that did not check the person (UV flag cleared), signed again."""
    response = assertion["response"]
    auth_data = bytearray(unb64url(response["authenticatorData"]))
    auth_data[32] &= ~FLAG_UV
    client_data = unb64url(response["clientDataJSON"])
    signature = key.key.sign(
        bytes(auth_data) + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
    )
    return {
        **assertion,
        "response": {
            **response,
            "authenticatorData": b64url(bytes(auth_data)),
            "signature": b64url(signature),
        },
    }


async def make_stale(database: Database, user_id: int, minutes: int = 16) -> None:
    async with database.transaction() as db:
        await db.execute(
            update(Session)
            .where(Session.user_id == user_id)
            .values(verified_at=utcnow() - timedelta(minutes=minutes))
        )


async def proofs(database: Database, user_id: int) -> list[Any]:
    async with database.transaction(read_only=True) as db:
        return list(
            await db.scalars(
                select(Session.verified_at).where(Session.user_id == user_id, Session.revoked_at.is_(None))
            )
        )


async def session_count(database: Database, user_id: int) -> int:
    async with database.transaction(read_only=True) as db:
        return int(
            await db.scalar(select(func.count()).select_from(Session).where(Session.user_id == user_id)) or 0
        )


async def post_close(browser: httpx.AsyncClient, world: World, **headers: str) -> httpx.Response:
    programme_id = world.cast.programmes["meals"].id
    # No "confirm" tick: with a fresh proof the page answers 400 ("tick the box"), so nothing closes here.
    return await browser.post(
        f"/settlement/{programme_id}/close",
        data={"month": last_month().strftime("%Y-%m"), "_csrf_token": await csrf_token(browser)},
        headers=headers,
    )


async def test_signing_in_with_a_code_counts_as_a_fresh_proof(
    client_as: ClientAs, world: World, database: Database
) -> None:
    staff = await client_as(personas.STAFF)
    assert all(p is not None for p in await proofs(database, world.user_id(personas.STAFF)))
    assert (await post_close(staff, world)).status_code == 400


async def test_staff_whose_proof_is_older_than_15_minutes_is_sent_to_confirm_before_closing(
    client_as: ClientAs, world: World, database: Database
) -> None:
    staff = await client_as(personas.STAFF)
    await make_stale(database, world.user_id(personas.STAFF))
    response = await post_close(staff, world)
    assert response.status_code == 303
    programme_id = world.cast.programmes["meals"].id
    assert response.headers["location"] == (
        f"/account/confirm?next=/settlement/{programme_id}%3Fmonth%3D{last_month():%Y-%m}"
    )
    htmx = await post_close(staff, world, **{"hx-request": "true"})
    assert htmx.headers["hx-redirect"].startswith("/account/confirm?next=")
    page = await staff.get(response.headers["location"])
    assert page.status_code == 200
    assert 'name="next" value="/settlement/' in page.text


async def test_fresh_code_issued_to_her_confirms_the_current_session_and_returns_her(
    client_as: ClientAs, world: World, database: Database
) -> None:
    staff_id = world.user_id(personas.STAFF)
    staff = await client_as(personas.STAFF)
    await make_stale(database, staff_id)
    sessions_before = await session_count(database, staff_id)
    code = await issue_code(database, personas.STAFF)
    programme_id = world.cast.programmes["meals"].id
    back = f"/settlement/{programme_id}?month={last_month():%Y-%m}"
    response = await staff.post(
        "/account/confirm", data={"code": code, "next": back, "_csrf_token": await csrf_token(staff)}
    )
    assert response.status_code == 303
    assert response.headers["location"] == back
    assert await session_count(database, staff_id) == sessions_before  # no new session
    (proof,) = await proofs(database, staff_id)
    assert utcnow() - proof < timedelta(minutes=1)
    assert (await post_close(staff, world)).status_code == 400  # past the step-up now


async def test_a_code_of_someone_else_or_a_used_one_does_not_confirm(
    client_as: ClientAs, world: World, database: Database
) -> None:
    staff_id = world.user_id(personas.STAFF)
    staff = await client_as(personas.STAFF)
    await make_stale(database, staff_id)
    neighbours_code = await issue_code(database, personas.NEIGHBOUR)
    response = await staff.post(
        "/account/confirm",
        data={"code": neighbours_code, "next": "/", "_csrf_token": await csrf_token(staff)},
    )
    assert response.status_code == 400
    assert "登录码无效" in response.text or "not valid" in response.text
    assert (await post_close(staff, world)).status_code == 303


async def test_confirm_page_returns_only_to_a_path_on_this_site(client_as: ClientAs, world: World) -> None:
    staff = await client_as(personas.STAFF)
    page = await staff.get("/account/confirm", params={"next": "//evil.example/x"})
    assert page.status_code == 200
    assert 'name="next" value="/"' in page.text


async def test_passkey_sign_in_without_user_verification_gives_no_proof(
    client_as: ClientAs, new_browser: NewBrowser, world: World, database: Database
) -> None:
    staff_id = world.user_id(personas.STAFF)
    key = soft_key()
    assert (await register(await client_as(personas.STAFF), key)).status_code == 201
    await make_stale(database, staff_id, minutes=60 * 24)
    phone = new_browser()
    start = (await _post_json(phone, "/signin/passkey/options")).json()
    assertion = without_user_verification(key, key.get(json.dumps(start["options"])))
    signed_in = await _post_json(
        phone, "/signin/passkey", {"ceremony": start["ceremony"], "credential": assertion}
    )
    assert signed_in.status_code == 200, signed_in.text
    assert (await post_close(phone, world)).status_code == 303  # sent to confirm: no proof yet
    other = new_browser()
    assert (await passkey_signin(other, key)).status_code == 200  # with UV: a proof
    assert (await post_close(other, world)).status_code == 400


async def test_passkey_with_user_verification_confirms_and_one_without_it_is_refused(
    client_as: ClientAs, world: World, database: Database
) -> None:
    staff_id = world.user_id(personas.STAFF)
    staff = await client_as(personas.STAFF)
    key = soft_key()
    assert (await register(staff, key)).status_code == 201
    await make_stale(database, staff_id)

    start = (await _post_json(staff, "/account/confirm/passkey/options")).json()
    assert start["options"]["userVerification"] == "required"
    weak = without_user_verification(key, key.get(json.dumps(start["options"])))
    refused = await _post_json(
        staff, "/account/confirm/passkey", {"ceremony": start["ceremony"], "credential": weak}
    )
    assert refused.status_code == 400
    assert (await post_close(staff, world)).status_code == 303

    start = (await _post_json(staff, "/account/confirm/passkey/options")).json()
    assertion = key.get(json.dumps(start["options"]))
    body = {"ceremony": start["ceremony"], "credential": assertion, "next": "/settlement"}
    confirmed = await _post_json(staff, "/account/confirm/passkey", body)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["redirect"] == "/settlement"
    assert (await post_close(staff, world)).status_code == 400


async def test_someone_elses_passkey_does_not_confirm_her_session(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mothers_key = soft_key()
    assert (await register(await client_as(personas.CARING_MOTHER), mothers_key)).status_code == 201
    staff = await client_as(personas.STAFF)
    assert (await register(staff, soft_key())).status_code == 201
    await make_stale(database, world.user_id(personas.STAFF))
    start = (await _post_json(staff, "/account/confirm/passkey/options")).json()
    assertion = mothers_key.get(json.dumps(start["options"]))
    response = await _post_json(
        staff, "/account/confirm/passkey", {"ceremony": start["ceremony"], "credential": assertion}
    )
    assert response.status_code == 400
    assert (await post_close(staff, world)).status_code == 303
