"""The flags a reviewer sees on a check-in: found once, inside the check-in's write transaction, from
what the database holds at that moment, and stored beside it; they never change afterwards (a later
upload cannot flag this one)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.clock import end_of_day
from backend.evidence.models import Photo
from backend.meals.models import Agreement, CheckIn, CheckInPhoto, CheckInStatus, FlagCode, slot_moment
from backend.settlement.models import month_of

LATE_GRACE = timedelta(hours=12)
CAPTURE_WINDOW = timedelta(hours=3)


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
