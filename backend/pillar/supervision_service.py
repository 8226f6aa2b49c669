"""Supervision sessions of a contract's workers by a supervising agency (logged by staff; audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.errors import Refused
from backend.i18n import gettext as _
from backend.pillar.models import (
    Agency,
    AgencyRole,
    Contract,
    Supervision,
    SupervisionFormat,
    SupervisionMode,
)


@dataclass(frozen=True)
class SupervisionDraft:
    held_on: date
    supervisor_agency_id: int
    format: SupervisionFormat
    mode: SupervisionMode
    minutes: int
    attendees: int
    note: str


async def do_log_supervision(
    db: AsyncSession, contract: Contract, draft: SupervisionDraft, *, actor: Actor, today: date
) -> Supervision:
    if actor is None:
        raise Refused(_("Only a staff member logs supervision."), field="form", status_code=403)
    agency = await db.get(Agency, draft.supervisor_agency_id)
    if (
        agency is None
        or agency.programme_id != contract.programme_id
        or agency.role is not AgencyRole.SUPERVISING
    ):
        raise Refused(
            _("Choose a supervising agency of this programme."), field="supervisor_agency_id", status_code=400
        )
    if draft.held_on > today:
        raise Refused(_("The day cannot be in the future."), field="held_on", status_code=400)
    if not 10 <= draft.minutes <= 600:
        raise Refused(
            _("Give the minutes as a whole number from 10 to 600."), field="minutes", status_code=400
        )
    if not 1 <= draft.attendees <= 500:
        raise Refused(
            _("Give the attendees as a whole number from 1 to 500."), field="attendees", status_code=400
        )
    session = Supervision(
        contract_id=contract.id,
        programme_id=contract.programme_id,
        supervisor_agency_id=agency.id,
        held_on=draft.held_on,
        format=draft.format,
        mode=draft.mode,
        minutes=draft.minutes,
        attendees=draft.attendees,
        note=draft.note.strip()[:500],
        recorded_by_id=actor.id,
    )
    db.add(session)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pillar.supervision_logged",
        subject=session,
        change={"contract": contract.id, "format": draft.format.value, "mode": draft.mode.value},
    )
    return session
