"""What the mothers list, the file page and its history read, and who may screen a mother where.

Every read goes through policy.visible_files or a file already loaded by policy.get_file_for; nothing
here loads by id and checks later. The screening remit is the route's check: staff of the programme
(its open communities, any delivering agency of it), or a social worker of the programme placed with
one of its delivering agencies (the communities under her worker areas, her own agencies only, so
that the file she opens is one she keeps seeing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.cases.models import Case, CaseDimension, Goal, PlanItem, ServiceItem
from backend.errors import Forbidden, NotFound
from backend.people.models import Area, AreaLevel, Person, PersonKind, Programme, ProgrammeKind, Role, User
from backend.people.policy import area_and_below
from backend.pillar import policy
from backend.pillar.models import (
    Agency,
    AgencyRole,
    AgencyWorker,
    GroupMember,
    GroupRole,
    Need,
    PillarFile,
    ProfileVersion,
)

LIST_LIMIT = 200


@dataclass(frozen=True)
class FileRow:
    file: PillarFile
    profile: ProfileVersion | None
    group_size: int


async def list_files(db: AsyncSession, user: Principal, *, limit: int = LIST_LIMIT) -> list[FileRow]:
    """The files she may see, newest first."""
    files = list(
        await db.scalars(
            select(PillarFile)
            .where(policy.visible_files(user))
            .options(*policy.file_options())
            .order_by(PillarFile.id.desc())
            .limit(limit)
        )
    )
    profiles: dict[int, ProfileVersion] = {}
    if files:
        rows = await db.scalars(
            select(ProfileVersion)
            .where(ProfileVersion.file_id.in_([f.id for f in files]))
            .order_by(ProfileVersion.file_id, ProfileVersion.version)
        )
        profiles = {row.file_id: row for row in rows}
    return [FileRow(f, profiles.get(f.id), sum(1 for m in f.members if m.ended_at is None)) for f in files]


def is_only_mother(user: Principal) -> bool:
    """Her only pillar part is being a mother of the scheme (no staff, worker, cadre or volunteer role)."""
    if user.is_admin or policy.staff_programmes(user) or policy.worker_grants(user):
        return False
    roles = {g.role for g in user.grants if g.programme_kind is ProgrammeKind.PILLAR_MOTHERS}
    return bool(roles) and roles <= {Role.PILLAR_MOTHER}


async def own_file_id(db: AsyncSession, user: Principal) -> int | None:
    """The file of which she is the mother (and may still see), if any."""
    found: int | None = await db.scalar(
        select(PillarFile.id)
        .join(GroupMember, GroupMember.file_id == PillarFile.id)
        .where(
            GroupMember.user_id == user.id,
            GroupMember.role == GroupRole.MOTHER,
            GroupMember.ended_at.is_(None),
            policy.visible_files(user),
        )
        .order_by(PillarFile.id.desc())
        .limit(1)
    )
    return found


# ---- screening: who may add a mother, where, with which agency ----


@dataclass
class ScreeningRemit:
    programme: Programme
    areas: list[Area] = field(default_factory=list)
    agencies: list[Agency] = field(default_factory=list)
    worker: bool = False  # she screens as an agency worker (she becomes the lead)

    @property
    def preselected_agency_id(self) -> int | None:
        return self.agencies[0].id if self.worker and self.agencies else None


async def screening_programmes(db: AsyncSession, user: Principal) -> list[Programme]:
    """The programmes where she may add a mother: her staff ones, and those where she is a social
    worker placed with a delivering agency (for the list's "add a mother" links)."""
    placed = (
        select(Agency.programme_id)
        .join(AgencyWorker, AgencyWorker.agency_id == Agency.id)
        .where(
            AgencyWorker.user_id == user.id,
            AgencyWorker.ended_at.is_(None),
            Agency.role == AgencyRole.DELIVERING,
            Agency.retired_at.is_(None),
        )
    )
    worker_ids = {g.programme_id for g in policy.worker_grants(user)}
    ids = set(policy.staff_programmes(user))
    if worker_ids:
        ids |= worker_ids & set(await db.scalars(placed))
    if not ids:
        return []
    return list(await db.scalars(select(Programme).where(Programme.id.in_(ids)).order_by(Programme.name)))


async def screening_remit(db: AsyncSession, user: Principal, programme_id: int) -> ScreeningRemit:
    """Staff or an agency worker of the programme: her remit; another member: 403; anyone else: 404."""
    programme = await db.scalar(
        select(Programme).where(Programme.id == programme_id).options(selectinload(Programme.area))
    )
    if programme is None or programme.kind is not ProgrammeKind.PILLAR_MOTHERS:
        raise NotFound()
    delivering = select(Agency).where(
        Agency.programme_id == programme.id,
        Agency.role == AgencyRole.DELIVERING,
        Agency.retired_at.is_(None),
    )
    if policy.is_pillar_staff(user, programme.id):
        roots = [programme.area.path]
        agencies = list(await db.scalars(delivering.order_by(Agency.name)))
        remit = ScreeningRemit(programme, agencies=agencies)
    else:
        roots = [g.area_path for g in policy.worker_grants(user) if g.programme_id == programme.id]
        agencies = []
        if roots:
            mine = select(AgencyWorker.agency_id).where(
                AgencyWorker.user_id == user.id, AgencyWorker.ended_at.is_(None)
            )
            agencies = list(await db.scalars(delivering.where(Agency.id.in_(mine)).order_by(Agency.name)))
        if not agencies:
            if any(g.programme_id == programme.id for g in user.grants):
                raise Forbidden()
            raise NotFound()
        remit = ScreeningRemit(programme, agencies=agencies, worker=True)
    remit.areas = list(
        await db.scalars(
            select(Area)
            .where(
                or_(*(area_and_below(path) for path in roots)),
                Area.level == AreaLevel.COMMUNITY,
                Area.closed_at.is_(None),
            )
            .order_by(Area.path)
        )
    )
    return remit


async def dimensions_of(db: AsyncSession, programme_id: int) -> list[CaseDimension]:
    return list(
        await db.scalars(
            select(CaseDimension)
            .where(CaseDimension.programme_id == programme_id, CaseDimension.retired_at.is_(None))
            .order_by(CaseDimension.position, CaseDimension.id)
        )
    )


# ---- the file page and its history ----


async def plan_of(db: AsyncSession, case_id: int) -> dict[str, Any]:
    """Her plan, read-only: the goals in force and the services in force (for the mother's own view)."""
    goals = list(
        await db.scalars(
            select(Goal)
            .where(Goal.case_id == case_id, Goal.retired_at.is_(None))
            .order_by(Goal.id)
            .options(selectinload(Goal.dimension))
        )
    )
    items = list(
        await db.scalars(
            select(PlanItem)
            .where(PlanItem.case_id == case_id, PlanItem.ended_at.is_(None))
            .order_by(PlanItem.id)
            .options(selectinload(PlanItem.service_item).selectinload(ServiceItem.package))
        )
    )
    user_ids = {i.deliverer_user_id for i in items if i.deliverer_user_id is not None}
    people = {}
    if user_ids:
        people = {u.id: u for u in await db.scalars(select(User).where(User.id.in_(user_ids)))}
    return {"goals": goals, "items": items, "plan_people": people}


def age_in(birth_year: int | None, today: date) -> int | None:
    """Her age this year (a birth year is all the file keeps)."""
    return None if birth_year is None else max(today.year - birth_year, 0)


async def children_with_ages(
    db: AsyncSession, file: PillarFile, today: date
) -> list[tuple[Person, int | None]]:
    rows = await db.scalars(
        select(Person)
        .where(
            Person.guardian_id == file.case.person_id,
            Person.kind == PersonKind.CHILD,
            Person.ended_at.is_(None),
        )
        .order_by(Person.birth_year, Person.id)
    )
    return [(child, age_in(child.birth_year, today)) for child in rows]


async def need_history(db: AsyncSession, file_id: int) -> list[Need]:
    """Every need row of the file, newest first (by day noted, then by when recorded)."""
    return list(
        await db.scalars(
            select(Need)
            .where(Need.file_id == file_id)
            .order_by(Need.noted_on.desc(), Need.id.desc())
            .options(selectinload(Need.recorded_by), selectinload(Need.dimension))
        )
    )


async def profile_history(db: AsyncSession, file_id: int) -> list[ProfileVersion]:
    return list(
        await db.scalars(
            select(ProfileVersion)
            .where(ProfileVersion.file_id == file_id)
            .order_by(ProfileVersion.version.desc())
            .options(selectinload(ProfileVersion.recorded_by))
        )
    )


async def case_of(db: AsyncSession, file: PillarFile) -> Case:
    return await db.get_one(Case, file.case_id)
