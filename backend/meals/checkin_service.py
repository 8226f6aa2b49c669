"""Checking in a meal: the rules, the flags for the reviewer, and the one write path (do_check_in).

Rules (refused, nothing stored): one current check-in per agreement, slot and day; none for a future
day, outside the agreement's dates, before all three parties confirmed it, or into a closed month;
at least one photo of the resident, sent by the neighbour herself, and at least one dish.
A check-in later than the day's end plus LATE_GRACE is accepted and flagged as late.

Flags (meals/flags.py) are computed once, inside the write transaction, and stored beside the check-in.
The plain forms send through send_checkin_form and send_fix_form, which receive the photo themselves.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.clock import local_today
from backend.db import Database, utcnow
from backend.errors import Conflict, Forbidden, Refused
from backend.evidence.intake import PhotoIntake
from backend.evidence.models import Photo
from backend.evidence.policy import own_photos_by_uuid
from backend.i18n import gettext as _
from backend.i18n import lazy_gettext as _l
from backend.idempotency import Submitted, own_original, submit
from backend.meals import policy
from backend.meals.flags import compute_flags
from backend.meals.forms import MAX_PHOTOS, CheckInForm, dishes_error, normalize_dishes
from backend.meals.menus import planned_dishes
from backend.meals.models import Agreement, CheckIn, CheckInFlag, CheckInPhoto, CheckInStatus, MealSlot
from backend.settlement.models import is_month_closed, lock_period


class CheckInRefused(Refused):
    """A rule refused the check-in; `field` names the form field the message belongs to."""


@dataclass(frozen=True, slots=True)
class CheckInDraft:
    """What the phone sends for one meal (never an amount or a status)."""

    agreement_id: int
    slot: MealSlot
    day: date
    dishes: tuple[str, ...]
    photo_uuids: tuple[uuid.UUID, ...]
    # A fix after "needs fix": the check-in this one replaces (None for a first sending).
    replaces_id: int | None = None

    @property
    def content_sha256(self) -> str:
        payload: list[Any] = [
            self.agreement_id,
            self.slot.value,
            self.day.isoformat(),
            list(self.dishes),
            sorted(str(u) for u in self.photo_uuids),
        ]
        if self.replaces_id is not None:  # first sendings keep the hash they always had
            payload.append(self.replaces_id)
        return hashlib.sha256(
            json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        ).hexdigest()


async def current_checkin(db: AsyncSession, agreement_id: int, slot: MealSlot, day: date) -> CheckIn | None:
    return await db.scalar(
        select(CheckIn).where(
            CheckIn.agreement_id == agreement_id,
            CheckIn.slot == slot,
            CheckIn.day == day,
            CheckIn.superseded_at.is_(None),
        )
    )


async def check_rules(
    db: AsyncSession, agreement: Agreement, slot: MealSlot, day: date, *, now: datetime | None = None
) -> None:
    """Raise CheckInRefused for the first rule this meal breaks; return if it may be checked in."""
    if agreement.neighbour_confirmed_at is None or agreement.resident_confirmed_at is None:
        raise CheckInRefused(
            _("This agreement has not been confirmed by everyone yet, so meals cannot be checked in."),
            field="agreement",
        )
    if slot not in agreement.slots:
        raise CheckInRefused(_("This agreement does not include that meal."), field="slot")
    if day > local_today(agreement.programme, now):
        raise CheckInRefused(_("A meal cannot be checked in before its day."), field="day")
    if not agreement.covers(day):
        raise CheckInRefused(_("That day is outside the dates of the agreement."), field="day")
    if await is_month_closed(db, agreement.programme_id, day):
        raise CheckInRefused(
            _("That month is closed for settlement; nothing can be added to it."),
            field="day",
            status_code=409,
        )
    if await current_checkin(db, agreement.id, slot, day) is not None:
        raise CheckInRefused(_("This meal has already been checked in."), field="slot", status_code=409)


def _check_photos(agreement: Agreement, photos: Sequence[Photo], *, actor: Actor) -> None:
    if not photos:
        raise CheckInRefused(_("Take a photo of the meal."), field="photo")
    if len(photos) > MAX_PHOTOS:
        raise CheckInRefused(_("At most %(count)s photos, please.") % {"count": MAX_PHOTOS}, field="photo")
    for photo in photos:
        if photo.uploaded_by_id != actor.id or photo.subject_person_id != agreement.resident_id:
            raise CheckInRefused(
                _("A photo was not sent for this resident. Send the photo again with this resident chosen."),
                field="photo",
            )


async def do_check_in(
    db: AsyncSession,
    agreement: Agreement,
    draft: CheckInDraft,
    photos: Sequence[Photo],
    *,
    client_uuid: uuid.UUID,
    actor: Actor,
    replaces: CheckIn | None = None,
    now: datetime | None = None,
) -> CheckIn:
    """Store one meal with its photos and flags, and its audit event. `now` is for the demo and tests.

    With `replaces`, this is the fix of a check-in sent back for one: that version is marked
    superseded first (both are kept), and lateness is judged by when the meal was first sent.
    """
    now = now or utcnow()
    if agreement.neighbour_id != actor.id:
        raise Forbidden()
    # The month's period row exists and is held FOR SHARE: a closing waits for this check-in, or
    # this check-in waits for the closing and then is refused (settlement/models.py); a closed month
    # refuses here, before a fix would mark its earlier version superseded.
    if (await lock_period(db, agreement.programme_id, draft.day)).closed_at is not None:
        raise CheckInRefused(
            _("That month is closed for settlement; nothing can be added to it."),
            field="day",
            status_code=409,
        )
    if replaces is not None:
        await _supersede_for_fix(db, replaces, draft, actor=actor, now=now)
    dishes = normalize_dishes(draft.dishes)
    error = dishes_error(dishes, required=True)
    if error:
        raise CheckInRefused(error, field="dishes")
    _check_photos(agreement, photos, actor=actor)
    await check_rules(db, agreement, draft.slot, draft.day, now=now)
    checkin = CheckIn(
        client_uuid=client_uuid,
        agreement_id=agreement.id,
        programme_id=agreement.programme_id,
        resident_id=agreement.resident_id,
        neighbour_id=actor.id,
        day=draft.day,
        slot=draft.slot,
        dishes=list(dishes),
        planned_dishes=list(await planned_dishes(db, agreement, draft.slot, draft.day)),
        content_sha256=draft.content_sha256,
        submitted_at=now,
        status=CheckInStatus.PENDING,
        replaces_id=replaces.id if replaces is not None else None,
    )
    checkin.photo_links = [CheckInPhoto(photo=p, position=n) for n, p in enumerate(photos, start=1)]
    checkin.flags = []
    db.add(checkin)
    await db.flush()
    sent_at = replaces.submitted_at if replaces is not None else now
    for code, detail in await compute_flags(db, checkin, agreement, photos, now=sent_at):
        checkin.flags.append(CheckInFlag(code=code, detail=detail))
    checkin.flagged = bool(checkin.flags)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="meal_checkin.submitted",
        subject=checkin,
        change={
            "agreement_id": agreement.id,
            "day": draft.day.isoformat(),
            "slot": draft.slot.value,
            "photo_ids": [p.id for p in photos],
            "flags": sorted(f.code.value for f in checkin.flags),
            "content_sha256": checkin.content_sha256,
            "replaces_id": checkin.replaces_id,
        },
    )
    return checkin


async def _supersede_for_fix(
    db: AsyncSession, old: CheckIn, draft: CheckInDraft, *, actor: Actor, now: datetime
) -> None:
    if old.neighbour_id != actor.id:
        raise Forbidden()
    if old.superseded_at is not None:
        raise Conflict(_("This check-in has already been sent again."))
    if old.status is not CheckInStatus.NEEDS_FIX:
        raise Conflict(_("Only a check-in sent back for a fix can be sent again."))
    if (old.agreement_id, old.slot, old.day) != (draft.agreement_id, draft.slot, draft.day):
        raise CheckInRefused(
            _("A fix is for the same meal: the day and the meal cannot change."), field="day"
        )
    old.superseded_at = now
    await db.flush()  # before the new version takes the meal's one "current" place
    change = {"superseded_at": now.isoformat()}
    await audit.record(db, actor=actor, action="meal_checkin.superseded", subject=old, change=change)


DIFFERENT_CHECKIN = _l("This check-in was already sent with different content.")


def _photos_missing() -> CheckInRefused:
    return CheckInRefused(
        _("A photo of this check-in has not arrived yet. Send the photos first."),
        field="photo",
        status_code=404,
    )


async def submit_checkin(
    database: Database,
    *,
    user: Principal,
    draft: CheckInDraft,
    client_uuid: uuid.UUID,
    now: datetime | None = None,
) -> Submitted[CheckIn]:
    """Idempotent by client UUID (backend/idempotency.py), in its own write transaction."""

    async def create(db: AsyncSession) -> CheckIn:
        agreement = await policy.get_agreement_for(db, user, draft.agreement_id)
        policy.require_neighbour_of(user, agreement)
        photos = await own_photos_by_uuid(db, user, draft.photo_uuids, missing=_photos_missing())
        replaces = None
        if draft.replaces_id is not None:
            replaces = await policy.get_checkin_for(db, user, draft.replaces_id)
        return await do_check_in(
            db, agreement, draft, photos, client_uuid=client_uuid, actor=user, replaces=replaces, now=now
        )

    async def explain(db: AsyncSession) -> None:
        # Not ours: another check-in took this meal, or its month was closed meanwhile.
        agreement = await policy.get_agreement_for(db, user, draft.agreement_id)
        await check_rules(db, agreement, draft.slot, draft.day, now=now)

    return await submit(
        database,
        CheckIn,
        client_uuid=client_uuid,
        sha256=draft.content_sha256,
        actor=user,
        different=DIFFERENT_CHECKIN,
        create=create,
        options=policy.checkin_options(),
        explain=explain,
    )


async def _sent_before(
    database: Database, user: Principal, client_uuid: uuid.UUID, *, replaces_id: int | None = None
) -> CheckIn | None:
    """Her own check-in already sent under this form's UUID, as a first sending or as this fix."""
    found = await own_original(database, CheckIn, client_uuid, actor=user, options=policy.checkin_options())
    return found if found is not None and found.replaces_id == replaces_id else None


