"""Sign-in by one-time code, sessions, sign-out, CSRF and the cross-site check."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from backend.audit import AuditEvent
from backend.auth import ratelimit
from backend.auth.models import Session, SignInCode
from backend.db import Database, utcnow
from backend.people.models import User
from backend.settings import Settings
from tests import personas
from tests.conftest import ClientAs, NewBrowser, World, browsers_of, csrf_token, issue_code


async def _post_code(browser: httpx.AsyncClient, code: str) -> httpx.Response:
    return await browser.post("/signin", data={"code": code, "_csrf_token": await csrf_token(browser)})


async def test_opening_a_signin_link_only_shows_a_button_and_does_not_use_the_code(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    code = await issue_code(database, personas.NEIGHBOUR)
    page = await client.get(f"/signin/c/{code}")
    assert page.status_code == 200
    assert f'value="{code}"' in page.text
    async with database.transaction(read_only=True) as db:
        used = await db.scalar(select(SignInCode.used_at).order_by(SignInCode.id.desc()).limit(1))
    assert used is None
    # and the button then signs in
    response = await _post_code(client, code)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_code_signs_in_once_and_starts_an_httponly_session(
    client: httpx.AsyncClient, world: World, database: Database, new_browser: NewBrowser
) -> None:
    code = await issue_code(database, personas.CARING_MOTHER)
    response = await _post_code(client, code)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "carelog_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = await client.get("/")
    assert home.status_code == 200
    assert "王秀英" in home.text

    again = await _post_code(new_browser(), code)  # the same code on another phone
    assert again.status_code == 400
    assert "此登录码无效" in again.text


async def test_code_typed_with_dashes_spaces_and_lowercase_is_accepted(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    code = await issue_code(database, personas.NEIGHBOUR)
    typed = f" {code[:4].lower()}-{code[4:8]} {code[8:]} "
    response = await _post_code(client, typed)
    assert response.status_code == 303


async def test_expired_code_is_refused(client: httpx.AsyncClient, world: World, database: Database) -> None:
    code = await issue_code(database, personas.NEIGHBOUR)
    async with database.transaction() as db:
        await db.execute(update(SignInCode).values(expires_at=utcnow() - timedelta(minutes=1)))
    response = await _post_code(client, code)
    assert response.status_code == 400
    assert (await client.get("/", follow_redirects=False)).headers["location"] == "/signin"


async def test_malformed_codes_get_a_clear_error_and_no_500(client: httpx.AsyncClient, world: World) -> None:
    for bad in ["", "short", "X" * 5000, "<script>alert(1)</script>", "\x00" * 12, "ABCD-EFGH-JKMN"]:
        response = await _post_code(client, bad)
        assert response.status_code == 400, bad[:20]
        assert 'role="alert"' in response.text
        assert "<script>alert(1)" not in response.text


async def test_signin_rotates_the_session_and_ends_the_previous_one(
    client: httpx.AsyncClient, world: World, database: Database, new_browser: NewBrowser
) -> None:
    await _post_code(client, await issue_code(database, personas.NEIGHBOUR))
    first = client.cookies["carelog_session"]
    await _post_code(client, await issue_code(database, personas.OTHER_NEIGHBOUR))
    second = client.cookies["carelog_session"]
    assert first != second
    async with database.transaction(read_only=True) as db:
        sessions = (await db.scalars(select(Session).order_by(Session.id))).all()
    assert [s.revoked_at is not None for s in sessions] == [True, False]
    # the old token does not come back to life
    old = new_browser(cookies={"carelog_session": first})
    assert (await old.get("/")).headers["location"] == "/signin"


async def test_signed_out_cookie_cannot_be_reused(
    client_as: ClientAs, world: World, new_browser: NewBrowser
) -> None:
    browser = await client_as(personas.SOCIAL_WORKER)
    token = browser.cookies["carelog_session"]
    response = await browser.post("/signout", data={"_csrf_token": await csrf_token(browser)})
    assert response.status_code == 303
    assert response.headers["clear-site-data"] == '"cache", "storage"'
    replay = new_browser(cookies={"carelog_session": token})
    assert (await replay.get("/")).headers["location"] == "/signin"
    assert (await replay.get(f"/people/{world.person_id('qian')}")).headers["location"] == "/signin"


async def test_disabled_account_is_refused_on_its_next_request(
    client_as: ClientAs, world: World, database: Database
) -> None:
    browser = await client_as(personas.NEIGHBOUR)
    assert (await browser.get("/")).status_code == 200
    async with database.transaction() as db:
        await db.execute(
            update(User).where(User.id == world.user_id(personas.NEIGHBOUR)).values(is_active=False)
        )
    response = await browser.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"


async def test_disabled_account_cannot_redeem_a_code(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    code = await issue_code(database, personas.NEIGHBOUR)
    async with database.transaction() as db:
        await db.execute(
            update(User).where(User.id == world.user_id(personas.NEIGHBOUR)).values(is_active=False)
        )
    assert (await _post_code(client, code)).status_code == 400


async def test_post_without_csrf_token_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    code = await issue_code(database, personas.NEIGHBOUR)
    await client.get("/signin")
    response = await client.post("/signin", data={"code": code})
    assert response.status_code == 403
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count(Session.id))) == 0
    # the code is still good afterwards
    assert (await _post_code(client, code)).status_code == 303


async def test_htmx_post_with_csrf_header_is_accepted(client_as: ClientAs, world: World) -> None:
    browser = await client_as(personas.NEIGHBOUR)
    response = await browser.post(
        "/language",
        data={"language": "en", "next": "/"},
        headers={"x-csrftoken": await csrf_token(browser), "hx-request": "true"},
    )
    assert response.status_code == 303


async def test_cross_site_post_is_refused_even_with_a_token(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    code = await issue_code(database, personas.NEIGHBOUR)
    response = await client.post(
        "/signin",
        data={"code": code, "_csrf_token": await csrf_token(client)},
        headers={"sec-fetch-site": "cross-site"},
    )
    assert response.status_code == 403
    assert (await _post_code(client, code)).status_code == 303


async def test_signin_and_signout_are_audited(client_as: ClientAs, world: World, database: Database) -> None:
    browser = await client_as(personas.STAFF)
    await browser.post("/signout", data={"_csrf_token": await csrf_token(browser)})
    async with database.transaction(read_only=True) as db:
        actions = (
            await db.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("s%")).order_by(AuditEvent.id)
            )
        ).all()
    assert actions[-4:] == ["signin_code.issued", "signin_code.used", "session.started", "session.ended"]


async def test_a_hundred_guessed_codes_are_throttled_without_locking_out_the_real_user(
    settings: Settings, world: World, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async with browsers_of(replace(settings, trust_proxy=True), "203.0.113.5", "198.51.100.2") as (
        guesser,
        owner,
    ):
        token = await csrf_token(guesser)
        statuses = []
        for i in range(100):
            guess = f"{i:012d}"
            statuses.append(
                (await guesser.post("/signin", data={"code": guess, "_csrf_token": token})).status_code
            )
        limit = ratelimit.CODE_PER_CLIENT.max_failures
        assert statuses[:limit] == [400] * limit
        assert set(statuses[limit:]) == {429}
        # even the right code is refused from the guessing address for now ...
        real = await issue_code(database, personas.NEIGHBOUR)
        blocked = await guesser.post("/signin", data={"code": real, "_csrf_token": token})
        assert blocked.status_code == 429 and 1 <= int(blocked.headers["retry-after"]) <= 900
        # ... while the real user, on her own phone, signs in at once
        mine = await owner.post("/signin", data={"code": real, "_csrf_token": await csrf_token(owner)})
        assert mine.status_code == 303
    assert any(r.getMessage() == "sign-in throttled" for r in caplog.records)


async def test_code_typed_on_a_full_width_chinese_keyboard_is_accepted(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    code = await issue_code(database, personas.NEIGHBOUR)
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in code[:6]) + "－" + code[6:]
    assert (await _post_code(client, full_width)).status_code == 303
