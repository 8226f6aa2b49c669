"""Purging what signed-out requests and sign-ins leave behind, so a server nobody maintains does not grow
without limit: expired passkey ceremonies, ended sessions and spent sign-in codes past a grace period,
old rate-limit windows, and the once-a-day marks of audited views. The audit chain is never purged.

`carelog purge` runs it all; a sign-in request also runs one bounded batch of it, at most once an hour
per process, after its response has been sent (`purge_after_response`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from litestar import Request
from sqlalchemy import ColumnElement, Table, delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.audit import AuditDailyView
from backend.auth.models import Ceremony, RateBucket, Session, SignInCode
from backend.db import Database
from backend.logs import app_log

# Kept a while after they end, for a worker looking into a sign-in or a card (self-dealing signals
# look back a month); then they go.
SESSION_GRACE = timedelta(days=30)
CODE_GRACE = timedelta(days=90)
CEREMONY_GRACE = timedelta(hours=1)
# The longest rate-limit window is a quarter hour: a day-old window counts for nothing.
RATE_GRACE = timedelta(days=1)
VIEW_MARK_DAYS = 2

OPPORTUNISTIC_BATCH = 500
OPPORTUNISTIC_EVERY_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class PurgeReport:
    ceremonies: int
    sessions: int
    codes: int
    rate_buckets: int
    view_marks: int

    @property
    def total(self) -> int:
        return self.ceremonies + self.sessions + self.codes + self.rate_buckets + self.view_marks


def _conditions(now: datetime) -> dict[str, ColumnElement[bool]]:
    return {
        "ceremonies": Ceremony.expires_at < now - CEREMONY_GRACE,
        "sessions": or_(Session.expires_at < now - SESSION_GRACE, Session.revoked_at < now - SESSION_GRACE),
        "codes": or_(SignInCode.expires_at < now - CODE_GRACE, SignInCode.used_at < now - CODE_GRACE),
        "rate_buckets": RateBucket.window_start < now - RATE_GRACE,
        "view_marks": AuditDailyView.day
        < clock.today_in(clock.REFERENCE_ZONE) - timedelta(days=VIEW_MARK_DAYS),
    }


_TABLES: dict[str, Any] = {
    "ceremonies": Ceremony,
    "sessions": Session,
    "codes": SignInCode,
    "rate_buckets": RateBucket,
    "view_marks": AuditDailyView,
}


async def _purge_one(db: AsyncSession, model: Any, condition: ColumnElement[bool], limit: int | None) -> int:
    table: Table = model.__table__
    if limit is None:
        result = await db.execute(delete(model).where(condition))
        return int(getattr(result, "rowcount", 0) or 0)
    # A bounded batch: the oldest-first order does not matter, only that one call does a fixed amount.
    keys = list(table.primary_key.columns)
    rows = (await db.execute(select(*keys).where(condition).limit(limit))).all()
    if not rows:
        return 0
    if len(keys) == 1:
        await db.execute(delete(model).where(keys[0].in_([row[0] for row in rows])))
    else:
        await db.execute(delete(model).where(tuple_(*keys).in_([tuple(row) for row in rows])))
    return len(rows)


async def purge(db: AsyncSession, *, batch: int | None = None) -> PurgeReport:
    """Delete what is past its time (at most `batch` rows of each kind when given)."""
    now = clock.utcnow()
    counts = {
        name: await _purge_one(db, _TABLES[name], condition, batch)
        for name, condition in _conditions(now).items()
    }
    return PurgeReport(**counts)


_last_run = -OPPORTUNISTIC_EVERY_SECONDS


def _due() -> bool:
    global _last_run
    now = time.monotonic()
    if now - _last_run < OPPORTUNISTIC_EVERY_SECONDS:
        return False
    _last_run = now
    return True


async def purge_now_and_then(database: Database) -> PurgeReport | None:
    """One bounded batch, at most once an hour per process; never fails the request that ran it."""
    if not _due():
        return None
    try:
        async with database.transaction() as db:
            report = await purge(db, batch=OPPORTUNISTIC_BATCH)
    except Exception:  # a busy database: the next hour's run or `carelog purge` catches up
        app_log.warning("opportunistic purge failed", exc_info=True)
        return None
    if report.total:
        app_log.info("purged", extra={"rows": report.total})
    return report


async def purge_after_response(request: Request[Any, Any, Any]) -> None:
    await purge_now_and_then(request.app.state.database)
