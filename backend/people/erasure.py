"""The erasure right: a person or user whose participation has ended, erased on staff's request.

One transaction changes the rows: the person becomes a pseudonym (`已删除-<id>`, no birth year, no
note, no 编号; the 编号 is tombstoned by its hash so an import refuses it), the free text written about
her is cleared (visit notes and review notes, notes of requests to end a pairing, review notes of
check-ins in open months), and her photos are marked removed (evidence/removal.py) with every hash
kept. Ids, dates, dishes, statuses, ledger lines and the audit chain stay: statements still total
the same and `carelog verify-audit` still verifies. A closed month never changes, so check-ins of
closed months keep their review notes (reviewers write reasons, not names; the dry run says so).

Files are deleted only after the commit (`delete_after_commit`, a response background task): if the
commit fails, nothing is lost. A delete that fails is left for `carelog gc-photos`, which removes files
no live photo names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth.models import Passkey, Session, SignInCode
from backend.cases.erasure import clear_case_texts
from backend.db import Database
from backend.errors import Refused
from backend.evidence.models import Photo
from backend.evidence.removal import delete_stored, mark_photos_removed
from backend.i18n import lazy_gettext as _l
from backend.meals.models import CheckIn
from backend.people.import_models import ImportPlan
from backend.people.models import ErasedReference, Person, User, UserReference
from backend.people.rights_service import (
    CONFIRM_WORDS,
    PSEUDONYM,
    closed_month_checkin_ids,
    erasure_plan_for_person,
    erasure_plan_for_user,
    reference_sha256,
)
from backend.storage import PhotoStore
from backend.visits.models import ChildProfile, ExitRequest, MotherProfile, Pairing, Visit


def check_confirmation(typed: str) -> None:
    if typed.strip().lower() not in CONFIRM_WORDS:
        raise Refused(_l("Type 删除 to confirm the erasure."), field="confirm", status_code=400)


async def _tombstone(db: AsyncSession, programme_id: int, reference: str | None) -> None:
    if not reference or not reference.strip():
        return
    digest = reference_sha256(reference)
    exists = await db.scalar(
        select(ErasedReference.id).where(
            ErasedReference.programme_id == programme_id, ErasedReference.reference_sha256 == digest
        )
    )
    if exists is None:
        db.add(ErasedReference(programme_id=programme_id, reference_sha256=digest))


async def _drop_pending_plans(db: AsyncSession, programme_ids: Sequence[int], words: Sequence[str]) -> int:
    """Uncommitted import plans (kept a day, holding names) that mention her are deleted."""
    wanted = {w for w in words if w}
    if not wanted or not programme_ids:
        return 0
    plans = await db.scalars(
        select(ImportPlan).where(
            ImportPlan.programme_id.in_(programme_ids), ImportPlan.committed_at.is_(None)
        )
    )
    dropped = 0
    for plan in plans:
        cells = {str(v) for _line, row in plan.rows for v in dict(row).values()}
        if cells & wanted:
            await db.delete(plan)
            dropped += 1
    return dropped


async def do_erase_person(
    db: AsyncSession, person: Person, *, confirm: str, actor: Actor, now: datetime
) -> list[str]:
    """Erase the person; returns the storage keys to delete once the transaction has committed."""
    check_confirmation(confirm)
    plan = await erasure_plan_for_person(db, person)
    if not plan.allowed:
        raise Refused(" ".join(plan.refusals), field="confirm", status_code=409)
    keys = await mark_photos_removed(db, plan.photo_ids, actor=actor, reason="erasure", now=now)
    await _tombstone(db, person.programme_id, person.reference)
    await _drop_pending_plans(db, [person.programme_id], [person.reference or "", person.display_name])
    person.display_name = PSEUDONYM.format(id=person.id)
    person.name_initials = ""
    person.birth_year = None
    person.note = None
    person.reference = None
    person.erased_at = now
    await db.execute(
        update(ChildProfile).where(ChildProfile.person_id == person.id).values(latitude=None, longitude=None)
    )
    await db.execute(update(Visit).where(Visit.child_id == person.id).values(note="", review_note=None))
    await clear_case_texts(db, person.id)
    pairings = select(Pairing.id).where(Pairing.child_id == person.id)
    await db.execute(
        update(ExitRequest)
        .where(ExitRequest.pairing_id.in_(pairings))
        .values(
            request_note="",
            investigation_note=None,
            decision_note=None,
        )
    )
    closed = await closed_month_checkin_ids(db, person.id)
    open_ids = [
        cid
        for cid in await db.scalars(
            select(CheckIn.id).where(CheckIn.resident_id == person.id, CheckIn.note.is_not(None))
        )
        if cid not in closed
    ]
    if open_ids:
        await db.execute(update(CheckIn).where(CheckIn.id.in_(open_ids)).values(note=None))
    await audit.record(
        db,
        actor=actor,
        action="person.erased",
        subject=person,
        change={"photos": len(plan.photo_ids), "files": len(keys)},
    )
    return keys


async def do_erase_user(db: AsyncSession, target: User, *, confirm: str, actor: Actor, now: datetime) -> None:
    """Erase a user whose every role has ended; nothing of what she sent is deleted."""
    check_confirmation(confirm)
    plan = await erasure_plan_for_user(db, actor.id, target)
    if not plan.allowed:
        raise Refused(" ".join(plan.refusals), field="confirm", status_code=409)
    references = list(await db.scalars(select(UserReference).where(UserReference.user_id == target.id)))
    for ref in references:
        await _tombstone(db, ref.programme_id, ref.reference)
    await _drop_pending_plans(
        db,
        sorted({r.programme_id for r in references}),
        [*(r.reference for r in references), target.display_name],
    )
    await db.execute(delete(UserReference).where(UserReference.user_id == target.id))
    target.display_name = PSEUDONYM.format(id=target.id)
    target.name_initials = ""
    target.handle = f"erased-{target.id}"
    target.is_active = False
    target.webauthn_handle = None
    target.erased_at = now
    await db.execute(
        update(MotherProfile)
        .where(MotherProfile.user_id == target.id)
        .values(skills="", latitude=None, longitude=None)
    )
    await db.execute(
        update(Session)
        .where(Session.user_id == target.id, Session.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await db.execute(update(Passkey).where(Passkey.user_id == target.id).values(name=""))
    await db.execute(
        update(Passkey)
        .where(Passkey.user_id == target.id, Passkey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await db.execute(
        update(SignInCode)
        .where(SignInCode.user_id == target.id, SignInCode.used_at.is_(None))
        .values(used_at=now)
    )
    await audit.record(
        db, actor=actor, action="user.erased", subject=target, change={"references": len(references)}
    )


async def delete_after_commit(
    database: Database, store: PhotoStore, photo_ids: Sequence[int], keys: Sequence[str]
) -> None:
    """Run after the response (so after the commit): delete the files only if the rows really are
    marked removed, i.e. the erasure committed. Failures are left for `carelog gc-photos`."""
    if not keys:
        return
    async with database.transaction(read_only=True) as db:
        removed = await db.scalar(
            select(func.count())
            .select_from(Photo)
            .where(Photo.id.in_(photo_ids), Photo.removed_at.is_not(None))
        )
    if removed != len(set(photo_ids)):
        return
    await delete_stored(store, keys)
