"""Every write about photos. Each do_* records its audit event in the same transaction.

Ingest runs in this order, so that a crash leaves at worst an unreferenced file, never a row without
its file, and so that SQLite's write lock is never held while a photo is received or decoded:
1. look for the client UUID in a read transaction (a retry is answered without decoding anything;
   backend/idempotency.py);
2. check, decode and re-encode in a worker thread behind the app's limiter;
3. write the files to the store (keys are content hashes, so a retry rewrites the same bytes);
4. in one short write transaction: insert the row, flag reuse, record the audit event.
A race between identical requests ends at the unique constraint; the loser answers with the winner.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import anyio.to_thread
from anyio import CapacityLimiter
from litestar.exceptions import HTTPException, ServiceUnavailableException
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit, clock
from backend.audit import Actor
from backend.db import Database, utcnow
from backend.evidence.imaging import ProcessedPhoto, decode_too_slow, hamming, process_photo
from backend.evidence.models import CaptureSource, Photo
from backend.i18n import lazy_gettext as _l
from backend.idempotency import Submitted, answer_retry, find_by_client_uuid, submit
from backend.people.models import Person
from backend.storage import PhotoStore, StorageError

REUSE_WINDOW = timedelta(days=90)
# dHash bits that may differ for two photos to count as "the same picture" (re-encoded, resized,
# slightly cropped or brightened). 64 bits in all; unrelated photos differ in about half of them.
REUSE_MAX_DISTANCE = 6
REUSE_CANDIDATES = 5000
MIN_HASH_BITS = 8
PHOTO_PREFIX = "photos/"
ORIGINAL_PREFIX = "originals/"
_EARLIEST_CAPTURE = datetime(2000, 1, 1, tzinfo=UTC)


def photo_key(sha256: str) -> str:
    return f"{PHOTO_PREFIX}{sha256[:2]}/{sha256}.jpg"


def original_key(sha256: str) -> str:
    return f"{ORIGINAL_PREFIX}{sha256[:2]}/{sha256}"


class PhotoStoreUnavailable(ServiceUnavailableException):
    def __init__(self) -> None:
        super().__init__(
            detail=str(_l("The photo could not be saved just now. Nothing was saved; please try again.")),
            headers={"Retry-After": "5"},
        )


# Said to a retry that brings other bytes under the same UUID (or another user's UUID).
DIFFERENT_PHOTO = _l("This photo was already sent with different content.")


# One photo's decode and re-encode must end within this (the pixel limit keeps a real one near a
# second here); past it the upload is refused and nothing is stored. Limit: a thread cannot be stopped,
# so the abandoned one finishes in the background after its slot is given back.
DECODE_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class PhotoLimits:
    max_pixels: int
    keep_originals: bool
    time_zone: str
    decode_seconds: float = DECODE_SECONDS


def to_signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def capture_time(
    exif_time: datetime | None, client_time: datetime | None, zone: ZoneInfo
) -> tuple[datetime | None, CaptureSource]:
    """EXIF first, then what the phone read; naive times are camera-local; absurd ones are dropped."""
    latest = utcnow() + timedelta(days=1)
    for value, source in ((exif_time, CaptureSource.EXIF), (client_time, CaptureSource.CLIENT)):
        if value is None:
            continue
        aware = value.replace(tzinfo=zone) if value.tzinfo is None else value
        if _EARLIEST_CAPTURE <= aware <= latest:
            return aware.astimezone(UTC), source
    return None, CaptureSource.NONE


async def _process(data: bytes, sha256: str, limits: PhotoLimits, limiter: CapacityLimiter) -> ProcessedPhoto:
    work = partial(process_photo, data, max_pixels=limits.max_pixels, received_sha256=sha256)
    async with limiter:  # the wait for a slot is not part of the budget; the work is
        with anyio.move_on_after(limits.decode_seconds):
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    raise decode_too_slow()


async def _store_files(
    store: PhotoStore, processed: ProcessedPhoto, data: bytes, keep_original: bool
) -> None:
    try:
        await store.put(photo_key(processed.display.sha256), processed.display.data)
        await store.put(photo_key(processed.thumb.sha256), processed.thumb.data)
        if keep_original:
            await store.put(original_key(processed.received_sha256), data)
    except StorageError:
        raise PhotoStoreUnavailable() from None


async def ingest_photo(
    database: Database,
    store: PhotoStore,
    limiter: CapacityLimiter,
    data: bytes,
    *,
    actor: Actor,
    client_uuid: uuid.UUID,
    person: Person | None,
    client_captured_at: datetime | None,
    limits: PhotoLimits,
) -> Submitted[Photo]:
    """Receive one photo idempotently. Raises PhotoRejected (4xx), Refused (409) or 503."""
    received_sha256 = hashlib.sha256(data).hexdigest()
    async with database.transaction(read_only=True) as db:
        existing = await find_by_client_uuid(db, Photo, client_uuid)
    if existing is not None:
        return answer_retry(existing, actor=actor, sha256=received_sha256, different=DIFFERENT_PHOTO)
    processed = await _process(data, received_sha256, limits, limiter)
    await _store_files(store, processed, data, limits.keep_originals)
    zone = ZoneInfo(person.programme.time_zone if person is not None else limits.time_zone)
    captured_at, source = capture_time(processed.captured_at, client_captured_at, zone)

    async def create(db: AsyncSession) -> Photo:
        return await do_ingest_photo(
            db,
            processed,
            actor=actor,
            client_uuid=client_uuid,
            person=person,
            captured_at=captured_at,
            capture_source=source,
            original_kept=limits.keep_originals,
        )

    return await submit(
        database,
        Photo,
        client_uuid=client_uuid,
        sha256=received_sha256,
        actor=actor,
        different=DIFFERENT_PHOTO,
        create=create,
    )


async def find_reuse(
    db: AsyncSession, *, phash: int, sha256s: tuple[str, ...], uploader_id: int, area_id: int | None
) -> tuple[int, int] | None:
    """(earlier photo id, Hamming distance) of the closest earlier photo in scope, if close enough."""
    scope = Photo.uploaded_by_id == uploader_id
    if area_id is not None:
        scope = or_(scope, Photo.area_id == area_id)
    rows = await db.execute(
        select(Photo.id, Photo.phash, Photo.received_sha256, Photo.display_sha256)
        .where(scope, Photo.created_at >= utcnow() - REUSE_WINDOW)
        .order_by(Photo.id.desc())
        .limit(REUSE_CANDIDATES)
    )
    # A nearly flat picture (a dark room, a blank wall) hashes to nearly all zeros or ones; two such
    # photos would "match" while showing nothing alike, so they are compared by exact hash alone.
    informative = MIN_HASH_BITS <= (phash & 0xFFFF_FFFF_FFFF_FFFF).bit_count() <= 64 - MIN_HASH_BITS
    best: tuple[int, int] | None = None
    for photo_id, other_hash, received, display in rows:
        if received in sha256s or display in sha256s:
            distance = 0
        elif informative:
            distance = hamming(phash, other_hash)
        else:
            continue
        if distance <= REUSE_MAX_DISTANCE and (best is None or distance < best[1]):
            best = (photo_id, distance)
            if distance == 0:
                break
    return best


async def do_ingest_photo(
    db: AsyncSession,
    processed: ProcessedPhoto,
    *,
    actor: Actor,
    client_uuid: uuid.UUID,
    person: Person | None,
    captured_at: datetime | None,
    capture_source: CaptureSource,
    original_kept: bool,
) -> Photo:
    """Insert the row for files already in the store, flag reuse, and audit the upload."""
    phash = to_signed64(processed.phash)
    area_id = person.area_id if person is not None else None
    reuse = await find_reuse(
        db,
        phash=phash,
        sha256s=(processed.received_sha256, processed.display.sha256),
        uploader_id=actor.id,
        area_id=area_id,
    )
    photo = Photo(
        client_uuid=client_uuid,
        uploaded_by_id=actor.id,
        subject_person_id=person.id if person is not None else None,
        programme_id=person.programme_id if person is not None else None,
        area_id=area_id,
        received_sha256=processed.received_sha256,
        received_bytes=processed.received_bytes,
        received_format=processed.received_format,
        received_width=processed.received_width,
        received_height=processed.received_height,
        original_kept=original_kept,
        display_sha256=processed.display.sha256,
        display_bytes=len(processed.display.data),
        display_width=processed.display.width,
        display_height=processed.display.height,
        thumb_sha256=processed.thumb.sha256,
        thumb_bytes=len(processed.thumb.data),
        thumb_width=processed.thumb.width,
        thumb_height=processed.thumb.height,
        phash=phash,
        captured_at=captured_at,
        capture_source=capture_source,
        reuse_of_id=reuse[0] if reuse else None,
        reuse_distance=reuse[1] if reuse else None,
    )
    db.add(photo)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="photo.uploaded",
        subject=photo,
        change={
            "subject_person_id": photo.subject_person_id,
            "received_sha256": photo.received_sha256,
            "display_sha256": photo.display_sha256,
            "thumb_sha256": photo.thumb_sha256,
            "reuse_of_id": photo.reuse_of_id,
            "reuse_distance": photo.reuse_distance,
        },
    )
    return photo


async def read_verified(store: PhotoStore, key: str, sha256: str) -> bytes | None:
    """The stored bytes if they are there and still match their hash; None otherwise."""
    try:
        data = await store.get(key)
    except StorageError:
        raise PhotoStoreUnavailable() from None
    if data is None or hashlib.sha256(data).hexdigest() != sha256:
        return None
    return data


class EvidenceMissing(HTTPException):
    """The row exists but its file is gone or altered: say so plainly (410), never a 500."""

    status_code = 410

    def __init__(self) -> None:
        super().__init__(
            detail=str(
                _l(
                    "Evidence missing: the stored file of this photo is missing or damaged. "
                    "This has been recorded for the staff."
                )
            )
        )


async def open_for_viewer(
    database: Database, store: PhotoStore, photo: Photo, *, viewer: Actor, variant: str, sha256: str
) -> bytes:
    """The verified bytes of one stored file, with the audit event the view calls for.

    Views by anyone but the uploader are audited; a missing or altered file is an integrity event
    and EvidenceMissing. Both are written in their own short transaction: the page itself is a read.
    """
    key = original_key(sha256) if variant == "original" else photo_key(sha256)
    data = await read_verified(store, key, sha256)
    if data is None:
        async with database.transaction() as db:
            await do_record_integrity_failure(
                db, photo, actor=viewer, variant=variant, reason="missing_or_altered"
            )
        raise EvidenceMissing()
    # A view already audited today costs a read only, not a write transaction.
    if variant == "original" or (
        photo.uploaded_by_id != viewer.id and not await _viewed_today(database, photo, viewer)
    ):
        async with database.transaction() as db:
            await do_record_view(db, photo, actor=viewer, variant=variant)
    return data


async def _viewed_today(database: Database, photo: Photo, viewer: Actor) -> bool:
    # Not the page reader's pool: the request already holds one of its connections, and waiting for a
    # second one of the same pool under load would deadlock. The writer's engine, reading only.
    async with database.transaction(read_only=True, long_reads=True) as db:
        return await audit.recorded_today(
            db, actor=viewer, action="photo.viewed", subject=photo, day=clock.today_in(clock.REFERENCE_ZONE)
        )


async def do_record_view(db: AsyncSession, photo: Photo, *, actor: Actor, variant: str) -> None:
    # One event per viewer, photo and day (Asia/Shanghai) for looking at it, however often a page of
    # thumbnails is reloaded; downloading the original (with its EXIF and GPS) is audited every time.
    if variant == "original":
        await audit.record(db, actor=actor, action="photo.viewed", subject=photo, change={"variant": variant})
        return
    await audit.record_once_a_day(
        db,
        actor=actor,
        action="photo.viewed",
        subject=photo,
        day=clock.today_in(clock.REFERENCE_ZONE),
        change={"variant": variant},
    )


async def do_record_integrity_failure(
    db: AsyncSession, photo: Photo, *, actor: Actor | None, variant: str, reason: str
) -> None:
    await audit.record(
        db,
        actor=actor,
        action="photo.integrity_failed",
        subject=photo,
        change={"variant": variant, "reason": reason},
    )
