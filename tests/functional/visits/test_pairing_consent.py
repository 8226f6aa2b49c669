"""Issue 19: a child under 14 is paired only once the guardian's consent is recorded (service and DB)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from backend import clock
from backend.db import Database
from backend.people.models import Person, User
from backend.visits.matching_service import do_confirm_pairing
from backend.visits.models import Pairing, PairingStatus
from backend.visits.service import VisitRefused
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional.photos_support import audit_actions

ROOM = "demo-mother-zhang"  # two places, one taken: the only mother with room for 马小琪 (xiaoqi)


async def _child(db: object, world: World, key: str) -> Person:
    found = await db.scalar(  # type: ignore[attr-defined]
        select(Person)
        .where(Person.id == world.person_id(key))
        .options(selectinload(Person.area), selectinload(Person.programme))
    )
    assert found is not None
    return found


async def _active_pairing(database: Database, child_id: int) -> Pairing | None:
    async with database.transaction(read_only=True) as db:
        return await db.scalar(
            select(Pairing).where(Pairing.child_id == child_id, Pairing.status == PairingStatus.ACTIVE)
        )


async def test_social_worker_cannot_pair_a_child_under_14_without_the_guardians_consent(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    child_id = world.person_id("xiaoqi")  # born 2016
    page = await worker.get(f"/pairings/match/{child_id}")
    assert page.status_code == 200 and 'name="guardian_consent"' in page.text
    token = await csrf_token(worker)
    refused = await worker.post(
        f"/pairings/match/{child_id}", data={"_csrf_token": token, "mother_id": str(world.user_id(ROOM))}
    )
    assert refused.status_code == 400 and 'id="match-error"' in refused.text
    assert "consent" in refused.text
    assert await _active_pairing(database, child_id) is None
    assert await audit_actions(database, "pairing.matched") == []


async def test_pairing_with_the_guardians_consent_records_who_recorded_it_and_when(
    client_as: ClientAs, world: World, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    child_id = world.person_id("xiaoqi")
    answer = await worker.post(
        f"/pairings/match/{child_id}",
        data={
            "_csrf_token": await csrf_token(worker),
            "mother_id": str(world.user_id(ROOM)),
            "guardian_consent": "yes",
        },
    )
    assert answer.status_code == 303
    pairing = await _active_pairing(database, child_id)
    assert pairing is not None and pairing.child_under_14
    assert pairing.guardian_consent_by_id == world.user_id(personas.SOCIAL_WORKER)
    assert pairing.guardian_consent_at is not None
    assert abs((pairing.guardian_consent_at - clock.utcnow()).total_seconds()) < 60
    started = [e for e in await audit_actions(database, "pairing.started") if e.subject_id == str(pairing.id)]
    assert len(started) == 1
    assert started[0].change is not None
    assert started[0].change["guardian_consent"] is True and started[0].change["child_under_14"] is True
    # A fact, not a name: the guardian's name is nowhere in the event.
    assert "马奶奶" not in str(started[0].change)


async def test_service_refuses_a_child_under_14_without_consent_and_pairs_an_older_child_without(
    world: World, database: Database
) -> None:
    worker_id = world.user_id(personas.SOCIAL_WORKER)
    async with database.transaction() as db:
        child = await _child(db, world, "xiaoqi")
        with pytest.raises(VisitRefused) as refused:
            await do_confirm_pairing(db, child, world.user_id(ROOM), actor=await db.get_one(User, worker_id))
        assert refused.value.field == "guardian_consent"
    assert await _active_pairing(database, world.person_id("xiaoqi")) is None
    async with database.transaction() as db:
        child = await _child(db, world, "xiaoqi")
        child.birth_year = (
            clock.today_in(clock.REFERENCE_ZONE).year - 16
        )  # 15 or 16 years old: no consent asked
        await db.flush()
        pairing = await do_confirm_pairing(
            db, child, world.user_id(ROOM), actor=await db.get_one(User, worker_id)
        )
        assert not pairing.child_under_14 and pairing.guardian_consent_at is None


async def _insert_past_the_service(database: Database, world: World, **values: object) -> None:
    async with database.transaction() as db:
        child = await _child(db, world, "xiaoqi")
        await db.execute(
            insert(Pairing).values(
                programme_id=child.programme_id,
                child_id=child.id,
                mother_id=world.user_id(ROOM),
                status=PairingStatus.ACTIVE,
                **values,
            )
        )


async def test_database_refuses_a_pairing_of_a_child_under_14_without_consent(
    world: World, database: Database
) -> None:
    with pytest.raises(IntegrityError):
        await _insert_past_the_service(database, world, child_under_14=True)
    assert await _active_pairing(database, world.person_id("xiaoqi")) is None
    # With the consent recorded, the same row is accepted.
    await _insert_past_the_service(database, world, child_under_14=True, guardian_consent_at=clock.utcnow())
    assert await _active_pairing(database, world.person_id("xiaoqi")) is not None


async def test_demo_pairings_carry_the_guardians_consent(world: World, database: Database) -> None:
    async with database.transaction(read_only=True) as db:
        pairings = list(await db.scalars(select(Pairing)))
    assert pairings
    for pairing in pairings:
        assert pairing.child_under_14 and pairing.guardian_consent_at is not None
