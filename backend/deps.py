"""Request dependencies: the database session, the signed-in user, the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import anyio
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import lifetime
from backend.auth.principal import Principal
from backend.auth.service import load_principal
from backend.db import LONG_READS_OPT, Database, utcnow
from backend.errors import SignInRequired
from backend.i18n import set_language
from backend.security import SAFE_METHODS, session_cookie_name
from backend.settings import Settings
from backend.verification.policy import is_reviewer
from backend.verification.queue import queue_size


async def provide_db(request: Request[object, object, State], state: State) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed after the response is built, before it is sent.

    GET requests read in a deferred transaction; anything else takes SQLite's write lock up front.
    Routes whose pages read whole months or programmes carry the option db.LONG_READS_OPT (set in
    app.py; see db.Database.transaction).
    """
    database: Database = state.database
    read_only = request.method in SAFE_METHODS
    long_reads = bool(request.route_handler.opt.get(LONG_READS_OPT))
    async with database.transaction(read_only=read_only, long_reads=long_reads) as session:
        yield session


async def provide_read_db(state: State) -> AsyncIterator[AsyncSession]:
    """A read-only session whatever the method: for uploads, whose slow bodies must not hold
    SQLite's write lock; they open their own short write transaction once the bytes are in.

    Such a request holds two pooled connections at its peak, so only `upload_slots` of them run at
    once (the others wait here, holding none): 50 uploads at once used to take one connection each and
    then wait for a second until the pool timed out, answering 500.
    """
    database: Database = state.database
    gate = state.get("upload_gate")
    if gate is None:
        # A plain semaphore, not a CapacityLimiter: the session's cleanup may run in another task.
        gate = state.upload_gate = anyio.Semaphore(database.upload_slots)
    async with gate, database.transaction(read_only=True) as session:
        yield session


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


async def provide_principal(
    request: Request[object, object, State], db: NamedDependency[AsyncSession], state: State
) -> Principal | None:
    settings: Settings = state.settings
    token = request.cookies.get(session_cookie_name(settings))
    if not token:
        return None
    idle_after = timedelta(hours=settings.worker_idle_hours)
    principal = await load_principal(db, token, secret_key=settings.secret_key, idle_after=idle_after)
    if principal is None:
        # A cookie that no longer signs anyone in (ended, idle, no membership left): the sign-in
        # page says so plainly (web/templates/auth/signin.html reads this mark).
        request.state.session_ended = True
        return None
    now = utcnow()
    if lifetime.needs_touch(principal, now):
        await lifetime.touch_session(db, state.database, principal, now=now)
    if principal.locale:
        set_language(principal.locale)
    if _shows_navigation(request) and is_reviewer(principal):
        # The navigation shows a reviewer how many entries wait for her (one COUNT over the queue).
        request.state.review_pending = await queue_size(db, principal)
    return principal


def _shows_navigation(request: Request[object, object, State]) -> bool:
    path = request.url.path
    # The queue page counts its own entries (one scan fewer on the page a reviewer reloads most).
    return (
        request.method == "GET"
        and path != "/review"
        and not path.startswith(("/api/", "/photos/", "/static/"))
    )


async def provide_user(principal: NamedDependency[Principal | None]) -> Principal:
    if principal is None:
        raise SignInRequired()
    return principal
