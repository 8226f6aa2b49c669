"""Station figures on both databases: each figure by value from hand-built rows, the roll-up, the period
presets in Asia/Shanghai, the page, the CSV and XLSX (injection-safe), and who sees which stations.

The rows are written straight into the case-work tables (no service is needed to count them). They lie
in 2025, far from the demo's own orders and case (made around the tests' chosen day), so the demo adds
nothing to these periods.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import openpyxl
from sqlalchemy import select, update

from backend.cases.figures import Figures, Row, Stat, station_figures
from backend.cases.models import (
    Assessment,
    Case,
    CaseDimension,
    CaseOrder,
    CaseStatus,
    CloseReason,
    DelivererKind,
    Delivery,
    DeliveryStatus,
    Frequency,
    Goal,
    GoalOutcome,
    OrderSource,
    OrderStatus,
    PlanItem,
    ReferrerKind,
    ServiceItem,
    ServicePackage,
)
from backend.cases.periods import PeriodKind, period_of
from backend.db import Database
from backend.people.models import Area
from tests import personas
from tests.conftest import ClientAs, World, chosen_today
from tests.functional.settlement_support import principal_of

SCOUT = "demo-scout-ma"
HE, CHEN = "demo-sw-he", "demo-sw-chen"
Q3 = (date(2025, 7, 1), date(2025, 10, 1))
ELDERLY, MINORS = "老年人关爱", "未成年人成长"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


class Data:
    """Ids of what `build` wrote."""

    programme_id: int
    wutong: int
    liuan: int
    district: int
    packages: dict[str, int]


async def build(database: Database, world: World) -> Data:
    """Q3 2025 at Wutong: four orders (2 residents, 1 scout, 1 referrer; 1 open, 2 taken after 10 and
    30 hours, 1 closed), two cases (one closed with goals met, partly and not met, plus a dropped goal),
    one assessment, deliveries of every status; at Liu'an one order taken after 2 hours into a case
    with an assessment and an at-home delivery. Outside Q3: an order a second before it (local time)
    and one on 30 September 17:00 UTC, which is 1 October in Shanghai."""
    data = Data()
    station = world.cast.programmes["station"]
    areas = world.cast.areas
    data.programme_id, data.wutong, data.liuan, data.district = (
        station.id,
        areas["wutong"].id,
        areas["liuan"].id,
        areas["district"].id,
    )
    he, chen = world.user_id(HE), world.user_id(CHEN)
    async with database.transaction() as db:
        data.packages = {
            name: i
            for i, name in await db.execute(
                select(ServicePackage.id, ServicePackage.name).where(
                    ServicePackage.programme_id == station.id
                )
            )
        }
        items = {
            name: await db.scalar(select(ServiceItem.id).where(ServiceItem.package_id == data.packages[name]))
            for name in (ELDERLY, MINORS)
        }
        dimension = await db.scalar(select(CaseDimension.id).where(CaseDimension.programme_id == station.id))

        def order(area: int, source: OrderSource, created: datetime, **more: object) -> CaseOrder:
            row = CaseOrder(
                programme_id=station.id,
                station_area_id=area,
                source=source,
                referrer_kind=ReferrerKind.SCHOOL if source is OrderSource.REFERRER else None,
                category="elderly",
                description="需要帮助",
                created_at=created,
                **more,
            )
            db.add(row)
            return row

        def taken(hours: int, by: int, created: datetime) -> dict[str, object]:
            return {
                "status": OrderStatus.TAKEN,
                "taken_by_id": by,
                "taken_at": created + timedelta(hours=hours),
            }

        t1, t2, t3 = utc(2025, 7, 2, 1), utc(2025, 7, 8, 2), utc(2025, 8, 1, 3)
        order(data.wutong, OrderSource.RESIDENT, utc(2025, 8, 5, 4))  # still open
        scout_order = order(data.wutong, OrderSource.SCOUT, t1, **taken(30, he, t1))
        resident_order = order(data.wutong, OrderSource.RESIDENT, t2, **taken(10, he, t2))
        order(
            data.wutong,
            OrderSource.REFERRER,
            utc(2025, 9, 1),
            status=OrderStatus.CLOSED,
            closed_at=utc(2025, 9, 2),
            closed_by_id=he,
        )
        order(data.wutong, OrderSource.RESIDENT, utc(2025, 6, 30, 15, 59, 59))  # 23:59:59 on 30 June
        order(data.wutong, OrderSource.SCOUT, utc(2025, 9, 30, 17))  # 01:00 on 1 October
        liuan_order = order(data.liuan, OrderSource.REFERRER, t3, **taken(2, chen, t3))
        await db.flush()

        def open_case(area: int, person: str, lead: int, opened: datetime, source: CaseOrder) -> Case:
            row = Case(
                programme_id=station.id,
                area_id=area,
                person_id=world.person_id(person),
                order_id=source.id,
                lead_worker_id=lead,
                status=CaseStatus.IN_SERVICE,
                opened_at=opened,
                opened_by_id=lead,
            )
            db.add(row)
            return row

        tang = open_case(data.wutong, "tang", he, utc(2025, 7, 3), scout_order)
        luo = open_case(data.wutong, "luo", he, utc(2025, 7, 9), resident_order)
        xu = open_case(data.liuan, "xu", chen, utc(2025, 8, 1, 6), liuan_order)
        await db.flush()
        luo.status, luo.closed_at, luo.close_reason = (
            CaseStatus.CLOSED,
            utc(2025, 9, 20),
            CloseReason.GOALS_MET,
        )
        # Tang's order came on 2 July (local), her first home visit was on 5 July: 3 days; Xu's the same day.
        db.add(
            Assessment(
                case_id=tang.id, programme_id=station.id, assessed_on=date(2025, 7, 5), assessed_by_id=he
            )
        )
        db.add(
            Assessment(
                case_id=tang.id, programme_id=station.id, assessed_on=date(2025, 10, 9), assessed_by_id=he
            )
        )
        db.add(
            Assessment(
                case_id=xu.id, programme_id=station.id, assessed_on=date(2025, 8, 1), assessed_by_id=chen
            )
        )
        for outcome, retired in (
            (GoalOutcome.MET, None),
            (GoalOutcome.PARTLY, None),
            (GoalOutcome.NOT_MET, None),
            (GoalOutcome.MET, utc(2025, 8, 1)),  # dropped from the plan: not counted
        ):
            db.add(
                Goal(
                    case_id=luo.id,
                    dimension_id=dimension,
                    text="目标",
                    set_by_id=he,
                    outcome=outcome,
                    outcome_at=utc(2025, 9, 20),
                    retired_at=retired,
                )
            )
        plans = {}
        for case_row, item, lead in ((tang, items[ELDERLY], he), (xu, items[MINORS], chen)):
            plan = PlanItem(
                case_id=case_row.id,
                service_item_id=item,
                deliverer_kind=DelivererKind.WORKER,
                deliverer_user_id=lead,
                frequency=Frequency.WEEKLY,
                added_by_id=lead,
            )
            db.add(plan)
            plans[case_row.id] = plan
        await db.flush()

        def deliver(
            case_row: Case, on: date, status: DeliveryStatus, *, home: bool, people: int, **more: object
        ) -> None:
            db.add(
                Delivery(
                    client_uuid=uuid.uuid4(),
                    case_id=case_row.id,
                    plan_item_id=plans[case_row.id].id,
                    programme_id=station.id,
                    area_id=case_row.area_id,
                    person_id=case_row.person_id,
                    submitted_by_id=case_row.lead_worker_id,
                    delivered_on=on,
                    minutes=60,
                    people_count=people,
                    at_home=home,
                    content_sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
                    submitted_at=utc(on.year, on.month, on.day, 9),
                    status=status,
                    **more,
                )
            )

        day = date(2025, 7, 20)
        deliver(tang, day, DeliveryStatus.APPROVED, home=True, people=2)
        deliver(tang, day, DeliveryStatus.APPROVED, home=False, people=3)
        deliver(tang, day, DeliveryStatus.PENDING, home=True, people=4)
        deliver(tang, day, DeliveryStatus.REJECTED, home=True, people=5)
        deliver(tang, day, DeliveryStatus.NEEDS_FIX, home=True, people=6)
        deliver(tang, day, DeliveryStatus.APPROVED, home=True, people=7, superseded_at=utc(2025, 7, 21))
        deliver(tang, date(2025, 10, 1), DeliveryStatus.APPROVED, home=True, people=8)  # Q4
        deliver(xu, date(2025, 8, 2), DeliveryStatus.APPROVED, home=True, people=1)
    return data


async def figures_as(
    database: Database, world: World, handle: str, data: Data, start: date, end: date
) -> Figures:
    user = await principal_of(database, world.user_id(handle))
    async with database.transaction(read_only=True) as db:
        return await station_figures(db, user, data.programme_id, start, end)


def row_of(figures: Figures, area_id: int) -> Row:
    return next(r for r in figures.rows if r.area_id == area_id)


async def test_each_figure_of_a_quarter_is_counted_by_value(world: World, database: Database) -> None:
    data = await build(database, world)
    figures = await figures_as(database, world, personas.STAFF, data, *Q3)
    wutong, liuan = row_of(figures, data.wutong), row_of(figures, data.liuan)

    assert dict(wutong.orders_by_source) == {
        OrderSource.RESIDENT: 2,
        OrderSource.SCOUT: 1,
        OrderSource.REFERRER: 1,
    }
    assert dict(wutong.orders_by_status) == {OrderStatus.OPEN: 1, OrderStatus.TAKEN: 2, OrderStatus.CLOSED: 1}
    assert (wutong.hours_to_taken.median, wutong.hours_to_taken.mean, wutong.hours_to_taken.n) == (
        20.0,
        20.0,
        2,
    )
    assert (wutong.days_to_visit.median, wutong.days_to_visit.n) == (3.0, 1)
    # One home assessment and one approved, current delivery at home; pending, sent back, rejected,
    # replaced and next quarter's are not counted.
    assert (wutong.home_visits, wutong.assessments, wutong.home_deliveries) == (2, 1, 1)
    assert (wutong.cases_opened, wutong.cases_closed, wutong.cases_open_at_end) == (2, 1, 1)
    elderly = data.packages[ELDERLY]
    assert (wutong.deliveries[elderly], wutong.person_times[elderly]) == (2, 5)
    assert (wutong.deliveries_total, wutong.person_times_total) == (2, 5)
    assert dict(wutong.goals) == {GoalOutcome.MET: 1, GoalOutcome.PARTLY: 1, GoalOutcome.NOT_MET: 1}

    assert dict(liuan.orders_by_source) == {OrderSource.REFERRER: 1}
    assert (liuan.hours_to_taken.median, liuan.days_to_visit.median) == (2.0, 0.0)
    assert (liuan.home_visits, liuan.cases_opened, liuan.cases_open_at_end) == (2, 1, 1)
    assert (liuan.deliveries[data.packages[MINORS]], liuan.person_times[data.packages[MINORS]]) == (1, 1)
    assert wutong.is_station and liuan.is_station


async def test_roll_up_rows_are_the_sums_of_their_stations_and_medians_of_everything_under_them(
    world: World, database: Database
) -> None:
    data = await build(database, world)
    figures = await figures_as(database, world, personas.STAFF, data, *Q3)
    district, wutong, liuan = (row_of(figures, a) for a in (data.district, data.wutong, data.liuan))
    assert figures.rows[0].area_id == data.district and district.depth == 0 and wutong.depth == 1
    for row in (district, figures.total):
        assert row.orders == wutong.orders + liuan.orders == 5
        assert row.home_visits == wutong.home_visits + liuan.home_visits == 4
        assert row.orders_by_status == wutong.orders_by_status + liuan.orders_by_status
        assert row.deliveries == wutong.deliveries + liuan.deliveries
        assert row.person_times_total == 6 and row.goals == wutong.goals
        assert (row.cases_opened, row.cases_closed, row.cases_open_at_end) == (3, 1, 2)
        # Hours to taken: 2, 10, 30: the median of all three, not a median of the stations' medians.
        assert (row.hours_to_taken.median, row.hours_to_taken.mean, row.hours_to_taken.n) == (10.0, 14.0, 3)
        assert (row.days_to_visit.median, row.days_to_visit.mean) == (1.5, 1.5)


async def test_period_boundaries_are_local_to_shanghai(world: World, database: Database) -> None:
    data = await build(database, world)

    async def wutong_orders(kind: PeriodKind, on: date) -> int:
        period = period_of(kind, on)
        figures = await figures_as(database, world, personas.STAFF, data, period.start, period.end)
        rows = [r for r in figures.rows if r.area_id == data.wutong]
        return rows[0].orders if rows else 0

    # 30 September 17:00 UTC is 1 October 01:00 in Shanghai; 30 June 15:59:59 UTC is still June there.
    assert await wutong_orders(PeriodKind.MONTH, date(2025, 10, 1)) == 1
    assert await wutong_orders(PeriodKind.MONTH, date(2025, 9, 30)) == 1  # the referrer's, 1 September
    assert await wutong_orders(PeriodKind.QUARTER, date(2025, 9, 30)) == 4
    assert await wutong_orders(PeriodKind.QUARTER, date(2025, 12, 31)) == 1
    assert await wutong_orders(PeriodKind.QUARTER, date(2025, 6, 1)) == 1
    assert await wutong_orders(PeriodKind.HALF, date(2025, 6, 30)) == 1
    assert await wutong_orders(PeriodKind.HALF, date(2025, 7, 1)) == 5
    assert await wutong_orders(PeriodKind.YEAR, date(2025, 1, 1)) == 6


def test_period_presets() -> None:
    assert period_of(PeriodKind.QUARTER, date(2026, 11, 18)).start == date(2026, 10, 1)
    assert period_of(PeriodKind.QUARTER, date(2026, 11, 18)).end == date(2027, 1, 1)
    assert period_of(PeriodKind.HALF, date(2026, 6, 30)).end == date(2026, 7, 1)
    assert period_of(PeriodKind.MONTH, date(2024, 2, 29)).last_day == date(2024, 2, 29)
    assert period_of(PeriodKind.YEAR, date(2026, 5, 5)).previous().start == date(2025, 1, 1)
    quarter = period_of(PeriodKind.QUARTER, date(2026, 10, 1))
    assert (quarter.code, quarter.following().code, quarter.previous().code) == (
        "2026-Q4",
        "2027-Q1",
        "2026-Q3",
    )
    assert quarter.bounds(world_zone())[0] == utc(2026, 9, 30, 16)


def world_zone():  # type: ignore[no-untyped-def]
    class Shanghai:
        time_zone = "Asia/Shanghai"

    return Shanghai()


async def test_a_worker_sees_her_own_station_only(world: World, database: Database) -> None:
    data = await build(database, world)
    mine = await figures_as(database, world, HE, data, *Q3)
    assert [r.area_id for r in mine.rows] == [data.wutong]
    assert mine.total.orders == 4 and mine.total.hours_to_taken.median == 20.0
    theirs = await figures_as(database, world, CHEN, data, *Q3)
    assert [r.area_id for r in theirs.rows] == [data.liuan]
    assert theirs.total.orders == 1 and theirs.total.home_visits == 2
    nobody = await figures_as(database, world, SCOUT, data, *Q3)
    assert nobody.rows == [] and nobody.total.orders == 0


def _url(data: Data, suffix: str = "", query: str = "?period=quarter&on=2025-08-15") -> str:
    return f"/programmes/{data.programme_id}/figures{suffix}{query}"


async def test_the_page_and_its_period_presets(client_as: ClientAs, world: World, database: Database) -> None:
    data = await build(database, world)
    staff = await client_as(personas.STAFF)
    page = await staff.get(_url(data))
    assert page.status_code == 200
    assert "2025-07-01 – 2025-09-30" in page.text
    assert world.cast.areas["wutong"].name in page.text and world.cast.areas["liuan"].name in page.text
    assert 'id="figures-period"' in page.text and 'method="get"' in page.text
    for kind in ("month", "half", "year"):
        assert f"?period={kind}&amp;on=" in page.text
    default = await staff.get(_url(data, query=""))
    quarter = period_of(PeriodKind.QUARTER, chosen_today())
    assert default.status_code == 200
    assert f"{quarter.start.isoformat()} – {quarter.last_day.isoformat()}" in default.text
    month = await staff.get(_url(data, query="?period=month&on=2025-10-31"))
    assert "2025-10-01 – 2025-10-31" in month.text


async def test_bad_period_or_day_is_a_clear_400(client_as: ClientAs, world: World) -> None:
    staff = await client_as(personas.STAFF)
    programme_id = world.cast.programmes["station"].id
    for query in ("?period=week", "?on=2026-13-01", "?on=yesterday", "?on=1900-01-01", "?period=%00"):
        response = await staff.get(f"/programmes/{programme_id}/figures{query}")
        assert response.status_code == 400, query
        assert "选择" in response.text, query


async def test_csv_and_xlsx_carry_the_table_and_keep_formula_names_as_text(
    client_as: ClientAs, world: World, database: Database
) -> None:
    data = await build(database, world)
    async with database.transaction() as db:
        await db.execute(update(Area).where(Area.id == data.liuan).values(name='=HYPERLINK("x")'))
    staff = await client_as(personas.STAFF)

    response = await staff.get(_url(data, ".csv"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert (
        "figures-" in response.headers["content-disposition"]
        and "2025-Q3" in response.headers["content-disposition"]
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = next(r for r in rows if r and r[0] == "区域")
    table = {r[0]: dict(zip(header, r, strict=True)) for r in rows[rows.index(header) + 1 :]}
    assert '\'=HYPERLINK("x")' in table and '=HYPERLINK("x")' not in table
    wutong = table[world.cast.areas["wutong"].name]
    assert wutong["工单"] == "4" and wutong["入户走访"] == "2"
    total = table["合计"]
    assert total["工单"] == "5" and total["入户走访"] == "4"

    response = await staff.get(_url(data, ".xlsx"))
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    cells = list(sheet.iter_rows(values_only=False))
    names = [row[0] for row in cells]
    hostile = next(c for c in names if c.value == '=HYPERLINK("x")')
    assert hostile.data_type == "s"
    values = [[c.value for c in row] for row in cells]
    header = next(v for v in values if v[0] == "区域")
    by_name = {v[0]: dict(zip(header, v, strict=True)) for v in values[values.index(header) + 1 :]}
    assert by_name["合计"]["工单"] == 5 and by_name["合计"]["入户走访"] == 4


async def test_who_may_see_the_figures(client_as: ClientAs, world: World, database: Database) -> None:
    data = await build(database, world)
    wutong_name, liuan_name = world.cast.areas["wutong"].name, world.cast.areas["liuan"].name
    he = await (await client_as(HE)).get(_url(data))
    assert he.status_code == 200 and wutong_name in he.text and liuan_name not in he.text
    chen = await client_as(CHEN)
    for suffix in ("", ".csv"):
        response = await chen.get(_url(data, suffix))
        assert (
            response.status_code == 200 and liuan_name in response.text and wutong_name not in response.text
        )
    for handle, status in (
        (SCOUT, 403),
        (personas.CARING_MOTHER, 404),
        (personas.SOCIAL_WORKER, 404),
        (personas.NEIGHBOUR, 404),
        (personas.OUTSIDER, 404),
    ):
        browser = await client_as(handle)
        for suffix in ("", ".csv", ".xlsx"):
            assert (await browser.get(_url(data, suffix))).status_code == status, (handle, suffix)
    # A caring-mother programme has no station figures.
    staff = await client_as(personas.STAFF)
    mothers = world.cast.programmes["mothers"].id
    assert (await staff.get(f"/programmes/{mothers}/figures")).status_code == 404
    assert (await staff.get("/programmes/999999/figures")).status_code == 404


async def test_the_figures_are_linked_from_home_and_the_programme_page(
    client_as: ClientAs, world: World
) -> None:
    programme_id = world.cast.programmes["station"].id
    link = f"/programmes/{programme_id}/figures"
    for handle in (HE, CHEN, personas.STAFF):
        home = await (await client_as(handle)).get("/")
        assert home.status_code == 200 and f'href="{link}"' in home.text, handle
    for handle in (SCOUT, personas.CARING_MOTHER):
        home = await (await client_as(handle)).get("/")
        assert home.status_code == 200 and link not in home.text, handle
    page = await (await client_as(personas.STAFF)).get(f"/programmes/{programme_id}")
    assert page.status_code == 200 and 'id="figures-link"' in page.text


def test_medians_read_from_merged_counts_are_those_of_all_the_values() -> None:
    from backend.cases.figures import _Histogram

    one, two, both = _Histogram(), _Histogram(), _Histogram()
    one.add(10, 1, 1.0333)  # 62 minutes: the step of 6 minutes it rounds to is the 10th
    two.add(20, 2, 4.0)
    two.add(50, 1, 5.0)
    for part in (one, two):
        both.merge(part)
    assert one.stat(360, 3600) == Stat(1.0, 1.03, 1)
    assert two.stat(360, 3600) == Stat(2.0, 3.0, 3)
    assert both.stat(360, 3600) == Stat(2.0, 2.51, 4)  # the 2nd and 3rd of 1.0, 2.0, 2.0, 5.0
    assert _Histogram().stat(1, 1) == Stat()
