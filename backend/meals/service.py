"""Writes for neighbour meal agreements. Each do_* records its audit event in the same transaction.

Menus are written in menus.py and check-ins in checkin_service.py. The forms that carry a photo of
the signed paper send through create_agreement_from_form and confirm_for_resident, which receive the
photo themselves and then write in one short transaction.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.db import utcnow
from backend.errors import Conflict, Refused
from backend.evidence.intake import PhotoIntake
from backend.evidence.models import Photo
from backend.i18n import lazy_gettext as _l
from backend.meals import policy
from backend.meals.forms import AgreementForm, ConfirmationForm
from backend.meals.models import (
    DEFAULT_MONTHLY_CAP_FEN,
    DEFAULT_RATE_FEN,
    Agreement,
    AgreementStatus,
    CheckIn,
    Signatory,
)
from backend.people.models import Person, Programme, User


def agreement_terms(
    programme: Programme, rate_fen: int | None, monthly_cap_fen: int | None
) -> tuple[int, int]:
    """The rate and cap an agreement carries: the programme's unless lower ones are given. Higher ones
    are refused (a Refused naming the form field)."""
    programme_rate = programme.rate_fen or DEFAULT_RATE_FEN
    programme_cap = programme.monthly_cap_fen or DEFAULT_MONTHLY_CAP_FEN
    rate_fen = programme_rate if rate_fen is None else rate_fen
    monthly_cap_fen = programme_cap if monthly_cap_fen is None else monthly_cap_fen
    if rate_fen > programme_rate:
        raise Refused(
            _l("The rate cannot be higher than the programme's (%(yuan)s yuan a meal).")
            % {"yuan": f"{programme_rate / 100:.2f}"},
            field="rate_fen",
        )
    if monthly_cap_fen > programme_cap:
        raise Refused(
            _l("The monthly cap cannot be higher than the programme's (%(yuan)s yuan).")
            % {"yuan": f"{programme_cap / 100:.2f}"},
            field="monthly_cap_fen",
        )
    if monthly_cap_fen < rate_fen:
        raise Refused(_l("The monthly cap cannot be less than one meal."), field="monthly_cap_fen")
    return rate_fen, monthly_cap_fen


async def do_create_agreement(
    db: AsyncSession,
    *,
    programme: Programme,
    resident: Person,
    neighbour: User,
    social_worker: User,
    starts_on: date,
    ends_on: date | None = None,
    rate_fen: int | None = None,
    monthly_cap_fen: int | None = None,
    serves_lunch: bool = True,
    serves_dinner: bool = False,
    actor: Actor | None,
) -> Agreement:
    """Create an agreement; the social worker who creates it stands for the project (its first party).
    Its rate and cap are the programme's unless lower ones are given; higher ones are refused."""
    rate_fen, monthly_cap_fen = agreement_terms(programme, rate_fen, monthly_cap_fen)
    current = await db.scalar(
        select(Agreement.id).where(
            Agreement.resident_id == resident.id, Agreement.status == AgreementStatus.ACTIVE
        )
    )
    if current is not None:
        raise Conflict(str(_l("This resident already has a meal agreement. End it before making a new one.")))
    agreement = Agreement(
        programme=programme,
        resident=resident,
        neighbour=neighbour,
        social_worker=social_worker,
        rate_fen=rate_fen,
        monthly_cap_fen=monthly_cap_fen,
        serves_lunch=serves_lunch,
        serves_dinner=serves_dinner,
        starts_on=starts_on,
        ends_on=ends_on,
        status=AgreementStatus.ACTIVE,
        created_by_id=actor.id if actor else None,
    )
    db.add(agreement)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="agreement.created",
        subject=agreement,
        change={
            "resident_id": resident.id,
            "neighbour_id": neighbour.id,
            "social_worker_id": social_worker.id,
            "rate_fen": rate_fen,
            "cap_fen": monthly_cap_fen,
            "slots": [s.value for s in agreement.slots],
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat() if ends_on else None,
        },
    )
    return agreement


def _refuse_if_ended(agreement: Agreement) -> None:
    if agreement.status is not AgreementStatus.ACTIVE:
        raise Conflict(str(_l("This agreement has ended.")))


async def do_confirm_as_neighbour(db: AsyncSession, agreement: Agreement, *, actor: Actor) -> Agreement:
    """The neighbour's own confirmation, given in the app. Confirming twice changes nothing."""
    _refuse_if_ended(agreement)
    if agreement.neighbour_id != actor.id:
        raise Conflict(str(_l("Only the neighbour of this agreement can confirm it.")))
    if agreement.neighbour_confirmed_at is not None:
        return agreement
    agreement.neighbour_confirmed_at = utcnow()
    await audit.record(db, actor=actor, action="agreement.neighbour_confirmed", subject=agreement)
    return agreement


