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
Medians: the database counts, per station, how many orders took each number of days (exactly) or of
hours (in steps of six minutes); those counts add up along the tree like every other figure, so a
roll-up row's median is the median of everything under it (not a median of medians), read from the
merged counts. Hours are thus exact to a tenth of an hour, which is what the page shows; means come from
exact sums. This is the same on both engines (SQLite has no percentile function), and the rows read
are bounded by the distinct values per station, not by the orders.

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
    false,
    func,
    or_,
    select,
    true,
    type_coerce,
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
from backend.cases.policy import station_grants
from backend.clock import zone_of
from backend.people.models import Area, AreaLevel, Membership, Programme, Role
from backend.people.policy import area_and_below


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
    grants = [g for g in station_grants(user) if g.programme_id == programme_id]
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
    return {g.area_id for g in station_grants(user) if g.programme_id == programme.id}


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
        """Seconds from an order to its taking."""
        if self.postgres:
            return func.extract("epoch", CaseOrder.taken_at - CaseOrder.created_at)
        # Whole seconds (julianday's floating days would give 19.999999998 hours for 20).
        return type_coerce(
            func.strftime("%s", CaseOrder.taken_at) - func.strftime("%s", CaseOrder.created_at), Integer
        )

    def days_to_visit(self) -> Any:
        """Days from an order's local day to its case's first home assessment."""
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
        return type_coerce(func.julianday(first) - func.julianday(local_day), Integer)

    async def taken_histograms(self) -> dict[int, _Histogram]:
        """Per station area: how many orders were taken after each number of 6-minute steps (rounded),
        and the exact sum of their hours."""
        seconds = self.hours_to_taken()
        step = cast(func.round(type_coerce(seconds, Float) / 360.0), Integer)
        statement = (
            select(CaseOrder.station_area_id, step, func.count(), func.sum(seconds) / 3600.0)
            .where(*self.orders_made(), CaseOrder.taken_at.is_not(None))
            .group_by(CaseOrder.station_area_id, step)
        )
        found: dict[int, _Histogram] = {}
        for area_id, key, n, hours in await self.db.execute(statement):
            found.setdefault(int(area_id), _Histogram()).add(int(key), int(n), float(hours or 0))
        return found

    async def visit_histograms(self) -> dict[int, _Histogram]:
        """Per station area: how many orders' cases had their first home visit after each number of days.
        The correlated first-visit subquery is named once (select and GROUP BY share it); orders whose
        case has no assessment yet come back under no number and are left out."""
        days = self.days_to_visit()
        statement = (
            select(CaseOrder.station_area_id, days, func.count())
            .join(Case, Case.order_id == CaseOrder.id)
            .where(*self.orders_made(), Case.programme_id == self.programme.id)
            .group_by(CaseOrder.station_area_id, days)
        )
        found: dict[int, _Histogram] = {}
        for area_id, key, n in await self.db.execute(statement):
            if key is not None:
                found.setdefault(int(area_id), _Histogram()).add(int(key), int(n), float(int(key) * int(n)))
        return found


@dataclass
class _Histogram:
    """How many values fell on each step, and their exact sum: histograms add up along the tree, and a
    median read from one is the median of all the values under it (to the step)."""

    counts: Counter[int] = field(default_factory=Counter)
    total: float = 0.0  # the exact sum, in hours or days

    def add(self, key: int, n: int, total: float) -> None:
        self.counts[key] += n
        self.total += total

    def merge(self, other: _Histogram) -> None:
        self.counts.update(other.counts)
        self.total += other.total

    def stat(self, unit: int, per: int) -> Stat:
        n = sum(self.counts.values())
        if not n:
            return Stat()
        middle = {(n + 1) // 2, (n + 2) // 2}  # the middle value, or the two middle ones
        picked: list[int] = []
        seen = 0
        for key in sorted(self.counts):
            before, seen = seen, seen + self.counts[key]
            picked += [key for rank in middle if before < rank <= seen]
        median = sum(picked) / len(picked) * unit / per
        return Stat(round(median, 2), round(self.total / n, 2), n)


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
    # Hours in steps of 6 minutes (shown to a tenth of an hour), days exactly; means from exact sums.
    for attribute, per_station, unit, per in (
        ("hours_to_taken", await query.taken_histograms(), 360, 3600),
        ("days_to_visit", await query.visit_histograms(), 1, 1),
    ):
        merged: dict[int | None, _Histogram] = {}
        for area_id, histogram in per_station.items():
            for key in [*chains.get(area_id, []), None]:
                merged.setdefault(key, _Histogram()).merge(histogram)
        for key, histogram in merged.items():
            setattr(total if key is None else rows[key], attribute, histogram.stat(unit, per))

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
