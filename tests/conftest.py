"""Shared fixtures: the same suites run on SQLite and on PostgreSQL, with fixed personas.

Every database test is parametrised over both engines. SQLite tests each get a fresh copy of a
migrated template file; PostgreSQL tests share one migrated database per xdist worker and start
from empty tables. With CI=true a missing PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.app import create_app
from backend.auth.service import do_issue_code
from backend.db import Database, create_database
from backend.demo import DemoCast, create_demo
from backend.migrate import upgrade
from backend.models import Base
from backend.people.models import ProgrammeKind, Role
from backend.settings import Settings
from tests import factories, personas

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_DSN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
BASE_URL = "http://testserver.local"
SECRET = "test-secret-key-that-is-long-enough-0123456789"


# The tests' clock: no test reads the real date. TEST_TODAY=2027-03-01 runs the suite on another day
# (the first and last days of a month are where date arithmetic breaks); the live servers of the
# browser tests are started on the same day (tests/e2e/harness.py).
DEFAULT_TODAY = date(2026, 11, 18)


def chosen_today() -> date:
    raw = os.environ.get("TEST_TODAY", "").strip()
    return date.fromisoformat(raw) if raw else DEFAULT_TODAY


def pytest_configure(config: pytest.Config) -> None:
    clock.pretend_today(chosen_today())


def pytest_report_header(config: pytest.Config) -> str:
    return f"tests' clock: today is {chosen_today().isoformat()} (Asia/Shanghai; TEST_TODAY to change)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("e2e") is None and "e2e" in item.path.parts:
            item.add_marker(pytest.mark.e2e)


def _pg_dsn_for(database: str) -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + database


async def _pg_available() -> bool:
    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


def require_postgres() -> None:
    if not asyncio.run(_pg_available()):
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 and CI=true: nothing may skip")
        pytest.skip("PostgreSQL is not reachable (set CI=true to make this a failure)")


async def recreate_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def worker_tag(request: pytest.FixtureRequest) -> str:
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    return f"{worker}_{os.getpid()}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _drop_worker_databases(worker_tag: str) -> None:
    """Drop every database this worker made (carelog_<purpose>_<worker>_<pid>), if the server is up."""
    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return
    try:
        names = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'carelog\\_%' AND datname LIKE $1",
            f"%\\_{worker_tag}",
        )
        for (name,) in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session", autouse=True)
def _worker_databases_dropped(worker_tag: str) -> Iterator[None]:
    """At the end of the session, the migration and restore tests' databases go too (each run left
    four behind on the shared server: carelog_mig_* and carelog_r_*)."""
    yield
    asyncio.run(_drop_worker_databases(worker_tag))


@pytest.fixture(scope="session")
def pg_database(worker_tag: str) -> Iterator[str]:
    """This worker's PostgreSQL database for the session, dropped at its end (the server is shared
    with later runs, which otherwise found two more databases left behind by every run)."""
    require_postgres()
    name = f"carelog_t_{worker_tag}"
    asyncio.run(recreate_pg_database(name))
    url = "postgresql+asyncpg://" + _pg_dsn_for(name).split("://", 1)[1]
    upgrade(url)
    yield url
    asyncio.run(drop_pg_database(name))


# Every table but the audit chain's head, which the migration seeds and a test resets.
_TABLES = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables if t.name != "audit_head")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "carelog.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("pg_database")

    async def truncate() -> None:
        conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
        try:
            await conn.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE")
            await conn.execute("UPDATE audit_head SET seq = 0, hash = $1 WHERE id = 1", "0" * 64)
        finally:
            await conn.close()

    asyncio.run(truncate())
    return url


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=db_url,
        photo_store_url="memory://",
        secret_key=SECRET,
        public_origin=BASE_URL,
    )


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = create_database(settings)
    yield db
    await db.dispose()


@dataclass
class World:
    """The demo district plus an outsider: a social worker of another district's programme."""

    cast: DemoCast
    outsider_programme_id: int
    outsider_resident_id: int

    def user_id(self, handle: str) -> int:
        return self.cast.users[handle].id

    def person_id(self, key: str) -> int:
        return self.cast.people[key].id


