"""A pillar-mother programme's figures for a period (half-open: `start` to the day before `end`, days in
the programme's time zone), over the whole programme or one of its areas and everything under it.

Every figure is counted by the database (COUNT/SUM, grouped by a handful of keys); nothing here loops
over rows of files, contacts or deliveries. What is counted:
- families served: files whose case was open at some point of the period (opened before its end, not
  closed before its start); new files: cases opened in the period;
- services: approved, current service deliveries dated in the period, by what their service item
  counts as (ServiceItem.measure: training, job, counselling, lecture, home help, material aid): how
  many, and their person-times (the sum of people_count);
- contacts dated in the period: all, by channel, their minutes; per group: the contacts of the served
  files that had a cadre or volunteer in the period, over those files; groups overdue at the period's
  end: open files with a group at the end whose last contact before the end (or, without one, the day
  the case was opened) is more than the file's interval before the period's last day (as the homes'
  overdue lists reckon it, pillar/contact_queries.py);
- goals per dimension of the served files (set before the end, not dropped), and those met;
- satisfaction: survey answers dated in the period per round, with the mean of the four answers x100;
- money (programme-wide, not by area): the budget of the contracts running in the period, the money
  released in it (settlement_contract_release.released_on) by contract stage;
- supervision sessions held and evaluations recorded in the period (programme-wide).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, case, cast, exists, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.models import (
    Case,
    CaseDimension,
    Delivery,
    DeliveryStatus,
    Goal,
    GoalOutcome,
    PlanItem,
    ServiceItem,
)
from backend.cases.periods import local_bounds
from backend.clock import zone_of
from backend.people.models import Area, Programme
from backend.people.policy import area_and_below
from backend.pillar.models import (
    Contact,
    ContactChannel,
    Contract,
    ContractStage,
    Evaluation,
    GroupMember,
    GroupRole,
    PillarFile,
    Round,
    Supervision,
    SurveyResponse,
)
from backend.settlement.models import ContractRelease

MEASURES = ("training", "job", "counselling", "lecture", "home_help", "material_aid")


def ratio_x100(numerator: int, denominator: int) -> int | None:
    """numerator / denominator x 100, rounded half up, in integers (None over nothing)."""
    if denominator <= 0:
        return None
    return (numerator * 200 + denominator) // (2 * denominator)


@dataclass(frozen=True)
class SurveyRound:
    answers: int = 0
    on_paper: int = 0
    mean_x100: int | None = None  # the mean of the four answers (1 to 5), x100


@dataclass(frozen=True)
class GoalCount:
    dimension: str
    set: int
    met: int


@dataclass(frozen=True)
class Release:
    contract: str
    stage: str
    amount_fen: int


@dataclass
class PillarFigures:
    programme_id: int
    start: date
    end: date
    area_id: int | None
    families_served: int = 0
    new_files: int = 0
    # measure -> (deliveries, person-times)
    services: dict[str, tuple[int, int]] = field(default_factory=dict)
    contacts_by_channel: dict[ContactChannel, int] = field(default_factory=dict)
    contact_minutes: int = 0
    files_with_group: int = 0
    contacts_of_groups: int = 0
    groups_overdue: int = 0
    goals: list[GoalCount] = field(default_factory=list)
    surveys: dict[Round, SurveyRound] = field(default_factory=dict)
    budget_fen: int = 0
    releases: list[Release] = field(default_factory=list)
    supervisions: int = 0
    evaluations: dict[Round, int] = field(default_factory=dict)

    @property
    def contacts(self) -> int:
        return sum(self.contacts_by_channel.values())

    @property
    def contacts_per_group_x100(self) -> int | None:
        return ratio_x100(self.contacts_of_groups, self.files_with_group)

    @property
    def released_fen(self) -> int:
        return sum(r.amount_fen for r in self.releases)


class _Query:
    def __init__(
        self, db: AsyncSession, programme: Programme, start: date, end: date, area: Area | None
    ) -> None:
        self.db, self.programme, self.start, self.end, self.area = db, programme, start, end, area
        self.since, self.until = local_bounds(programme, start, end)
        self.postgres = db.get_bind().dialect.name == "postgresql"

    def in_area(self, column: Any) -> ColumnElement[bool]:
        if self.area is None:
            return true()
        within: ColumnElement[bool] = column.in_(
            select(Area.id).where(area_and_below(self.area.path)).scalar_subquery()
        )
        return within

    def files(self) -> tuple[ColumnElement[bool], ...]:
        """The programme's files in the area (joined with their case)."""
        return (PillarFile.programme_id == self.programme.id, self.in_area(PillarFile.area_id))

    def served(self) -> tuple[ColumnElement[bool], ...]:
        return (
            *self.files(),
            Case.opened_at < self.until,
            or_(Case.closed_at.is_(None), Case.closed_at >= self.since),
        )

    def has_group(self, since: Any, until: Any) -> ColumnElement[bool]:
        """A cadre or a volunteer had a place in the file's group at some point from `since` to `until`."""
        return exists().where(
            GroupMember.file_id == PillarFile.id,
            GroupMember.role.in_((GroupRole.CADRE, GroupRole.VOLUNTEER)),
            GroupMember.started_at < until,
            or_(GroupMember.ended_at.is_(None), GroupMember.ended_at >= since),
        )

    async def families(self, figures: PillarFigures) -> None:
        row = (
            await self.db.execute(
                select(func.count(), func.sum(case((Case.opened_at >= self.since, 1), else_=0)))
                .select_from(PillarFile)
                .join(Case, Case.id == PillarFile.case_id)
                .where(*self.served())
            )
        ).one()
        figures.families_served, figures.new_files = int(row[0]), int(row[1] or 0)

    async def services(self, figures: PillarFigures) -> None:
        statement = (
            select(ServiceItem.measure, func.count(), func.sum(Delivery.people_count))
            .select_from(Delivery)
            .join(PlanItem, PlanItem.id == Delivery.plan_item_id)
            .join(ServiceItem, ServiceItem.id == PlanItem.service_item_id)
            .where(
                Delivery.programme_id == self.programme.id,
                Delivery.delivered_on >= self.start,
                Delivery.delivered_on < self.end,
                Delivery.status == DeliveryStatus.APPROVED,
                Delivery.superseded_at.is_(None),
                self.in_area(Delivery.area_id),
            )
            .group_by(ServiceItem.measure)
        )
        counted = {m: (0, 0) for m in MEASURES}
        for measure, n, people in await self.db.execute(statement):
            key = measure or "other"
            before = counted.get(key, (0, 0))
            counted[key] = (before[0] + int(n), before[1] + int(people or 0))
        figures.services = counted

    def in_period(self) -> tuple[ColumnElement[bool], ...]:
        return (
            Contact.programme_id == self.programme.id,
            Contact.contacted_on >= self.start,
            Contact.contacted_on < self.end,
            self.in_area(Contact.area_id),
        )

    async def contacts(self, figures: PillarFigures) -> None:
        rows = await self.db.execute(
            select(Contact.channel, func.count(), func.sum(Contact.minutes))
            .where(*self.in_period())
            .group_by(Contact.channel)
        )
        figures.contacts_by_channel = {c: 0 for c in ContactChannel}
        for channel, n, minutes in rows:
            figures.contacts_by_channel[ContactChannel(channel)] = int(n)
            figures.contact_minutes += int(minutes or 0)
        grouped = (
            select(PillarFile.id)
            .join(Case, Case.id == PillarFile.case_id)
            .where(*self.served(), self.has_group(self.since, self.until))
        )
        figures.files_with_group = int(
            await self.db.scalar(select(func.count()).select_from(grouped.subquery())) or 0
        )
        figures.contacts_of_groups = int(
            await self.db.scalar(
                select(func.count()).where(*self.in_period(), Contact.file_id.in_(grouped.scalar_subquery()))
            )
            or 0
        )
        figures.groups_overdue = await self.overdue()

    async def overdue(self) -> int:
        last_day = self.end - timedelta(days=1)
        last = (
            select(func.max(Contact.contacted_on))
            .where(Contact.file_id == PillarFile.id, Contact.contacted_on < self.end)
            .scalar_subquery()
        )
        if self.postgres:
            opened_on: Any = cast(func.timezone(self.programme.time_zone, Case.opened_at), Date)
            days: Any = cast(literal(last_day), Date) - func.coalesce(last, opened_on)
        else:
            offset = self.until.astimezone(zone_of(self.programme)).utcoffset()
            minutes = int(offset.total_seconds() // 60) if offset else 0
            opened_on = func.date(Case.opened_at, f"{minutes:+d} minutes")
            days = func.julianday(last_day.isoformat()) - func.julianday(func.coalesce(last, opened_on))
        found = await self.db.scalar(
            select(func.count())
            .select_from(PillarFile)
            .join(Case, Case.id == PillarFile.case_id)
            .where(
                *self.files(),
                Case.opened_at < self.until,
                or_(Case.closed_at.is_(None), Case.closed_at >= self.until),
                self.has_group(self.until, self.until),
                days > PillarFile.contact_interval_days,
            )
        )
        return int(found or 0)

    async def goals(self, figures: PillarFigures) -> None:
        met = and_(Goal.outcome == GoalOutcome.MET, Goal.outcome_at < self.until)
        rows = await self.db.execute(
            select(Goal.dimension_id, func.count(), func.sum(case((met, 1), else_=0)))
            .select_from(Goal)
            .join(Case, Case.id == Goal.case_id)
            .join(PillarFile, PillarFile.case_id == Case.id)
            .where(*self.served(), Goal.retired_at.is_(None), Goal.created_at < self.until)
            .group_by(Goal.dimension_id)
        )
        counted = {int(d): (int(n), int(m or 0)) for d, n, m in rows}
        dimensions = await self.db.execute(
            select(CaseDimension.id, CaseDimension.label, CaseDimension.retired_at)
            .where(CaseDimension.programme_id == self.programme.id)
            .order_by(CaseDimension.position, CaseDimension.id)
        )
        figures.goals = [
            GoalCount(label, *counted.get(int(i), (0, 0)))
            for i, label, retired in dimensions
            if retired is None or int(i) in counted
        ]

    async def surveys(self, figures: PillarFigures) -> None:
        total = SurveyResponse.q_overall + SurveyResponse.q_group + SurveyResponse.q_services
        rows = await self.db.execute(
            select(
                SurveyResponse.round,
                func.count(),
                func.sum(total + SurveyResponse.q_life),
                func.sum(case((SurveyResponse.on_paper, 1), else_=0)),
            )
            .where(
                SurveyResponse.programme_id == self.programme.id,
                SurveyResponse.answered_on >= self.start,
                SurveyResponse.answered_on < self.end,
                self.in_area(SurveyResponse.area_id),
            )
            .group_by(SurveyResponse.round)
        )
        figures.surveys = {r: SurveyRound() for r in Round}
        for round_, n, points, paper in rows:
            figures.surveys[Round(round_)] = SurveyRound(
                int(n), int(paper or 0), ratio_x100(int(points or 0), 4 * int(n))
            )

    async def money(self, figures: PillarFigures) -> None:
        programme_id = self.programme.id
        figures.budget_fen = int(
            await self.db.scalar(
                select(func.coalesce(func.sum(Contract.budget_fen), 0)).where(
                    Contract.programme_id == programme_id,
                    Contract.starts_on < self.end,
                    Contract.ends_on >= self.start,
                )
            )
            or 0
        )
        rows = await self.db.execute(
            select(Contract.title, ContractStage.label, func.sum(ContractRelease.amount_fen))
            .select_from(ContractRelease)
            .join(ContractStage, ContractStage.id == ContractRelease.stage_id)
            .join(Contract, Contract.id == ContractRelease.contract_id)
            .where(
                ContractRelease.programme_id == programme_id,
                ContractRelease.released_on >= self.start,
                ContractRelease.released_on < self.end,
            )
            .group_by(Contract.id, Contract.title, ContractStage.position, ContractStage.label)
            .order_by(Contract.title, ContractStage.position)
        )
        figures.releases = [Release(title, label, int(fen or 0)) for title, label, fen in rows]
        figures.supervisions = int(
            await self.db.scalar(
                select(func.count()).where(
                    Supervision.programme_id == programme_id,
                    Supervision.held_on >= self.start,
                    Supervision.held_on < self.end,
                )
            )
            or 0
        )
        evaluations = await self.db.execute(
            select(Evaluation.round, func.count())
            .where(
                Evaluation.programme_id == programme_id,
                Evaluation.evaluated_on >= self.start,
                Evaluation.evaluated_on < self.end,
            )
            .group_by(Evaluation.round)
        )
        figures.evaluations = {r: 0 for r in Round}
        for round_, n in evaluations:
            figures.evaluations[Round(round_)] = int(n)


async def pillar_figures(
    db: AsyncSession, programme: Programme, start: date, end: date, area: Area | None = None
) -> PillarFigures:
    """The programme's figures from `start` to the day before `end`, in `area` and below (None: the
    whole programme). The caller checks that the user is the programme's staff."""
    figures = PillarFigures(
        programme_id=programme.id, start=start, end=end, area_id=area.id if area else None
    )
    query = _Query(db, programme, start, end, area)
    await query.families(figures)
    await query.services(figures)
    await query.contacts(figures)
    await query.goals(figures)
    await query.surveys(figures)
    await query.money(figures)
    return figures


async def programme_areas(db: AsyncSession, programme: Programme) -> list[Area]:
    """The areas a figure may be asked for: the programme's own area and those under it, in tree order."""
    top = await db.get_one(Area, programme.area_id)
    return list(await db.scalars(select(Area).where(area_and_below(top.path)).order_by(Area.path)))
