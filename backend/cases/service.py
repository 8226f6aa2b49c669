"""The case's life: opening it and moving it through its stages, each change in its history and audited.

Stages only move forward, except closing (from any open stage) and reopening is not offered: a closed
case stays closed; a new need is a new order and a new case. The stage advances by itself as the work
is recorded: the first assessment makes an accepted case `assessed`, a plan with a goal and a service
makes it `planned`, the first delivery `in_service` (see `advance`). Closing needs an outcome per goal
(the plan's service, cases/plan_service.py, checks that before it calls `do_change_status`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.cases.models import Case, CaseOrder, CaseStatus, CaseStatusChange, CloseReason
from backend.db import utcnow
from backend.errors import Conflict
from backend.i18n import gettext as _
from backend.people.models import Area, Person, Programme, User

ORDER = list(CaseStatus)
OPEN_STATUSES = tuple(s for s in CaseStatus if s is not CaseStatus.CLOSED)


def is_forward(current: CaseStatus, to: CaseStatus) -> bool:
    return ORDER.index(to) > ORDER.index(current)


async def _record_change(
    db: AsyncSession,
    case: Case,
    before: CaseStatus | None,
    *,
    actor: Actor,
    now: datetime,
    reason: str | None = None,
    note: str | None = None,
) -> None:
    db.add(
        CaseStatusChange(
            case_id=case.id,
            from_status=before,
            to_status=case.status,
            at=now,
            by_id=actor.id,
            reason=reason,
            note=note,
        )
    )
    await db.flush()


async def do_open_case(
    db: AsyncSession,
    *,
    programme: Programme,
    area: Area,
    person: Person,
    lead_worker_id: int | None,
    actor: Actor,
    order: CaseOrder | None = None,
    now: datetime | None = None,
) -> Case:
    """Open a case for a person at a station. With a lead it starts `accepted`; without, `requested`.
    The caller has checked who may (policy) and that the person belongs to the programme and area."""
    now = now or utcnow()
    if person.programme_id != programme.id:
        raise Conflict(_("This person is not in this programme."))
    status = CaseStatus.ACCEPTED if lead_worker_id is not None else CaseStatus.REQUESTED
    case = Case(
        programme_id=programme.id,
        area_id=area.id,
        person_id=person.id,
        order_id=order.id if order is not None else None,
        lead_worker_id=lead_worker_id,
        status=status,
        opened_at=now,
        opened_by_id=actor.id,
    )
    db.add(case)
    await db.flush()
    await _record_change(db, case, None, actor=actor, now=now)
    await audit.record(
        db,
        actor=actor,
        action="case.opened",
        subject=case,
        change={
            "status": status.value,
            "order": order.id if order is not None else None,
            "lead": lead_worker_id,
        },
    )
    return case


async def do_change_status(
    db: AsyncSession,
    case: Case,
    to: CaseStatus,
    *,
    actor: Actor,
    reason: CloseReason | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Case:
    """Move a case forward, or close it (with a reason). Anything else is a 409 in the user's words."""
    now = now or utcnow()
    before = case.status
    if before is CaseStatus.CLOSED:
        raise Conflict(_("This case is closed; nothing in it can change."))
    if to is CaseStatus.CLOSED:
        if reason is None:
            raise Conflict(_("Say why the case is closed."))
        case.closed_at = now
        case.close_reason = reason
        case.close_note = note
    elif not is_forward(before, to):
        raise Conflict(_("This case is already past that stage."))
    case.status = to
    await db.flush()
    await _record_change(
        db, case, before, actor=actor, now=now, reason=reason.value if reason else None, note=note
    )
    await audit.record(
        db,
        actor=actor,
        action="case.closed" if to is CaseStatus.CLOSED else "case.status_changed",
        subject=case,
        change={
            "status": [before.value, to.value],
            "reason": reason.value if reason else None,
            "note": bool(note),
        },
    )
    return case


async def advance(
    db: AsyncSession, case: Case, to: CaseStatus, *, actor: Actor, now: datetime | None = None
) -> bool:
    """Move the case to `to` when that is forward of where it is (a no-op otherwise, and on a closed
    case). Returns whether it moved. Called by the assessment, plan and delivery services."""
    if (
        case.status is CaseStatus.CLOSED
        or case.status is CaseStatus.REQUESTED
        or not is_forward(case.status, to)
    ):
        return False
    await do_change_status(db, case, to, actor=actor, now=now)
    return True


async def do_accept(db: AsyncSession, case: Case, *, actor: Actor, now: datetime | None = None) -> Case:
    """A worker accepts a requested case and becomes its lead."""
    if case.status is not CaseStatus.REQUESTED:
        raise Conflict(_("This case has already been accepted."))
    case.lead_worker_id = actor.id
    return await do_change_status(db, case, CaseStatus.ACCEPTED, actor=actor, now=now)


def refuse_if_closed(case: Case) -> None:
    """Every change to a case (its assessments, plan, lead) stops once it is closed: a 409."""
    if case.status is CaseStatus.CLOSED:
        raise Conflict(_("This case is closed; nothing in it can change."))


async def open_case_of(db: AsyncSession, person_id: int) -> Case | None:
    """The person's case that is still open, if any (one open case per person and programme)."""
    found: Case | None = await db.scalar(
        select(Case)
        .where(Case.person_id == person_id, Case.status != CaseStatus.CLOSED)
        .order_by(Case.id)
        .limit(1)
    )
    return found


async def do_change_lead(db: AsyncSession, case: Case, lead: User, *, actor: Actor) -> Case:
    """Hand the case to another worker of the station (the caller checked she works on it)."""
    refuse_if_closed(case)
    if case.status is CaseStatus.REQUESTED:
        raise Conflict(_("Accept the case first; then its lead can be changed."))
    before = case.lead_worker_id
    if before == lead.id:
        return case
    case.lead_worker_id = lead.id
    await db.flush()
    await audit.record(
        db, actor=actor, action="case.lead_changed", subject=case, change={"lead": [before, lead.id]}
    )
    return case
