"""A case's plan (goals per dimension, service items from the programme's packages) and its closing.

Only a social worker of the case's station changes a plan (the routes check policy.require_worker_on);
nothing changes on a closed case (409). Once the plan holds an active goal and an active item, an
assessed case moves to `planned`. Closing needs an outcome for every active goal and a reason (a note
for `other`); the outcomes and the stage change are one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.cases.case_forms import CloseForm, GoalForm, ItemForm
from backend.cases.lists import load_goals, load_items, station_workers
from backend.cases.models import (
    Case,
    CaseDimension,
    CaseStatus,
    DelivererKind,
    Goal,
    PlanItem,
    ServiceItem,
    ServicePackage,
)
from backend.cases.service import advance, do_change_status, refuse_if_closed
from backend.db import utcnow
from backend.errors import Refused
from backend.i18n import gettext as _


async def _maybe_planned(db: AsyncSession, case: Case, *, actor: Actor, now: datetime) -> None:
    if case.status is not CaseStatus.ASSESSED:
        return
    goals = [g for g in await load_goals(db, case.id) if g.retired_at is None]
    items = [i for i in await load_items(db, case.id) if i.ended_at is None]
    if goals and items:
        await advance(db, case, CaseStatus.PLANNED, actor=actor, now=now)


async def do_add_goal(db: AsyncSession, case: Case, goal: GoalForm, *, actor: Actor) -> Goal:
    refuse_if_closed(case)
    dimension = await db.scalar(
        select(CaseDimension).where(
            CaseDimension.id == (goal.dimension_id or 0),
            CaseDimension.programme_id == case.programme_id,
            CaseDimension.retired_at.is_(None),
        )
    )
    if dimension is None:
        raise Refused(_("Choose the dimension of this goal."), field="dimension_id", status_code=400)
    row = Goal(case_id=case.id, dimension_id=dimension.id, text=goal.text, set_by_id=actor.id)
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="case.goal_added",
        subject=case,
        change={"goal_id": row.id, "dimension_id": dimension.id},
    )
    await _maybe_planned(db, case, actor=actor, now=utcnow())
    return row


async def _goal_of(db: AsyncSession, case: Case, goal_id: int | None) -> Goal:
    goal = await db.scalar(select(Goal).where(Goal.id == (goal_id or 0), Goal.case_id == case.id))
    if goal is None:
        raise Refused(_("This goal is not in this case's plan."), field="goal", status_code=404)
    return goal


async def do_retire_goal(db: AsyncSession, case: Case, goal_id: int | None, *, actor: Actor) -> Goal:
    refuse_if_closed(case)
    goal = await _goal_of(db, case, goal_id)
    if goal.retired_at is not None:
        return goal  # already dropped: a re-send changes nothing
    goal.retired_at = utcnow()
    await db.flush()
    await audit.record(db, actor=actor, action="case.goal_retired", subject=case, change={"goal_id": goal.id})
    return goal


async def do_add_item(db: AsyncSession, case: Case, item: ItemForm, *, actor: Actor) -> PlanItem:
    refuse_if_closed(case)
    service = await db.scalar(
        select(ServiceItem)
        .join(ServicePackage, ServicePackage.id == ServiceItem.package_id)
        .where(
            ServiceItem.id == (item.service_item_id or 0),
            ServiceItem.programme_id == case.programme_id,
            ServiceItem.retired_at.is_(None),
            ServicePackage.retired_at.is_(None),
        )
    )
    if service is None:
        raise Refused(_("Choose a service from the packages."), field="service_item_id", status_code=400)
    goal_id = None
    if item.goal_id is not None:
        goal = await _goal_of(db, case, item.goal_id)
        goal_id = goal.id
    user_id, name = None, item.deliverer_name or None
    if item.deliverer_kind is DelivererKind.WORKER:
        workers = {u.id for u in await station_workers(db, case.programme_id, case.area)}
        if item.deliverer_user_id not in workers:
            raise Refused(
                _("Choose a social worker of this station."), field="deliverer_user_id", status_code=400
            )
        user_id, name = item.deliverer_user_id, None
    assert item.deliverer_kind is not None and item.frequency is not None
    row = PlanItem(
        case_id=case.id,
        service_item_id=service.id,
        goal_id=goal_id,
        deliverer_kind=item.deliverer_kind,
        deliverer_user_id=user_id,
        deliverer_name=name,
        frequency=item.frequency,
        added_by_id=actor.id,
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="case.item_added",
        subject=case,
        change={
            "item_id": row.id,
            "service_item_id": service.id,
            "deliverer_kind": item.deliverer_kind.value,
            "deliverer_user_id": user_id,
            "frequency": item.frequency.value,
        },
    )
    await _maybe_planned(db, case, actor=actor, now=utcnow())
    return row


async def do_end_item(db: AsyncSession, case: Case, item_id: int | None, *, actor: Actor) -> PlanItem:
    refuse_if_closed(case)
    item = await db.scalar(select(PlanItem).where(PlanItem.id == (item_id or 0), PlanItem.case_id == case.id))
    if item is None:
        raise Refused(_("This service is not in this case's plan."), field="item", status_code=404)
    if item.ended_at is not None:
        return item
    item.ended_at = utcnow()
    await db.flush()
    await audit.record(db, actor=actor, action="case.item_ended", subject=case, change={"item_id": item.id})
    return item


async def do_close_case(db: AsyncSession, case: Case, form: CloseForm, *, actor: Actor) -> Case:
    """Record an outcome for every active goal, then close the case with its reason."""
    refuse_if_closed(case)
    if form.reason is None:
        raise Refused(_("Say why the case is closed."), field="reason", status_code=400)
    goals = [g for g in await load_goals(db, case.id) if g.retired_at is None]
    for goal in goals:
        if goal.id not in form.outcomes:
            raise Refused(_("Say whether this goal was met."), field=f"outcome-{goal.id}", status_code=400)
    now = utcnow()
    for goal in goals:
        outcome, note = form.outcomes[goal.id]
        goal.outcome, goal.outcome_note, goal.outcome_at = outcome, note or None, now
    await db.flush()
    await do_change_status(
        db, case, CaseStatus.CLOSED, actor=actor, reason=form.reason, note=form.note or None, now=now
    )
    return case
