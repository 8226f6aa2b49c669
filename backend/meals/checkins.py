"""Checking in a meal: the rules, the flags for the reviewer, and the one write path (do_check_in).

Rules (refused, nothing stored): one current check-in per agreement, slot and day; none for a future
day, outside the agreement's dates, before all three parties confirmed it, or into a closed month;
at least one photo of the resident, sent by the neighbour herself, and at least one dish.
A check-in later than the day's end plus LATE_GRACE is accepted and flagged as late.

Flags are computed once, inside the write transaction, from what the database holds at that moment,
and stored beside the check-in; they never change afterwards (a later upload cannot flag this one).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from litestar.exceptions import ClientException
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.db import Database, utcnow
from backend.errors import Conflict, Forbidden
from backend.evidence.models import Photo
from backend.i18n import gettext as _
from backend.meals import policy
from backend.meals.clock import end_of_day, local_today, slot_moment
from backend.meals.forms import MAX_PHOTOS, dishes_error, normalize_dishes
from backend.meals.menus import planned_dishes
from backend.meals.models import (
    Agreement,
    CheckIn,
    CheckInFlag,
    CheckInPhoto,
    CheckInStatus,
    FlagCode,
    MealSlot,
)
from backend.settlement.models import is_month_closed, lock_period, month_of

LATE_GRACE = timedelta(hours=12)
CAPTURE_WINDOW = timedelta(hours=3)


class CheckInRefused(ClientException):
    """A rule refused the check-in; `field` names the form field the message belongs to."""

    def __init__(self, detail: str, *, field: str, status_code: int = 422) -> None:
        super().__init__(detail=detail, status_code=status_code)
        self.field = field


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


@dataclass(frozen=True, slots=True)
class SubmitResult:
    checkin: CheckIn
    created: bool


async def find_by_client_uuid(db: AsyncSession, client_uuid: uuid.UUID) -> CheckIn | None:
    return await db.scalar(
        select(CheckIn).where(CheckIn.client_uuid == client_uuid).options(*policy.checkin_options())
    )


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


async def compute_flags(
    db: AsyncSession, checkin: CheckIn, agreement: Agreement, photos: Sequence[Photo], *, now: datetime
) -> list[tuple[FlagCode, dict[str, Any]]]:
    flags: list[tuple[FlagCode, dict[str, Any]]] = []
    programme = agreement.programme
    day_end = end_of_day(programme, checkin.day)
    if now > day_end + LATE_GRACE:
        hours = (now - day_end).total_seconds() / 3600
        flags.append((FlagCode.LATE, {"hours_after_day": round(hours, 1)}))

    reused = await _reused_photos(db, checkin, photos)
    if reused:
        flags.append((FlagCode.PHOTO_REUSED, {"photos": reused}))

    missing = [p.id for p in photos if p.captured_at is None]
    if missing:
        flags.append((FlagCode.CAPTURE_TIME_MISSING, {"photo_ids": missing}))
    due = slot_moment(programme, checkin.day, checkin.slot)
    far = [
        {"photo_id": p.id, "hours_off": round((p.captured_at - due).total_seconds() / 3600, 1)}
        for p in photos
        if p.captured_at is not None and abs(p.captured_at - due) > CAPTURE_WINDOW
    ]
    if far:
        flags.append((FlagCode.CAPTURE_TIME_FAR, {"photos": far}))

    planned = {d.casefold() for d in checkin.planned_dishes}
    if planned and not planned & {d.casefold() for d in checkin.dishes}:
        flags.append((FlagCode.DISHES_OFF_PLAN, {"planned": len(planned), "sent": len(checkin.dishes)}))

    meals = await _meals_in_month(db, agreement.id, checkin.day)
    if meals * agreement.rate_fen > agreement.monthly_cap_fen:
        flags.append(
            (
                FlagCode.OVER_CAP,
                {
                    "meals": meals,
                    "amount_fen": meals * agreement.rate_fen,
                    "cap_fen": agreement.monthly_cap_fen,
                },
            )
        )

    elsewhere = await _same_photo_elsewhere(db, checkin, photos)
    if elsewhere:
        flags.append((FlagCode.PHOTO_ON_OTHER_AGREEMENT, {"checkin_ids": elsewhere}))

    household = await db.scalars(
        select(CheckIn.id).where(
            CheckIn.resident_id == checkin.resident_id,
            CheckIn.day == checkin.day,
            CheckIn.slot == checkin.slot,
            CheckIn.agreement_id != checkin.agreement_id,
            CheckIn.superseded_at.is_(None),
        )
    )
    same_meal = sorted(household.all())
    if same_meal:
        flags.append((FlagCode.SAME_HOUSEHOLD_DAY, {"checkin_ids": same_meal}))
    return flags


async def _reused_photos(db: AsyncSession, checkin: CheckIn, photos: Sequence[Photo]) -> list[dict[str, Any]]:
    """Photos the pipeline matched with an earlier one, or already attached to another check-in."""
    own_versions = [checkin.id, *(await _earlier_versions(db, checkin))]
    linked = await db.execute(
        select(CheckInPhoto.photo_id, CheckInPhoto.checkin_id).where(
            CheckInPhoto.photo_id.in_([p.id for p in photos]), CheckInPhoto.checkin_id.not_in(own_versions)
        )
    )
    other_checkins: dict[int, list[int]] = {}
    for photo_id, other in linked:
        other_checkins.setdefault(photo_id, []).append(other)
    found = []
    for photo in photos:
        if photo.reuse_of_id is None and photo.id not in other_checkins:
            continue
        found.append(
            {
                "photo_id": photo.id,
                "reuse_of_id": photo.reuse_of_id,
                "distance": photo.reuse_distance,
                "checkin_ids": sorted(other_checkins.get(photo.id, [])),
            }
        )
    return found


async def _earlier_versions(db: AsyncSession, checkin: CheckIn) -> list[int]:
    """Ids of the versions this check-in replaces, newest first (a fix may keep their photos)."""
    found: list[int] = []
    replaces_id = checkin.replaces_id
    while replaces_id is not None and replaces_id not in found and len(found) < 50:
        found.append(replaces_id)
        replaces_id = await db.scalar(select(CheckIn.replaces_id).where(CheckIn.id == replaces_id))
    return found


async def _meals_in_month(db: AsyncSession, agreement_id: int, day: date) -> int:
    """Current, not rejected check-ins of the agreement in the day's month (this one included)."""
    month = month_of(day)
    following = (month + timedelta(days=32)).replace(day=1)
    count = await db.scalar(
        select(func.count(CheckIn.id)).where(
            CheckIn.agreement_id == agreement_id,
            CheckIn.day >= month,
            CheckIn.day < following,
            CheckIn.superseded_at.is_(None),
            CheckIn.status != CheckInStatus.REJECTED,
        )
    )
    return int(count or 0)


