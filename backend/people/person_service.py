"""Writes about the people served (children, residents, guardians). Each do_* records its audit event
with ids and categories only: the trail outlives the retention of personal data, so it holds no names.

A person belongs to one programme and lives in one area of it. `reference` is the scheme's own number
(编号), unique within the programme, by which a spreadsheet import finds her again. A person is never
deleted here: her participation ends, with a reason, and she stays in history, statements and reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from backend import audit
from backend.audit import Actor
from backend.db import utcnow
from backend.errors import Refused
from backend.i18n import lazy_gettext as _l
from backend.people.models import Area, EndReason, Person, PersonKind, Programme
from backend.people.names import name_initials, normalize_name

MAX_REFERENCE = 64
MAX_NOTE = 500


def _refused(message: object, field: str, status_code: int = 422) -> Refused:
    return Refused(message, field=field, status_code=status_code)


@dataclass(frozen=True, slots=True)
class PersonFields:
    """What a worker (or a spreadsheet row) says about a person; checked by check()."""

    display_name: str
    birth_year: int | None = None
    guardian: Person | None = None
    reference: str | None = None
    note: str | None = None

    def cleaned(self, kind: PersonKind, *, this_year: int) -> PersonFields:
        name = normalize_name(self.display_name)
        if not name:
            raise _refused(_l("Enter the person's name."), "display_name")
        if self.birth_year is not None and not (1900 <= self.birth_year <= this_year):
            raise _refused(_l("Enter a birth year between 1900 and this year."), "birth_year")
        if kind is PersonKind.CHILD and self.guardian is None:
            raise _refused(_l("A child needs a guardian: choose one or add a new one."), "guardian")
        if self.guardian is not None and self.guardian.kind is not PersonKind.GUARDIAN:
            raise _refused(_l("Choose a guardian."), "guardian")
        reference = (self.reference or "").strip() or None
        if reference is not None and len(reference) > MAX_REFERENCE:
            raise _refused(
                _l("The reference may have at most %(count)s characters.") % {"count": MAX_REFERENCE},
                "reference",
            )
        note = (self.note or "").strip() or None
        if note is not None and len(note) > MAX_NOTE:
            raise _refused(
                _l("The note may have at most %(count)s characters.") % {"count": MAX_NOTE}, "note"
            )
        return PersonFields(name, self.birth_year, self.guardian, reference, note)


async def _refuse_taken_reference(
    db: AsyncSession, programme_id: int, reference: str | None, *, but: int | None
) -> None:
    if reference is None:
        return
    taken = select(Person.id).where(Person.programme_id == programme_id, Person.reference == reference)
    if but is not None:
        taken = taken.where(Person.id != but)
    if await db.scalar(taken.limit(1)) is not None:
        raise _refused(_l("Another person of this programme already has this reference."), "reference", 409)


def _check_area(programme: Programme, area: Area, anchor: Area) -> None:
    if not area.path.startswith(anchor.path):
        raise _refused(_l("Choose an area of this programme."), "area_id")
    if area.closed_at is not None:
        raise _refused(_l("This area is closed: nothing new can be added under it."), "area_id", 409)


def same_person(programme_id: int, name: str, birth_year: int | None, area_id: int) -> ColumnElement[bool]:
    """Someone already registered with this name, birth year and community: perhaps the same person."""
    return and_(
        Person.programme_id == programme_id,
        Person.display_name == normalize_name(name),
        Person.area_id == area_id,
        Person.birth_year.is_(None) if birth_year is None else Person.birth_year == birth_year,
    )


async def possible_duplicates(
    db: AsyncSession,
    programme_id: int,
    name: str,
    birth_year: int | None,
    area_id: int,
    *,
    but: int | None = None,
) -> list[Person]:
    query = select(Person).where(same_person(programme_id, name, birth_year, area_id))
    if but is not None:
        query = query.where(Person.id != but)
    return list(await db.scalars(query.order_by(Person.id).limit(5)))


async def do_create_person(
    db: AsyncSession,
    *,
    programme: Programme,
    area: Area,
    kind: PersonKind,
    display_name: str,
    birth_year: int | None = None,
    guardian: Person | None = None,
    reference: str | None = None,
    note: str | None = None,
    actor: Actor | None,
) -> Person:
    fields = PersonFields(display_name, birth_year, guardian, reference, note).cleaned(
        kind, this_year=utcnow().year
    )
    anchor = await db.get_one(Area, programme.area_id)
    _check_area(programme, area, anchor)
    await _refuse_taken_reference(db, programme.id, fields.reference, but=None)
    person = Person(
        programme_id=programme.id,
        area_id=area.id,
        kind=kind,
        display_name=fields.display_name,
        name_initials=name_initials(fields.display_name),
        birth_year=fields.birth_year,
        guardian_id=fields.guardian.id if fields.guardian else None,
        reference=fields.reference,
        note=fields.note,
        created_by_id=actor.id if actor else None,
    )
    db.add(person)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="person.created",
        subject=person,
        change={"kind": kind.value, "programme_id": programme.id, "area_id": area.id},
    )
    return person


@dataclass(frozen=True, slots=True)
class NewPerson:
    """One person for do_create_people: what do_create_person takes, row by row."""

    area: Area
    kind: PersonKind
    fields: PersonFields


async def do_create_people(
    db: AsyncSession, rows: Sequence[NewPerson], *, programme: Programme, actor: Actor | None
) -> list[Person]:
    """do_create_person for many people at once (the spreadsheet import): the same checks and the same
    audit event per person, but one query for the references, one executemany for the people and one
    append to the audit chain. All or nothing: any refused row refuses the whole batch."""
    if not rows:
        return []
    this_year = utcnow().year
    anchor = await db.get_one(Area, programme.area_id)
    cleaned = []
    seen: set[str] = set()
    for row in rows:
        fields = row.fields.cleaned(row.kind, this_year=this_year)
        _check_area(programme, row.area, anchor)
        if fields.reference is not None:
            if fields.reference in seen:
                raise _refused(
                    _l("Another person of this programme already has this reference."), "reference", 409
                )
            seen.add(fields.reference)
        cleaned.append(fields)
    if seen:
        taken = select(Person.id).where(Person.programme_id == programme.id, Person.reference.in_(seen))
        if await db.scalar(taken.limit(1)) is not None:
            raise _refused(
                _l("Another person of this programme already has this reference."), "reference", 409
            )
    created_at = utcnow()
    values: list[dict[str, Any]] = [
        {
            "programme_id": programme.id,
            "area_id": row.area.id,
            "kind": row.kind,
            "display_name": fields.display_name,
            "name_initials": name_initials(fields.display_name),
            "birth_year": fields.birth_year,
            "guardian_id": fields.guardian.id if fields.guardian else None,
            "reference": fields.reference,
            "note": fields.note,
            "created_by_id": actor.id if actor else None,
            "created_at": created_at,
            "ended_at": None,
            "end_reason": None,
        }
        for row, fields in zip(rows, cleaned, strict=True)
    ]
    table = Person.metadata.tables["person"]
    if len(seen) == len(values):
        # Every row has its reference (unique in the programme): match the ids by it, which lets
        # SQLite batch the insert too (it cannot promise RETURNING's order, so an ordered
        # RETURNING would go row by row there).
        returned = await db.execute(insert(table).returning(table.c.id, table.c.reference), values)
        id_of = {reference: person_id for person_id, reference in returned}
        ids = [id_of[value["reference"]] for value in values]
    else:
        returned = await db.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), values)
        ids = list(returned.scalars())
    # Into the session as if loaded by a query (without one), so later writes may change them. Built as
    # a query builds them, state first and values in place: Person(**value) costs as much as the insert.
    manager = inspect(Person).class_manager
    people = []
    for person_id, value in zip(ids, values, strict=True):
        person = manager.new_instance()
        person.__dict__.update(value, id=person_id)
        make_transient_to_detached(person)
        db.add(person)
        people.append(person)
    await audit.record_many(
        db,
        [
            (
                actor,
                "person.created",
                person,
                {"kind": person.kind.value, "programme_id": programme.id, "area_id": person.area_id},
            )
            for person in people
        ],
    )
    return people


async def do_update_person(
    db: AsyncSession, person: Person, fields: PersonFields, *, actor: Actor
) -> list[str]:
    """Change what the fields say; returns the names of the fields that changed (audited, not values)."""
    fields = fields.cleaned(person.kind, this_year=utcnow().year)
    await _refuse_taken_reference(db, person.programme_id, fields.reference, but=person.id)
    new = {
        "display_name": fields.display_name,
        "birth_year": fields.birth_year,
        "guardian_id": fields.guardian.id if fields.guardian else None,
        "reference": fields.reference,
        "note": fields.note,
    }
    if person.kind is not PersonKind.CHILD and fields.guardian is None:
        new["guardian_id"] = person.guardian_id
    changed = [key for key, value in new.items() if getattr(person, key) != value]
    if not changed:
        return []
    for key in changed:
        setattr(person, key, new[key])
    person.name_initials = name_initials(person.display_name)
    await audit.record(db, actor=actor, action="person.updated", subject=person, change={"fields": changed})
    return changed


async def do_move_person(db: AsyncSession, person: Person, area: Area, *, actor: Actor) -> Person:
    """To another area of her programme (the worker's remit is checked by the caller's policy)."""
    if area.id == person.area_id:
        return person
    programme = await db.get_one(Programme, person.programme_id)
    _check_area(programme, area, await db.get_one(Area, programme.area_id))
    before = person.area_id
    person.area_id = area.id
    await audit.record(
        db, actor=actor, action="person.moved", subject=person, change={"area_id": [before, area.id]}
    )
    return person


async def do_end_person(db: AsyncSession, person: Person, reason: EndReason, *, actor: Actor) -> Person:
    if person.ended_at is not None:
        raise _refused(_l("This person's participation has already ended."), "reason", 409)
    person.ended_at, person.end_reason = utcnow(), reason
    await audit.record(
        db, actor=actor, action="person.ended", subject=person, change={"reason": reason.value}
    )
    return person


async def do_resume_person(db: AsyncSession, person: Person, *, actor: Actor) -> Person:
    if person.ended_at is None:
        return person
    person.ended_at, person.end_reason = None, None
    await audit.record(db, actor=actor, action="person.resumed", subject=person)
    return person
