"""How long a session lives without use, and when its use is written down (issue 19).

Social workers, staff and administrators hold other people's data on shared station laptops: their
sessions end after `settings.worker_idle_hours` without a request. Caring mothers and neighbours sign in
with a card on their own phone and keep the long session (`settings.session_hours`). Any session of a
person who is not an administrator ends once her last membership has ended, whatever path ended it.

The time of last use is written at most once every TOUCH_EVERY, so a page view is not a write each time:
an idle limit of hours does not need minutes of precision. That bookkeeping write carries no audit
event (it changes no one's rights; a sign-in and a sign-out are audited where they happen), and an idle
session is refused like an expired one, without a write.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import Session
from backend.auth.principal import Principal
from backend.db import Database
from backend.people.models import Role

TOUCH_EVERY = timedelta(minutes=5)
WORKER_ROLES = frozenset({Role.STAFF, Role.SOCIAL_WORKER})


def idles_out(principal: Principal) -> bool:
    """Whether her sessions end after a time without use (workers, staff, administrators)."""
    return principal.is_admin or bool(principal.roles & WORKER_ROLES)


def still_valid(principal: Principal, *, now: datetime, idle_after: timedelta | None) -> bool:
    if not principal.is_admin and not principal.grants:
        return False  # her last membership has ended (an administrator needs none)
    if idle_after is None or not idles_out(principal) or principal.last_seen_at is None:
        return True
    return now - principal.last_seen_at < idle_after


def needs_touch(principal: Principal, now: datetime) -> bool:
    return principal.last_seen_at is None or now - principal.last_seen_at >= TOUCH_EVERY


async def touch_session(db: AsyncSession, database: Database, principal: Principal, *, now: datetime) -> None:
    """Write the session's last use, through the request's own transaction when it is the writer's
    (a second write transaction would wait for SQLite's lock the request already holds), else through
    a short one of its own (a page view reads through the read-only page reader)."""
    statement = (
        update(Session)
        .where(Session.id == principal.session_id)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    if db.bind is database.engine:
        await db.execute(statement)
        return
    async with database.transaction() as writer:
        await writer.execute(statement)
