"""Retention: which photos' files are due for removal, and removing them (`carelog retention`).

Two kinds, each counted from the day its record closed, with the days set in backend/settings.py:
- a child's visit photos, `child_photo_retention_days` after the pairing ended: photos whose subject is
  the pairing's child and that were received while that pairing ran (from its start to its end);
- meal photos, `meal_photo_retention_days` after their month was closed (SettlementPeriod.closed_at):
  the photos of the check-ins of that programme and month.
What stays: every photo row with its hashes (statements print them), the visits and check-ins, the
ledger's amounts and the audit chain. Removal goes through evidence.removal, so the files are deleted
only after the rows are marked and committed, and a failed delete is finished by `carelog gc-photos`.
Times come from the app's clock (backend/clock.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.evidence.models import Photo
from backend.evidence.removal import delete_stored, live, mark_photos_removed
from backend.meals.models import CheckIn, CheckInPhoto
from backend.settlement.models import SettlementPeriod
from backend.storage import PhotoStore
from backend.visits.models import Pairing

REASON = "retention"


@dataclass
class DueKind:
    """Photos of one kind that are due: their ids and the range of the days they were received."""

    name: str
    kept_days: int
    photo_ids: set[int] = field(default_factory=set)
    oldest: date | None = None
    newest: date | None = None

    def add(self, photo_id: int, received_at: datetime) -> None:
        if photo_id in self.photo_ids:
            return
        self.photo_ids.add(photo_id)
        day = received_at.date()
        self.oldest = day if self.oldest is None or day < self.oldest else self.oldest
        self.newest = day if self.newest is None or day > self.newest else self.newest


@dataclass
class RetentionPlan:
    child_photos: DueKind
    meal_photos: DueKind

    @property
    def kinds(self) -> tuple[DueKind, DueKind]:
        return (self.child_photos, self.meal_photos)

    @property
    def photo_ids(self) -> set[int]:
        return self.child_photos.photo_ids | self.meal_photos.photo_ids


@dataclass
class RetentionResult:
    plan: RetentionPlan
    removed: int = 0
    files_deleted: int = 0
    files_left: list[str] = field(default_factory=list)  # deletes that failed: for `carelog gc-photos`


async def find_due(
    db: AsyncSession, *, now: datetime, child_photo_days: int, meal_photo_days: int
) -> RetentionPlan:
    """What retention would remove at `now`: photos not removed yet whose kept time has run out."""
    plan = RetentionPlan(
        child_photos=DueKind("child_photos", child_photo_days),
        meal_photos=DueKind("meal_photos", meal_photo_days),
    )
    child_rows = await db.execute(
        select(Photo.id, Photo.created_at)
        .join(
            Pairing,
            and_(
                Photo.subject_person_id == Pairing.child_id,
                Photo.created_at >= Pairing.started_at,
                Photo.created_at <= Pairing.ended_at,
            ),
        )
        .where(
            live(),
            Pairing.ended_at.is_not(None),
            Pairing.ended_at <= now - timedelta(days=child_photo_days),
        )
        .order_by(Photo.id)
    )
    for photo_id, received_at in child_rows:
        plan.child_photos.add(photo_id, received_at)

    periods = await db.execute(
        select(SettlementPeriod.programme_id, SettlementPeriod.month).where(
            SettlementPeriod.closed_at.is_not(None),
            SettlementPeriod.closed_at <= now - timedelta(days=meal_photo_days),
        )
    )
    for programme_id, month in periods.all():
        following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        meal_rows = await db.execute(
            select(Photo.id, Photo.created_at)
            .join(CheckInPhoto, CheckInPhoto.photo_id == Photo.id)
            .join(CheckIn, CheckIn.id == CheckInPhoto.checkin_id)
            .where(
                live(),
                CheckIn.programme_id == programme_id,
                CheckIn.day >= month,
                CheckIn.day < following,
            )
            .order_by(Photo.id)
        )
        for photo_id, received_at in meal_rows:
            plan.meal_photos.add(photo_id, received_at)
    return plan


async def run_retention(
    database: Database,
    store: PhotoStore,
    *,
    now: datetime,
    child_photo_days: int,
    meal_photo_days: int,
    dry_run: bool,
) -> RetentionResult:
    """Find what is due; unless a dry run, mark it removed (one transaction, audited by the system as
    `photo.removed` with reason "retention"), then delete the files once that has committed."""
    if dry_run:
        async with database.transaction(read_only=True, long_reads=True) as db:
            plan = await find_due(
                db, now=now, child_photo_days=child_photo_days, meal_photo_days=meal_photo_days
            )
        return RetentionResult(plan=plan)
    async with database.transaction() as db:
        plan = await find_due(db, now=now, child_photo_days=child_photo_days, meal_photo_days=meal_photo_days)
        keys = await mark_photos_removed(db, plan.photo_ids, actor=None, reason=REASON, now=now)
    failed = await delete_stored(store, keys)
    return RetentionResult(
        plan=plan, removed=len(plan.photo_ids), files_deleted=len(keys) - len(failed), files_left=failed
    )