async def send_checkin_form(
    intake: PhotoIntake, *, user: Principal, agreement: Agreement, form: CheckInForm
) -> CheckIn:
    """The plain form's check-in: its photo, then the meal; a resent form answers with the first.
    Raises Refused (a CheckInRefused, or the photo's) with the form field it belongs to."""
    slot = form.slot or agreement.slots[0]
    day = form.day or local_today(agreement.programme)
    sent = await _sent_before(intake.database, user, form.client_uuid)
    if sent is not None:
        return sent
    try:
        async with intake.database.transaction(read_only=True) as db:
            await check_rules(db, agreement, slot, day)  # before storing a photo for nothing
    except CheckInRefused as exc:
        # "Already checked in": perhaps by this very form, sent twice at once, a moment ago.
        sent = await _sent_before(intake.database, user, form.client_uuid) if exc.status_code == 409 else None
        if sent is None:
            raise
        return sent
    resident = agreement.resident
    photo = await intake.receive(form.photo, actor=user, client_uuid=form.photo_uuid, person=resident)
    draft = CheckInDraft(agreement.id, slot, day, form.dishes, (photo.entry.client_uuid,))
    return (await submit_checkin(intake.database, user=user, draft=draft, client_uuid=form.client_uuid)).entry


async def send_fix_form(
    intake: PhotoIntake, *, user: Principal, checkin: CheckIn, agreement: Agreement, form: CheckInForm
) -> CheckIn:
    """A fix of a check-in sent back: a new version of the same meal, with a new photo or the old ones."""
    sent = await _sent_before(intake.database, user, form.client_uuid, replaces_id=checkin.id)
    if sent is not None:
        return sent
    require_fixable(user, checkin)
    photo_uuids = tuple(p.client_uuid for p in checkin.photos)
    if form.photo:
        resident = agreement.resident
        photo = await intake.receive(form.photo, actor=user, client_uuid=form.photo_uuid, person=resident)
        photo_uuids = (photo.entry.client_uuid,)
    draft = CheckInDraft(
        checkin.agreement_id, checkin.slot, checkin.day, form.dishes, photo_uuids, replaces_id=checkin.id
    )
    return (await submit_checkin(intake.database, user=user, draft=draft, client_uuid=form.client_uuid)).entry


def require_fixable(user: Principal, checkin: CheckIn) -> None:
    if checkin.neighbour_id != user.id:
        raise Forbidden()
    if checkin.superseded_at is not None:
        raise Conflict(_("This check-in has already been sent again."))
    if checkin.status is not CheckInStatus.NEEDS_FIX:
        raise Conflict(_("Only a check-in sent back for a fix can be sent again."))
