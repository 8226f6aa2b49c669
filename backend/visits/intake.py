"""Receiving a visit from the phone, idempotently by its client UUID (form and API alike).

The same UUID with the same content returns the original; with different content, or a UUID that
another user sent, 409 without telling anything about the other visit. An identical request that
commits between our look-up and our insert makes ours fail on the unique constraint; we then answer
as if we had come second. Photos arrive first (PUT /api/photos or the form's own files) and are
referred to by their client UUIDs, which only find the sender's own photos.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import Actor
from backend.auth.principal import Principal
from backend.db import Database
from backend.errors import Conflict
from backend.evidence.models import Photo
from backend.i18n import gettext as _
from backend.visits import policy
from backend.visits.models import Visit
from backend.visits.service import VisitDraft, VisitRefused, do_correct_visit, do_log_visit


@dataclass(frozen=True, slots=True)
class SubmitResult:
    visit: Visit
    created: bool


async def find_by_client_uuid(db: AsyncSession, client_uuid: uuid.UUID) -> Visit | None:
    return await db.scalar(
        select(Visit).where(Visit.client_uuid == client_uuid).options(*policy.visit_options())
    )


def _answer_retry(existing: Visit, content_sha256: str, *, actor: Actor) -> SubmitResult:
    if existing.mother_id != actor.id or existing.content_sha256 != content_sha256:
        raise Conflict(_("This visit was already sent with different content."))
    return SubmitResult(existing, created=False)


async def _photos(db: AsyncSession, user: Principal, uuids: tuple[uuid.UUID, ...]) -> list[Photo]:
    photos = await policy.own_photos_by_uuid(db, user, list(uuids))
    if len(photos) != len(set(uuids)):
        raise VisitRefused(
            _("A photo of this visit has not arrived yet. Send the photos first."),
            field="photos",
            status_code=404,
        )
    by_uuid = {p.client_uuid: p for p in photos}
    return [by_uuid[u] for u in dict.fromkeys(uuids)]


async def submit_visit(
    database: Database,
    *,
    user: Principal,
    draft: VisitDraft,
    client_uuid: uuid.UUID,
    now: datetime | None = None,
) -> SubmitResult:
    try:
        async with database.transaction() as db:
            existing = await find_by_client_uuid(db, client_uuid)
            if existing is not None:
                return _answer_retry(existing, draft.content_sha256, actor=user)
            pairing = await policy.get_pairing_for(db, user, draft.pairing_id)
            policy.require_mother_of(user, pairing)
            photos = await _photos(db, user, draft.photo_uuids)
            visit = await do_log_visit(
                db, pairing, draft, photos, client_uuid=client_uuid, actor=user, now=now
            )
            return SubmitResult(visit, created=True)
    except IntegrityError:
        async with database.transaction(read_only=True) as db:
            existing = await find_by_client_uuid(db, client_uuid)
            if existing is not None:
                return _answer_retry(existing, draft.content_sha256, actor=user)
        raise


async def submit_correction(
    database: Database,
    *,
    user: Principal,
    visit_id: int,
    draft: VisitDraft,
    new_client_uuid: uuid.UUID,
    now: datetime | None = None,
) -> Visit:
    """A correction form sent twice (same new UUID) answers with the version the first one made."""
    async with database.transaction() as db:
        existing = await find_by_client_uuid(db, new_client_uuid)
        if existing is not None and existing.mother_id == user.id:
            return existing
        visit = await policy.get_visit_for(db, user, visit_id)
        pairing = await policy.get_pairing_for(db, user, visit.pairing_id)
        policy.require_mother_of(user, pairing)
        photos = await _photos(db, user, draft.photo_uuids)  # the kept ones and any new ones, hers alone
        return await do_correct_visit(
            db, visit, pairing, draft, photos, new_client_uuid=new_client_uuid, actor=user, now=now
        )
