"""Writes for caring-mother pairings and visits. Each do_* records its audit event in the same transaction.

Visit rules (refused, nothing stored): only the mother of the child's current pairing logs a visit;
at least one need area; 5 to 720 minutes; not in the future (a few minutes of clock skew allowed)
and not older than MAX_AGE; photos sent by the mother herself, of this child, at most MAX_PHOTOS.

Corrections: within CORRECTION_WINDOW of sending, while nobody has reviewed it, the mother corrects a
visit in place (the audit event keeps the old and new content hash); after that, or once reviewed, a
correction is a new version that replaces the old one, which stays as it was.

Receiving (form and API alike) is idempotent by the visit's client UUID (backend/idempotency.py).
Photos arrive first (PUT /api/photos, or the form's own files through send_visit_form) and are named by
their client UUIDs, which only find the sender's own photos.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.db import Database, utcnow
from backend.errors import Conflict, Forbidden, Refused
from backend.evidence.intake import PhotoIntake
from backend.evidence.models import Photo
from backend.evidence.policy import own_photos_by_uuid
from backend.i18n import gettext as _
from backend.i18n import lazy_gettext as _l
from backend.idempotency import Submitted, own_original, submit
from backend.people.models import Person, Programme, User
from backend.visits import policy
from backend.visits.models import NeedArea, Pairing, PairingStatus, Visit, VisitPhoto, VisitStatus

if TYPE_CHECKING:  # forms.py imports this module's limits and VisitDraft
    from backend.visits.forms import VisitForm

CORRECTION_WINDOW = timedelta(hours=24)
MAX_AGE = timedelta(days=92)
CLOCK_SKEW = timedelta(minutes=10)
MIN_MINUTES, MAX_MINUTES = 5, 720
MAX_PHOTOS = 6
MAX_NOTE_CHARS = 500


class VisitRefused(Refused):
    """A rule refused the visit; `field` names the form field the message belongs to."""


@dataclass(frozen=True, slots=True)
class VisitDraft:
    """What the phone sends for one visit (never a status)."""

    pairing_id: int
    visited_at: datetime  # aware, any zone; stored in UTC to the minute
    duration_minutes: int
    need_areas: tuple[NeedArea, ...]
    checklist: tuple[str, ...]
    note: str
    photo_uuids: tuple[uuid.UUID, ...]

    @property
    def visited_at_utc(self) -> datetime:
        return self.visited_at.astimezone(utcnow().tzinfo).replace(second=0, microsecond=0)

    @property
    def content_sha256(self) -> str:
        payload = [
            self.pairing_id,
            self.visited_at_utc.isoformat(),
            self.duration_minutes,
            sorted(a.value for a in self.need_areas),
            list(self.checklist),
            self.note,
            sorted(str(u) for u in self.photo_uuids),
        ]
        return hashlib.sha256(
            json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        ).hexdigest()


async def do_pair(
    db: AsyncSession,
    *,
    programme: Programme,
    child: Person,
    mother: User,
    actor: Actor | None,
    guardian_consent: bool = False,
) -> Pairing:
    """`guardian_consent`: the worker (the actor) records that the guardian has consented. A child
    under 14 (or of unknown birth year) is refused without it; the database refuses it too."""
    from backend.visits.profile_service import needs_consent  # profile_service imports this module

    now = utcnow()
    under_14 = needs_consent(child, now.astimezone(ZoneInfo(programme.time_zone)).date())
    if under_14 and not guardian_consent:
        raise VisitRefused(
            _("A child under 14 can be paired only once the guardian's consent is recorded."),
            field="guardian_consent",
        )
    pairing = Pairing(
        programme_id=programme.id,
        child_id=child.id,
        mother_id=mother.id,
        status=PairingStatus.ACTIVE,
        child_under_14=under_14,
        guardian_consent_at=now if guardian_consent else None,
        guardian_consent_by_id=actor.id if guardian_consent and actor is not None else None,
    )
    db.add(pairing)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pairing.started",
        subject=pairing,
        change={
            "child_id": child.id,
            "mother_id": mother.id,
            "child_under_14": under_14,
            "guardian_consent": guardian_consent,
        },
    )
    return pairing


def check_draft(draft: VisitDraft, *, now: datetime) -> None:
    """Raise VisitRefused for the first rule the draft breaks (photos are checked separately)."""
    if not draft.need_areas:
        raise VisitRefused(_("Choose at least one need area this visit helped with."), field="need_areas")
    if not MIN_MINUTES <= draft.duration_minutes <= MAX_MINUTES:
        raise VisitRefused(
            _("Enter how long the visit took, between %(low)s and %(high)s minutes.")
            % {"low": MIN_MINUTES, "high": MAX_MINUTES},
            field="duration_minutes",
        )
    if draft.visited_at > now + CLOCK_SKEW:
        raise VisitRefused(_("A visit cannot be logged before it happens."), field="visited_at")
    if draft.visited_at < now - MAX_AGE:
        raise VisitRefused(
            _("This visit is too long ago to log here. Ask your social worker."), field="visited_at"
        )
    if len(draft.note) > MAX_NOTE_CHARS:
        raise VisitRefused(
            _("The note may have at most %(count)s characters.") % {"count": MAX_NOTE_CHARS}, field="note"
        )


def _check_photos(pairing: Pairing, photos: Sequence[Photo], *, actor: Actor) -> None:
    if len(photos) > MAX_PHOTOS:
        raise VisitRefused(_("At most %(count)s photos, please.") % {"count": MAX_PHOTOS}, field="photos")
    for photo in photos:
        if photo.uploaded_by_id != actor.id or photo.subject_person_id != pairing.child_id:
            raise VisitRefused(
                _("A photo was not sent for this child. Send the photo again with this child chosen."),
                field="photos",
            )


def _summary(visit: Visit) -> dict[str, object]:
    # Ids, categories and a hash only: the note and the child's name stay out of the audit trail.
    return {
        "pairing_id": visit.pairing_id,
        "visited_at": visit.visited_at.isoformat(),
        "duration_minutes": visit.duration_minutes,
        "need_areas": list(visit.need_areas),
        "checklist_items": len(visit.checklist),
        "photo_ids": [link.photo_id for link in visit.photo_links],
        "content_sha256": visit.content_sha256,
    }


async def do_log_visit(
    db: AsyncSession,
    pairing: Pairing,
    draft: VisitDraft,
    photos: Sequence[Photo],
    *,
    client_uuid: uuid.UUID,
    actor: Actor,
    now: datetime | None = None,
    replaces: Visit | None = None,
) -> Visit:
    """Store one visit with its photos and its audit event. `now` is for the demo and tests."""
    now = now or utcnow()
    if pairing.mother_id != actor.id or pairing.status is not PairingStatus.ACTIVE:
        raise Forbidden()
    check_draft(draft, now=now)
    _check_photos(pairing, photos, actor=actor)
    visit = Visit(
        client_uuid=client_uuid,
        pairing_id=pairing.id,
        programme_id=pairing.programme_id,
        child_id=pairing.child_id,
        mother_id=actor.id,
        visited_at=draft.visited_at_utc,
        duration_minutes=draft.duration_minutes,
        need_areas=[a.value for a in draft.need_areas],
        checklist=list(draft.checklist),
        note=draft.note,
        content_sha256=draft.content_sha256,
        submitted_at=now,
        status=VisitStatus.PENDING,
        version=replaces.version + 1 if replaces is not None else 1,
        replaces_id=replaces.id if replaces is not None else None,
    )
    visit.photo_links = [VisitPhoto(photo=p, position=n) for n, p in enumerate(photos, start=1)]
    visit.flagged = any(p.reuse_of_id is not None for p in photos)
    if replaces is not None:
        replaces.superseded_at = now
        await db.flush()  # the old version steps aside before the new one takes its place
    db.add(visit)
    await db.flush()
    change = _summary(visit)
    if replaces is not None:
        change["replaces_id"] = replaces.id
    await audit.record(
        db,
        actor=actor,
        action="visit.resubmitted" if replaces is not None else "visit.logged",
        subject=visit,
        change=change,
    )
    return visit


def may_correct_in_place(visit: Visit, *, now: datetime) -> bool:
    return visit.status is VisitStatus.PENDING and now - visit.submitted_at <= CORRECTION_WINDOW


async def do_correct_visit(
    db: AsyncSession,
    visit: Visit,
    pairing: Pairing,
    draft: VisitDraft,
    photos: Sequence[Photo],
    *,
    new_client_uuid: uuid.UUID,
    actor: Actor,
    now: datetime | None = None,
) -> Visit:
    """Correct the mother's own visit: in place inside the window, otherwise as a new version."""
    now = now or utcnow()
    if visit.mother_id != actor.id:
        raise Forbidden()
    if visit.superseded_at is not None:
        raise Conflict(_("This visit has already been replaced by a newer version."))
    if draft.pairing_id != visit.pairing_id:
        raise VisitRefused(_("A correction cannot move a visit to another child."), field="pairing_id")
    # Photos are evidence: a visit's photos never change in place. A correction that adds, replaces or
    # drops a photo is a new version, and the old version keeps the photos it was sent with.
    same_photos = sorted(p.id for p in photos) == sorted(link.photo_id for link in visit.photo_links)
    if not same_photos or not may_correct_in_place(visit, now=now):
        return await do_log_visit(
            db, pairing, draft, photos, client_uuid=new_client_uuid, actor=actor, now=now, replaces=visit
        )
    if pairing.mother_id != actor.id or pairing.status is not PairingStatus.ACTIVE:
        raise Forbidden()
    check_draft(draft, now=now)
    before = visit.content_sha256
    visit.visited_at = draft.visited_at_utc
    visit.duration_minutes = draft.duration_minutes
    visit.need_areas = [a.value for a in draft.need_areas]
    visit.checklist = list(draft.checklist)
    visit.note = draft.note
    visit.content_sha256 = draft.content_sha256
    visit.corrected_at = now
    await db.flush()
    change = _summary(visit)
    change["content_sha256"] = [before, visit.content_sha256]
    await audit.record(db, actor=actor, action="visit.corrected", subject=visit, change=change)
    return visit


