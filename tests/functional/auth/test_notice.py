"""The privacy notice: shown at first sign-in, read once, then reachable from the menu. Both databases."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from sqlalchemy import func, select, update

from backend.audit import AuditEvent
from backend.db import Database
from backend.people.models import User
from backend.settings import Settings
from tests import personas
from tests.conftest import NewBrowser, World, csrf_token, issue_code

CHILD_DAYS, MEAL_DAYS = 400, 1200  # not the defaults: the page must take them from the settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, child_photo_retention_days=CHILD_DAYS, meal_photo_retention_days=MEAL_DAYS
    )


async def _unread(database: Database, handle: str) -> None:
    async with database.transaction() as db:
        await db.execute(update(User).where(User.handle == handle).values(notice_seen_at=None))


async def _first_sign_in(new_browser: NewBrowser, database: Database, handle: str) -> httpx.AsyncClient:
    """A user who has never read the notice signs in with her card."""
    await _unread(database, handle)
    browser = new_browser()
    code = await issue_code(database, handle)
    response = await browser.post("/signin", data={"code": code, "_csrf_token": await csrf_token(browser)})
    assert response.status_code == 303, response.text
    return browser


async def _notice_events(database: Database, user_id: int) -> int:
    async with database.transaction(read_only=True) as db:
        count = await db.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "notice.read", AuditEvent.subject_id == str(user_id)
            )
        )
    return int(count or 0)


async def test_first_sign_in_shows_the_notice_and_reading_it_leads_home(
    new_browser: NewBrowser, database: Database, world: World
) -> None:
    mother = await _first_sign_in(new_browser, database, personas.CARING_MOTHER)

    home = await mother.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/privacy"
    notice = await mother.get("/privacy")
    assert notice.status_code == 200
    assert "我们为您保存哪些信息" in notice.text  # Chinese first
    assert 'id="notice-read-form"' in notice.text

    read = await mother.post("/privacy", data={"_csrf_token": await csrf_token(mother)})
    assert read.status_code == 303 and read.headers["location"] == "/"
    assert (await mother.get("/")).status_code == 200
    user_id = world.user_id(personas.CARING_MOTHER)
    async with database.transaction(read_only=True) as db:
        user = await db.get_one(User, user_id)
        assert user.notice_seen_at is not None
        event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "notice.read"))
        assert event is not None and event.actor_id == user_id and event.change == {}
    assert await _notice_events(database, user_id) == 1

    # Still there later, from the menu, without the button; pressing it again records nothing more.
    assert 'id="nav-privacy"' in (await mother.get("/")).text
    again = await mother.get("/privacy")
    assert again.status_code == 200 and 'id="notice-seen"' in again.text
    assert 'id="notice-read-form"' not in again.text
    await mother.post("/privacy", data={"_csrf_token": await csrf_token(mother)})
    assert await _notice_events(database, user_id) == 1


@pytest.mark.parametrize(
    ("handle", "section", "mentions", "not_mentioned"),
    [
        (personas.CARING_MOTHER, "caring_mother", [CHILD_DAYS], [MEAL_DAYS]),
        (personas.NEIGHBOUR, "neighbour", [MEAL_DAYS], [CHILD_DAYS]),
        (personas.SOCIAL_WORKER, "social_worker", [CHILD_DAYS, MEAL_DAYS], []),
        (personas.STAFF, "staff", [CHILD_DAYS, MEAL_DAYS], []),
    ],
)
async def test_each_roles_notice_says_how_long_its_photos_are_kept(
    new_browser: NewBrowser,
    database: Database,
    world: World,
    handle: str,
    section: str,
    mentions: list[int],
    not_mentioned: list[int],
) -> None:
    browser = await _first_sign_in(new_browser, database, handle)
    assert (await browser.get("/")).headers["location"] == "/privacy"
    page = (await browser.get("/privacy")).text
    assert f'id="notice-{section}"' in page
    for days in mentions:
        assert f"{days} 天" in page
    for days in not_mentioned:
        assert f"{days} 天" not in page

    await browser.post(
        "/language", data={"_csrf_token": await csrf_token(browser), "language": "en", "next": "/"}
    )
    english = (await browser.get("/privacy")).text
    assert "What we keep about you" in english
    for days in mentions:
        assert f"deleted {days} days after" in english


async def test_only_the_home_page_waits_for_the_notice(
    new_browser: NewBrowser, database: Database, world: World
) -> None:
    neighbour = await _first_sign_in(new_browser, database, personas.NEIGHBOUR)
    # A script asking for JSON is never sent to a page.
    assert (await neighbour.get("/", headers={"accept": "application/json"})).status_code == 200
    for path in ("/account", "/healthz", "/manifest.webmanifest", "/offline"):
        response = await neighbour.get(path)
        assert response.status_code == 200, path
    language = await neighbour.post(
        "/language", data={"_csrf_token": await csrf_token(neighbour), "language": "en", "next": "/account"}
    )
    assert language.status_code == 303 and language.headers["location"] == "/account"
    signout = await neighbour.post("/signout", data={"_csrf_token": await csrf_token(neighbour)})
    assert signout.status_code == 303 and signout.headers["location"] != "/privacy"
    # Signed out, the notice page asks for a sign-in like any other page.
    assert (await neighbour.get("/privacy")).status_code == 303
