"""Factories with traits, built on the real service functions (so every row is audited like in life)."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.people.models import Area, Person, PersonKind, Programme, ProgrammeKind, Role, User
from backend.people.person_service import do_create_person
from backend.people.service import do_add_membership, do_create_area, do_create_programme, do_create_user

_seq = itertools.count(1)


async def make_district(db: AsyncSession, name: str | None = None) -> tuple[Area, Area, Area]:
    """A district with one street and one community under it."""
    n = next(_seq)
    district = await do_create_area(db, name=name or f"测试区{n}", parent=None, actor=None)
    street = await do_create_area(db, name=f"测试街道{n}", parent=district, actor=None)
    community = await do_create_area(db, name=f"测试社区{n}", parent=street, actor=None)
    return district, street, community


async def make_programme(
    db: AsyncSession, area: Area, kind: ProgrammeKind = ProgrammeKind.NEIGHBOUR_MEALS
) -> Programme:
    return await do_create_programme(
        db, name=f"测试项目{next(_seq)}", kind=kind, area=area, actor=None, time_zone="Asia/Shanghai"
    )


async def make_user(
    db: AsyncSession,
    handle: str | None = None,
    *,
    role: Role | None = None,
    programme: Programme | None = None,
    area: Area | None = None,
    inactive: bool = False,
    admin: bool = False,
    name: str = "测试用户",
) -> User:
    user = await do_create_user(
        db, handle=handle or f"user-{next(_seq)}", display_name=name, actor=None, is_admin=admin
    )
    if role is not None:
        assert programme is not None and area is not None, "a role needs a programme and an area"
        await do_add_membership(db, user=user, programme=programme, area=area, role=role, actor=None)
    if inactive:
        user.is_active = False
    return user


async def make_person(
    db: AsyncSession,
    programme: Programme,
    area: Area,
    kind: PersonKind = PersonKind.RESIDENT,
    *,
    name: str = "测试居民",
    born: int | None = 1950,
) -> Person:
    return await do_create_person(
        db, programme=programme, area=area, kind=kind, display_name=name, birth_year=born, actor=None
    )


def today() -> date:
    """Today in Asia/Shanghai on the tests' clock (tests/conftest.py chooses the date)."""
    return clock.today_in(clock.REFERENCE_ZONE)