# How often a mother may be asked to visit (days): weekly to quarterly. 92 days is also the oldest
# visit that can still be logged (MAX_AGE), so a longer interval could never be met by a logged visit.
VISIT_INTERVAL_CHOICES = (7, 14, 30, 60, 90)


async def do_set_visit_interval(db: AsyncSession, pairing: Pairing, days: int, *, actor: Actor) -> Pairing:
    if pairing.status is not PairingStatus.ACTIVE:
        raise Conflict(_("This pairing has already ended."))
    if days not in VISIT_INTERVAL_CHOICES:
        raise VisitRefused(_("Choose one of the offered visit frequencies."), field="days", status_code=400)
    before = pairing.visit_interval_days
    pairing.visit_interval_days = days
    await db.flush()
    await audit.record(
        db, actor=actor, action="pairing.frequency_set", subject=pairing, change={"days": [before, days]}
    )
    return pairing


DIFFERENT_VISIT = _l("This visit was already sent with different content.")


def _photos_missing() -> VisitRefused:
    return VisitRefused(
        _("A photo of this visit has not arrived yet. Send the photos first."),
        field="photos",
        status_code=404,
    )


async def submit_visit(
    database: Database,
    *,
    user: Principal,
    draft: VisitDraft,
    client_uuid: uuid.UUID,
    now: datetime | None = None,
) -> Submitted[Visit]:
    async def create(db: AsyncSession) -> Visit:
        pairing = await policy.get_pairing_for(db, user, draft.pairing_id)
        policy.require_mother_of(user, pairing)
        photos = await own_photos_by_uuid(db, user, draft.photo_uuids, missing=_photos_missing())
        return await do_log_visit(db, pairing, draft, photos, client_uuid=client_uuid, actor=user, now=now)

    return await submit(
        database,
        Visit,
        client_uuid=client_uuid,
        sha256=draft.content_sha256,
        actor=user,
        different=DIFFERENT_VISIT,
        create=create,
        options=policy.visit_options(),
    )


