"""The access right: everything Carelog holds about one person or user, as a ZIP.

`person.json` (or `user.json`) holds the record; the display copies of a person's photos are beside it
as `photos/<sha256>.jpg`, named by the hash the JSON gives, so anyone can check a file against it.
Memory stays bounded: the ZIP is written into a SpooledTemporaryFile (on disk past SPOOL_BYTES), one
photo at a time, in a worker thread; the response then streams the file in chunks.
Coordinates of homes are never exported (visits/models.py); secrets (session tokens, code hashes,
passkeys' keys) are not either, only their dates.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import AsyncIterator, Sequence
from typing import IO, Any

import anyio.to_thread
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import AuditEvent
from backend.auth.models import Passkey, Session, SignInCode
from backend.cases.export import case_documents
from backend.evidence.models import Photo
from backend.evidence.service import photo_key, read_verified
from backend.meals.models import Agreement, CheckIn, CheckInFlag, CheckInPhoto
from backend.people.models import Membership, Person, User, UserReference
from backend.people.rights_service import person_audit_subjects, person_photos
from backend.settlement.models import LedgerLine
from backend.storage import PhotoStore
from backend.visits.models import ChildProfile, ExitRequest, MotherProfile, Pairing, Visit, VisitPhoto

SPOOL_BYTES = 8 * 1024 * 1024
CHUNK = 64 * 1024
FORMAT = "carelog-export-1"


def _row(obj: Any, *names: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        out[name] = value.value if hasattr(value, "value") and not isinstance(value, int) else value
    return out


async def _photo_links(db: AsyncSession, link: Any, owner: Any, ids: Sequence[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    if ids:
        for owner_id, photo_id in await db.execute(
            select(owner, link.photo_id).where(owner.in_(ids)).order_by(owner, link.position)
        ):
            found.setdefault(owner_id, []).append(photo_id)
    return found


def _photo_entry(photo: Photo) -> dict[str, Any]:
    entry = _row(
        photo,
        "id",
        "uploaded_by_id",
        "subject_person_id",
        "created_at",
        "captured_at",
        "capture_source",
        "received_sha256",
        "received_bytes",
        "received_format",
        "display_sha256",
        "display_width",
        "display_height",
        "thumb_sha256",
        "removed_at",
        "removed_reason",
    )
    entry["file"] = None if photo.removed_at is not None else f"photos/{photo.display_sha256}.jpg"
    return entry


async def _audit(db: AsyncSession, condition: ColumnElement[bool]) -> list[dict[str, Any]]:
    rows = await db.scalars(select(AuditEvent).where(condition).order_by(AuditEvent.id))
    return [_row(e, "id", "at", "action", "actor_id", "subject_type", "subject_id") for e in rows]


async def person_document(db: AsyncSession, person: Person) -> tuple[dict[str, Any], list[Photo]]:
    """The JSON document of a person and the photos whose display copies go beside it."""
    doc: dict[str, Any] = {"format": FORMAT, "kind": "person"}
    doc["person"] = _row(
        person,
        "id",
        "kind",
        "display_name",
        "birth_year",
        "reference",
        "note",
        "programme_id",
        "area_id",
        "created_at",
        "ended_at",
        "end_reason",
        "erased_at",
    )
    doc["person"]["programme"] = person.programme.name
    doc["person"]["area"] = person.area.name
    guardian = await db.get(Person, person.guardian_id) if person.guardian_id else None
    doc["guardian"] = _row(guardian, "id", "display_name", "reference") if guardian else None
    doc["wards"] = list(await db.scalars(select(Person.id).where(Person.guardian_id == person.id)))
    profile = await db.get(ChildProfile, person.id)
    doc["child_profile"] = (
        _row(profile, "referral_source", "needs", "consent_by_id", "consent_on", "consent_method")
        if profile
        else None
    )
    pairings = list(
        await db.scalars(select(Pairing).where(Pairing.child_id == person.id).order_by(Pairing.id))
    )
    doc["pairings"] = [
        _row(p, "id", "mother_id", "status", "started_at", "ended_at", "visit_interval_days")
        for p in pairings
    ]
    exits = await db.scalars(
        select(ExitRequest)
        .where(ExitRequest.pairing_id.in_([p.id for p in pairings]))
        .order_by(ExitRequest.id)
    )
    doc["pairing_exits"] = [
        _row(
            e,
            "id",
            "pairing_id",
            "status",
            "request_note",
            "requested_at",
            "investigation_note",
            "investigated_at",
            "decision_note",
            "decided_at",
        )
        for e in exits
    ]
    visits = list(await db.scalars(select(Visit).where(Visit.child_id == person.id).order_by(Visit.id)))
    visit_photos = await _photo_links(db, VisitPhoto, VisitPhoto.visit_id, [v.id for v in visits])
    doc["visits"] = [
        {
            **_row(
                v,
                "id",
                "pairing_id",
                "mother_id",
                "visited_at",
                "duration_minutes",
                "need_areas",
                "checklist",
                "note",
                "submitted_at",
                "version",
                "replaces_id",
                "superseded_at",
                "status",
                "reason",
                "review_note",
                "reviewed_by_id",
                "reviewed_at",
            ),
            "photo_ids": visit_photos.get(v.id, []),
        }
        for v in visits
    ]
    agreements = list(
        await db.scalars(select(Agreement).where(Agreement.resident_id == person.id).order_by(Agreement.id))
    )
    doc["meal_agreements"] = [
        _row(
            a,
            "id",
            "neighbour_id",
            "social_worker_id",
            "rate_fen",
            "monthly_cap_fen",
            "serves_lunch",
            "serves_dinner",
            "starts_on",
            "ends_on",
            "status",
            "neighbour_confirmed_at",
            "resident_confirmed_at",
            "resident_signatory",
            "resident_confirmation_photo_id",
            "ended_at",
        )
        for a in agreements
    ]
    checkins = list(
        await db.scalars(select(CheckIn).where(CheckIn.resident_id == person.id).order_by(CheckIn.id))
    )
    checkin_photos = await _photo_links(db, CheckInPhoto, CheckInPhoto.checkin_id, [c.id for c in checkins])
    flags: dict[int, list[str]] = {}
    if checkins:
        for checkin_id, code in await db.execute(
            select(CheckInFlag.checkin_id, CheckInFlag.code).where(
                CheckInFlag.checkin_id.in_([c.id for c in checkins])
            )
        ):
            flags.setdefault(checkin_id, []).append(code.value)
    doc["meal_checkins"] = [
        {
            **_row(
                c,
                "id",
                "agreement_id",
                "neighbour_id",
                "day",
                "slot",
                "dishes",
                "planned_dishes",
                "submitted_at",
                "replaces_id",
                "superseded_at",
                "status",
                "reason",
                "note",
                "reviewed_by_id",
                "reviewed_at",
            ),
            "flags": sorted(flags.get(c.id, [])),
            "photo_ids": checkin_photos.get(c.id, []),
        }
        for c in checkins
    ]
    lines = await db.scalars(
        select(LedgerLine)
        .where(LedgerLine.agreement_id.in_([a.id for a in agreements]))
        .order_by(LedgerLine.id)
    )
    doc["ledger_lines"] = [
        _row(line, "id", "agreement_id", "month", "kind", "meal_count", "amount_fen", "reason", "created_at")
        for line in lines
    ]
    linked = {pid for ids in (*visit_photos.values(), *checkin_photos.values()) for pid in ids}
    photos = list(
        await db.scalars(
            select(Photo).where(or_(person_photos(person.id), Photo.id.in_(linked))).order_by(Photo.id)
        )
    )
    doc["cases"] = await case_documents(db, person.id)
    doc["photos"] = [_photo_entry(p) for p in photos]
    doc["audit_events"] = await _audit(db, await person_audit_subjects(db, person))
    return doc, [p for p in photos if p.removed_at is None]


async def user_document(db: AsyncSession, target: User) -> dict[str, Any]:
    """The JSON document of a user: her account, roles, what she sent, and her sign-in history."""
    doc: dict[str, Any] = {"format": FORMAT, "kind": "user"}
    doc["user"] = _row(
        target, "id", "handle", "display_name", "locale", "is_active", "created_at", "erased_at"
    )
    memberships = await db.scalars(
        select(Membership).where(Membership.user_id == target.id).order_by(Membership.id)
    )
    doc["memberships"] = [
        _row(m, "id", "programme_id", "area_id", "role", "created_at", "ended_at") for m in memberships
    ]
    references = await db.scalars(select(UserReference).where(UserReference.user_id == target.id))
    doc["references"] = [_row(r, "programme_id", "reference") for r in references]
    profiles = await db.scalars(select(MotherProfile).where(MotherProfile.user_id == target.id))
    doc["mother_profiles"] = [_row(p, "programme_id", "offers", "skills", "capacity") for p in profiles]
    pairings = await db.scalars(select(Pairing).where(Pairing.mother_id == target.id).order_by(Pairing.id))
    doc["pairings"] = [_row(p, "id", "child_id", "status", "started_at", "ended_at") for p in pairings]
    visits = await db.scalars(select(Visit).where(Visit.mother_id == target.id).order_by(Visit.id))
    doc["visits_sent"] = [
        _row(v, "id", "child_id", "visited_at", "duration_minutes", "note", "submitted_at", "status")
        for v in visits
    ]
    agreements = await db.scalars(
        select(Agreement).where(Agreement.neighbour_id == target.id).order_by(Agreement.id)
    )
    doc["meal_agreements"] = [
        _row(a, "id", "resident_id", "starts_on", "ends_on", "status", "neighbour_confirmed_at")
        for a in agreements
    ]
    checkins = await db.scalars(select(CheckIn).where(CheckIn.neighbour_id == target.id).order_by(CheckIn.id))
    doc["meal_checkins_sent"] = [
        _row(c, "id", "agreement_id", "resident_id", "day", "slot", "dishes", "submitted_at", "status")
        for c in checkins
    ]
    photos = await db.scalars(select(Photo).where(Photo.uploaded_by_id == target.id).order_by(Photo.id))
    doc["photos_sent"] = [
        {k: v for k, v in _photo_entry(p).items() if k != "file"} for p in photos
    ]  # files are about the people served: in their own exports
    sessions = await db.scalars(select(Session).where(Session.user_id == target.id).order_by(Session.id))
    doc["sessions"] = [
        _row(s, "method", "created_at", "last_seen_at", "expires_at", "revoked_at") for s in sessions
    ]
    cards = await db.scalars(
        select(SignInCode).where(SignInCode.user_id == target.id).order_by(SignInCode.id)
    )
    doc["cards_received"] = [_row(c, "issued_by_id", "created_at", "expires_at", "used_at") for c in cards]
    issued = await db.scalars(
        select(SignInCode).where(SignInCode.issued_by_id == target.id).order_by(SignInCode.id)
    )
    doc["cards_issued"] = [_row(c, "user_id", "created_at", "expires_at", "used_at") for c in issued]
    passkeys = await db.scalars(select(Passkey).where(Passkey.user_id == target.id).order_by(Passkey.id))
    doc["passkeys"] = [_row(k, "name", "created_at", "last_used_at", "revoked_at") for k in passkeys]
    doc["audit_events"] = await _audit(
        db,
        or_(
            AuditEvent.actor_id == target.id,
            (AuditEvent.subject_type == "user_account") & (AuditEvent.subject_id == str(target.id)),
        ),
    )
    return doc


def _dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=2, default=str).encode()


async def build_zip(store: PhotoStore, name: str, doc: dict[str, Any], photos: Sequence[Photo]) -> IO[bytes]:
    """The ZIP in a spooled temporary file, rewound; photos are read one at a time and written in a
    worker thread. A photo whose file is missing or altered is listed in the JSON as missing."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (returned)
    archive = zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED)
    try:
        missing: list[int] = []
        written: set[str] = set()
        for photo in photos:
            member = f"photos/{photo.display_sha256}.jpg"
            if member in written:
                continue
            data = await read_verified(store, photo_key(photo.display_sha256), photo.display_sha256)
            if data is None:
                missing.append(photo.id)
                continue
            # JPEGs are compressed already: stored as they are.
            await anyio.to_thread.run_sync(archive.writestr, member, data, zipfile.ZIP_STORED)
            written.add(member)
        doc["photos_missing_in_store"] = missing
        await anyio.to_thread.run_sync(archive.writestr, name, _dumps(doc))
        await anyio.to_thread.run_sync(archive.close)
    except BaseException:
        archive.close()
        spool.close()
        raise
    spool.seek(0)
    return spool


async def stream_file(spool: IO[bytes]) -> AsyncIterator[bytes]:
    """The spooled file in chunks (read in a worker thread), closed at the end."""
    try:
        while chunk := await anyio.to_thread.run_sync(spool.read, CHUNK):
            yield chunk
    finally:
        spool.close()
