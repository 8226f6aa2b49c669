"""The people pages for the pillar-mother programme: its agency workers see the mothers of their own
agency's files and those mothers' children, not every person of their areas; a placement that ends
takes that away (the day before she could, the day after she cannot)."""

from __future__ import annotations

from sqlalchemy import select, update

from backend.cases.models import Case
from backend.db import Database, utcnow
from backend.people.models import Person
from backend.pillar.models import AgencyWorker, PillarFile
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.pillar.pillar_support import file_ids


async def _mother_and_children(database: Database, file_id: int) -> tuple[int, list[int]]:
    async with database.transaction(read_only=True) as db:
        mother = await db.scalar(
            select(Case.person_id)
            .join(PillarFile, PillarFile.case_id == Case.id)
            .where(PillarFile.id == file_id)
        )
        assert mother is not None
        children = list(await db.scalars(select(Person.id).where(Person.guardian_id == mother)))
    return mother, children


async def test_agency_worker_sees_her_agencys_mothers_and_their_children(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    mother, children = await _mother_and_children(database, files["huang"])
    worker = await client_as(personas.AGENCY_WORKER)
    for person_id in (mother, *children):
        assert (await worker.get(f"/people/{person_id}")).status_code == 200


async def test_a_programme_worker_of_no_agency_sees_no_mother(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    mother, children = await _mother_and_children(database, files["yang"])
    async with database.transaction() as db:
        await db.execute(
            update(AgencyWorker)
            .where(AgencyWorker.user_id == world.user_id(personas.AGENCY_COLLEAGUE))
            .values(ended_at=utcnow())
        )
    colleague = await client_as(personas.AGENCY_COLLEAGUE)
    for person_id in (mother, *children):
        assert (await colleague.get(f"/people/{person_id}")).status_code == 404
    # Her colleague still placed with the agency sees them.
    worker = await client_as(personas.AGENCY_WORKER)
    assert (await worker.get(f"/people/{mother}")).status_code == 200


async def test_a_volunteer_sees_no_person_page(client_as: ClientAs, world: World, database: Database) -> None:
    files = await file_ids(database, world)
    mother, _children = await _mother_and_children(database, files["huang"])
    volunteer = await client_as(personas.VOLUNTEER)
    assert (await volunteer.get(f"/people/{mother}")).status_code == 404
