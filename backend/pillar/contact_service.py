"""A group member's contact with the mother, sent from the phone (form or outbox), idempotent by UUID.

Rules (refused, nothing stored): only someone who may log contacts on the file (`Access.may_log_contact`:
an active group member, the mother included, or a worker of her agency; staff only read) and the file's
case is open; the day is not in the future and not before the file was opened (in the programme's zone);
1 to 600 minutes; one of at home, by phone, online; at most one photo, sent by the member herself
(about nobody, or about the mother's person record).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend import audit
from backend.auth.principal import Principal
from backend.cases.models import Case, CaseStatus
from backend.db import Database, utcnow
from backend.errors import Refused
from backend.evidence.intake import PhotoIntake, RawPhoto
from backend.evidence.models import Photo
from backend.evidence.policy import own_photos_by_uuid
from backend.i18n import gettext as _
from backend.i18n import lazy_gettext as _l
from backend.idempotency import Submitted, own_original, submit
from backend.people.models import Programme
from backend.pillar import policy
from backend.pillar.models import Contact, ContactChannel, PillarFile

MIN_MINUTES, MAX_MINUTES = 1, 600
MAX_NOTE_CHARS = 500
MAX_CONTACT_PHOTOS = 1

DIFFERENT_CONTACT = _l("This contact was already sent with different content.")


class ContactRefused(Refused):
    """A rule refused the contact; `field` names the form field the message belongs to."""


@dataclass(frozen=True, slots=True)
class ContactDraft:
    """What the phone sends for one contact (never an author, a programme or an area)."""

    file_id: int
    contacted_on: date
    channel: ContactChannel
    minutes: int
    note: str
    photo_uuids: tuple[uuid.UUID, ...]

    @property
    def content_sha256(self) -> str:
        payload = [
            self.file_id,
            self.contacted_on.isoformat(),
            self.channel.value,
            self.minutes,
            self.note,
            sorted(str(u) for u in self.photo_uuids),
        ]
        return hashlib.sha256(
            json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        ).hexdigest()


def minutes_message() -> str:
    return _("Enter how long the contact took, between %(low)s and %(high)s minutes.") % {
        "low": MIN_MINUTES,
        "high": MAX_MINUTES,
    }


def channel_message() -> str:
    return _("Choose how you were in touch: at home, by phone or online.")


def photos_message() -> str:
    return _("One photo at most, please.")


def note_message() -> str:
    return _("The note may have at most %(count)s characters.") % {"count": MAX_NOTE_CHARS}


def check_draft(draft: ContactDraft, *, today: date, opened_on: date) -> None:
    """Raise ContactRefused for the first rule the draft breaks (photo ownership is checked apart)."""
    if not MIN_MINUTES <= draft.minutes <= MAX_MINUTES:
        raise ContactRefused(minutes_message(), field="minutes")
    if draft.contacted_on > today:
        raise ContactRefused(_("A contact cannot be logged before it happens."), field="contacted_on")
    if draft.contacted_on < opened_on:
        raise ContactRefused(_("This day is before the mother's file was opened."), field="contacted_on")
    if len(draft.note) > MAX_NOTE_CHARS:
        raise ContactRefused(note_message(), field="note")
    if len(draft.photo_uuids) > MAX_CONTACT_PHOTOS:
        raise ContactRefused(photos_message(), field="photo")


def contact_options() -> list[Any]:
    return [selectinload(Contact.photo), selectinload(Contact.by_user)]


def _check_photos(case: Case, photos: Sequence[Photo], *, actor: Principal) -> None:
    for photo in photos:
        if photo.uploaded_by_id != actor.id or photo.subject_person_id not in (None, case.person_id):
            raise ContactRefused(
                _("The photo was not sent for this contact. Send the photo again."), field="photo"
            )


async def do_log_contact(
    db: AsyncSession,
    file: PillarFile,
    draft: ContactDraft,
    photos: Sequence[Photo],
    *,
    client_uuid: uuid.UUID,
    actor: Principal,
    now: datetime | None = None,
) -> Contact:
    """Store one contact and its audit event. `file` was loaded through `policy.get_file_for` (404 for
    a file she may not see); 403 when she sees it but may not log (staff). `now` is for demo and tests."""
    now = now or utcnow()
    policy.require((await policy.access_to(db, actor, file)).may_log_contact)
    case = await db.get_one(Case, file.case_id)
    if case.status is CaseStatus.CLOSED:
        raise ContactRefused(
            _("This file is closed; no more contacts can be logged in it."), field="form", status_code=409
        )
    programme = await db.get_one(Programme, file.programme_id)
    zone = ZoneInfo(programme.time_zone)
    check_draft(draft, today=now.astimezone(zone).date(), opened_on=case.opened_at.astimezone(zone).date())
    _check_photos(case, photos, actor=actor)
    contact = Contact(
        client_uuid=client_uuid,
        file_id=file.id,
        programme_id=file.programme_id,
        area_id=file.area_id,
        by_user_id=actor.id,
        contacted_on=draft.contacted_on,
        channel=draft.channel,
        minutes=draft.minutes,
        note=draft.note,
        photo=photos[0] if photos else None,
        content_sha256=draft.content_sha256,
        submitted_at=now,
    )
    db.add(contact)
    await db.flush()
    # Ids, numbers and a hash only: the note stays out of the audit trail.
    await audit.record(
        db,
        actor=actor,
        action="pillar.contact_logged",
        subject=file,
        change={
            "contact_id": contact.id,
            "contacted_on": draft.contacted_on.isoformat(),
            "channel": draft.channel.value,
            "minutes": draft.minutes,
            "photo_id": contact.photo_id,
            "content_sha256": contact.content_sha256,
        },
    )
    return contact


def _photo_missing() -> ContactRefused:
    return ContactRefused(
        _("The photo of this contact has not arrived yet. Send the photo first."),
        field="photo",
        status_code=404,
    )


async def submit_contact(
    database: Database,
    *,
    user: Principal,
    draft: ContactDraft,
    client_uuid: uuid.UUID,
    now: datetime | None = None,
) -> Submitted[Contact]:
    """Receive one contact idempotently: the same UUID and content answer with the original."""

    async def create(db: AsyncSession) -> Contact:
        file = await policy.get_file_for(db, user, draft.file_id)
        photos = await own_photos_by_uuid(db, user, draft.photo_uuids, missing=_photo_missing())
        return await do_log_contact(db, file, draft, photos, client_uuid=client_uuid, actor=user, now=now)

    return await submit(
        database,
        Contact,
        client_uuid=client_uuid,
        sha256=draft.content_sha256,
        actor=user,
        different=DIFFERENT_CONTACT,
        create=create,
        options=contact_options(),
    )


async def send_contact_form(
    intake: PhotoIntake,
    *,
    user: Principal,
    draft_of: Callable[[tuple[uuid.UUID, ...]], ContactDraft],
    client_uuid: uuid.UUID,
    photo: RawPhoto | None,
) -> Contact:
    """The plain form's contact: its photo first (about nobody), then the contact; a form sent twice
    answers with the first. `draft_of(photo_uuids)` builds the draft."""
    sent = await own_original(intake.database, Contact, client_uuid, actor=user, options=contact_options())
    if sent is not None:
        return sent
    uuids: tuple[uuid.UUID, ...] = ()
    if photo is not None:
        result = await intake.receive(
            photo.data, actor=user, client_uuid=photo.client_uuid, person=None, field="photo"
        )
        uuids = (result.entry.client_uuid,)
    submitted = await submit_contact(
        intake.database, user=user, draft=draft_of(uuids), client_uuid=client_uuid
    )
    return submitted.entry
