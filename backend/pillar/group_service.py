"""A pillar mother's "1 + 3 + 1" group: one federation cadre, three volunteers and the mother herself,
each a user with the matching role in the programme; how often the group should be in touch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.cases.models import Case
from backend.cases.service import refuse_if_closed
from backend.db import utcnow
from backend.errors import Conflict, Refused
from backend.i18n import gettext as _
from backend.people.models import Membership, Role, User
from backend.pillar.models import GROUP_VOLUNTEERS, GroupMember, GroupRole, PillarFile

# The programme role a group place needs (a membership in the file's programme, active).
ROLE_FOR_PLACE = {
    GroupRole.CADRE: Role.CADRE,
    GroupRole.VOLUNTEER: Role.VOLUNTEER,
    GroupRole.MOTHER: Role.PILLAR_MOTHER,
}


async def _has_role(db: AsyncSession, user: User, programme_id: int, role: Role) -> bool:
    found = await db.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id,
            Membership.programme_id == programme_id,
            Membership.role == role,
            Membership.ended_at.is_(None),
        )
    )
    return found is not None


async def do_add_group_member(
    db: AsyncSession,
    file: PillarFile,
    user: User,
    place: GroupRole,
    *,
    actor: Actor,
    now: datetime | None = None,
) -> GroupMember:
    """Give someone a place in the mother's group: one cadre, three volunteers, the mother herself. She
    needs the matching role in the programme; the mother's place links the file to her account."""
    now = now or utcnow()
    refuse_if_closed(await db.get_one(Case, file.case_id))
    if not await _has_role(db, user, file.programme_id, ROLE_FOR_PLACE[place]):
        raise Refused(_("She needs that role in this programme first."), field="user_id", status_code=400)
    active = list(
        await db.scalars(
            select(GroupMember).where(GroupMember.file_id == file.id, GroupMember.ended_at.is_(None))
        )
    )
    if any(m.user_id == user.id for m in active):
        raise Conflict(_("She is already in this group."))
    taken = sum(1 for m in active if m.role is place)
    limit = GROUP_VOLUNTEERS if place is GroupRole.VOLUNTEER else 1
    if taken >= limit:
        raise Conflict(_("This group already has its %(count)d of that place.") % {"count": limit})
    if place is GroupRole.MOTHER:
        if file.mother_user_id not in (None, user.id):
            raise Conflict(_("This file already belongs to another account."))
        clash = await db.scalar(
            select(PillarFile.id).where(
                PillarFile.mother_user_id == user.id,
                PillarFile.programme_id == file.programme_id,
                PillarFile.id != file.id,
            )
        )
        if clash is not None:
            raise Conflict(_("That account is already the mother of another file."))
        file.mother_user_id = user.id
    member = GroupMember(
        file_id=file.id, user_id=user.id, role=place, started_at=now, added_by_id=actor.id if actor else None
    )
    db.add(member)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pillar.member_added",
        subject=file,
        change={"user": user.id, "place": place.value},
    )
    return member


async def do_end_group_member(
    db: AsyncSession, file: PillarFile, member: GroupMember, *, actor: Actor, now: datetime | None = None
) -> GroupMember:
    """She leaves the group: her contacts stay, her access through this group ends."""
    now = now or utcnow()
    if member.file_id != file.id:
        raise Conflict(_("She is not in this group."))
    if member.ended_at is not None:
        return member
    member.ended_at = now
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pillar.member_ended",
        subject=file,
        change={"user": member.user_id, "place": member.role.value},
    )
    return member


async def do_set_contact_interval(
    db: AsyncSession, file: PillarFile, days: int, *, actor: Actor
) -> PillarFile:
    refuse_if_closed(await db.get_one(Case, file.case_id))
    if not 1 <= days <= 180:
        raise Refused(
            _("Give a number of days from 1 to 180."), field="contact_interval_days", status_code=400
        )
    before = file.contact_interval_days
    if before == days:
        return file
    file.contact_interval_days = days
    await db.flush()
    await audit.record(
        db, actor=actor, action="pillar.interval_set", subject=file, change={"days": [before, days]}
    )
    return file


async def count_active_places(db: AsyncSession, file_id: int) -> dict[GroupRole, int]:
    rows = await db.execute(
        select(GroupMember.role, func.count())
        .where(GroupMember.file_id == file_id, GroupMember.ended_at.is_(None))
        .group_by(GroupMember.role)
    )
    return {role: int(n) for role, n in rows.all()}
