"""Sign-in limits: a room of people on one Wi-Fi, typos and all, gets in; a guesser is stopped; signed-out
requests that store something are counted and refused past a limit, nothing stored. On both databases,
through the HTTP client."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from backend.auth import ratelimit
from backend.auth.models import Ceremony, RateBucket
from backend.auth.service import do_issue_code
from backend.db import Database
from backend.people.models import ProgrammeKind, Role
from backend.settings import Settings
from tests import factories, personas
from tests.conftest import SECRET, World, browsers_of, csrf_token, issue_code

ROOM = "203.0.113.40"


async def _room_codes(database: Database, count: int) -> list[str]:
    """`count` neighbours of one programme, each with her own new sign-in card."""
    codes = []
    async with database.transaction() as db:
        _, street, _ = await factories.make_district(db)
        programme = await factories.make_programme(db, street, ProgrammeKind.NEIGHBOUR_MEALS)
        for n in range(count):
            user = await factories.make_user(
                db, f"room-{n}", role=Role.NEIGHBOUR, programme=programme, area=street, name=f"邻居{n}"
            )
            issued = await do_issue_code(
                db, user, actor=None, secret_key=SECRET, valid_for=timedelta(hours=2)
            )
            codes.append(issued.code)
    return codes


async def _post_code(browser: httpx.AsyncClient, code: str) -> httpx.Response:
    return await browser.post("/signin", data={"code": code, "_csrf_token": await csrf_token(browser)})


def _typo(code: str) -> str:
    # one wrong character, as a tired thumb makes it
    return ("A" if code[0] != "A" else "B") + code[1:]


async def _buckets(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.coalesce(func.sum(RateBucket.count), 0))) or 0)


async def test_a_room_of_forty_on_one_wifi_with_thirty_typos_all_get_in(
    settings: Settings, world: World, database: Database
) -> None:
    codes = await _room_codes(database, 40)
    async with browsers_of(replace(settings, trust_proxy=True), *[ROOM] * 40) as phones:
        # the worst order: every typo first, then everyone's right code
        typos = [(await _post_code(phones[n % 40], _typo(codes[n % 40]))).status_code for n in range(30)]
        assert typos == [400] * 30
        rights = [
            (await _post_code(phone, code)).status_code for phone, code in zip(phones, codes, strict=True)
        ]
        assert rights == [303] * 40
        # each phone is signed in: home does not send her back to the sign-in page
        homes = [await phone.get("/") for phone in phones]
        assert all(h.status_code in (200, 303) and h.headers.get("location") != "/signin" for h in homes)


async def test_a_client_trying_many_codes_is_stopped_and_the_real_user_is_not_locked_out(
    settings: Settings, world: World, database: Database
) -> None:
    real = await issue_code(database, personas.NEIGHBOUR)
    async with browsers_of(replace(settings, trust_proxy=True), "198.51.100.66", "192.0.2.77") as (
        guesser,
        owner,
    ):
        statuses = [(await _post_code(guesser, f"{n:012d}")).status_code for n in range(150)]
        limit = ratelimit.CODE_PER_CLIENT.max_failures
        assert statuses[:limit] == [400] * limit and set(statuses[limit:]) == {429}
        refused = await _post_code(guesser, real)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 900
        assert "此手机失败次数过多" in refused.text
        # refused attempts are not even counted: one row per key, at the limit
        assert await _buckets(database) == 2 * limit
        mine = await _post_code(owner, real)
        assert mine.status_code == 303


async def test_past_the_total_cap_addresses_that_keep_failing_are_refused_and_others_still_sign_in(
    settings: Settings, world: World, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "CODE_ALL_CLIENTS", ratelimit.Limit("code-all", 20, timedelta(minutes=15)))
    codes = await _room_codes(database, 2)
    addresses = [f"198.18.0.{n}" for n in range(8)] + ["192.0.2.10", "192.0.2.11"]
    async with browsers_of(replace(settings, trust_proxy=True), *addresses) as phones:
        *botnet, typist, clean = phones
        for bot in botnet:  # 8 addresses x 3 wrong = 24, past the total of 20
            for n in range(3):
                assert (await _post_code(bot, f"{n:012d}")).status_code == 400
        assert (await _post_code(botnet[0], codes[0])).status_code == 429
        assert (await _post_code(typist, _typo(codes[0]))).status_code == 400  # one typo: still let in
        assert (await _post_code(typist, codes[0])).status_code == 303
        assert (await _post_code(clean, codes[1])).status_code == 303


async def _options(browser: httpx.AsyncClient) -> httpx.Response:
    return await browser.post(
        "/signin/passkey/options", json={}, headers={"x-csrftoken": await csrf_token(browser)}
    )


async def _ceremonies(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count()).select_from(Ceremony)) or 0)


async def test_passkey_options_are_limited_per_address_and_nothing_is_stored_past_the_limit(
    settings: Settings, world: World, database: Database
) -> None:
    limit = ratelimit.OPTIONS_PER_CLIENT.max_failures
    async with browsers_of(replace(settings, trust_proxy=True), "203.0.113.90", "192.0.2.91") as (
        flood,
        other,
    ):
        for _ in range(limit):
            assert (await _options(flood)).status_code == 200
        refused = await _options(flood)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 900
        assert "登录请求过多" in refused.text
        assert await _ceremonies(database) == limit
        assert (await _options(other)).status_code == 200
        assert await _ceremonies(database) == limit + 1


async def test_passkey_options_have_a_total_cap_over_all_addresses(
    settings: Settings, world: World, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        ratelimit, "OPTIONS_ALL_CLIENTS", ratelimit.Limit("options-all", 6, timedelta(minutes=15))
    )
    addresses = [f"198.18.1.{n}" for n in range(4)]
    async with browsers_of(replace(settings, trust_proxy=True), *addresses) as phones:
        statuses = [(await _options(phone)).status_code for phone in phones for _ in range(2)]
    assert statuses == [200] * 6 + [429] * 2
    assert await _ceremonies(database) == 6