async def do_record_resident_confirmation(
    db: AsyncSession, agreement: Agreement, *, signatory: Signatory, paper_photo: Photo | None, actor: Actor
) -> Agreement:
    """The social worker records that the resident (or the guardian) signed, with the paper's photo if any."""
    _refuse_if_ended(agreement)
    if agreement.resident_confirmed_at is not None:
        raise Conflict(str(_l("The resident's confirmation is already recorded.")))
    agreement.resident_confirmed_at = utcnow()
    agreement.resident_signatory = signatory
    agreement.resident_confirmed_by_id = actor.id
    agreement.resident_confirmation_photo_id = paper_photo.id if paper_photo else None
    await audit.record(
        db,
        actor=actor,
        action="agreement.resident_confirmed",
        subject=agreement,
        change={"signatory": signatory.value, "photo_id": paper_photo.id if paper_photo else None},
    )
    return agreement


async def do_end_agreement(
    db: AsyncSession, agreement: Agreement, *, ends_on: date, actor: Actor
) -> Agreement:
    """End an agreement on a day; its check-ins, menus and confirmations all stay."""
    _refuse_if_ended(agreement)
    if ends_on < agreement.starts_on:
        raise Conflict(str(_l("The last day cannot be before the agreement started.")))
    later = await db.scalar(
        select(CheckIn.day)
        .where(CheckIn.agreement_id == agreement.id, CheckIn.day > ends_on, CheckIn.superseded_at.is_(None))
        .order_by(CheckIn.day.desc())
        .limit(1)
    )
    if later is not None:
        raise Conflict(
            str(_l("Meals after that day are already checked in (the last on %(day)s)."))
            % {"day": later.isoformat()}
        )
    agreement.status = AgreementStatus.ENDED
    agreement.ends_on = ends_on
    agreement.ended_at = utcnow()
    agreement.ended_by_id = actor.id
    await audit.record(
        db, actor=actor, action="agreement.ended", subject=agreement, change={"ends_on": ends_on.isoformat()}
    )
    return agreement


async def _paper_photo(
    intake: PhotoIntake, data: bytes | None, *, user: Principal, client_uuid: uuid.UUID, resident: Person
) -> Photo | None:
    if not data:
        return None
    received = await intake.receive(
        data, actor=user, client_uuid=client_uuid, person=resident, field="paper_photo"
    )
    return received.entry


async def create_agreement_from_form(
    intake: PhotoIntake, *, user: Principal, form: AgreementForm, resident: Person
) -> Agreement:
    """A worker's new agreement, with the resident's signature (and the paper's photo) when the form has
    them. Raises Refused for the form field at fault; nothing is stored then but the photo."""
    assert form.neighbour_id is not None and form.starts_on is not None
    async with intake.database.transaction(read_only=True) as db:
        # Before the paper's photo is stored: a refused agreement leaves nothing behind.
        agreement_terms(
            await db.get_one(Programme, resident.programme_id), form.rate_fen, form.monthly_cap_fen
        )
    paper = await _paper_photo(intake, form.photo, user=user, client_uuid=form.client_uuid, resident=resident)
    try:
        async with intake.database.transaction() as db:
            # Loaded again in this (write) session: the page's objects belong to its read-only one.
            resident = await db.get_one(Person, resident.id)
            agreement = await do_create_agreement(
                db,
                programme=await db.get_one(Programme, resident.programme_id),
                resident=resident,
                neighbour=await db.get_one(User, form.neighbour_id),
                social_worker=await db.get_one(User, user.id),
                starts_on=form.starts_on,
                ends_on=form.ends_on,
                rate_fen=form.rate_fen,
                monthly_cap_fen=form.monthly_cap_fen,
                serves_lunch=form.serves_lunch,
                serves_dinner=form.serves_dinner,
                actor=user,
            )
            if form.signatory is not None:
                await do_record_resident_confirmation(
                    db, agreement, signatory=form.signatory, paper_photo=paper, actor=user
                )
            return agreement
    except Conflict as exc:
        raise Refused(exc.detail, field="form", status_code=exc.status_code) from None


async def confirm_for_resident(
    intake: PhotoIntake, *, user: Principal, agreement: Agreement, form: ConfirmationForm
) -> None:
    """The worker records the resident's signature, with the paper's photo if the form has one."""
    assert form.signatory is not None
    paper = await _paper_photo(
        intake, form.photo, user=user, client_uuid=form.client_uuid, resident=agreement.resident
    )
    try:
        async with intake.database.transaction() as db:
            current = await policy.get_agreement_for(db, user, agreement.id)
            await do_record_resident_confirmation(
                db, current, signatory=form.signatory, paper_photo=paper, actor=user
            )
    except Conflict as exc:
        raise Refused(exc.detail, field="form", status_code=exc.status_code) from None