async def send_visit_form(intake: PhotoIntake, *, user: Principal, child: Person, form: VisitForm) -> Visit:
    """The plain form's visit: its photos, then the visit; a resent form answers with the first.
    Raises Refused (a VisitRefused, or a photo's) with the form field it belongs to."""
    sent = await own_original(
        intake.database, Visit, form.client_uuid, actor=user, options=policy.visit_options()
    )
    if sent is not None:
        return sent
    uuids = await intake.receive_all(form.raw_photos(), actor=user, person=child, field="photos")
    result = await submit_visit(
        intake.database, user=user, draft=form.draft(uuids), client_uuid=form.client_uuid
    )
    return result.entry


async def send_correction_form(
    intake: PhotoIntake,
    *,
    user: Principal,
    visit: Visit,
    child: Person,
    form: VisitForm,
    kept: Sequence[uuid.UUID],
    now: datetime | None = None,
) -> Visit:
    """A correction of her visit, keeping the photos in `kept` and adding the form's new ones. Sent twice
    (the same new UUID), it answers with the version the first one made."""
    sent = await own_original(
        intake.database, Visit, form.client_uuid, actor=user, options=policy.visit_options()
    )
    if sent is not None:
        return sent
    added = await intake.receive_all(form.raw_photos(), actor=user, person=child, field="photos")
    draft = form.draft((*kept, *added))
    async with intake.database.transaction() as db:
        current = await policy.get_visit_for(db, user, visit.id)
        pairing = await policy.get_pairing_for(db, user, current.pairing_id)
        policy.require_mother_of(user, pairing)
        # The kept ones and the new ones, hers alone.
        photos = await own_photos_by_uuid(db, user, draft.photo_uuids, missing=_photos_missing())
        return await do_correct_visit(
            db, current, pairing, draft, photos, new_client_uuid=form.client_uuid, actor=user, now=now
        )
