"""Home assessments of a case: a day, a rating 1 to 5 and a note per active dimension of the programme,
an overall note and up to six photos of the case's person. A re-assessment is a new row; earlier ones
stay as they were. The first assessment moves an accepted case to `assessed` (service.advance).

Rules (refused, nothing stored): only a social worker of the case's station; not on a closed case
(409); the day neither in the future nor before the case was opened (in the programme's zone); every
active dimension rated; photos her own, of the case's person, at most six.

The plain form is idempotent like a visit's: the page gives each form a UUID and each photo's UUID
follows from it, so a double tap stores one assessment and its photos once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.cases import policy
from backend.cases.case_forms import AssessmentForm
from backend.cases.lists import active_dimensions
from backend.cases.models import (
    MAX_PHOTOS,
    Assessment,
    AssessmentPhoto,
    AssessmentRating,
    Case,
    CaseDimension,
    CaseStatus,
)
from backend.cases.service import advance, refuse_if_closed
from backend.clock import local_today
from backend.db import utcnow
from backend.errors import Conflict, Refused
from backend.evidence.intake import PhotoIntake
from backend.evidence.models import Photo
from backend.evidence.policy import own_photos_by_uuid
from backend.i18n import gettext as _
from backend.people.models import Person, Programme


@dataclass(frozen=True, slots=True)
class AssessmentDraft:
    assessed_on: date
    ratings: dict[int, tuple[int, str]]  # dimension id → (rating, note)
    note: str

    @property
    def content_sha256(self) -> str:
        """What the form said, so a re-sent form is told apart from the same UUID with other words (the
        photos are new uploads on each send: their count is part of it, their bytes are not)."""
        payload = [
            self.assessed_on.isoformat(),
            sorted([str(dimension), rating, note] for dimension, (rating, note) in self.ratings.items()),
            self.note,
        ]
        return hashlib.sha256(
            json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        ).hexdigest()


def check_assessment(
    case: Case,
    programme: Programme,
    draft: AssessmentDraft,
    dimensions: Sequence[CaseDimension],
    *,
    now: datetime,
) -> None:
    """Raise Refused for the first rule the draft breaks (the form has checked the shapes)."""
    if draft.assessed_on > local_today(programme, now):
        raise Refused(_("An assessment cannot be dated in the future."), field="assessed_on", status_code=400)
    if draft.assessed_on < local_today(programme, case.opened_at):
        raise Refused(
            _("An assessment cannot be dated before the case was opened."),
            field="assessed_on",
            status_code=400,
        )
    for dimension in dimensions:
        rating = draft.ratings.get(dimension.id)
        if rating is None or not 1 <= rating[0] <= 5:
            raise Refused(
                _("Give a rating from 1 (serious need) to 5 (no need)."),
                field=f"rating-{dimension.id}",
                status_code=400,
            )
    if set(draft.ratings) - {d.id for d in dimensions}:
        raise Refused(_("Rate only the programme's dimensions."), field="form", status_code=400)


def _check_photos(case: Case, photos: Sequence[Photo], *, actor: Actor) -> None:
    if len(photos) > MAX_PHOTOS:
        raise Refused(_("At most %(count)s photos, please.") % {"count": MAX_PHOTOS}, field="photos")
    for photo in photos:
        if photo.uploaded_by_id != actor.id or photo.subject_person_id != case.person_id:
            raise Refused(_("A photo was not sent for this person. Send it again."), field="photos")


async def do_assess(
    db: AsyncSession,
    case: Case,
    draft: AssessmentDraft,
    photos: Sequence[Photo],
    *,
    actor: Principal,
    client_uuid: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Assessment:
    """Record one home assessment (the caller loaded `case` through policy.get_case_for)."""
    now = now or utcnow()
    policy.require_worker_on(actor, case)
    refuse_if_closed(case)
    if case.status is CaseStatus.REQUESTED:
        raise Conflict(_("Accept the case first; then it can be assessed."))
    programme = await db.get_one(Programme, case.programme_id)
    dimensions = await active_dimensions(db, case.programme_id)
    check_assessment(case, programme, draft, dimensions, now=now)
    _check_photos(case, photos, actor=actor)
    assessment = Assessment(
        client_uuid=client_uuid,
        case_id=case.id,
        programme_id=case.programme_id,
        assessed_on=draft.assessed_on,
        assessed_by_id=actor.id,
        note=draft.note,
        content_sha256=draft.content_sha256,
    )
    db.add(assessment)
    await db.flush()
    for dimension in dimensions:
        rating, note = draft.ratings[dimension.id]
        db.add(
            AssessmentRating(assessment_id=assessment.id, dimension_id=dimension.id, rating=rating, note=note)
        )
    for position, photo in enumerate(photos, start=1):
        db.add(AssessmentPhoto(assessment_id=assessment.id, photo_id=photo.id, position=position))
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="case.assessed",
        subject=case,
        # Ids, the day and the ratings (numbers): the notes stay on the assessment, out of the trail.
        change={
            "assessment_id": assessment.id,
            "assessed_on": draft.assessed_on.isoformat(),
            "ratings": {str(d.id): draft.ratings[d.id][0] for d in dimensions},
            "photo_ids": [p.id for p in photos],
        },
    )
    if case.status is CaseStatus.ACCEPTED:
        await advance(db, case, CaseStatus.ASSESSED, actor=actor, now=now)
    return assessment


def _options() -> list[object]:
    return [selectinload(Assessment.ratings)]


async def _own_sent(
    db: AsyncSession, user: Principal, client_uuid: uuid.UUID, content_sha256: str | None = None
) -> Assessment | None:
    found = await db.scalar(select(Assessment).where(Assessment.client_uuid == client_uuid))
    if found is None:
        return None
    if found.assessed_by_id != user.id or (
        content_sha256 is not None and found.content_sha256 not in (None, content_sha256)
    ):
        # Another user's UUID: refused without saying anything about theirs.
        raise Refused(
            _("This form was already sent. Open the assessment page again."), field="form", status_code=409
        )
    return found


async def case_person(intake: PhotoIntake, user: Principal, case_id: int) -> tuple[Case, Person]:
    """The case (scoped, the worker's, open) and its person with the programme the photo pipeline reads."""
    async with intake.database.transaction(read_only=True) as db:
        case = await policy.get_case_for(db, user, case_id)
        policy.require_worker_on(user, case)
        refuse_if_closed(case)
        person = await db.scalar(
            select(Person).where(Person.id == case.person_id).options(selectinload(Person.programme))
        )
    assert person is not None
    return case, person


async def send_assessment_form(
    intake: PhotoIntake, *, user: Principal, case_id: int, form: AssessmentForm
) -> Assessment:
    """The plain form's assessment: its photos, then the assessment; a resent form answers with the
    first. Raises Refused with the form field it belongs to."""
    assert form.assessed_on is not None
    draft = AssessmentDraft(assessed_on=form.assessed_on, ratings=form.ratings, note=form.note)
    digest = draft.content_sha256
    async with intake.database.transaction(read_only=True) as db:
        sent = await _own_sent(db, user, form.client_uuid, digest)
    if sent is not None:
        return sent
    _case, person = await case_person(intake, user, case_id)
    uuids = await intake.receive_all(form.raw_photos(), actor=user, person=person, field="photos")
    try:
        async with intake.database.transaction() as db:
            if (sent := await _own_sent(db, user, form.client_uuid, digest)) is not None:
                return sent
            case = await policy.get_case_for(db, user, case_id)
            photos = await own_photos_by_uuid(
                db,
                user,
                uuids,
                missing=Refused(
                    _("A photo has not arrived. Send the form again."), field="photos", status_code=400
                ),
            )
            return await do_assess(db, case, draft, photos, actor=user, client_uuid=form.client_uuid)
    except IntegrityError:
        # The same form, sent twice at once, committed first: answer with that one.
        async with intake.database.transaction(read_only=True) as db:
            sent = await _own_sent(db, user, form.client_uuid, digest)
        if sent is None:
            raise
        return sent
