"""Who may see and do what in the pillar-mother scheme, as SQL conditions built from the user.

A mother's file is seen by her own group (the cadre, the volunteers and the mother herself, while both
the group place and the programme membership last), by the social workers of her delivering agency
(an active agency place and a worker membership over her area) and by the programme's federation
staff. Nobody else: what a user may not see does not exist for her (404). Within the file, what each
may do depends on how she reaches it (`Access`): staff, the agency's workers and the group's cadre
keep the file; every group member and agency worker logs contacts; the mother reads her own plan and
contacts and answers her survey. Agencies, contracts, evaluations and releases are the staff's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Grant, Principal
from backend.cases.models import Case
from backend.errors import Forbidden, NotFound
from backend.people.models import Area, ProgrammeKind, Role
from backend.people.policy import area_and_below
from backend.pillar.models import AgencyWorker, Contract, GroupMember, GroupRole, PillarFile

GROUP_ROLES = (Role.CADRE, Role.VOLUNTEER, Role.PILLAR_MOTHER)


def _pillar(grants: tuple[Grant, ...]) -> tuple[Grant, ...]:
    return tuple(g for g in grants if g.programme_kind is ProgrammeKind.PILLAR_MOTHERS)


def staff_programmes(user: Principal) -> frozenset[int]:
    return frozenset(g.programme_id for g in _pillar(user.grants_for(Role.STAFF)))


def worker_grants(user: Principal) -> tuple[Grant, ...]:
    return _pillar(user.grants_for(Role.SOCIAL_WORKER))


def group_programmes(user: Principal) -> frozenset[int]:
    return frozenset(g.programme_id for g in _pillar(user.grants) if g.role in GROUP_ROLES)


def is_pillar_staff(user: Principal, programme_id: int | None = None) -> bool:
    if user.is_admin:
        return True
    ids = staff_programmes(user)
    return programme_id in ids if programme_id is not None else bool(ids)


def is_pillar_user(user: Principal) -> bool:
    """Does she have any part in a pillar-mother programme (for the home page and the menu)?"""
    return user.is_admin or bool(_pillar(user.grants))


def my_agencies(user: Principal) -> Any:
    return (
        select(AgencyWorker.agency_id)
        .where(AgencyWorker.user_id == user.id, AgencyWorker.ended_at.is_(None))
        .scalar_subquery()
    )


def my_group_files(user: Principal) -> Any:
    return (
        select(GroupMember.file_id)
        .where(GroupMember.user_id == user.id, GroupMember.ended_at.is_(None))
        .scalar_subquery()
    )


def _scoped(file_id_col: Any, programme_col: Any, area_col: Any, user: Principal) -> ColumnElement[bool]:
    """The shared condition over any row carrying a file id, its programme and its area."""
    if user.is_admin:
        return true()
    conditions: list[ColumnElement[bool]] = []
    staff = staff_programmes(user)
    if staff:
        conditions.append(programme_col.in_(staff))
    for grant in worker_grants(user):
        areas = select(Area.id).where(area_and_below(grant.area_path)).scalar_subquery()
        agency_files = select(PillarFile.id).where(PillarFile.agency_id.in_(my_agencies(user)))
        conditions.append(
            and_(
                programme_col == grant.programme_id,
                area_col.in_(areas),
                file_id_col.in_(agency_files.scalar_subquery()),
            )
        )
    groups = group_programmes(user)
    if groups:
        conditions.append(and_(programme_col.in_(groups), file_id_col.in_(my_group_files(user))))
    return or_(*conditions) if conditions else false()


def visible_files(user: Principal) -> ColumnElement[bool]:
    return _scoped(PillarFile.id, PillarFile.programme_id, PillarFile.area_id, user)


def visible_rows(model: Any, user: Principal) -> ColumnElement[bool]:
    """For tables that copy the file's programme and area (contacts, survey answers)."""
    return _scoped(model.file_id, model.programme_id, model.area_id, user)


def file_options() -> list[Any]:
    return [
        selectinload(PillarFile.case).selectinload(Case.person),
        selectinload(PillarFile.area),
        selectinload(PillarFile.agency),
        selectinload(PillarFile.mother_user),
        selectinload(PillarFile.members).selectinload(GroupMember.user),
    ]


async def get_file_for(db: AsyncSession, user: Principal, file_id: int) -> PillarFile:
    found = await db.scalar(
        select(PillarFile).where(PillarFile.id == file_id, visible_files(user)).options(*file_options())
    )
    if found is None:
        raise NotFound()
    return found


async def get_file_of_case(db: AsyncSession, case_id: int) -> PillarFile | None:
    """The pillar part of a case (None for a station case). The caller has loaded the case for the user."""
    found: PillarFile | None = await db.scalar(select(PillarFile).where(PillarFile.case_id == case_id))
    return found


@dataclass(frozen=True)
class Access:
    """How the user reaches one file (she may reach it more than one way)."""

    staff: bool
    worker: bool
    group_role: GroupRole | None

    @property
    def may_keep_file(self) -> bool:
        """Update her profile and needs, change the group and its interval."""
        return self.staff or self.worker or self.group_role is GroupRole.CADRE

    @property
    def may_log_contact(self) -> bool:
        return self.worker or self.group_role is not None

    @property
    def is_mother(self) -> bool:
        return self.group_role is GroupRole.MOTHER and not (self.staff or self.worker)

    @property
    def may_record_paper_survey(self) -> bool:
        return self.staff or self.worker


async def access_to(db: AsyncSession, user: Principal, file: PillarFile) -> Access:
    """`file` was loaded through `get_file_for` (members loaded)."""
    staff = is_pillar_staff(user, file.programme_id)
    worker = False
    if file.agency_id is not None and any(
        g.programme_id == file.programme_id and file.area.path.startswith(g.area_path)
        for g in worker_grants(user)
    ):
        worker = (
            await db.scalar(
                select(AgencyWorker.id).where(
                    AgencyWorker.agency_id == file.agency_id,
                    AgencyWorker.user_id == user.id,
                    AgencyWorker.ended_at.is_(None),
                )
            )
        ) is not None
    group_role = None
    if file.programme_id in group_programmes(user):
        roles = [m.role for m in file.members if m.user_id == user.id and m.ended_at is None]
        # A mother who later volunteers in her own group is unusual, but the stronger place counts.
        for role in (GroupRole.CADRE, GroupRole.VOLUNTEER, GroupRole.MOTHER):
            if role in roles:
                group_role = role
                break
    return Access(staff=staff, worker=worker, group_role=group_role)


def require(allowed: bool) -> None:
    if not allowed:
        raise Forbidden()


async def get_contract_for(db: AsyncSession, user: Principal, contract_id: int) -> Contract:
    """Contracts are the programme staff's: 404 for everyone else (workers and groups never see money)."""
    contract = await db.scalar(
        select(Contract)
        .where(Contract.id == contract_id)
        .options(selectinload(Contract.agency), selectinload(Contract.stages))
    )
    if contract is None or not is_pillar_staff(user, contract.programme_id):
        raise NotFound()
    return contract
