"""People's data rights (PIPL): who may export or erase whom, and what an erasure would do.

Only staff of the person's programme (or an administrator) exercise these rights for someone. A person
or user the actor cannot see at all is a 404 (the usual loaders); one she can see but is not staff
for (a social worker, a caring mother, a neighbour) is a 403. A user with memberships in several
programmes needs staff of every one of them: one programme may not erase what another still holds.

`erasure_plan` is the dry run: what would go, what stays, and why the erasure is refused (if it is).
people/erasure.py applies it; people/export.py writes the export.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import AuditEvent
from backend.auth.principal import Principal
from backend.cases.erasure import case_texts_going, contact_photos_of, open_case_refusal
from backend.errors import Forbidden
from backend.evidence.models import Photo
from backend.evidence.removal import photo_keys
from backend.i18n import lazy_gettext as _l
from backend.meals.models import Agreement, AgreementStatus, CheckIn
from backend.people import admin_policy
from backend.people.models import Membership, Person, User
from backend.people.policy import get_person_for
from backend.settlement.models import LedgerLine, SettlementPeriod
from backend.visits.models import ExitRequest, Pairing, PairingStatus, Visit

# What an erased person or user is called from then on: the id only, never anything she told us.
PSEUDONYM = "已删除-{id}"
# What staff type to confirm an erasure (either word; the page shows the Chinese one first).
CONFIRM_WORDS = ("删除", "erase")


def reference_sha256(reference: str) -> str:
    """How an erased 编号 is kept as a tombstone: its hash, never the number (it may be an ID number)."""
    return hashlib.sha256(reference.strip().encode()).hexdigest()


def may_exercise_for_person(user: Principal, person: Person) -> bool:
    return admin_policy.is_staff_of(user, person.programme_id)


def may_exercise_for_user(user: Principal, target: User) -> bool:
    if user.is_admin:
        return True
    return bool(target.memberships) and all(
        admin_policy.is_staff_of(user, m.programme_id) for m in target.memberships
    )


async def get_person_for_rights(db: AsyncSession, user: Principal, person_id: int) -> Person:
    person = await get_person_for(db, user, person_id)  # 404 for whom she cannot see
    if not may_exercise_for_person(user, person):
        raise Forbidden()
    return person


async def get_user_for_rights(db: AsyncSession, user: Principal, user_id: int) -> User:
    target = await admin_policy.get_user_for(db, user, user_id)  # 404 for whom she does not manage
    if not may_exercise_for_user(user, target):
        raise Forbidden()
    return target


@dataclass
class ErasurePlan:
    """The dry run: counts of what goes and what stays, and the reasons it is refused (if any)."""

    refusals: list[str] = field(default_factory=list)
    photo_ids: list[int] = field(default_factory=list)
    file_count: int = 0
    goes: list[tuple[str, int]] = field(default_factory=list)  # (label, count)
    stays: list[tuple[str, int]] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.refusals


async def _count(db: AsyncSession, model: type, *where: ColumnElement[bool]) -> int:
    return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def person_photos(person_id: int) -> ColumnElement[bool]:
    """The photos an erasure of this person removes: those of her (subject), and the signed papers of
    her meal agreements (they carry her name and signature)."""
    papers = select(Agreement.resident_confirmation_photo_id).where(
        Agreement.resident_id == person_id, Agreement.resident_confirmation_photo_id.is_not(None)
    )
    return or_(
        Photo.subject_person_id == person_id, Photo.id.in_(papers), Photo.id.in_(contact_photos_of(person_id))
    )


async def closed_month_checkin_ids(db: AsyncSession, person_id: int) -> set[int]:
    """Ids of her check-ins whose month is closed (read per month in Python: the engines name the first
    day of a month differently in SQL)."""
    closed = {
        (programme_id, month)
        for programme_id, month in await db.execute(
            select(SettlementPeriod.programme_id, SettlementPeriod.month).where(
                SettlementPeriod.closed_at.is_not(None)
            )
        )
    }
    rows = await db.execute(
        select(CheckIn.id, CheckIn.programme_id, CheckIn.day).where(CheckIn.resident_id == person_id)
    )
    return {cid for cid, programme_id, day in rows if (programme_id, day.replace(day=1)) in closed}


async def person_audit_subjects(db: AsyncSession, person: Person) -> ColumnElement[bool]:
    """Audit events about this person: her own row and her pairings, visits, agreements, check-ins and
    photos."""
    subjects: dict[str, list[str]] = {"person": [str(person.id)]}
    for table, ids in (
        ("pairing", select(Pairing.id).where(Pairing.child_id == person.id)),
        ("visit", select(Visit.id).where(Visit.child_id == person.id)),
        ("meal_agreement", select(Agreement.id).where(Agreement.resident_id == person.id)),
        ("meal_checkin", select(CheckIn.id).where(CheckIn.resident_id == person.id)),
        ("photo", select(Photo.id).where(person_photos(person.id))),
    ):
        found = [str(i) for i in await db.scalars(ids)]
        if found:
            subjects[table] = found
    return or_(
        *(
            (AuditEvent.subject_type == table) & AuditEvent.subject_id.in_(ids)
            for table, ids in subjects.items()
        )
    )


async def erasure_plan_for_person(db: AsyncSession, person: Person) -> ErasurePlan:
    plan = ErasurePlan()
    if person.erased_at is not None:
        plan.refusals.append(str(_l("This person's data has already been erased.")))
        return plan
    if person.ended_at is None:
        plan.refusals.append(
            str(_l("Only someone whose participation has ended can be erased: end the participation first."))
        )
    if await _count(db, Pairing, Pairing.child_id == person.id, Pairing.status == PairingStatus.ACTIVE):
        plan.refusals.append(str(_l("This child still has an active caring-mother pairing: end it first.")))
    if await _count(
        db, Agreement, Agreement.resident_id == person.id, Agreement.status == AgreementStatus.ACTIVE
    ):
        plan.refusals.append(str(_l("This resident still has an active meal agreement: end it first.")))
    open_case = await open_case_refusal(db, person.id)
    if open_case is not None:
        plan.refusals.append(open_case)
    photos = list(await db.scalars(select(Photo).where(person_photos(person.id), Photo.removed_at.is_(None))))
    plan.photo_ids = [p.id for p in photos]
    plan.file_count = len({key for p in photos for key in photo_keys(p)})
    closed = await closed_month_checkin_ids(db, person.id)
    checkins = await _count(db, CheckIn, CheckIn.resident_id == person.id)
    pairings = select(Pairing.id).where(Pairing.child_id == person.id)
    plan.goes = [
        (str(_l("Name, year of birth, note and 编号 (replaced by a pseudonym; the 编号 is blocked)")), 1),
        (str(_l("Photos (every copy of each file)")), len(photos)),
        (str(_l("Notes of visits about this person")), await _count(db, Visit, Visit.child_id == person.id)),
        (str(_l("Notes of meal check-ins in open months")), checkins - len(closed)),
        (
            str(_l("Notes of requests to end a pairing")),
            await _count(db, ExitRequest, ExitRequest.pairing_id.in_(pairings)),
        ),
        *await case_texts_going(db, person.id),
    ]
    agreements = select(Agreement.id).where(Agreement.resident_id == person.id)
    plan.stays = [
        (str(_l("Meal check-ins with their dishes, dates and statuses")), checkins),
        (str(_l("Meal check-ins of closed months, unchanged (a closed month never changes)")), len(closed)),
        (
            str(_l("Ledger lines and their amounts")),
            await _count(db, LedgerLine, LedgerLine.agreement_id.in_(agreements)),
        ),
        (str(_l("Photo hashes on statements")), len(photos)),
        (
            str(_l("Audit events (ids and actions only)")),
            await _count(db, AuditEvent, await person_audit_subjects(db, person)),
        ),
    ]
    return plan


async def erasure_plan_for_user(db: AsyncSession, actor_id: int, target: User) -> ErasurePlan:
    plan = ErasurePlan()
    if target.erased_at is not None:
        plan.refusals.append(str(_l("This account's data has already been erased.")))
        return plan
    if target.id == actor_id or target.is_admin:
        plan.refusals.append(str(_l("You cannot erase your own account or an administrator's.")))
    if await _count(db, Membership, Membership.user_id == target.id, Membership.ended_at.is_(None)):
        plan.refusals.append(str(_l("She still has an active role: end every role first.")))
    if await _count(db, Pairing, Pairing.mother_id == target.id, Pairing.status == PairingStatus.ACTIVE):
        plan.refusals.append(str(_l("She is still paired with a child: end the pairing first.")))
    if await _count(
        db, Agreement, Agreement.neighbour_id == target.id, Agreement.status == AgreementStatus.ACTIVE
    ):
        plan.refusals.append(str(_l("She still cooks under an active meal agreement: end it first.")))
    plan.goes = [
        (str(_l("Name, login name and 编号 (replaced by a pseudonym; the 编号 is blocked)")), 1),
        (str(_l("Skills and location of her caring-mother profile")), 1),
        (str(_l("Sign-in: sessions ended, passkeys and unused cards revoked")), 1),
    ]
    plan.stays = [
        (str(_l("Visits she logged")), await _count(db, Visit, Visit.mother_id == target.id)),
        (str(_l("Meal check-ins she sent")), await _count(db, CheckIn, CheckIn.neighbour_id == target.id)),
        (str(_l("Photos she sent (they are about the people served)")), 0),
        (
            str(_l("Audit events (ids and actions only)")),
            await _count(
                db,
                AuditEvent,
                or_(
                    AuditEvent.actor_id == target.id,
                    (AuditEvent.subject_type == "user_account") & (AuditEvent.subject_id == str(target.id)),
                ),
            ),
        ),
    ]
    plan.stays[2] = (plan.stays[2][0], await _count(db, Photo, Photo.uploaded_by_id == target.id))
    return plan
