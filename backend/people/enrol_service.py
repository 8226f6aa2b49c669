"""Adding a person from the worker's form: a resident, a guardian, or a child with her guardian (chosen
or new), referral and consent, and optionally the photo of the signed consent paper.

One call owns the photo and the write transaction. When a paper photo comes with the form, the whole
write is first tried and rolled back (the same service functions, so the same refusals); only then is
the photo received, and the real write attaches it. A refused form therefore leaves no photo row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.auth.principal import Principal
from backend.clock import local_today
from backend.errors import Refused
from backend.evidence.intake import PhotoIntake
from backend.evidence.models import Photo
from backend.i18n import gettext as _
from backend.people.models import Area, Person, PersonKind, Programme
from backend.people.person_service import do_create_person
from backend.people.policy import visible_people
from backend.visits.profile_service import ChildIntake, do_record_child_profile


@dataclass(frozen=True, slots=True)
class NewPerson:
    programme_id: int
    area_id: int
    kind: PersonKind
    display_name: str
    birth_year: int | None
    reference: str | None
    note: str | None
    guardian_id: int | None = None
    guardian_name: str | None = None
    child: ChildIntake | None = None
    photo: bytes = b""
    client_uuid: uuid.UUID | None = None


class _TriedOnly(Exception):
    """Raised to roll back the trial write."""


async def _guardian(
    db: AsyncSession, user: Principal, new: NewPerson, programme: Programme, area: Area
) -> Person | None:
    if new.guardian_id is not None:
        guardian = await db.scalar(select(Person).where(Person.id == new.guardian_id, visible_people(user)))
        if (
            guardian is None
            or guardian.kind is not PersonKind.GUARDIAN
            or guardian.programme_id != programme.id
        ):
            raise Refused(_("Choose a guardian of this programme."), field="guardian", status_code=422)
        return guardian
    if new.guardian_name:
        try:
            return await do_create_person(
                db,
                programme=programme,
                area=area,
                kind=PersonKind.GUARDIAN,
                display_name=new.guardian_name,
                actor=user,
            )
        except Refused as exc:
            raise Refused(exc.detail, field="guardian_name", status_code=exc.status_code) from None
    return None


async def _write(db: AsyncSession, user: Principal, new: NewPerson, photo_id: int | None) -> Person:
    programme = await db.get_one(Programme, new.programme_id)
    area = await db.get_one(Area, new.area_id)
    guardian = await _guardian(db, user, new, programme, area) if new.kind is PersonKind.CHILD else None
    person = await do_create_person(
        db,
        programme=programme,
        area=area,
        kind=new.kind,
        display_name=new.display_name,
        birth_year=new.birth_year,
        guardian=guardian,
        reference=new.reference,
        note=new.note,
        actor=user,
    )
    if new.child is not None:
        await do_record_child_profile(db, person, new.child, actor=user, today=local_today(programme))
    if photo_id is not None:
        await _attach_paper(db, photo_id, person, actor=user)
    return person


async def _attach_paper(db: AsyncSession, photo_id: int, child: Person, *, actor: Principal) -> None:
    photo = await db.get_one(Photo, photo_id)
    if photo.subject_person_id not in (None, child.id) or photo.uploaded_by_id != actor.id:
        raise Refused(
            _("This photo was already sent with another record."), field="consent_photo", status_code=409
        )
    photo.subject_person_id, photo.programme_id, photo.area_id = child.id, child.programme_id, child.area_id
    await audit.record(
        db, actor=actor, action="person.consent_paper_attached", subject=child, change={"photo_id": photo.id}
    )


async def do_add_person(intake: PhotoIntake, new: NewPerson, *, user: Principal) -> Person:
    """Add the person (and a new guardian, the child's record, the paper photo) or refuse with a field."""
    photo_id = None
    if new.photo and new.kind is PersonKind.CHILD:
        try:
            async with intake.database.transaction() as db:
                await _write(db, user, new, None)
                raise _TriedOnly()
        except _TriedOnly:
            pass
        received = await intake.receive(
            new.photo,
            actor=user,
            client_uuid=new.client_uuid or uuid.uuid4(),
            person=None,
            field="consent_photo",
        )
        photo_id = received.entry.id
    async with intake.database.transaction() as db:
        return await _write(db, user, new, photo_id)
