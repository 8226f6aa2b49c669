"""Issue 19: a neighbour sees the photos of her own agreement only; the signed paper is for workers.

Each test first shows what a neighbour could reach the day before (THREATS.md), then changes the
relationship and asks again.
"""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.db import Database
from backend.evidence.models import Photo
from backend.meals.models import Agreement
from backend.meals.service import do_create_agreement, do_end_agreement
from backend.people.models import User
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.meals_support import (
    agreement_of,
    at,
    make_checkin,
    meal_jpeg,
    put_photo,
    shanghai_today,
)

RESIDENT = "qian"  # 钱老伯: demo-neighbour-zhao cooks for him


async def _thumb(browser: httpx.AsyncClient, photo_id: int) -> int:
    return (await browser.get(f"/photos/{photo_id}/thumb")).status_code


async def _uploaded(database: Database, browser: httpx.AsyncClient, person_id: int, seed: int) -> Photo:
    """A photo sent as the phone sends it (stored, so serving it is a real answer)."""
    client_uuid = await put_photo(browser, meal_jpeg(seed, at(shanghai_today(), 11, 55)), person_id)
    async with database.transaction(read_only=True) as db:
        photo = await db.scalar(select(Photo).where(Photo.client_uuid == client_uuid))
    assert photo is not None
    return photo


async def _meal_photo(database: Database, zhao: httpx.AsyncClient, agreement: Agreement, *, seed: int) -> int:
    """Zhao's lunch today, checked in with its photo; returns the photo's id."""
    photo = await _uploaded(database, zhao, agreement.resident_id, seed)
    await make_checkin(database, agreement, shanghai_today(), seed=seed, photo=photo)
    return photo.id


async def _next_neighbour_takes_over(database: Database, world: World) -> Agreement:
    """Zhao's agreement ends today; Sun (who cooks for 郑奶奶) starts one with 钱老伯 tomorrow."""
    current = await agreement_of(database, world.person_id(RESIDENT))
    async with database.transaction() as db:
        agreement = await db.scalar(
            select(Agreement)
            .where(Agreement.id == current.id)
            .options(selectinload(Agreement.resident), selectinload(Agreement.programme))
        )
        assert agreement is not None
        worker = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
        await do_end_agreement(db, agreement, ends_on=shanghai_today(), actor=worker)
        return await do_create_agreement(
            db,
            programme=agreement.programme,
            resident=agreement.resident,
            neighbour=await db.get_one(User, world.user_id(personas.OTHER_NEIGHBOUR)),
            social_worker=worker,
            starts_on=shanghai_today(),
            actor=worker,
        )


async def test_next_neighbour_does_not_see_the_earlier_neighbours_meal_photos(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await agreement_of(database, world.person_id(RESIDENT))
    zhao = await client_as(personas.NEIGHBOUR)
    photo_id = await _meal_photo(database, zhao, agreement, seed=31)
    sun = await client_as(personas.OTHER_NEIGHBOUR)
    assert await _thumb(zhao, photo_id) == 200
    assert await _thumb(sun, photo_id) == 404
    await _next_neighbour_takes_over(database, world)
    # Sun now cooks for 钱老伯 and sees him, but not what Zhao photographed before her.
    assert (await sun.get(f"/people/{world.person_id(RESIDENT)}")).status_code == 200
    assert await _thumb(sun, photo_id) == 404
    assert (await sun.get(f"/photos/{photo_id}/display")).status_code == 404
    # Her own photo of him, sent for her first meal, she sees.
    own_uuid = await put_photo(sun, meal_jpeg(32), world.person_id(RESIDENT))
    async with database.transaction(read_only=True) as db:
        own_id = await db.scalar(select(Photo.id).where(Photo.client_uuid == own_uuid))
    assert own_id is not None and await _thumb(sun, own_id) == 200
    # The workers still see both.
    worker = await client_as(personas.SOCIAL_WORKER)
    assert await _thumb(worker, photo_id) == 200 and await _thumb(worker, own_id) == 200


async def test_signed_paper_of_an_agreement_is_for_social_workers_and_staff_only(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await agreement_of(database, world.person_id(RESIDENT))
    worker = await client_as(personas.SOCIAL_WORKER)
    paper = await _uploaded(database, worker, world.person_id(RESIDENT), 41)
    async with database.transaction() as db:
        # As do_record_resident_confirmation stores it (the demo's confirmation was given without one).
        (await db.get_one(Agreement, agreement.id)).resident_confirmation_photo_id = paper.id
    zhao = await client_as(personas.NEIGHBOUR)
    assert await _thumb(zhao, paper.id) == 404
    assert (await zhao.get(f"/photos/{paper.id}/display")).status_code == 404
    page = await zhao.get(f"/meals/agreements/{agreement.id}")
    assert page.status_code == 200 and f"/photos/{paper.id}/" not in page.text
    for handle in (personas.SOCIAL_WORKER, personas.STAFF):
        browser = await client_as(handle)
        assert await _thumb(browser, paper.id) == 200, handle
        shown = await browser.get(f"/meals/agreements/{agreement.id}")
        assert f"/photos/{paper.id}/thumb" in shown.text, handle


async def test_neighbour_does_not_see_photos_of_a_resident_after_her_agreement_ends(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await agreement_of(database, world.person_id(RESIDENT))
    zhao = await client_as(personas.NEIGHBOUR)
    photo_id = await _meal_photo(database, zhao, agreement, seed=51)
    assert await _thumb(zhao, photo_id) == 200
    await _next_neighbour_takes_over(database, world)
    assert await _thumb(zhao, photo_id) == 404
    assert (await zhao.get(f"/people/{world.person_id(RESIDENT)}")).status_code == 404
