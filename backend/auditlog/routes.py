"""Browsing the audit trail, for staff: filters, newest first, paged by event id, with the chain check.

Read only: the app never updates or deletes an event (and the database refuses it). Events hold ids
and categories, not names; the actor's display name is looked up for the page. Staff see the events of
their own programmes (scoped in SQL, see `visible_events`); an administrator sees all. The first page
checks the events appended since the last good check (`verify_since_checkpoint`), not the whole chain
on every visit; `carelog verify-audit` recomputes everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import FromQuery
from litestar.response import Template
from sqlalchemy import ColumnElement, String, and_, cast, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import AuditEvent, verify_since_checkpoint
from backend.auditlog import labels
from backend.auth.principal import Principal
from backend.errors import Forbidden
from backend.i18n import gettext as _
from backend.people.models import Membership, Role, User
from backend.settings import Settings

# Twenty events fill a few phone screens (fifty made a page of about 18,000 px); older ones are a tap away.
PAGE = 20


@dataclass(frozen=True, slots=True)
class Filters:
    action: str = ""
    actor: str = ""
    subject_type: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def query(self, **extra: object) -> str:
        values = {
            "action": self.action,
            "actor": self.actor,
            "subject_type": self.subject_type,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            **{k: str(v) for k, v in extra.items()},
        }
        return urlencode({k: v for k, v in values.items() if v})


def _day(raw: str | None) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ClientException(detail=_("Enter dates as year-month-day, for example 2026-11-25.")) from None


def _text(raw: str | None) -> str:
    text = (raw or "").strip()
    if len(text) > 64:
        raise ClientException(detail=_("A filter is at most 64 characters."))
    return text


async def _conditions(db: AsyncSession, filters: Filters, zone: ZoneInfo) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.action:
        # "meal_checkin" finds every meal_checkin.* action; a full name finds only itself.
        conditions.append(
            AuditEvent.action.startswith(filters.action, autoescape=True)
            if filters.action.endswith(".") or "." not in filters.action
            else AuditEvent.action == filters.action
        )
    if filters.actor:
        actor_id = int(filters.actor) if filters.actor.isdigit() else None
        if actor_id is None:
            actor_id = await db.scalar(select(User.id).where(User.handle == filters.actor.lower())) or -1
        conditions.append(AuditEvent.actor_id == actor_id)
    if filters.subject_type:
        conditions.append(AuditEvent.subject_type == filters.subject_type)
    if filters.date_from:
        conditions.append(AuditEvent.at >= _start_of(filters.date_from, zone))
    if filters.date_to:
        conditions.append(AuditEvent.at < _start_of(filters.date_to + timedelta(days=1), zone))
    return conditions


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)


def may_browse(user: Principal) -> bool:
    return user.is_admin or user.has_role(Role.STAFF)


def visible_events(user: Principal) -> ColumnElement[bool]:
    """The events a browsing user may see: all for an administrator; for staff, those of their own
    programmes, and those about no programme (sign-ins, accounts) whose actor or subject user has (or
    had) a membership in one of them. Events about no one of theirs, and events written before events
    carried a programme, are for administrators."""
    if user.is_admin:
        return true()
    programmes = sorted(user.staff_programme_ids)
    members = select(Membership.user_id).where(Membership.programme_id.in_(programmes))
    return or_(
        AuditEvent.programme_id.in_(programmes),
        and_(
            AuditEvent.programme_id.is_(None),
            or_(
                AuditEvent.actor_id.in_(members),
                and_(
                    AuditEvent.subject_type == User.__tablename__,
                    AuditEvent.subject_id.in_(
                        select(cast(Membership.user_id, String)).where(
                            Membership.programme_id.in_(programmes)
                        )
                    ),
                ),
            ),
        ),
    )


@get("/audit", name="audit.browse")
async def audit_browse(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    settings: NamedDependency[Settings],
    action: FromQuery[str | None] = None,
    actor: FromQuery[str | None] = None,
    subject_type: FromQuery[str | None] = None,
    date_from: FromQuery[str | None] = None,
    date_to: FromQuery[str | None] = None,
    before: FromQuery[int | None] = None,
) -> Template:
    if not may_browse(user):
        raise Forbidden()
    filters = Filters(_text(action), _text(actor), _text(subject_type), _day(date_from), _day(date_to))
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise ClientException(detail=_("The last day comes before the first day."))
    zone = ZoneInfo(settings.time_zone)
    scoped = [visible_events(user)]
    query = select(AuditEvent).where(*scoped, *await _conditions(db, filters, zone))
    if before is not None:
        query = query.where(AuditEvent.id < before)
    events = list(await db.scalars(query.order_by(AuditEvent.id.desc()).limit(PAGE + 1)))
    more = len(events) > PAGE
    events = events[:PAGE]
    actors = {
        uid: name
        for uid, name in await db.execute(
            select(User.id, User.display_name).where(User.id.in_({e.actor_id for e in events if e.actor_id}))
        )
    }
    subject_types = list(
        await db.scalars(
            select(AuditEvent.subject_type).where(*scoped).distinct().order_by(AuditEvent.subject_type)
        )
    )
    return Template(
        template_name="auditlog/browse.html",
        context={
            "principal": user,
            "events": events,
            "actors": actors,
            "filters": filters,
            "subject_types": subject_types,
            "chain": await verify_since_checkpoint(request.app.state.database) if before is None else None,
            "older": filters.query(before=events[-1].id) if more and events else None,
            "newest": filters.query() if before is not None else None,
            "change_details": lambda change: labels.details(change, settings.time_zone),
            "action_label": labels.action_label,
            "subject_label": labels.subject_label,
            "short_hash": labels.short_hash,
        },
    )


routes = [audit_browse]
