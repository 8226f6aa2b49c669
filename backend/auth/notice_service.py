"""The privacy notice: shown once at first sign-in, then kept on the menu (GET /privacy).

Pressing "I have read it" stamps `User.notice_seen_at` once and records `notice.read`; until then the
home page sends her to the notice (backend/home.py). Only the home page does: sign-in, sign-out,
language, static files, health and the API are never held up by it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.errors import NotFound
from backend.people.models import User


async def notice_seen_at(db: AsyncSession, user_id: int) -> datetime | None:
    seen: datetime | None = await db.scalar(select(User.notice_seen_at).where(User.id == user_id))
    return seen


async def notice_due(db: AsyncSession, user_id: int) -> bool:
    return await notice_seen_at(db, user_id) is None


async def do_mark_notice_read(db: AsyncSession, *, actor: Actor, now: datetime) -> bool:
    """Stamp the notice as read by `actor` (the first time only). True when it was stamped now."""
    user = await db.scalar(select(User).where(User.id == actor.id).with_for_update())
    if user is None:
        raise NotFound()
    if user.notice_seen_at is not None:
        return False
    user.notice_seen_at = now
    await audit.record(db, actor=actor, action="notice.read", subject=user)
    return True
