"""Failure counters in fixed windows, kept in the database so every app instance shares them.

Only failures are counted, and the keys are chosen so an attacker can only slow themselves down:
a client address that keeps failing is refused for a while, and failures against one account count
per client address, so a real user on another phone or network is never locked out.
Client addresses are stored as keyed hashes, never in clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import RateBucket
from backend.db import utcnow


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    max_failures: int
    window: timedelta


# Codes have 60 bits: ten guesses per quarter hour per address makes guessing hopeless.
CODE_PER_CLIENT = Limit("code", 10, timedelta(minutes=15))
PASSKEY_PER_CLIENT = Limit("passkey", 20, timedelta(minutes=15))
ACCOUNT_PER_CLIENT = Limit("account", 5, timedelta(minutes=15))


def _window_start(limit: Limit, now: datetime) -> datetime:
    seconds = int(limit.window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def bucket_key(limit: Limit, *parts: str) -> str:
    return ":".join((limit.name, *parts))[:100]


async def is_blocked(db: AsyncSession, limit: Limit, key: str) -> bool:
    count = await db.scalar(
        select(RateBucket.count).where(
            RateBucket.key == key, RateBucket.window_start == _window_start(limit, utcnow())
        )
    )
    return (count or 0) >= limit.max_failures


async def record_failure(db: AsyncSession, limit: Limit, key: str) -> None:
    now = utcnow()
    start = _window_start(limit, now)
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(RateBucket).values(key=key, window_start=start, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=[RateBucket.key, RateBucket.window_start], set_={"count": RateBucket.count + 1}
    )
    await db.execute(statement)
    await db.execute(delete(RateBucket).where(RateBucket.key == key, RateBucket.window_start < start))
