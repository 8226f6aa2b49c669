"""What the group and contact parts of a mother's file show, and which groups are overdue for contact.

A group is overdue when the days since its last contact (or since the file was opened, when there is
none) exceed the file's contact interval. Days are reckoned in the programme's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.cases.models import Case, CaseStatus
from backend.people.models import Membership, Person, Programme, ProgrammeKind, Role, User
from backend.pillar import policy
from backend.pillar.group_service import ROLE_FOR_PLACE
from backend.pillar.models import Contact, ContactChannel, GroupMember, GroupRole, PillarFile
from backend.pillar.policy import Access

LATEST_CONTACTS = 20
PLACES = (GroupRole.CADRE, GroupRole.VOLUNTEER, GroupRole.MOTHER)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def days_since(today: date, last_contact: date | None, opened_on: date) -> int:
    return (today - (last_contact or opened_on)).days


def is_overdue(today: date, last_contact: date | None, opened_on: date, interval_days: int) -> bool:
    return days_since(today, last_contact, opened_on) > interval_days


async def last_contact_on(db: AsyncSession, file_id: int) -> date | None:
    found: date | None = await db.scalar(
        select(func.max(Contact.contacted_on)).where(Contact.file_id == file_id)
    )
    return found


async def latest_contacts(db: AsyncSession, file_id: int, limit: int = LATEST_CONTACTS) -> list[Contact]:
    rows = await db.scalars(
        select(Contact)
        .where(Contact.file_id == file_id)
        .options(selectinload(Contact.by_user), selectinload(Contact.photo))
        .order_by(Contact.contacted_on.desc(), Contact.id.desc())
        .limit(limit)
    )
    return list(rows)


async def candidates(db: AsyncSession, file: PillarFile) -> dict[GroupRole, list[User]]:
    """The programme's active users with the role each place needs, by name, not already in the group."""
    taken = {m.user_id for m in file.members if m.ended_at is None}
    out: dict[GroupRole, list[User]] = {}
    for place in PLACES:
        rows = await db.scalars(
            select(User)
            .where(
                User.is_active.is_(True),
                User.erased_at.is_(None),
                User.id.in_(
                    select(Membership.user_id).where(
                        Membership.programme_id == file.programme_id,
                        Membership.role == ROLE_FOR_PLACE[place],
                        Membership.ended_at.is_(None),
                    )
                ),
            )
            .order_by(User.display_name, User.id)
        )
        out[place] = [u for u in rows if u.id not in taken]
    return out


async def group_context(
    db: AsyncSession, user: Principal, file: PillarFile, access: Access, today: date
) -> dict[str, Any]:
    """The context of `pillar/_group.html` and `pillar/_contacts.html` (merged into the file page's).
    `file` was loaded through `policy.get_file_for` (members and their users loaded)."""
    programme = await db.get_one(Programme, file.programme_id)
    zone = ZoneInfo(programme.time_zone)
    case = await db.get_one(Case, file.case_id)
    opened_on = local_day(case.opened_at, zone)
    last = await last_contact_on(db, file.id)
    active = [m for m in file.members if m.ended_at is None]
    ended = [m for m in file.members if m.ended_at is not None]
    by_place = {place: [m for m in active if m.role is place] for place in PLACES}
    may_keep = access.may_keep_file and case.status is not CaseStatus.CLOSED
    return {
        "group_places": PLACES,
        "group_by_place": by_place,
        "group_ended": ended,
        "group_interval_days": file.contact_interval_days,
        "group_last_contact": last,
        "group_days_since": days_since(today, last, opened_on),
        "group_overdue": is_overdue(today, last, opened_on, file.contact_interval_days),
        "group_may_keep": may_keep,
        "group_may_log": access.may_log_contact,
        "group_candidates": await candidates(db, file) if may_keep else {},
        "contacts": await latest_contacts(db, file.id),
        "contact_channels": list(ContactChannel),
        "group_errors": {},
        "file_zone": programme.time_zone,
        "pillar_today": today,
    }


@dataclass(frozen=True)
class OverdueFile:
    file_id: int
    mother_name: str
    last_contact: date | None
    days_since: int
    interval_days: int


