"""Who may hand over sign-in (cards) and recover whose account, as SQL conditions.

A card signs its holder in as the person it was issued for, with all of that person's roles. So an
issuer may only issue for someone all of whose roles she oversees: a social worker for the caring
mothers, neighbours, scouts, pillar volunteers and pillar mothers of her areas (a pillar group's cadre
gets hers from staff), staff for anyone but staff in their programmes, an administrator for anyone.
Nobody issues a card for herself: that would be a way round losing access.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from backend.auth.models import Passkey
from backend.auth.principal import Principal
from backend.errors import Forbidden, NotFound
from backend.i18n import gettext as _
from backend.people.models import Area, Membership, Role, User
from backend.people.policy import area_and_below

FIELD_ROLES = (Role.CARING_MOTHER, Role.NEIGHBOUR, Role.HARDSHIP_SCOUT, Role.VOLUNTEER, Role.PILLAR_MOTHER)


def may_issue_cards(user: Principal) -> bool:
    return user.can_issue_cards


def _covered(m: type[Membership], user: Principal) -> ColumnElement[bool]:
    """Is membership `m` one that `user` oversees?"""
    if user.is_admin:
        return true()
    conditions: list[ColumnElement[bool]] = []
    for grant in user.grants:
        if grant.role is Role.STAFF:
            conditions.append(and_(m.programme_id == grant.programme_id, m.role != Role.STAFF))
        elif grant.role is Role.SOCIAL_WORKER:
            conditions.append(
                and_(
                    m.programme_id == grant.programme_id,
                    m.role.in_(FIELD_ROLES),
                    m.area_id.in_(select(Area.id).where(area_and_below(grant.area_path)).scalar_subquery()),
                )
            )
    return or_(*conditions) if conditions else false()


# Built once: an alias made per request costs milliseconds (SQLAlchemy copies the table's columns).
_ACTIVE = aliased(Membership, name="active_membership")
_UNCOVERED = aliased(Membership, name="uncovered_membership")


def issuable_users(user: Principal) -> ColumnElement[bool]:
    if not may_issue_cards(user):
        return false()
    active, uncovered = _ACTIVE, _UNCOVERED
    has_any = exists().where(active.user_id == User.id, active.ended_at.is_(None))
    has_uncovered = exists().where(
        uncovered.user_id == User.id, uncovered.ended_at.is_(None), not_(_covered(uncovered, user))
    )
    base = and_(User.id != user.id, has_any)
    if user.is_admin:
        return base
    return and_(base, User.is_admin.is_(False), not_(has_uncovered))


async def list_issuable_users(db: AsyncSession, user: Principal) -> list[User]:
    rows = await db.scalars(
        select(User)
        .where(issuable_users(user))
        .options(selectinload(User.memberships).selectinload(Membership.area))
        .order_by(User.display_name, User.id)
        .limit(500)
    )
    return list(rows)


async def get_issuable_user_for(db: AsyncSession, user: Principal, target_id: int) -> User:
    if not may_issue_cards(user):
        raise Forbidden()
    if target_id == user.id:
        raise Forbidden(_("You cannot issue a sign-in card for yourself. Ask a colleague or the staff."))
    target = await db.scalar(select(User).where(User.id == target_id, issuable_users(user)))
    if target is None:
        raise NotFound()
    return target


async def flagged_users(db: AsyncSession, people: list[User]) -> set[int]:
    """Which of these people have a passkey whose counter went backwards (a possible clone)."""
    if not people:
        return set()
    rows = await db.scalars(
        select(Passkey.user_id).where(
            Passkey.user_id.in_([p.id for p in people]),
            Passkey.flagged_at.is_not(None),
            Passkey.revoked_at.is_(None),
        )
    )
    return set(rows)