@pytest.fixture
async def world(database: Database) -> World:
    async with database.transaction() as db:
        cast = await create_demo(db)
        district, street, community = await factories.make_district(db, name="远山区")
        programme = await factories.make_programme(db, district, ProgrammeKind.NEIGHBOUR_MEALS)
        outsider = await factories.make_user(
            db, personas.OUTSIDER, role=Role.SOCIAL_WORKER, programme=programme, area=street, name="外区社工"
        )
        cast.users[personas.OUTSIDER] = outsider
        resident = await factories.make_person(db, programme, community, name="远山居民")
        await notice_read(db)
    return World(cast=cast, outsider_programme_id=programme.id, outsider_resident_id=resident.id)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@asynccontextmanager
async def started(app: Litestar) -> AsyncIterator[Litestar]:
    """The app after its startup (database, photo store), in the test's own event loop.

    The hooks are called directly: Litestar's lifespan context uses a task group that pytest-asyncio
    would enter and leave in different tasks.
    """
    for hook in app.on_startup:
        await hook(app)
    try:
        yield app
    finally:
        for hook in app.on_shutdown:
            await hook(app)


@asynccontextmanager
async def browsers_of(settings: Settings, *forwarded_for: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """A separately configured app, and one browser per client address (X-Forwarded-For)."""
    async with started(create_app(settings)) as app:
        transport = httpx.ASGITransport(app=app)
        clients = [
            httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers={"x-forwarded-for": address})
            for address in forwarded_for or ("192.0.2.1",)
        ]
        try:
            yield clients
        finally:
            for browser in clients:
                await browser.aclose()


@pytest.fixture
async def running_app(app: Litestar) -> AsyncIterator[Litestar]:
    async with started(app):
        yield app


@pytest.fixture
async def client(running_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous browser. Redirects are not followed: tests look at them."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=running_app), base_url=BASE_URL
    ) as browser:
        yield browser


async def csrf_token(browser: httpx.AsyncClient) -> str:
    """What a real page would embed: fetch a page so the CSRF cookie is set, then read it."""
    if "csrftoken" not in browser.cookies:
        await browser.get("/signin")
    return str(browser.cookies["csrftoken"])


async def issue_code(database: Database, handle: str, hours: int = 72) -> str:
    from sqlalchemy import select

    from backend.people.models import User

    async with database.transaction() as db:
        user = await db.scalar(select(User).where(User.handle == handle))
        assert user is not None, handle
        issued = await do_issue_code(
            db, user, actor=None, secret_key=SECRET, valid_for=timedelta(hours=hours)
        )
    return issued.code


async def notice_read(db: AsyncSession, handle: str | None = None) -> None:
    """Mark the privacy notice read (for one user, or for all), as tests not about the notice need: the
    home page sends a user who has not read it to /privacy (tests/functional/auth/test_notice.py)."""
    from sqlalchemy import update

    from backend.people.models import User

    query = update(User).where(User.notice_seen_at.is_(None)).values(notice_seen_at=clock.utcnow())
    await db.execute(query.where(User.handle == handle) if handle is not None else query)


ClientAs = Callable[[str], Awaitable[httpx.AsyncClient]]
NewBrowser = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def new_browser(running_app: Litestar) -> AsyncIterator[NewBrowser]:
    """Another phone talking to the same running app (optionally holding given cookies)."""
    opened: list[httpx.AsyncClient] = []

    def make(cookies: dict[str, str] | None = None) -> httpx.AsyncClient:
        browser = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=running_app), base_url=BASE_URL, cookies=cookies
        )
        opened.append(browser)
        return browser

    yield make
    for browser in opened:
        await browser.aclose()


@pytest.fixture
async def client_as(new_browser: NewBrowser, database: Database) -> ClientAs:
    """A separate signed-in browser per persona, signed in through the real code flow."""

    async def sign_in(handle: str) -> httpx.AsyncClient:
        browser = new_browser()
        code = await issue_code(database, handle)
        token = await csrf_token(browser)
        response = await browser.post("/signin", data={"code": code, "_csrf_token": token})
        assert response.status_code == 303, response.text
        async with database.transaction() as db:
            await notice_read(db, handle)
        return browser

    return sign_in
