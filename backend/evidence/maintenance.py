"""Housekeeping for the photo store: `carelog gc-photos` and `carelog check`.

Files are written before their rows commit, so a crash or a lost race can leave a file that no row
names; `collect_garbage` removes such files once they are older than a day (a younger one may belong
to an upload still in flight); the files of photos removed by retention or erasure count as named by
no row, so a delete that failed then is finished here. `check_photos` proves the opposite direction:
every live row's files exist and still match their hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.evidence.models import Photo
from backend.evidence.service import ORIGINAL_PREFIX, PHOTO_PREFIX, original_key, photo_key, read_verified
from backend.storage import PhotoStore

GRACE = timedelta(days=1)


@dataclass
class GarbageReport:
    scanned: int = 0
    removed: list[str] = field(default_factory=list)


async def _referenced(db: AsyncSession, key: str) -> bool:
    digest = key.rsplit("/", 1)[-1].removesuffix(".jpg")
    condition: ColumnElement[bool] = or_(Photo.display_sha256 == digest, Photo.thumb_sha256 == digest)
    if key.startswith(ORIGINAL_PREFIX):
        condition = and_(Photo.received_sha256 == digest, Photo.original_kept.is_(True))
    # A removed photo (retention, erasure) names no file any more: its files are garbage.
    return await db.scalar(select(Photo.id).where(condition, Photo.removed_at.is_(None)).limit(1)) is not None


async def collect_garbage(
    db: AsyncSession, store: PhotoStore, *, now: datetime | None = None
) -> GarbageReport:
    """Delete stored files that no photo row names and that are older than a day. Ages are the store's
    own times, so they are compared with the machine's clock, not a chosen day (backend/clock.py)."""
    cutoff = (now or clock.system_utcnow()) - GRACE
    report = GarbageReport()
    candidates: list[str] = []
    for prefix in (PHOTO_PREFIX, ORIGINAL_PREFIX):
        async for stored in store.list(prefix):
            report.scanned += 1
            if stored.last_modified < cutoff and not await _referenced(db, stored.key):
                candidates.append(stored.key)
    for key in candidates:
        # Look again just before deleting: an upload of the same content may have rewritten it.
        fresh = await store.head(key)
        if fresh is None or fresh.last_modified >= cutoff or await _referenced(db, key):
            continue
        await store.delete(key)
        report.removed.append(key)
    report.removed.extend(await store.remove_stale_partials(cutoff))  # writes a kill -9 cut short
    return report


@dataclass
class CheckReport:
    checked: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)  # (photo id, which file)
    removed: int = 0  # rows whose files retention or erasure removed on purpose: not missing evidence


async def check_photos(db: AsyncSession, store: PhotoStore, *, batch: int = 500) -> CheckReport:
    """Every live row's display copy and thumbnail (and kept original) exist and match their hashes;
    rows removed by retention or erasure are counted apart."""
    report = CheckReport()
    last_id = 0
    while True:
        rows = (
            await db.scalars(select(Photo).where(Photo.id > last_id).order_by(Photo.id).limit(batch))
        ).all()
        if not rows:
            return report
        for photo in rows:
            last_id = photo.id
            if photo.removed_at is not None:
                report.removed += 1
                continue
            files = [("display", photo_key(photo.display_sha256), photo.display_sha256)]
            files.append(("thumb", photo_key(photo.thumb_sha256), photo.thumb_sha256))
            if photo.original_kept:
                files.append(("original", original_key(photo.received_sha256), photo.received_sha256))
            for variant, key, sha256 in files:
                if await read_verified(store, key, sha256) is None:
                    report.bad.append((photo.id, variant))
            report.checked += 1
