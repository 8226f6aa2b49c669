"""Counters in fixed windows, kept in the database so every app instance shares them.

Sign-in counts failures only, and the keys are chosen so an attacker can only slow themselves down:
a client address that keeps failing is refused for a while, and a real user on another phone or
network is never locked out; accounts are never locked. Requests of signed-out visitors that store
something (a passkey ceremony) are counted each, per address and in total, and refused past a limit
before anything is stored. Client addresses are stored as keyed hashes, never in clear; old windows
are purged (backend/auth/purge.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from litestar.exceptions import TooManyRequestsException
from litestar.types import Scope
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import RateBucket
from backend.auth.service import keyed_hash
from backend.db import utcnow
from backend.i18n import lazy_gettext
from backend.security import client_address
from backend.settings import Settings


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    max_failures: int
    window: timedelta


# Wrong codes per address. A room of 40 people signing in on one Wi-Fi, 30 of them mistyping once
# within a minute, stays well under it; a guesser gets 60 tries a quarter hour from one address, and a
# code has 60 bits. A right code from the address still works until the address reaches the limit.
CODE_PER_CLIENT = Limit("code", 60, timedelta(minutes=15))
# Wrong codes from all addresses together: a guesser with many addresses is capped as well. Past it,
# an address that has already failed UNDER_ATTACK_PER_CLIENT times this window is refused; others
# (the real users) may still sign in, and passkeys are not affected.
CODE_ALL_CLIENTS = Limit("code-all", 1000, timedelta(minutes=15))
UNDER_ATTACK_PER_CLIENT = 3
PASSKEY_PER_CLIENT = Limit("passkey", 20, timedelta(minutes=15))
ACCOUNT_PER_CLIENT = Limit("account", 5, timedelta(minutes=15))
# Passkey sign-in options store a ceremony row for a signed-out visitor: every request counts.
# A room of 40 tries a few times each; the total bounds what any number of addresses can store.
OPTIONS_PER_CLIENT = Limit("options", 150, timedelta(minutes=15))
OPTIONS_ALL_CLIENTS = Limit("options-all", 5000, timedelta(minutes=15))


class RateLimited(TooManyRequestsException):
    """429 in the visitor's language, with Retry-After: the seconds left in the window."""

    def __init__(self, limit: Limit, *, failures: bool = True) -> None:
        message = (
            lazy_gettext("Too many failed attempts from this phone. Please wait 15 minutes and try again.")
            if failures
            else lazy_gettext(
                "Too many sign-in requests from this network. Please wait a few minutes and try again."
            )
        )
        super().__init__(detail=str(message), headers={"Retry-After": str(retry_after(limit))})


def _window_start(limit: Limit, now: datetime) -> datetime:
    seconds = int(limit.window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def retry_after(limit: Limit, now: datetime | None = None) -> int:
    """Seconds until the current window of `limit` ends (at least 1)."""
    now = now or utcnow()
    end = _window_start(limit, now) + limit.window
    return max(1, int((end - now).total_seconds()) + 1)


def bucket_key(limit: Limit, *parts: str) -> str:
    return ":".join((limit.name, *parts))[:100]


async def count(db: AsyncSession, limit: Limit, key: str) -> int:
    value = await db.scalar(
        select(RateBucket.count).where(
            RateBucket.key == key, RateBucket.window_start == _window_start(limit, utcnow())
        )
    )
    return value or 0


async def is_blocked(db: AsyncSession, limit: Limit, key: str) -> bool:
    return await count(db, limit, key) >= limit.max_failures


async def code_attempt_blocked(db: AsyncSession, client_key: str) -> bool:
    """Whether a code from this client may not even be tried now (see CODE_ALL_CLIENTS)."""
    failures = await count(db, CODE_PER_CLIENT, client_key)
    if failures >= CODE_PER_CLIENT.max_failures:
        return True
    if failures < UNDER_ATTACK_PER_CLIENT:
        return False
    return await is_blocked(db, CODE_ALL_CLIENTS, bucket_key(CODE_ALL_CLIENTS))


async def record_code_failure(db: AsyncSession, client_key: str) -> None:
    await record_failure(db, CODE_PER_CLIENT, client_key)
    await record_failure(db, CODE_ALL_CLIENTS, bucket_key(CODE_ALL_CLIENTS))


async def take_signed_out_write(db: AsyncSession, client_key: str) -> None:
    """Count one request of a signed-out visitor that stores something; refuse it (before it stores
    anything) past the per-address or the total limit."""
    total = bucket_key(OPTIONS_ALL_CLIENTS)
    if await is_blocked(db, OPTIONS_PER_CLIENT, client_key):
        raise RateLimited(OPTIONS_PER_CLIENT, failures=False)
    if await is_blocked(db, OPTIONS_ALL_CLIENTS, total):
        raise RateLimited(OPTIONS_ALL_CLIENTS, failures=False)
    await record_failure(db, OPTIONS_PER_CLIENT, client_key)
    await record_failure(db, OPTIONS_ALL_CLIENTS, total)


async def record_failure(db: AsyncSession, limit: Limit, key: str) -> None:
    """Add one to the key's count in the current window (a failure, or a counted request)."""
    now = utcnow()
    start = _window_start(limit, now)
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(RateBucket).values(key=key, window_start=start, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=[RateBucket.key, RateBucket.window_start], set_={"count": RateBucket.count + 1}
    )
    await db.execute(statement)
    await db.execute(delete(RateBucket).where(RateBucket.key == key, RateBucket.window_start < start))


def client_bucket(limit: Limit, scope: Scope, settings: Settings) -> str:
    """This request's client's bucket for `limit`: its address as a keyed hash, never in clear."""
    return bucket_key(limit, keyed_hash(settings.secret_key, client_address(scope, settings))[:32])
