"""A pillar mother's file: screening her into the programme ("one person, one file"), keeping it up to
date (every change a new version or a new dated row, so the history stays), and her "1 + 3 + 1" group.

Screening writes, in one transaction: the mother as a person of the programme (kind guardian: she is
her children's guardian), her children, her case (cases/service.do_open_case: with a lead when a
worker screens her, `requested` otherwise), the file, profile version 1 and her needs per dimension.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.cases.models import Case, CaseDimension
from backend.cases.service import do_open_case, refuse_if_closed
from backend.db import utcnow
from backend.errors import Conflict, Refused
from backend.i18n import gettext as _
from backend.people.models import Area, Person, PersonKind, Programme, ProgrammeKind
from backend.people.person_service import do_create_person
from backend.pillar.models import (
    Agency,
    AgencyRole,
    Need,
    PillarFile,
    ProfileVersion,
    Qualification,
)


@dataclass(frozen=True)
class NeedDraft:
    dimension_id: int
    level: int
    text: str = ""


@dataclass(frozen=True)
class ChildDraft:
    display_name: str
    birth_year: int | None


@dataclass(frozen=True)
class ScreeningDraft:
    display_name: str
    birth_year: int | None
    area: Area
    qualification: Qualification
    qualification_note: str | None = None
    household_note: str = ""
    reference: str | None = None
    noted_on: date | None = None
    children: list[ChildDraft] = field(default_factory=list)
    needs: list[NeedDraft] = field(default_factory=list)
    agency: Agency | None = None
    contact_interval_days: int | None = None


def _check_qualification(qualification: Qualification, note: str | None) -> None:
    if qualification is Qualification.OTHER and not (note or "").strip():
        raise Refused(_("Say in a few words why she qualifies."), field="qualification_note", status_code=400)


async def _dimension(db: AsyncSession, programme_id: int, dimension_id: int) -> CaseDimension:
    dimension = await db.scalar(
        select(CaseDimension).where(
            CaseDimension.id == dimension_id,
            CaseDimension.programme_id == programme_id,
            CaseDimension.retired_at.is_(None),
        )
    )
    if dimension is None:
        raise Refused(_("Choose one of the programme's dimensions."), field="dimension_id", status_code=400)
    return dimension


async def do_screen_mother(
    db: AsyncSession,
    *,
    programme: Programme,
    draft: ScreeningDraft,
    actor: Actor,
    lead_worker_id: int | None = None,
    now: datetime | None = None,
) -> PillarFile:
    """Add a mother to the programme with her file. The caller checked that the actor may (staff, or a
    worker of the agency) and that the area is within her remit."""
    now = now or utcnow()
    if programme.kind is not ProgrammeKind.PILLAR_MOTHERS:
        raise Conflict(_("This is not a pillar-mother programme."))
    _check_qualification(draft.qualification, draft.qualification_note)
    if draft.agency is not None and (
        draft.agency.programme_id != programme.id or draft.agency.role is not AgencyRole.DELIVERING
    ):
        raise Refused(_("Choose a delivering agency of this programme."), field="agency_id", status_code=400)
    mother = await do_create_person(
        db,
        programme=programme,
        area=draft.area,
        kind=PersonKind.GUARDIAN,
        display_name=draft.display_name,
        birth_year=draft.birth_year,
        reference=draft.reference,
        actor=actor,
    )
    for child in draft.children:
        await do_create_person(
            db,
            programme=programme,
            area=draft.area,
            kind=PersonKind.CHILD,
            display_name=child.display_name,
            birth_year=child.birth_year,
            guardian=mother,
            actor=actor,
        )
    case = await do_open_case(
        db,
        programme=programme,
        area=draft.area,
        person=mother,
        lead_worker_id=lead_worker_id,
        actor=actor,
        now=now,
    )
    file = PillarFile(
        case_id=case.id,
        programme_id=programme.id,
        area_id=draft.area.id,
        agency_id=draft.agency.id if draft.agency is not None else None,
        created_by_id=actor.id if actor else None,
    )
    if draft.contact_interval_days is not None:
        file.contact_interval_days = draft.contact_interval_days
    db.add(file)
    await db.flush()
    db.add(
        ProfileVersion(
            file_id=file.id,
            version=1,
            qualification=draft.qualification,
            qualification_note=(draft.qualification_note or "").strip() or None,
            household_note=draft.household_note.strip(),
            recorded_at=now,
            recorded_by_id=actor.id if actor else None,
        )
    )
    noted_on = draft.noted_on or now.date()
    for need in draft.needs:
        await _dimension(db, programme.id, need.dimension_id)
        db.add(
            Need(
                file_id=file.id,
                dimension_id=need.dimension_id,
                noted_on=noted_on,
                level=need.level,
                text=need.text.strip(),
                recorded_at=now,
                recorded_by_id=actor.id if actor else None,
            )
        )
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pillar.file_opened",
        subject=file,
        change={
            "case": case.id,
            "qualification": draft.qualification.value,
            "children": len(draft.children),
            "needs": len(draft.needs),
            "agency": file.agency_id,
        },
    )
    return file


async def current_profile(db: AsyncSession, file_id: int) -> ProfileVersion:
    found = await db.scalar(
        select(ProfileVersion)
        .where(ProfileVersion.file_id == file_id)
        .order_by(ProfileVersion.version.desc())
        .limit(1)
    )
    assert found is not None, "every file has its first profile version"
    return found


async def do_update_profile(
    db: AsyncSession,
    file: PillarFile,
    *,
    qualification: Qualification,
    qualification_note: str | None,
    household_note: str,
    actor: Actor,
    now: datetime | None = None,
) -> ProfileVersion:
    """A new version of why she qualifies and of the household; the same words again change nothing."""
    now = now or utcnow()
    refuse_if_closed(await db.get_one(Case, file.case_id))
    _check_qualification(qualification, qualification_note)
    current = await current_profile(db, file.id)
    note = (qualification_note or "").strip() or None
    household = household_note.strip()
    if (current.qualification, current.qualification_note, current.household_note) == (
        qualification,
        note,
        household,
    ):
        return current
    version = ProfileVersion(
        file_id=file.id,
        version=current.version + 1,
        qualification=qualification,
        qualification_note=note,
        household_note=household,
        recorded_at=now,
        recorded_by_id=actor.id if actor else None,
    )
    db.add(version)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pillar.profile_updated",
        subject=file,
        change={
            "version": [current.version, version.version],
            "qualification": [current.qualification.value, qualification.value],
            "note_changed": current.qualification_note != note,
            "household_changed": current.household_note != household,
        },
    )
    return version


async def do_note_need(
    db: AsyncSession,
    file: PillarFile,
    need: NeedDraft,
    *,
    noted_on: date,
    actor: Actor,
    now: datetime | None = None,
) -> Need:
    """Her need on one dimension as of `noted_on`: a new row (the earlier ones stay as its history)."""
    now = now or utcnow()
    refuse_if_closed(await db.get_one(Case, file.case_id))
    await _dimension(db, file.programme_id, need.dimension_id)
    row = Need(
        file_id=file.id,
        dimension_id=need.dimension_id,
        noted_on=noted_on,
        level=need.level,
        text=need.text.strip(),
        recorded_at=now,
        recorded_by_id=actor.id if actor else None,
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pillar.need_noted",
        subject=file,
        change={"dimension": need.dimension_id, "level": need.level, "noted_on": noted_on.isoformat()},
    )
    return row


async def current_needs(db: AsyncSession, file_id: int) -> dict[int, Need]:
    """The latest need per dimension (by day noted, then by when recorded)."""
    rows = await db.scalars(
        select(Need).where(Need.file_id == file_id).order_by(Need.dimension_id, Need.noted_on, Need.id)
    )
    latest: dict[int, Need] = {}
    for row in rows:
        latest[row.dimension_id] = row
    return latest


async def children_of(db: AsyncSession, file: PillarFile) -> list[Person]:
    return list(
        await db.scalars(
            select(Person)
            .where(Person.guardian_id == file.case.person_id, Person.kind == PersonKind.CHILD)
            .order_by(Person.birth_year, Person.id)
        )
    )


async def do_add_child(
    db: AsyncSession,
    file: PillarFile,
    child: ChildDraft,
    *,
    actor: Actor,
) -> Person:
    """A child of hers not known at screening (or born since): a person of the programme in her area,
    with her as guardian. `file` was loaded with its case and the case's person."""
    refuse_if_closed(await db.get_one(Case, file.case_id))
    mother = await db.get_one(Person, file.case.person_id)
    programme = await db.get_one(Programme, file.programme_id)
    area = await db.get_one(Area, mother.area_id)
    person = await do_create_person(
        db,
        programme=programme,
        area=area,
        kind=PersonKind.CHILD,
        display_name=child.display_name,
        birth_year=child.birth_year,
        guardian=mother,
        actor=actor,
    )
    await audit.record(
        db,
        actor=actor,
        action="pillar.child_added",
        subject=file,
        change={"child": person.id, "birth_year": child.birth_year},
    )
    return person
