"""Ending a pairing through its reviewed process (the pages are in exit_routes.py).

1. The guardian asks; a social worker of the child's area records the request.
2. The street office investigates; a social worker of the child's area records the investigation note.
3. The district reviews; staff of the programme approve (the pairing ends, the child is open for
   matching again) or reject (the pairing goes on).
No step can be skipped or repeated, every step is an audit event, and nothing is deleted: the pairing,
its visits and the request stay in the child's history.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.db import utcnow
from backend.errors import Conflict
from backend.i18n import gettext as _
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
