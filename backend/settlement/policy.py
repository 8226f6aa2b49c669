"""Who may see and do what with money.

Staff of a meal programme (and administrators) see its month pages, statements and exports, close
months and add adjustments. A social worker may read (never change) the statement of an agreement
she sees (a resident of her areas, or one she is responsible for). A programme the user has no role
in is a 404; one she has a role in, but not the staff role, is a 403.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Forbidden, NotFound
from backend.meals import policy as meals_policy
from backend.meals.models import Agreement
from backend.people.models import Programme, ProgrammeKind, Role
from backend.people.policy import visible_programmes


def is_staff_of(user: Principal, programme_id: int) -> bool:
    return user.is_admin or programme_id in user.staff_programme_ids


def is_settlement_staff(user: Principal) -> bool:
    """Staff of some meal programme (or an administrator): the settlement pages are theirs."""
    return user.is_admin or bool(meals_policy.meal_grants(user, Role.STAFF))


async def get_programme_for(
    db: AsyncSession, user: Principal, programme_id: int, *, kind: ProgrammeKind | None = None
) -> Programme:
    """A programme the user has a role in (404 otherwise), optionally of one kind (404 otherwise)."""
    programme = await db.scalar(
        select(Programme).where(Programme.id == programme_id, visible_programmes(user))
    )
    if programme is None:
        raise NotFound()
    if kind is not None and programme.kind is not kind:
        raise NotFound()
    return programme


async def get_settlement_programme_for(db: AsyncSession, user: Principal, programme_id: int) -> Programme:
    programme = await db.scalar(
        select(Programme).where(Programme.id == programme_id, visible_programmes(user))
    )
    if programme is None:
        raise NotFound()
    if not is_staff_of(user, programme.id):
        raise Forbidden()
    if programme.kind is not ProgrammeKind.NEIGHBOUR_MEALS:
        raise NotFound()
    return programme


async def settlement_programmes(db: AsyncSession, user: Principal) -> list[Programme]:
    query = select(Programme).where(Programme.kind == ProgrammeKind.NEIGHBOUR_MEALS).order_by(Programme.id)
    if not user.is_admin:
        query = query.where(Programme.id.in_(user.staff_programme_ids))
    return list(await db.scalars(query))


def may_read_statement(user: Principal, agreement: Agreement) -> bool:
    if is_staff_of(user, agreement.programme_id) or agreement.social_worker_id == user.id:
        return True
    return any(
        g.programme_id == agreement.programme_id and agreement.resident.area.path.startswith(g.area_path)
        for g in user.grants_for(Role.SOCIAL_WORKER)
    )


async def get_statement_agreement_for(db: AsyncSession, user: Principal, agreement_id: int) -> Agreement:
    agreement = await meals_policy.get_agreement_for(db, user, agreement_id)
    if not may_read_statement(user, agreement):
        raise Forbidden()
    return agreement