async def _same_photo_elsewhere(db: AsyncSession, checkin: CheckIn, photos: Sequence[Photo]) -> list[int]:
    """Current check-ins of other agreements carrying the same photo: the same row, the same bytes,
    or a photo the pipeline matched with one of these (either way round)."""
    ids = [p.id for p in photos]
    hashes = {p.received_sha256 for p in photos} | {p.display_sha256 for p in photos}
    earlier = [p.reuse_of_id for p in photos if p.reuse_of_id is not None]
    same = or_(
        Photo.id.in_(ids + earlier),
        Photo.received_sha256.in_(hashes),
        Photo.display_sha256.in_(hashes),
        Photo.reuse_of_id.in_(ids),
    )
    rows = await db.scalars(
        select(CheckIn.id)
        .join(CheckInPhoto, CheckInPhoto.checkin_id == CheckIn.id)
        .join(Photo, Photo.id == CheckInPhoto.photo_id)
        .where(and_(CheckIn.agreement_id != checkin.agreement_id, CheckIn.superseded_at.is_(None), same))
        .distinct()
    )
    return sorted(rows.all())


def _answer_retry(existing: CheckIn, draft: CheckInDraft, *, actor: Actor) -> SubmitResult:
    # Another user's UUID gets the same answer as different content: nothing about theirs leaks.
    if existing.neighbour_id != actor.id or existing.content_sha256 != draft.content_sha256:
        raise Conflict(_("This check-in was already sent with different content."))
    return SubmitResult(existing, created=False)


async def submit_checkin(
    database: Database,
    *,
    user: Principal,
    draft: CheckInDraft,
    client_uuid: uuid.UUID,
    now: datetime | None = None,
) -> SubmitResult:
    """Idempotent by client UUID: the same content returns the original, different content is a 409.

    An identical request that commits between our look-up and our insert makes ours fail (on a unique
    index, or on the one-meal rule); we then answer as if we had come second.
    """
    try:
        async with database.transaction() as db:
            existing = await find_by_client_uuid(db, client_uuid)
            if existing is not None:
                return _answer_retry(existing, draft, actor=user)
            agreement = await policy.get_agreement_for(db, user, draft.agreement_id)
            policy.require_neighbour_of(user, agreement)
            photos = await policy.own_photos_by_uuid(db, user, list(draft.photo_uuids))
            if len(photos) != len(set(draft.photo_uuids)):
                raise CheckInRefused(
                    _("A photo of this check-in has not arrived yet. Send the photos first."),
                    field="photo",
                    status_code=404,
                )
            by_uuid = {p.client_uuid: p for p in photos}
            ordered = [by_uuid[u] for u in dict.fromkeys(draft.photo_uuids)]
            replaces = None
            if draft.replaces_id is not None:
                replaces = await policy.get_checkin_for(db, user, draft.replaces_id)
            checkin = await do_check_in(
                db, agreement, draft, ordered, client_uuid=client_uuid, actor=user, replaces=replaces, now=now
            )
            return SubmitResult(checkin, created=True)
    except (IntegrityError, CheckInRefused) as exc:
        if isinstance(exc, CheckInRefused) and exc.status_code != 409:
            raise
        # On PostgreSQL an identical request can commit after our look-up: our insert then fails on a
        # unique index, or our rules see its row as "already checked in". Either way it is the original.
        async with database.transaction(read_only=True) as db:
            existing = await find_by_client_uuid(db, client_uuid)
            if existing is not None:
                return _answer_retry(existing, draft, actor=user)
            if isinstance(exc, IntegrityError):
                # Not ours: another check-in took this meal, or its month was closed meanwhile.
                agreement = await policy.get_agreement_for(db, user, draft.agreement_id)
                await check_rules(db, agreement, draft.slot, draft.day, now=now)
        raise
