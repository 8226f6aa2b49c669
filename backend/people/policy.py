"""Who may see which people, as SQL conditions built from the user.

Lists, counts and single loads all use these conditions, so nothing is filtered in Python after
loading. What a user may not see does not exist for them: loaders answer 404, never 403.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased, selectinload

from backend.auth.principal import Principal
from backend.cases.models import Case
from backend.errors import NotFound
from backend.meals.models import Agreement, AgreementStatus
from backend.people.models import Area, Person, Programme, ProgrammeKind, Role
from backend.pillar.models import AgencyWorker, PillarFile
from backend.visits.models import Pairing, PairingStatus

# Built once: an alias made per request costs milliseconds (SQLAlchemy copies the table's columns).
_CHILD = aliased(Person, name="paired_child")


def area_and_below(path: str) -> ColumnElement[bool]:
    """Areas whose path starts with `path` (the area itself and all its descendants)."""
    return Area.path.startswith(path, autoescape=True)


def _in_area_tree(area_id_column: InstrumentedAttribute[int], path: str) -> ColumnElement[bool]:
    return area_id_column.in_(select(Area.id).where(area_and_below(path)).scalar_subquery())


def _agency_mothers(user: Principal) -> Any:
    agencies = select(AgencyWorker.agency_id).where(
        AgencyWorker.user_id == user.id, AgencyWorker.ended_at.is_(None)
    )
    return (
        select(Case.person_id)
        .join(PillarFile, PillarFile.case_id == Case.id)
        .where(PillarFile.agency_id.in_(agencies))
        .scalar_subquery()
    )


def visible_people(user: Principal) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    conditions: list[ColumnElement[bool]] = []
    staff = user.staff_programme_ids
    if staff:
        conditions.append(Person.programme_id.in_(staff))
    for grant in user.grants_for(Role.SOCIAL_WORKER):
        term = and_(Person.programme_id == grant.programme_id, _in_area_tree(Person.area_id, grant.area_path))
        if grant.programme_kind is ProgrammeKind.PILLAR_MOTHERS:
            # A pillar agency's worker sees the mothers of her agency's files and their children only.
            mothers = _agency_mothers(user)
            term = and_(term, or_(Person.id.in_(mothers), Person.guardian_id.in_(mothers)))
        conditions.append(term)
    if user.has_role(Role.CARING_MOTHER):
        children = select(Pairing.child_id).where(
            Pairing.mother_id == user.id, Pairing.status == PairingStatus.ACTIVE
        )
        child = _CHILD
        guardians = select(child.guardian_id).where(child.id.in_(children), child.guardian_id.is_not(None))
        conditions.append(Person.id.in_(children))
        conditions.append(Person.id.in_(guardians))
    if user.has_role(Role.NEIGHBOUR):
        residents = select(Agreement.resident_id).where(
            Agreement.neighbour_id == user.id, Agreement.status == AgreementStatus.ACTIVE
        )
        conditions.append(Person.id.in_(residents))
    return or_(*conditions) if conditions else false()


def visible_programmes(user: Principal) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    ids = {g.programme_id for g in user.grants}
    return Programme.id.in_(ids) if ids else false()


async def get_person_for(db: AsyncSession, user: Principal, person_id: int) -> Person:
    person = await db.scalar(
        select(Person)
        .where(Person.id == person_id, visible_people(user))
        .options(selectinload(Person.area), selectinload(Person.programme), selectinload(Person.guardian))
    )
    if person is None:
        raise NotFound()
    return person


async def list_people_for(db: AsyncSession, user: Principal, *, limit: int = 200) -> list[Person]:
    rows = await db.scalars(
        select(Person)
        .where(visible_people(user))
        .options(selectinload(Person.area), selectinload(Person.programme))
        .order_by(Person.programme_id, Person.area_id, Person.display_name, Person.id)
        .limit(limit)
    )
    return list(rows)
