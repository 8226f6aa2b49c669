"""person_service.do_create_people (the import's batch path), on both databases: the same people and the
same audit events as do_create_person, the same refusals, and nothing written when one row is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from backend.audit import AuditEvent, verify_chain
from backend.db import Database
from backend.errors import Refused
from backend.people.models import Person, PersonKind
from backend.people.names import name_initials
from backend.people.person_service import (
    NewPerson,
    PersonFields,
    do_create_people,
    do_create_person,
    do_update_person,
)
from backend.people.service import do_close_area
from tests import factories
from tests.conftest import World


async def test_people_created_in_a_batch_match_those_created_one_by_one(
    database: Database, world: World
) -> None:
    async with database.transaction() as db:
        _, street, community = await factories.make_district(db)
        programme = await factories.make_programme(db, street)
        actor = await factories.make_user(db)
        single = await do_create_person(
            db,
            programme=programme,
            area=community,
            kind=PersonKind.GUARDIAN,
            display_name=" 王 芳 ",
            birth_year=1980,
            reference="S1",
            note=" 电话 ",
            actor=actor,
        )
        guardians = await do_create_people(
            db,
            [
                NewPerson(
                    community, PersonKind.GUARDIAN, PersonFields(" 王 芳 ", 1980, None, "B1", " 电话 ")
                ),
                NewPerson(street, PersonKind.GUARDIAN, PersonFields("李丽", None, None, "B2", None)),
            ],
            programme=programme,
            actor=actor,
        )
        children = await do_create_people(
            db,
            [NewPerson(community, PersonKind.CHILD, PersonFields("小明", 2015, guardians[0], "B3"))],
            programme=programme,
            actor=actor,
        )
        # The returned people are in the session: a later write in the same transaction sticks.
        await do_update_person(db, guardians[1], PersonFields("李丽丽", None, None, "B2"), actor=actor)
        ids = [single.id, *(p.id for p in guardians + children)]
    async with database.transaction(read_only=True) as db:
        people = {p.reference: p for p in await db.scalars(select(Person).where(Person.id.in_(ids)))}
        events = {
            e.subject_id: e
            for e in await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "person.created", AuditEvent.subject_id.in_([str(i) for i in ids])
                )
            )
        }
        report = await verify_chain(db)
    one, batch = people["S1"], people["B1"]
    columns = ("programme_id", "area_id", "kind", "display_name", "name_initials", "birth_year", "note")
    assert [getattr(batch, c) for c in columns] == [getattr(one, c) for c in columns]
    assert batch.created_by_id == one.created_by_id == actor.id and batch.guardian_id is None
    assert people["B3"].guardian_id == batch.id and people["B3"].kind is PersonKind.CHILD
    assert people["B2"].display_name == "李丽丽" and people["B2"].name_initials == name_initials("李丽丽")
    assert events[str(batch.id)].change == events[str(one.id)].change
    assert events[str(batch.id)].actor_id == actor.id
    assert events[str(people["B3"].id)].change == {
        "kind": "child",
        "programme_id": programme.id,
        "area_id": community.id,
    }
    assert report.first_bad_id is None


@pytest.mark.parametrize(
    ("rows", "field", "status"),
    [
        ([("B1", "王芳"), ("B1", "李丽")], "reference", 409),
        ([("B1", "王芳"), ("TAKEN", "李丽")], "reference", 409),
        ([("B1", "王芳"), ("B2", "  ")], "display_name", 422),
    ],
)
async def test_one_refused_row_refuses_the_batch_and_writes_nothing(
    database: Database, world: World, rows: list[tuple[str, str]], field: str, status: int
) -> None:
    async with database.transaction() as db:
        _, street, community = await factories.make_district(db)
        programme = await factories.make_programme(db, street)
        await do_create_person(
            db,
            programme=programme,
            area=community,
            kind=PersonKind.RESIDENT,
            display_name="已有",
            reference="TAKEN",
            actor=None,
        )
    async with database.transaction(read_only=True) as db:
        before = (
            await db.scalar(select(func.count(Person.id))),
            await db.scalar(select(func.count(AuditEvent.id))),
        )
    with pytest.raises(Refused) as refused:
        async with database.transaction() as db:
            await do_create_people(
                db,
                [
                    NewPerson(community, PersonKind.RESIDENT, PersonFields(name, 1950, None, ref))
                    for ref, name in rows
                ],
                programme=programme,
                actor=None,
            )
    assert (refused.value.field, refused.value.status_code) == (field, status)
    async with database.transaction(read_only=True) as db:
        after = (
            await db.scalar(select(func.count(Person.id))),
            await db.scalar(select(func.count(AuditEvent.id))),
        )
    assert after == before


async def test_a_closed_area_refuses_the_batch(database: Database, world: World) -> None:
    async with database.transaction() as db:
        _, street, community = await factories.make_district(db)
        programme = await factories.make_programme(db, street)
        await do_close_area(db, community, actor=await factories.make_user(db))
    with pytest.raises(Refused) as refused:
        async with database.transaction() as db:
            await do_create_people(
                db,
                [NewPerson(community, PersonKind.RESIDENT, PersonFields("王芳", 1950, None, "R1"))],
                programme=programme,
                actor=None,
            )
    assert refused.value.field == "area_id"