async def overdue_files(db: AsyncSession, user: Principal, today: date) -> list[OverdueFile]:
    """The open files the user sees whose group is overdue for contact, longest first. One query: the
    visible open files with their latest contact day (grouped max); the days are counted here in the
    programme's zone."""
    return [f for f in await group_files(db, user, today) if f.days_since > f.interval_days]


async def group_files(
    db: AsyncSession, user: Principal, today: date, *, mine_only: bool = False, place: GroupRole | None = None
) -> list[OverdueFile]:
    """The open files the user sees (or, with `mine_only`, those of her own active group places, of one
    `place` if given), each with its latest contact and the days since, longest first."""
    last = func.max(Contact.contacted_on).label("last")
    query = (
        select(
            PillarFile.id,
            Person.display_name,
            PillarFile.contact_interval_days,
            Case.opened_at,
            Programme.time_zone,
            last,
        )
        .join(Case, Case.id == PillarFile.case_id)
        .join(Person, Person.id == Case.person_id)
        .join(Programme, Programme.id == PillarFile.programme_id)
        .outerjoin(Contact, Contact.file_id == PillarFile.id)
        .where(policy.visible_files(user), Case.status != CaseStatus.CLOSED)
        .group_by(
            PillarFile.id,
            Person.display_name,
            PillarFile.contact_interval_days,
            Case.opened_at,
            Programme.time_zone,
        )
    )
    if mine_only:
        mine = select(GroupMember.file_id).where(
            GroupMember.user_id == user.id, GroupMember.ended_at.is_(None)
        )
        if place is not None:
            mine = mine.where(GroupMember.role == place)
        query = query.where(PillarFile.id.in_(mine.scalar_subquery()))
    out = []
    for file_id, name, interval, opened_at, tz, last_day in (await db.execute(query)).all():
        opened_on = local_day(opened_at, ZoneInfo(tz))
        out.append(
            OverdueFile(
                file_id=file_id,
                mother_name=name,
                last_contact=last_day,
                days_since=days_since(today, last_day, opened_on),
                interval_days=interval,
            )
        )
    out.sort(key=lambda f: (-f.days_since, f.file_id))
    return out


@dataclass
class PillarHome:
    """What the home page shows a user with a part in a pillar-mother programme."""

    keeper: bool = False  # a cadre or an agency worker: overdue groups and her groups
    overdue: list[OverdueFile] = field(default_factory=list)
    my_groups: list[OverdueFile] = field(default_factory=list)
    volunteer_of: list[OverdueFile] = field(default_factory=list)  # a volunteer's mothers
    own_file_id: int | None = None  # a pillar mother's own file

    @property
    def shown(self) -> bool:
        return self.keeper or bool(self.volunteer_of) or self.own_file_id is not None


async def load_pillar_home(db: AsyncSession, user: Principal, now: datetime) -> PillarHome | None:
    """None for a user with no group or agency part in a pillar programme (staff have their own pages)."""
    grants = [g for g in user.grants if g.programme_kind is ProgrammeKind.PILLAR_MOTHERS]
    roles = {g.role for g in grants}
    if not roles & {Role.CADRE, Role.SOCIAL_WORKER, Role.VOLUNTEER, Role.PILLAR_MOTHER}:
        return None
    zone = await db.scalar(select(Programme.time_zone).where(Programme.id == grants[0].programme_id))
    today = local_day(now, ZoneInfo(zone or "Asia/Shanghai"))
    home = PillarHome()
    if Role.CADRE in roles or Role.SOCIAL_WORKER in roles:
        home.keeper = True
        # A cadre's groups are those she leads; a worker's, her agency's mothers (all she sees).
        files = await group_files(db, user, today, mine_only=Role.SOCIAL_WORKER not in roles)
        home.my_groups = files
        home.overdue = [f for f in files if f.days_since > f.interval_days]
    if Role.VOLUNTEER in roles:
        home.volunteer_of = await group_files(db, user, today, mine_only=True, place=GroupRole.VOLUNTEER)
    if Role.PILLAR_MOTHER in roles:
        home.own_file_id = await db.scalar(
            select(PillarFile.id)
            .where(PillarFile.mother_user_id == user.id, policy.visible_files(user))
            .order_by(PillarFile.id)
            .limit(1)
        )
    return home if home.shown else None
