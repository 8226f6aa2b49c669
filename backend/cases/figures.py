"""A social-work station programme's figures for a period, per station and rolled up the area tree.

What is counted (the page says so too):
- orders made in the period (by their creation time), by source and by their status now; the hours
  from an order to its taking, and the days from an order to its case's first home assessment, over
  the orders made in the period that got that far (so a past period's times can still grow);
- home visits: home assessments dated in the period plus approved service deliveries at home dated in
  it (an assessment is always at home);
- cases open at the end of the period, opened in it, closed in it;
- approved service deliveries dated in the period and their person-times, per service package;
- the outcomes of the goals of the cases closed in the period (goals dropped from a plan not counted).
Deliveries count only when approved and current (a resubmission replaces the version it fixes).

Every figure is counted by the database (GROUP BY per station area); Python only adds up the
per-station results along the area tree (a few rows per station, never a row per order or delivery).
Medians are exact and computed in SQL on both engines with window functions: the rows of each report
row are numbered in order and the middle one (or the mean of the middle two) is taken; the report rows a
station area counts towards (itself, the areas above it, the total) come from a small VALUES table,
so a roll-up row's median is the median of everything under it, not a median of medians.

Scope: the programme's staff (and administrators) see every station; a station's social worker sees
the stations in her areas only, and rows from her area down.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Integer,
    and_,
    case,
    cast,
    column,
    false,
    func,
    or_,
    select,
    true,
    type_coerce,
    values,
)
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.cases.models import (
    Assessment,
    Case,
    CaseOrder,
    Delivery,
    DeliveryStatus,
    Goal,
    GoalOutcome,
    OrderSource,
    OrderStatus,
    PlanItem,
    ServiceItem,
    ServicePackage,
)
from backend.cases.periods import local_bounds
from backend.cases.policy import worker_grants
from backend.clock import zone_of
from backend.people.models import Area, AreaLevel, Membership, Programme, Role
from backend.people.policy import area_and_below

TOTAL = 0  # the row id of the total in the median queries (no area has id 0)


@dataclass(frozen=True, slots=True)
class Stat:
    """A median and a mean over `n` values (None when there are none)."""

    median: float | None = None
    mean: float | None = None
    n: int = 0


@dataclass
class Counts:
    orders_by_source: Counter[OrderSource] = field(default_factory=Counter)
    orders_by_status: Counter[OrderStatus] = field(default_factory=Counter)
    assessments: int = 0
    home_deliveries: int = 0
    cases_open_at_end: int = 0
    cases_opened: int = 0
    cases_closed: int = 0
    # Per service package id: approved deliveries, and their person-times.
    deliveries: Counter[int] = field(default_factory=Counter)
    person_times: Counter[int] = field(default_factory=Counter)
    goals: Counter[GoalOutcome] = field(default_factory=Counter)

    @property
    def orders(self) -> int:
        return sum(self.orders_by_source.values())

    @property
    def home_visits(self) -> int:
        return self.assessments + self.home_deliveries

    @property
    def deliveries_total(self) -> int:
        return sum(self.deliveries.values())

    @property
    def person_times_total(self) -> int:
        return sum(self.person_times.values())

    def add(self, other: Counts) -> None:
        self.orders_by_source.update(other.orders_by_source)
        self.orders_by_status.update(other.orders_by_status)
        self.assessments += other.assessments
        self.home_deliveries += other.home_deliveries
        self.cases_open_at_end += other.cases_open_at_end
        self.cases_opened += other.cases_opened
        self.cases_closed += other.cases_closed
        self.deliveries.update(other.deliveries)
        self.person_times.update(other.person_times)
        self.goals.update(other.goals)


@dataclass
class Row(Counts):
    """One area of the tree: a station, or an area above stations with the sums of what is under it
    (`area_id` None: the total)."""

    area_id: int | None = None
    name: str = ""
    level: AreaLevel | None = None
    depth: int = 0
    is_station: bool = False
    hours_to_taken: Stat = field(default_factory=Stat)
    days_to_visit: Stat = field(default_factory=Stat)


@dataclass
class Figures:
    programme_id: int
    start: date
    end: date  # the first day after the period
    rows: list[Row]
    total: Row
    # The programme's service packages (id, name), in their order; retired ones too when counted.
    packages: list[tuple[int, str]]


def _scope(user: Principal, programme_id: int, area_col: Any) -> ColumnElement[bool]:
    if user.is_admin or programme_id in user.staff_programme_ids:
        return true()
    grants = [g for g in worker_grants(user) if g.programme_id == programme_id]
    if not grants:
        return false()
    return or_(
        *(area_col.in_(select(Area.id).where(area_and_below(g.area_path)).scalar_subquery()) for g in grants)
    )


def _tops(user: Principal, programme: Programme) -> set[int] | None:
    """The areas whose rows come first for this user: her station areas (a worker), or None (staff:
    from the programme's own area down)."""
    if user.is_admin or programme.id in user.staff_programme_ids:
        return None
    return {g.area_id for g in worker_grants(user) if g.programme_id == programme.id}


def _chain(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


class _Query:
    def __init__(self, db: AsyncSession, user: Principal, programme: Programme, start: date, end: date):
        self.db, self.user, self.programme = db, user, programme
        self.start, self.end = start, end
        self.since, self.until = local_bounds(programme, start, end)
        self.postgres = db.get_bind().dialect.name == "postgresql"
        self.per_area: dict[int, Counts] = {}

    def at(self, area_id: int) -> Counts:
        return self.per_area.setdefault(int(area_id), Counts())

    def scope(self, area_col: Any) -> ColumnElement[bool]:
        return _scope(self.user, self.programme.id, area_col)

    def orders_made(self) -> tuple[ColumnElement[bool], ...]:
        return (
            CaseOrder.programme_id == self.programme.id,
            CaseOrder.created_at >= self.since,
            CaseOrder.created_at < self.until,
            self.scope(CaseOrder.station_area_id),
        )

    async def orders(self) -> None:
        statement = (
            select(CaseOrder.station_area_id, CaseOrder.source, CaseOrder.status, func.count())
            .where(*self.orders_made())
            .group_by(CaseOrder.station_area_id, CaseOrder.source, CaseOrder.status)
        )
        for area_id, source, status, n in await self.db.execute(statement):
            counts = self.at(area_id)
            counts.orders_by_source[OrderSource(source)] += int(n)
            counts.orders_by_status[OrderStatus(status)] += int(n)

    async def home_visits(self) -> None:
        assessed = (
            select(Case.area_id, func.count())
            .select_from(Assessment)
            .join(Case, Case.id == Assessment.case_id)
            .where(
                Assessment.programme_id == self.programme.id,
                Assessment.assessed_on >= self.start,
                Assessment.assessed_on < self.end,
                self.scope(Case.area_id),
            )
            .group_by(Case.area_id)
        )
        for area_id, n in await self.db.execute(assessed):
            self.at(area_id).assessments += int(n)
        delivered = (
            select(
                Delivery.area_id,
                ServiceItem.package_id,
                func.count(),
                func.sum(Delivery.people_count),
                func.sum(case((Delivery.at_home, 1), else_=0)),
            )
            .select_from(Delivery)
            .join(PlanItem, PlanItem.id == Delivery.plan_item_id)
            .join(ServiceItem, ServiceItem.id == PlanItem.service_item_id)
            .where(
                Delivery.programme_id == self.programme.id,
                Delivery.delivered_on >= self.start,
                Delivery.delivered_on < self.end,
                Delivery.status == DeliveryStatus.APPROVED,
                Delivery.superseded_at.is_(None),
                self.scope(Delivery.area_id),
            )
            .group_by(Delivery.area_id, ServiceItem.package_id)
        )
        for area_id, package_id, n, people, at_home in await self.db.execute(delivered):
            counts = self.at(area_id)
            counts.deliveries[int(package_id)] += int(n)
            counts.person_times[int(package_id)] += int(people or 0)
            counts.home_deliveries += int(at_home or 0)

    async def cases(self) -> None:
        since, until = self.since, self.until
        statement = (
            select(
                Case.area_id,
                func.sum(case((Case.opened_at >= since, 1), else_=0)),
                func.sum(case((and_(Case.closed_at >= since, Case.closed_at < until), 1), else_=0)),
                func.sum(case((or_(Case.closed_at.is_(None), Case.closed_at >= until), 1), else_=0)),
            )
            .where(
                Case.programme_id == self.programme.id,
                Case.opened_at < until,
                or_(Case.closed_at.is_(None), Case.closed_at >= since),
                self.scope(Case.area_id),
            )
            .group_by(Case.area_id)
        )
        for area_id, opened, closed, still_open in await self.db.execute(statement):
            counts = self.at(area_id)
            counts.cases_opened += int(opened or 0)
            counts.cases_closed += int(closed or 0)
            counts.cases_open_at_end += int(still_open or 0)
        goals = (
            select(Case.area_id, Goal.outcome, func.count())
            .select_from(Goal)
            .join(Case, Case.id == Goal.case_id)
            .where(
                Case.programme_id == self.programme.id,
                Case.closed_at >= since,
                Case.closed_at < until,
                Goal.retired_at.is_(None),
                Goal.outcome.is_not(None),
                self.scope(Case.area_id),
            )
            .group_by(Case.area_id, Goal.outcome)
        )
        for area_id, outcome, n in await self.db.execute(goals):
            self.at(area_id).goals[GoalOutcome(str(outcome))] += int(n)

    async def station_areas(self) -> set[int]:
        statement = (
            select(Membership.area_id)
            .distinct()
            .where(
                Membership.programme_id == self.programme.id,
                Membership.role == Role.SOCIAL_WORKER,
                Membership.ended_at.is_(None),
                self.scope(Membership.area_id),
            )
        )
        return {int(a) for a in await self.db.scalars(statement)}

    def hours_to_taken(self) -> Any:
        if self.postgres:
            return func.extract("epoch", CaseOrder.taken_at - CaseOrder.created_at) / 3600.0
        # Whole seconds (julianday's floating days would give 19.999999998 hours for 20).
        seconds = func.strftime("%s", CaseOrder.taken_at) - func.strftime("%s", CaseOrder.created_at)
        return type_coerce(seconds, Integer) / 3600.0

    def days_to_visit(self) -> Any:
        first = (
            select(func.min(Assessment.assessed_on)).where(Assessment.case_id == Case.id).scalar_subquery()
        )
        if self.postgres:
            local_date = cast(func.timezone(self.programme.time_zone, CaseOrder.created_at), Date)
            return type_coerce(first - local_date, Integer)
        # SQLite has no time zones: the programme zone's offset at the period's start is used (exact for
        # zones without daylight saving, such as China's).
        offset = self.since.astimezone(zone_of(self.programme)).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        local_day = func.date(CaseOrder.created_at, f"{minutes:+d} minutes")
        return func.julianday(first) - func.julianday(local_day)

    async def medians(self, value: Any, pairs: list[tuple[int, int]], *, to_visit: bool) -> dict[int, Stat]:
        """Median, mean and count of `value` per report row; `pairs` maps a station area to the rows it
        counts towards."""
        if not pairs:
            return {}
        rowmap = (
            values(column("area_id", Integer), column("row_id", Integer), name="rowmap", literal_binds=True)
            .data(pairs)
            .cte("rowmap")
        )
        value = type_coerce(value, Float)
        statement = (
            select(
                rowmap.c.row_id,
                value.label("v"),
                func.row_number().over(partition_by=rowmap.c.row_id, order_by=value).label("rn"),
                func.count().over(partition_by=rowmap.c.row_id).label("n"),
                func.avg(value).over(partition_by=rowmap.c.row_id).label("mean"),
            )
            .select_from(CaseOrder)
            .join(rowmap, rowmap.c.area_id == CaseOrder.station_area_id)
            .where(*self.orders_made())
        )
        if to_visit:
            statement = statement.join(Case, Case.order_id == CaseOrder.id).where(
                Case.programme_id == self.programme.id, value.is_not(None)
            )
        else:
            statement = statement.where(CaseOrder.taken_at.is_not(None))
        ranked = statement.subquery()
        middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
        result = await self.db.execute(
            select(ranked.c.row_id, func.avg(ranked.c.v), func.max(ranked.c.mean), func.max(ranked.c.n))
            .where(middle)
            .group_by(ranked.c.row_id)
        )
        return {
            int(row_id): Stat(round(float(median), 2), round(float(mean), 2), int(n))
            for row_id, median, mean, n in result
        }


async def _packages(db: AsyncSession, programme_id: int, counted: Iterable[int]) -> list[tuple[int, str]]:
    ids = set(counted)
    rows = await db.execute(
        select(ServicePackage.id, ServicePackage.name, ServicePackage.retired_at)
        .where(ServicePackage.programme_id == programme_id)
        .order_by(ServicePackage.position, ServicePackage.id)
    )
    return [(int(i), name) for i, name, retired in rows if retired is None or i in ids]


async def station_figures(
    db: AsyncSession, user: Principal, programme_id: int, start: date, end: date
) -> Figures:
    """The figures of the programme's stations from `start` to the day before `end` (half-open), as
    `user` may see them. The caller checks that she may see the programme's figures at all; whatever
    her role, nothing outside her scope is counted."""
    programme = await db.get_one(Programme, programme_id)
    query = _Query(db, user, programme, start, end)
    await query.orders()
    await query.home_visits()
    await query.cases()
    stations = await query.station_areas()
    leaves = stations | set(query.per_area)
    areas = {a.id: a for a in await db.scalars(select(Area).where(Area.id.in_(leaves)))} if leaves else {}
    chains: dict[int, list[int]] = {}
    tops = _tops(user, programme)
    for area_id, area in areas.items():
        chain = _chain(area.path)
        starts = [chain.index(t) for t in tops if t in chain] if tops is not None else []
        if tops is None and programme.area_id in chain:
            starts = [chain.index(programme.area_id)]
        chains[area_id] = chain[min(starts) :] if starts else chain[-1:]
    row_ids = {i for chain in chains.values() for i in chain}
    names = {a.id: a for a in await db.scalars(select(Area).where(Area.id.in_(row_ids)))} if row_ids else {}
    rows = {
        i: Row(area_id=i, name=names[i].name, level=names[i].level, is_station=i in stations) for i in row_ids
    }
    total = Row(area_id=None)
    for area_id, chain in chains.items():
        counts = query.per_area.get(area_id)
        for i in chain:
            rows[i].depth = max(rows[i].depth, chain.index(i))
        if counts is not None:
            for i in chain:
                rows[i].add(counts)
            total.add(counts)
    pairs = [(a, i) for a, chain in chains.items() for i in chain] + [(a, TOTAL) for a in chains]
    for attribute, value, to_visit in (
        ("hours_to_taken", query.hours_to_taken(), False),
        ("days_to_visit", query.days_to_visit(), True),
    ):
        for row_id, stat in (await query.medians(value, pairs, to_visit=to_visit)).items():
            setattr(total if row_id == TOTAL else rows[row_id], attribute, stat)

    def sort_key(row: Row) -> tuple[str, ...]:
        # Depth first, siblings by name: the names along the row's own path from its top.
        chain = next(c for c in chains.values() if row.area_id in c)
        return tuple(names[i].name for i in chain[: chain.index(row.area_id) + 1])  # type: ignore[arg-type]

    ordered = sorted(rows.values(), key=sort_key)
    return Figures(
        programme_id=programme.id,
        start=start,
        end=end,
        rows=ordered,
        total=total,
        packages=await _packages(db, programme.id, total.deliveries),
    )
