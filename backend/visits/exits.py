"""Ending a pairing through its reviewed process, and the pages for each step.

1. The guardian asks; a social worker of the child's area records the request.
2. The street office investigates; a social worker of the child's area records the investigation note.
3. The district reviews; staff of the programme approve (the pairing ends, the child is open for
   matching again) or reject (the pairing goes on).
No step can be skipped or repeated, every step is an audit event, and nothing is deleted: the pairing,
its visits and the request stay in the child's history.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.db import utcnow
from backend.errors import Conflict, Forbidden
from backend.i18n import gettext as _
from backend.visits import policy
from backend.visits.models import ExitRequest, ExitStatus, Pairing, PairingStatus
from backend.visits.service import VisitRefused


async def open_exit(db: AsyncSession, pairing: Pairing) -> ExitRequest | None:
    return await db.scalar(
        select(ExitRequest).where(
            ExitRequest.pairing_id == pairing.id,
            ExitRequest.status.in_([ExitStatus.REQUESTED, ExitStatus.INVESTIGATED]),
        )
    )


def _note(text: str, limit: int) -> str:
    note = unicodedata.normalize("NFC", text).strip()
    if not note:
        raise VisitRefused(_("Write a short note for this step."), field="note")
    if len(note) > limit:
        raise VisitRefused(
            _("The note may have at most %(count)s characters.") % {"count": limit}, field="note"
        )
    return note


async def do_request_exit(db: AsyncSession, pairing: Pairing, note: str, *, actor: Actor) -> ExitRequest:
    if pairing.status is not PairingStatus.ACTIVE:
        raise Conflict(_("This pairing has already ended."))
    if await open_exit(db, pairing) is not None:
        raise Conflict(_("An exit request for this pairing is already under way."))
    request = ExitRequest(
        pairing_id=pairing.id,
        status=ExitStatus.REQUESTED,
        request_note=_note(note, 500),
        requested_by_id=actor.id,
        requested_at=utcnow(),
    )
    db.add(request)
    await db.flush()
    await audit.record(
        db, actor=actor, action="pairing_exit.requested", subject=request, change={"pairing_id": pairing.id}
    )
    return request


async def do_record_investigation(
    db: AsyncSession, request: ExitRequest, note: str, *, actor: Actor
) -> ExitRequest:
    if request.status is not ExitStatus.REQUESTED:
        raise Conflict(_("This step is not the next one for this exit request."))
    request.investigation_note = _note(note, 1000)
    request.investigated_by_id = actor.id
    request.investigated_at = utcnow()
    request.status = ExitStatus.INVESTIGATED
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pairing_exit.investigated",
        subject=request,
        change={"status": ["requested", "investigated"]},
    )
    return request


async def do_decide_exit(
    db: AsyncSession, request: ExitRequest, pairing: Pairing, *, approve: bool, note: str, actor: Actor
) -> ExitRequest:
    if request.status is not ExitStatus.INVESTIGATED:
        raise Conflict(_("This step is not the next one for this exit request."))
    now = utcnow()
    request.decision_note = _note(note, 1000)
    request.decided_by_id = actor.id
    request.decided_at = now
    request.status = ExitStatus.APPROVED if approve else ExitStatus.REJECTED
    if approve:
        pairing.status = PairingStatus.ENDED
        pairing.ended_at = now
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pairing_exit.approved" if approve else "pairing_exit.rejected",
        subject=request,
        change={"status": ["investigated", request.status.value], "pairing_id": pairing.id},
    )
    if approve:
        await audit.record(
            db, actor=actor, action="pairing.ended", subject=pairing, change={"exit_id": request.id}
        )
    return request


# ---- pages ----


async def _pairing_for(db: AsyncSession, user: Principal, pairing_id: int) -> Pairing:
    pairing = await policy.get_pairing_for(db, user, pairing_id)
    if not (
        user.is_admin
        or pairing.programme_id in user.staff_programme_ids
        or policy.is_social_worker_for(user, pairing.child)
    ):
        raise Forbidden()  # the mother sees her pairing, but its exit is for the workers and staff
    return pairing


def _may_decide(user: Principal, pairing: Pairing) -> bool:
    return user.is_admin or pairing.programme_id in user.staff_programme_ids


async def _page(
    db: AsyncSession, user: Principal, pairing: Pairing, *, error: str | None = None, status_code: int = 200
) -> Template:
    history = await db.scalars(
        select(ExitRequest).where(ExitRequest.pairing_id == pairing.id).order_by(ExitRequest.id.desc())
    )
    context: dict[str, Any] = {
        "principal": user,
        "pairing": pairing,
        "child": pairing.child,
        "open": await open_exit(db, pairing),
        "history": list(history),
        "is_worker": policy.is_social_worker_for(user, pairing.child),
        "may_decide": _may_decide(user, pairing),
        "error": error,
    }
    return Template(template_name="visits/exit.html", context=context, status_code=status_code)


@get("/pairings/{pairing_id:int}/exit", name="visits.exit")
async def exit_page(
    pairing_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    return await _page(db, user, await _pairing_for(db, user, pairing_id))


async def _note_field(request: Request[Any, Any, Any]) -> str:
    value = (await request.form()).get("note")
    return value[:2000] if isinstance(value, str) else ""


@post("/pairings/{pairing_id:int}/exit", name="visits.exit_step")
async def exit_step(
    request: Request[Any, Any, Any],
    pairing_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    """One route for the next step, so the form cannot name a step out of turn."""
    pairing = await _pairing_for(db, user, pairing_id)
    form = await request.form()
    note = await _note_field(request)
    current = await open_exit(db, pairing)
    try:
        if current is None:
            if not policy.is_social_worker_for(user, pairing.child):
                raise Forbidden()
            await do_request_exit(db, pairing, note, actor=user)
        elif current.status is ExitStatus.REQUESTED:
            if not policy.is_social_worker_for(user, pairing.child):
                raise Forbidden()
            await do_record_investigation(db, current, note, actor=user)
        else:
            if not _may_decide(user, pairing):
                raise Forbidden()
            decision = form.get("decision")
            if decision not in ("approve", "reject"):
                raise VisitRefused(_("Choose to approve or to reject the exit."), field="decision")
            await do_decide_exit(db, current, pairing, approve=decision == "approve", note=note, actor=user)
    except VisitRefused as exc:
        return await _page(db, user, pairing, error=str(exc.detail), status_code=400)
    except Conflict as exc:
        return await _page(db, user, pairing, error=str(exc.detail), status_code=409)
    return Redirect(f"/pairings/{pairing.id}/exit", status_code=303)


routes = [exit_page, exit_step]
