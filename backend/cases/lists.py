"""Case lists and the reads a case page needs, all through the scoping in cases/policy.py.

The list is a keyset page, newest opened first: `WHERE <scope> AND <filters> AND (opened_at, id) <
(:before) ORDER BY opened_at DESC, id DESC LIMIT n`. "Mine" reads ix_case_file_lead (lead, status,
opened_at, id) and a station's list ix_case_file_area (area, status, opened_at, id), so a page costs
the same at 200,000 cases as at 200 (no OFFSET; bench/cases.py measures it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.cases.models import (
    Assessment,
    AssessmentPhoto,
    AssessmentRating,
    Case,
    CaseDimension,
    CaseStatus,
    CaseStatusChange,
    Goal,
    PlanItem,
    ServiceItem,
    ServicePackage,
)
from backend.cases.policy import visible_cases
from backend.people.models import Area, Membership, Person, Role, User

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


async def list_cases(
    db: AsyncSession,
    user: Principal,
    *,
    mine: bool,
    status: CaseStatus | None,
    before: tuple[datetime, int] | None,
    limit: int,
    area_id: int | None = None,
) -> list[Case]:
    """Cases the user may see, newest opened first: `mine` those she leads; `status` one stage;
    `before` the (opened_at, id) of the last row of the previous page; `area_id` one station (and
    below, as the scope allows)."""
    query = select(Case).where(visible_cases(user))
    if mine:
        query = query.where(Case.lead_worker_id == user.id)
    if status is not None:
        query = query.where(Case.status == status)
    if area_id is not None:
        below = select(Area.path).where(Area.id == area_id).scalar_subquery()
        query = query.where(Case.area_id.in_(select(Area.id).where(Area.path.startswith(below))))
    if before is not None:
        opened_at, case_id = before
        query = query.where(
            or_(Case.opened_at < opened_at, and_(Case.opened_at == opened_at, Case.id < case_id))
        )
    query = (
        query.order_by(Case.opened_at.desc(), Case.id.desc())
        .limit(max(1, min(limit, MAX_PAGE_SIZE)))
        .options(
            selectinload(Case.person).selectinload(Person.area),
            selectinload(Case.area),
            selectinload(Case.lead_worker),
        )
    )
    return list(await db.scalars(query))


async def cursor_of(db: AsyncSession, user: Principal, case_id: int) -> tuple[datetime, int] | None:
    """The keyset of a case the user may see (a cursor naming another case starts from the top)."""
    row = (
        await db.execute(select(Case.opened_at, Case.id).where(Case.id == case_id, visible_cases(user)))
    ).first()
    return (row[0], row[1]) if row is not None else None


def _ancestor_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part.isdigit()]


async def station_workers(db: AsyncSession, programme_id: int, area: Area) -> list[User]:
    """Active social workers of the programme at the station's area or above it (who may lead it)."""
    rows = await db.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.programme_id == programme_id,
            Membership.role == Role.SOCIAL_WORKER,
            Membership.ended_at.is_(None),
            Membership.area_id.in_(_ancestor_ids(area.path)),
            User.is_active.is_(True),
        )
        .distinct()
        .order_by(User.display_name, User.id)
    )
    return list(rows)


async def active_dimensions(db: AsyncSession, programme_id: int) -> list[CaseDimension]:
    rows = await db.scalars(
        select(CaseDimension)
        .where(CaseDimension.programme_id == programme_id, CaseDimension.retired_at.is_(None))
        .order_by(CaseDimension.position, CaseDimension.id)
    )
    return list(rows)


async def active_packages(
    db: AsyncSession, programme_id: int
) -> list[tuple[ServicePackage, list[ServiceItem]]]:
    """The programme's packages in use, each with its items in use (for the plan's select)."""
    packages = await db.scalars(
        select(ServicePackage)
        .where(ServicePackage.programme_id == programme_id, ServicePackage.retired_at.is_(None))
        .order_by(ServicePackage.position, ServicePackage.id)
        .options(selectinload(ServicePackage.items))
    )
    found = []
    for package in packages:
        items = [i for i in package.items if i.retired_at is None]
        if items:
            found.append((package, items))
    return found


@dataclass
class CaseFile:
    """Everything the case page shows besides the case itself."""

    assessments: list[Assessment] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    items: list[PlanItem] = field(default_factory=list)
    history: list[CaseStatusChange] = field(default_factory=list)
    people: dict[int, User] = field(default_factory=dict)

    @property
    def active_goals(self) -> list[Goal]:
        return [g for g in self.goals if g.retired_at is None]

    @property
    def active_items(self) -> list[PlanItem]:
        return [i for i in self.items if i.ended_at is None]


async def load_goals(db: AsyncSession, case_id: int) -> list[Goal]:
    rows = await db.scalars(
        select(Goal).where(Goal.case_id == case_id).order_by(Goal.id).options(selectinload(Goal.dimension))
    )
    return list(rows)


async def load_items(db: AsyncSession, case_id: int) -> list[PlanItem]:
    rows = await db.scalars(
        select(PlanItem)
        .where(PlanItem.case_id == case_id)
        .order_by(PlanItem.id)
        .options(
            selectinload(PlanItem.service_item).selectinload(ServiceItem.package), selectinload(PlanItem.goal)
        )
    )
    return list(rows)


async def load_case_file(db: AsyncSession, case: Case) -> CaseFile:
    """The case's assessments (latest first), plan and history, read for a case already scoped."""
    assessments = await db.scalars(
        select(Assessment)
        .where(Assessment.case_id == case.id)
        .order_by(Assessment.assessed_on.desc(), Assessment.id.desc())
        .options(
            selectinload(Assessment.ratings).selectinload(AssessmentRating.dimension),
            selectinload(Assessment.photo_links).selectinload(AssessmentPhoto.photo),
        )
    )
    history = await db.scalars(
        select(CaseStatusChange)
        .where(CaseStatusChange.case_id == case.id)
        .order_by(CaseStatusChange.at, CaseStatusChange.id)
    )
    found = CaseFile(
        assessments=list(assessments),
        goals=await load_goals(db, case.id),
        items=await load_items(db, case.id),
        history=list(history),
    )
    user_ids = {h.by_id for h in found.history} | {a.assessed_by_id for a in found.assessments}
    user_ids |= {i.deliverer_user_id for i in found.items if i.deliverer_user_id is not None}
    if user_ids:
        found.people = {u.id: u for u in await db.scalars(select(User).where(User.id.in_(user_ids)))}
    return found
