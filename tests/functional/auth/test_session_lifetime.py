"""Issue 19: workers' and staff's sessions end after a time without use; mothers' and neighbours' keep
their long sessions; any session ends once the person's last membership has ended.

The tests move the suite's clock (backend/clock.py) forward; they never sleep.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from backend import clock
from backend.auth.lifetime import TOUCH_EVERY
from backend.auth.models import Session
from backend.db import Database
from backend.people.models import Membership
from backend.settings import Settings
from tests import factories, personas
from tests.conftest import ClientAs, World


def _move_clock(monkeypatch: pytest.MonkeyPatch, by: timedelta) -> None:
    monkeypatch.setattr(clock, "_shift", clock.shift() + by)


async def _signed_in(browser: httpx.AsyncClient) -> bool:
    """The sign-in page sends a signed-in person home, and shows the form to anyone else."""
    answer = await browser.get("/signin")
    assert answer.status_code in (200, 303), answer.status_code
    return answer.status_code == 303


async def _last_seen(database: Database, user_id: int) -> list[datetime | None]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(
            select(Session.last_seen_at).where(Session.user_id == user_id, Session.revoked_at.is_(None))
        )
        return list(rows)


@pytest.mark.parametrize("handle", [personas.SOCIAL_WORKER, personas.STAFF])
async def test_worker_session_ends_after_idle_hours_without_use(
    client_as: ClientAs, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch, handle: str
) -> None:
    worker = await client_as(handle)
    assert await _signed_in(worker)
    _move_clock(monkeypatch, timedelta(hours=settings.worker_idle_hours, minutes=1))
    assert not await _signed_in(worker)
    page = await worker.get("/signin")
    assert page.status_code == 200 and 'id="session-ended"' in page.text


@pytest.mark.parametrize("handle", [personas.CARING_MOTHER, personas.NEIGHBOUR])
async def test_mother_and_neighbour_keep_their_long_sessions(
    client_as: ClientAs, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch, handle: str
) -> None:
    phone = await client_as(handle)
    _move_clock(monkeypatch, timedelta(hours=settings.worker_idle_hours * 3))
    assert await _signed_in(phone)


async def test_worker_who_keeps_using_her_session_stays_signed_in(
    client_as: ClientAs, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    almost = timedelta(hours=settings.worker_idle_hours) - timedelta(minutes=30)
    for _ in range(3):  # far longer than the idle limit in all, never that long between two uses
        _move_clock(monkeypatch, almost)
        assert await _signed_in(worker)


async def test_last_use_is_written_at_most_once_every_five_minutes(
    client_as: ClientAs, world: World, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker_id = world.user_id(personas.SOCIAL_WORKER)
    worker = await client_as(personas.SOCIAL_WORKER)
    assert await _signed_in(worker)
    assert await _last_seen(database, worker_id) == [None]  # just signed in: her sign-in time stands
    _move_clock(monkeypatch, TOUCH_EVERY + timedelta(seconds=5))
    assert await _signed_in(worker)
    [first] = await _last_seen(database, worker_id)
    assert first is not None and abs((first - clock.utcnow()).total_seconds()) < 60
    for _ in range(3):  # page views within the five minutes write nothing
        assert await _signed_in(worker)
        assert (await worker.get("/people")).status_code == 200
    assert await _last_seen(database, worker_id) == [first]
    _move_clock(monkeypatch, TOUCH_EVERY)
    assert await _signed_in(worker)
    [second] = await _last_seen(database, worker_id)
    assert second is not None and second > first


async def test_a_post_records_use_through_its_own_transaction(
    client_as: ClientAs, world: World, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write request holds SQLite's write lock: the use is written in it, without waiting for a lock."""
    from tests.conftest import csrf_token

    worker_id = world.user_id(personas.SOCIAL_WORKER)
    worker = await client_as(personas.SOCIAL_WORKER)
    _move_clock(monkeypatch, TOUCH_EVERY + timedelta(seconds=5))
    answer = await worker.post(
        "/language", data={"_csrf_token": await csrf_token(worker), "locale": "zh_Hans"}
    )
    assert answer.status_code < 500
    [seen] = await _last_seen(database, worker_id)
    assert seen is not None


async def test_any_session_ends_when_the_last_membership_ends(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    neighbour = await client_as(personas.NEIGHBOUR)
    assert await _signed_in(mother) and await _signed_in(neighbour)
    async with database.transaction() as db:
        # Ended by any path (here the row itself): the session follows the memberships, not a revocation.
        await db.execute(
            update(Membership)
            .where(Membership.user_id == world.user_id(personas.CARING_MOTHER))
            .values(ended_at=clock.utcnow())
        )
    assert not await _signed_in(mother)
    assert await _signed_in(neighbour)
    page = await mother.get("/signin")
    assert 'id="session-ended"' in page.text


async def test_administrator_without_memberships_keeps_her_session(
    client_as: ClientAs, world: World, database: Database
) -> None:
    async with database.transaction() as db:
        await factories.make_user(db, "admin-without-roles", admin=True, name="管理员")
    admin = await client_as("admin-without-roles")
    assert await _signed_in(admin)
    assert await _signed_in(admin)
