"""Views of a photo are audited once per viewer, photo and day, not once per request. On both databases."""

from __future__ import annotations

from datetime import timedelta

from backend import clock
from backend.db import Database
from tests import personas
from tests.conftest import ClientAs, World, chosen_today
from tests.data.corpus import oriented_jpeg
from tests.functional.photos_support import api_put, audit_actions


async def _mother_uploads(client_as: ClientAs, world: World) -> int:
    mother = await client_as(personas.CARING_MOTHER)
    response = await api_put(mother, oriented_jpeg(6), person_id=world.person_id("xiaoyu"))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_five_views_in_a_day_make_one_audit_event_and_the_next_day_a_second(
    client_as: ClientAs, world: World, database: Database
) -> None:
    photo_id = await _mother_uploads(client_as, world)
    worker = await client_as(personas.SOCIAL_WORKER)
    for variant in ("thumb", "display", "display", "thumb", "display"):
        assert (await worker.get(f"/photos/{photo_id}/{variant}")).status_code == 200
    (event,) = await audit_actions(database, "photo.viewed")
    assert event.actor_id == world.user_id(personas.SOCIAL_WORKER) and event.subject_id == str(photo_id)

    # another viewer the same day has her own event
    staff = await client_as(personas.STAFF)
    assert (await staff.get(f"/photos/{photo_id}/display")).status_code == 200
    assert len(await audit_actions(database, "photo.viewed")) == 2

    clock.pretend_today(chosen_today() + timedelta(days=1))
    try:
        worker = await client_as(personas.SOCIAL_WORKER)  # a fresh sign-in: workers' sessions idle out
        for _ in range(3):
            assert (await worker.get(f"/photos/{photo_id}/display")).status_code == 200
    finally:
        clock.pretend_today(chosen_today())
    events = await audit_actions(database, "photo.viewed")
    assert [e.actor_id for e in events].count(world.user_id(personas.SOCIAL_WORKER)) == 2
    assert len(events) == 3


async def test_the_uploaders_own_views_are_still_not_audited(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    response = await api_put(mother, oriented_jpeg(6), person_id=world.person_id("xiaoyu"))
    photo_id = response.json()["id"]
    for _ in range(3):
        assert (await mother.get(f"/photos/{photo_id}/thumb")).status_code == 200
    assert await audit_actions(database, "photo.viewed") == []
