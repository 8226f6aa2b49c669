"""Agencies and the social workers placed with them: the programme's staff only; ending a worker's
placement ends her access to the agency's mothers' files."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.cases.demo import principal_of
from backend.db import Database
from backend.errors import NotFound
from backend.people.models import User
from backend.pillar import policy
from backend.pillar.models import Agency, AgencyRole, AgencyWorker
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.photos_support import audit_actions
from tests.functional.pillar.pillar_support import file_ids, post

MEMBERS = [
    personas.AGENCY_WORKER,
    personas.CADRE,
    personas.VOLUNTEER,
    personas.PILLAR_MOTHER,
]


async def _delivering(database: Database, world: World) -> Agency:
    async with database.transaction(read_only=True) as db:
        found = await db.scalar(
            select(Agency).where(
                Agency.programme_id == world.cast.programmes["pillar"].id,
                Agency.role == AgencyRole.DELIVERING,
            )
        )
    assert found is not None
    return found


async def _placement(database: Database, agency_id: int, user_id: int) -> AgencyWorker | None:
    async with database.transaction(read_only=True) as db:
        found: AgencyWorker | None = await db.scalar(
            select(AgencyWorker)
            .where(AgencyWorker.agency_id == agency_id, AgencyWorker.user_id == user_id)
            .order_by(AgencyWorker.id.desc())
        )
    return found


async def _sees_file(database: Database, world: World, handle: str, file_id: int) -> bool:
    async with database.transaction(read_only=True) as db:
        user = await principal_of(db, await db.get_one(User, world.user_id(handle)))
        try:
            await policy.get_file_for(db, user, file_id)
        except NotFound:
            return False
    return True


async def test_staff_adds_an_agency_and_a_duplicate_or_empty_name_is_refused(
    client_as: ClientAs, world: World, database: Database
) -> None:
    zhou = await client_as(personas.PILLAR_STAFF)
    pillar_id = world.cast.programmes["pillar"].id
    page = await zhou.get(f"/pillar/{pillar_id}/agencies")
    assert page.status_code == 200 and 'id="agency-add"' in page.text
    added = await post(
        zhou, f"/pillar/{pillar_id}/agencies", {"name": "启明社工服务社", "role": "delivering"}
    )
    assert added.status_code == 303, added.text[-2000:]
    again = await post(
        zhou, f"/pillar/{pillar_id}/agencies", {"name": "启明社工服务社", "role": "evaluating"}
    )
    assert again.status_code == 409 and 'id="name-error"' in again.text
    empty = await post(zhou, f"/pillar/{pillar_id}/agencies", {"name": " ", "role": "delivering"})
    assert empty.status_code == 400 and 'id="name-error"' in empty.text
    bad_role = await post(zhou, f"/pillar/{pillar_id}/agencies", {"name": "某机构", "role": "paying"})
    assert bad_role.status_code == 400 and 'id="role-error"' in bad_role.text
    async with database.transaction(read_only=True) as db:
        names = list(await db.scalars(select(Agency.name).where(Agency.programme_id == pillar_id)))
    assert names.count("启明社工服务社") == 1 and "某机构" not in names
    assert len(await audit_actions(database, "pillar.agency_added")) == 4  # the demo's three and this one


async def test_ending_a_placement_ends_the_workers_access_to_the_agencys_files(
    client_as: ClientAs, world: World, database: Database
) -> None:
    files = await file_ids(database, world)
    agency = await _delivering(database, world)
    xie = world.user_id(personas.AGENCY_WORKER)
    assert await _sees_file(database, world, personas.AGENCY_WORKER, files["huang"])
    row = await _placement(database, agency.id, xie)
    assert row is not None and row.ended_at is None
    zhou = await client_as(personas.PILLAR_STAFF)
    ended = await post(zhou, f"/pillar/agencies/{agency.id}/workers/{row.id}/end")
    assert ended.status_code == 303
    assert not await _sees_file(database, world, personas.AGENCY_WORKER, files["huang"])
    assert not await _sees_file(database, world, personas.AGENCY_WORKER, files["yang"])
    assert await _sees_file(database, world, personas.AGENCY_COLLEAGUE, files["huang"])  # 潘越 stays
    # Placed again: a new placement, and her access comes back.
    placed = await post(zhou, f"/pillar/agencies/{agency.id}/workers", {"user_id": str(xie)})
    assert placed.status_code == 303, placed.text[-2000:]
    again = await _placement(database, agency.id, xie)
    assert again is not None and again.id != row.id and again.ended_at is None
    assert await _sees_file(database, world, personas.AGENCY_WORKER, files["huang"])


async def test_only_the_programmes_social_workers_can_be_placed_with_a_delivering_agency(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agency = await _delivering(database, world)
    zhou = await client_as(personas.PILLAR_STAFF)
    for user_id in (str(world.user_id(personas.SOCIAL_WORKER)), str(world.user_id(personas.CADRE)), "x"):
        response = await post(zhou, f"/pillar/agencies/{agency.id}/workers", {"user_id": user_id})
        assert response.status_code == 400 and f'id="worker-{agency.id}-error"' in response.text
    assert await _placement(database, agency.id, world.user_id(personas.SOCIAL_WORKER)) is None


@pytest.mark.parametrize("handle", [*MEMBERS, personas.OUTSIDER, personas.SOCIAL_WORKER])
async def test_nobody_but_the_programmes_staff_reaches_the_agencies(
    client_as: ClientAs, world: World, database: Database, handle: str
) -> None:
    """Members of the programme get 403 on its page; agencies and placements are 404 to them."""
    pillar_id = world.cast.programmes["pillar"].id
    agency = await _delivering(database, world)
    row = await _placement(database, agency.id, world.user_id(personas.AGENCY_COLLEAGUE))
    assert row is not None
    browser = await client_as(handle)
    page_status = 403 if handle in MEMBERS else 404
    assert (await browser.get(f"/pillar/{pillar_id}/agencies")).status_code == page_status
    added = await post(browser, f"/pillar/{pillar_id}/agencies", {"name": "冒名机构", "role": "delivering"})
    assert added.status_code == page_status
    placed = await post(browser, f"/pillar/agencies/{agency.id}/workers", {"user_id": str(row.user_id)})
    assert placed.status_code == 404
    assert (await post(browser, f"/pillar/agencies/{agency.id}/workers/{row.id}/end")).status_code == 404
    still = await _placement(database, agency.id, row.user_id)
    assert still is not None and still.ended_at is None
