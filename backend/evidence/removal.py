"""Removing photos' files (retention, erasure) while keeping their rows and hashes.

The row stays, with every hash: statements print them and the audit chain names them, so both still
verify. Only the stored files go, in two steps so that a crash never leaves a live row without its
file: `mark_photos_removed` marks the rows inside the caller's transaction and returns the keys to
delete; the caller commits, then calls `delete_stored`. A delete that fails is left for
`carelog gc-photos`, which removes any file that no live (not removed) photo names.

Files are named by content hash, so two photo rows may share a file (the same picture sent twice).
A key still named by a photo that is not removed is never returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from litestar.exceptions import HTTPException
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.evidence.models import Photo
from backend.evidence.service import original_key, photo_key
from backend.i18n import lazy_gettext as _l
from backend.storage import PhotoStore, StorageError

REASONS = frozenset({"retention", "erasure"})
_CHUNK = 500  # ids per IN (...) list: well under both engines' parameter limits


class PhotoRemoved(HTTPException):
    """Asked for a photo whose files were removed on purpose: 410 with a plain reason, never a 500."""

    status_code = 410

    def __init__(self, reason: str | None) -> None:
        if reason == "erasure":
            detail = _l("Photo removed: it was deleted when this person's data was erased.")
        else:
            detail = _l("Photo removed (retention): it was kept for the set time and then deleted.")
        super().__init__(detail=str(detail))


def photo_keys(photo: Photo) -> list[str]:
    """The storage keys of every copy of one photo: display, thumbnail and (if kept) the original."""
    keys = [photo_key(photo.display_sha256), photo_key(photo.thumb_sha256)]
    if photo.original_kept:
        keys.append(original_key(photo.received_sha256))
    return keys


def live() -> ColumnElement[bool]:
    """Photos whose files are kept (not removed by retention or erasure)."""
    return Photo.removed_at.is_(None)


async def _still_named(db: AsyncSession, photos: Sequence[Photo]) -> set[str]:
    """Keys among these photos' files that a live photo (outside this batch) still names."""
    ids = [p.id for p in photos]
    digests = {p.display_sha256 for p in photos} | {p.thumb_sha256 for p in photos}
    originals = {p.received_sha256 for p in photos if p.original_kept}
    named: set[str] = set()
    digest_list = sorted(digests | originals)
    for start in range(0, len(digest_list), _CHUNK):
        chunk = digest_list[start : start + _CHUNK]
        columns = (Photo.display_sha256, Photo.thumb_sha256, Photo.received_sha256, Photo.original_kept)
        rows = await db.execute(
            select(*columns).where(
                live(),
                Photo.id.not_in(ids),
                or_(
                    Photo.display_sha256.in_(chunk),
                    Photo.thumb_sha256.in_(chunk),
                    and_(Photo.received_sha256.in_(chunk), Photo.original_kept.is_(True)),
                ),
            )
        )
        for display, thumb, received, kept in rows:
            named.add(photo_key(display))
            named.add(photo_key(thumb))
            if kept:
                named.add(original_key(received))
    return named


async def mark_photos_removed(
    db: AsyncSession, photo_ids: Iterable[int], *, actor: Actor | None, reason: str, now: datetime
) -> list[str]:
    """Mark these photos removed (once: an already removed photo is left as it is), audit each as
    `photo.removed` with the reason code, and return the storage keys of their copies that no live photo
    still names, for `delete_stored` after the caller commits. Nothing is deleted here."""
    if reason not in REASONS:
        raise ValueError(f"unknown removal reason: {reason!r}")
    wanted = sorted(set(photo_ids))
    photos: list[Photo] = []
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        photos.extend(
            (await db.scalars(select(Photo).where(Photo.id.in_(chunk), live()).order_by(Photo.id))).all()
        )
    if not photos:
        return []
    for photo in photos:
        photo.removed_at = now
        photo.removed_reason = reason
    await db.flush()
    await audit.record_many(db, [(actor, "photo.removed", photo, {"reason": reason}) for photo in photos])
    keep = await _still_named(db, photos)
    keys: list[str] = []
    for photo in photos:
        for key in photo_keys(photo):
            if key not in keep and key not in keys:
                keys.append(key)
    return keys


async def delete_stored(store: PhotoStore, keys: Iterable[str]) -> list[str]:
    """Delete these files; return the keys that could not be deleted (left for `carelog gc-photos`)."""
    failed: list[str] = []
    for key in keys:
        try:
            await store.delete(key)
        except StorageError:
            failed.append(key)
    return failed
