"""Monthly figures of a programme, counted through the same visibility conditions as every page.

Staff see their whole programme; a social worker sees the residents and children of her areas, so her
figures are hers. Only current versions of entries count (a resubmission replaces what it fixes).
Person-times served are the approved meals plus the approved visits; people served are the distinct
residents and children behind them. Amounts come from settlement: the ledger once a month is closed,
the draft rule before.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.clock import add_months
from backend.meals import policy as meals_policy
from backend.meals.models import Agreement, CheckIn, CheckInStatus
from backend.people.models import Programme
from backend.settlement.models import LedgerKind, LedgerLine
from backend.settlement.statements import meal_totals, period_of
from backend.visits.models import NeedArea, Visit, VisitStatus
from backend.visits.policy import visible_visits


@dataclass
class MonthReport:
    programme: Programme
    month: date
    closed: bool = False
    meals: Counter[CheckInStatus] = field(default_factory=Counter)
    meal_people: int = 0
    amount_fen: int = 0
    visits: Counter[VisitStatus] = field(default_factory=Counter)
    # {need area: {status: visits}}: a visit covering two areas counts in both.
    need_areas: dict[NeedArea, Counter[VisitStatus]] = field(default_factory=dict)
    visit_minutes: int = 0
    visit_people: int = 0

    @property
    def meals_checked_in(self) -> int:
        return sum(self.meals.values())

    @property
    def visits_logged(self) -> int:
        return sum(self.visits.values())

    @property
    def person_times(self) -> int:
        return self.meals[CheckInStatus.APPROVED] + self.visits[VisitStatus.APPROVED]

    @property
    def people_served(self) -> int:
        return self.meal_people + self.visit_people


def _month_bounds(programme: Programme, month: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(programme.time_zone)
    start = datetime.combine(month, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(add_months(month, 1), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    return start, end


async def _meals(db: AsyncSession, user: Principal, report: MonthReport) -> None:
    programme, month = report.programme, report.month
    current = (
        CheckIn.programme_id == programme.id,
        CheckIn.day >= month,
        CheckIn.day < add_months(month, 1),
        CheckIn.superseded_at.is_(None),
        meals_policy.visible_checkins(user),
    )
    for status, n in await db.execute(
        select(CheckIn.status, func.count(CheckIn.id)).where(*current).group_by(CheckIn.status)
    ):
        report.meals[CheckInStatus(status)] = int(n)
    report.meal_people = int(
        await db.scalar(
            select(func.count(func.distinct(CheckIn.resident_id))).where(
                *current, CheckIn.status == CheckInStatus.APPROVED
            )
        )
        or 0
    )
    agreement_ids = list(
        await db.scalars(
            select(Agreement.id).where(
                Agreement.programme_id == programme.id, meals_policy.visible_agreements(user)
            )
        )
    )
    period = await period_of(db, programme.id, month)
    report.closed = period is not None and period.closed_at is not None
    lines = select(func.coalesce(func.sum(LedgerLine.amount_fen), 0)).where(
        LedgerLine.month == month, LedgerLine.agreement_id.in_(agreement_ids)
    )
    if report.closed:
        report.amount_fen = int(await db.scalar(lines) or 0)
    else:
        adjustments = int(await db.scalar(lines.where(LedgerLine.kind == LedgerKind.ADJUSTMENT)) or 0)
        totals = await meal_totals(db, agreement_ids, month)
        report.amount_fen = sum(fen for _, fen in totals.values()) + adjustments


async def _visits(db: AsyncSession, user: Principal, report: MonthReport) -> None:
    start, end = _month_bounds(report.programme, report.month)
    rows = await db.execute(
        select(Visit.status, Visit.need_areas, Visit.duration_minutes, Visit.child_id).where(
            Visit.programme_id == report.programme.id,
            Visit.visited_at >= start,
            Visit.visited_at < end,
            Visit.superseded_at.is_(None),
            visible_visits(user),
        )
    )
    report.need_areas = {area: Counter() for area in NeedArea}
    children = set()
    for raw_status, areas, minutes, child_id in rows:
        status = VisitStatus(raw_status)
        report.visits[status] += 1
        for area in areas or []:
            if area in NeedArea.__members__.values():
                report.need_areas[NeedArea(area)][status] += 1
        if status is VisitStatus.APPROVED:
            report.visit_minutes += int(minutes or 0)
            children.add(child_id)
    report.visit_people = len(children)


async def month_report(db: AsyncSession, user: Principal, programme: Programme, month: date) -> MonthReport:
    report = MonthReport(programme=programme, month=month)
    await _meals(db, user, report)
    await _visits(db, user, report)
    return report
