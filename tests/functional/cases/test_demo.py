"""The demo's social-work station programme shows every state a newcomer should click through: orders
open, overdue, closed and taken; Luo's case assessed, planned and in service with one delivery approved
and one waiting; and `carelog demo` prints the station personas' sign-in links."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backend import audit
from backend.cases.demo import PARTNER, STATION_PERSONAS
from backend.cases.models import (
    Assessment,
    AssessmentRating,
    Case,
    CaseDimension,
    CaseOrder,
    CaseStatus,
    CaseStatusChange,
    DelivererKind,
    Delivery,
    DeliveryStatus,
    Goal,
    OrderSource,
    OrderStatus,
    PlanItem,
    ReferrerKind,
    ServiceItem,
)
from backend.db import Database
from backend.settings import Settings
from tests.conftest import World
from tests.functional.ops_support import carelog


async def _luo_case(db, world: World) -> Case:  # type: ignore[no-untyped-def]
    case = await db.scalar(
        select(Case).where(Case.person_id == world.person_id("luo")).options(selectinload(Case.order))
    )
    assert case is not None
    return case


async def test_demo_station_has_orders_in_every_state(database: Database, world: World) -> None:
    async with database.transaction(read_only=True) as db:
        orders = list(
            await db.scalars(
                select(CaseOrder).where(CaseOrder.programme_id == world.cast.programmes["station"].id)
            )
        )
    by_status = {status: [o for o in orders if o.status is status] for status in OrderStatus}
    assert len(by_status[OrderStatus.OPEN]) == 2
    assert len(by_status[OrderStatus.CLOSED]) == 1
    assert len(by_status[OrderStatus.TAKEN]) == 2  # Xu's at Liu'an, Luo's at Wutong
    # Tang's scout report stays untaken for the browser test to take.
    scout = [o for o in by_status[OrderStatus.OPEN] if o.source is OrderSource.SCOUT]
    assert len(scout) == 1
    assert scout[0].reported_by_id == world.user_id("demo-scout-ma")
    assert scout[0].household_area_id == world.cast.areas["guiyuan"].id
    assert {o.source for o in orders} == set(OrderSource)


async def test_demo_luo_case_shows_every_stage(database: Database, world: World) -> None:
    he, gao = world.user_id("demo-sw-he"), world.user_id("demo-sw-gao")
    async with database.transaction(read_only=True) as db:
        case = await _luo_case(db, world)
        assert case.status is CaseStatus.IN_SERVICE
        assert case.lead_worker_id == he
        assert case.area_id == world.cast.areas["wutong"].id
        assert case.order is not None and case.order.status is OrderStatus.TAKEN
        assert case.order.referrer_kind is ReferrerKind.COMMUNITY_COMMITTEE
        assert case.order.taken_by_id == he
        history = list(
            await db.scalars(
                select(CaseStatusChange.to_status)
                .where(CaseStatusChange.case_id == case.id)
                .order_by(CaseStatusChange.id)
            )
        )
        assert history == [
            CaseStatus.ACCEPTED,
            CaseStatus.ASSESSED,
            CaseStatus.PLANNED,
            CaseStatus.IN_SERVICE,
        ]

        assessments = list(await db.scalars(select(Assessment).where(Assessment.case_id == case.id)))
        assert len(assessments) == 1 and assessments[0].assessed_by_id == he
        rated = set(
            await db.scalars(
                select(AssessmentRating.dimension_id).where(
                    AssessmentRating.assessment_id == assessments[0].id
                )
            )
        )
        dimensions = set(
            await db.scalars(select(CaseDimension.id).where(CaseDimension.programme_id == case.programme_id))
        )
        assert len(dimensions) == 6 and rated == dimensions

        goals = list(await db.scalars(select(Goal).where(Goal.case_id == case.id)))
        assert len(goals) == 2 and all(g.outcome is None and g.retired_at is None for g in goals)
        items = list(
            await db.scalars(
                select(PlanItem)
                .where(PlanItem.case_id == case.id)
                .options(selectinload(PlanItem.service_item).selectinload(ServiceItem.package))
                .order_by(PlanItem.id)
            )
        )
        assert [(i.deliverer_kind, i.deliverer_user_id, i.deliverer_name) for i in items] == [
            (DelivererKind.WORKER, he, None),
            (DelivererKind.PARTNER, None, PARTNER),
        ]
        assert {i.service_item.package.name for i in items} == {"老年人关爱"}
        assert {i.goal_id for i in items} == {g.id for g in goals}

        deliveries = list(
            await db.scalars(
                select(Delivery).where(Delivery.case_id == case.id).order_by(Delivery.delivered_on)
            )
        )
        assert [(d.plan_item_id, d.status, d.reviewed_by_id) for d in deliveries] == [
            (items[0].id, DeliveryStatus.APPROVED, gao),
            (items[1].id, DeliveryStatus.PENDING, None),
        ]
        assert all(d.submitted_by_id == he and d.at_home for d in deliveries)
        assert deliveries[1].delivered_by == PARTNER

        # Every step was written through the services: audited, and the chain holds.
        actions = list(
            await db.scalars(
                select(audit.AuditEvent.action).where(
                    audit.AuditEvent.action.in_(
                        (
                            "order.taken",
                            "case.assessed",
                            "case.goal_added",
                            "case.item_added",
                            "delivery.sent",
                        )
                    )
                )
            )
        )
        sent = await db.scalar(
            select(func.count()).where(
                audit.AuditEvent.action == "delivery.sent",
                audit.AuditEvent.subject_id.in_([str(d.id) for d in deliveries]),
            )
        )
        assert sent == 2  # the pillar programme's demo sends one of its own
        assert {"order.taken", "case.assessed", "case.goal_added", "case.item_added"} <= set(actions)
        assert (
            await db.scalar(
                select(func.count()).where(
                    audit.AuditEvent.action == "service_delivery.reviewed",
                    audit.AuditEvent.subject_id.in_([str(d.id) for d in deliveries]),
                )
            )
            == 1
        )
        report = await audit.verify_chain(db)
        assert report.first_bad_id is None, report


async def test_demo_pending_delivery_waits_in_the_other_workers_queue(client_as, world: World) -> None:  # type: ignore[no-untyped-def]
    gao = await client_as("demo-sw-gao")
    page = await gao.get("/review")
    assert page.status_code == 200
    assert "罗大爷" in page.text
    he = await client_as("demo-sw-he")
    page = await he.get("/review")
    assert page.status_code == 200
    assert "罗大爷" not in page.text  # her own delivery: another worker reviews it


async def test_carelog_demo_prints_the_station_personas_links(settings: Settings) -> None:
    # The database (either engine) is migrated and empty: the command loads the demo and prints links.
    done = await carelog(settings, "demo")
    assert done.returncode == 0, done.output
    for _handle, name, what in STATION_PERSONAS:
        line = next((line for line in done.stdout.splitlines() if name in line), None)
        assert line is not None, done.output
        assert what in line
        assert re.search(r"/signin/c/\S+$", line), line
