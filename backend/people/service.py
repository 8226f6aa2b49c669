"""Writes for the organisation and the people served. Each do_* records its audit event."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.errors import Conflict
from backend.i18n import lazy_gettext
from backend.people.models import (
    Area,
    AreaLevel,
    Membership,
    Person,
    PersonKind,
    Programme,
    ProgrammeKind,
    Role,
    User,
)

HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")
_CHILD_LEVEL = {
    None: AreaLevel.DISTRICT,
    AreaLevel.DISTRICT: AreaLevel.STREET,
    AreaLevel.STREET: AreaLevel.COMMUNITY,
}


class InvalidHandle(ValueError):
    pass


async def do_create_area(db: AsyncSession, *, name: str, parent: Area | None, actor: Actor | None) -> Area:
    level = _CHILD_LEVEL.get(parent.level if parent else None)
    if level is None:
        raise Conflict(str(lazy_gettext("A community cannot have areas below it.")))
    area = Area(name=name, parent_id=parent.id if parent else None, level=level, path="")
    db.add(area)
    await db.flush()
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    await audit.record(db, actor=actor, action="area.created", subject=area, change={"level": level.value})
    return area


async def do_create_programme(
    db: AsyncSession, *, name: str, kind: ProgrammeKind, area: Area, actor: Actor | None, time_zone: str
) -> Programme:
    programme = Programme(name=name, kind=kind, area_id=area.id, time_zone=time_zone)
    db.add(programme)
    await db.flush()
    await audit.record(
        db, actor=actor, action="programme.created", subject=programme, change={"kind": kind.value}
    )
    return programme


async def do_create_user(
    db: AsyncSession, *, handle: str, display_name: str, actor: Actor | None, is_admin: bool = False
) -> User:
    handle = handle.strip().lower()
    if not HANDLE_RE.match(handle):
        raise InvalidHandle(handle)
    if await db.scalar(select(User.id).where(User.handle == handle)) is not None:
        raise Conflict(str(lazy_gettext("That user name is taken.")))
    user = User(handle=handle, display_name=display_name.strip(), is_admin=is_admin, is_active=True)
    db.add(user)
    await db.flush()
    await audit.record(db, actor=actor, action="user.created", subject=user, change={"is_admin": is_admin})
    return user


async def do_add_membership(
    db: AsyncSession, *, user: User, programme: Programme, area: Area, role: Role, actor: Actor | None
) -> Membership:
    membership = Membership(user_id=user.id, programme_id=programme.id, area_id=area.id, role=role)
    db.add(membership)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="membership.added",
        subject=membership,
        change={"user_id": user.id, "programme_id": programme.id, "area_id": area.id, "role": role.value},
    )
    return membership


async def do_create_person(
    db: AsyncSession,
    *,
    programme: Programme,
    area: Area,
    kind: PersonKind,
    display_name: str,
    birth_year: int | None = None,
    guardian: Person | None = None,
    actor: Actor | None,
) -> Person:
    person = Person(
        programme_id=programme.id,
        area_id=area.id,
        kind=kind,
        display_name=display_name.strip(),
        birth_year=birth_year,
        guardian_id=guardian.id if guardian else None,
        created_by_id=actor.id if actor else None,
    )
    db.add(person)
    await db.flush()
    # The audit trail keeps ids and categories, never names: it outlives retention of personal data.
    await audit.record(
        db,
        actor=actor,
        action="person.created",
        subject=person,
        change={"kind": kind.value, "programme_id": programme.id, "area_id": area.id},
    )
    return person
