"""Shared setup for the data-rights tests: a resident of the demo meal programme with a reference, an
agreement from last month, photos uploaded through the real form (so their files are in the store) and
check-ins carrying them."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backend.db import Database
from backend.evidence.models import Photo
from backend.meals.models import Agreement, CheckIn, CheckInStatus, Signatory
from backend.meals.service import (
    do_confirm_as_neighbour,
    do_create_agreement,
    do_record_resident_confirmation,
)
from backend.people.models import Person, PersonKind, Programme, User
from backend.people.person_service import do_create_person
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional import meals_support, settlement_support
from tests.functional.photos_support import form_upload

NAME = "甄可删"  # a name found nowhere else in the world, to search every table for
REFERENCE = "ERASE-0001"


@dataclass
class Resident:
    person_id: int
    agreement_id: int
    photo_ids: list[int]
    checkin_ids: list[int]
    month: date


async def upload_photo(browser: httpx.AsyncClient, database: Database, person_id: int, seed: int) -> Photo:
    response = await form_upload(browser, person_id, meals_support.meal_jpeg(seed))
    assert response.status_code in (200, 303), response.text[:500]
    async with database.transaction(read_only=True) as db:
        photo = await db.scalar(select(Photo).order_by(Photo.id.desc()).limit(1))
    assert photo is not None and photo.subject_person_id == person_id
    return photo


async def make_resident(
    database: Database, world: World, client_as: ClientAs, *, checkins: int = 2
) -> Resident:
    """A resident with an agreement from last month and `checkins` approved lunches of last month, each
    with a photo sent through the upload form."""
    month = settlement_support.last_month()
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.cast.programmes["meals"].id)
        resident = await do_create_person(
            db,
            programme=programme,
            area=world.cast.areas["guiyuan"],
            kind=PersonKind.RESIDENT,
            display_name=NAME,
            birth_year=1948,
            reference=REFERENCE,
            note="住三楼，钥匙在门垫下",
            actor=None,
        )
        neighbour = await db.get_one(User, world.user_id(personas.NEIGHBOUR))
        worker = await db.get_one(User, world.user_id(personas.SOCIAL_WORKER))
        agreement = await do_create_agreement(
            db,
            programme=programme,
            resident=resident,
            neighbour=neighbour,
            social_worker=worker,
            starts_on=month,
            actor=worker,
        )
        await do_confirm_as_neighbour(db, agreement, actor=neighbour)
        await do_record_resident_confirmation(
            db, agreement, signatory=Signatory.RESIDENT, paper_photo=None, actor=worker
        )
        person_id, agreement_id = resident.id, agreement.id
    loaded = await meals_support.agreement_of(database, person_id)
    browser = await client_as(personas.NEIGHBOUR)
    photos, made = [], []
    for n in range(checkins):
        photo = await upload_photo(browser, database, person_id, seed=900 + n)
        checkin = await meals_support.make_checkin(
            database, loaded, month + timedelta(days=n), seed=900 + n, photo=photo
        )
        await settlement_support.review(
            database, checkin.id, CheckInStatus.APPROVED, world.user_id(personas.SOCIAL_WORKER)
        )
        photos.append(photo.id)
        made.append(checkin.id)
    return Resident(person_id, agreement_id, photos, made, month)


async def load_agreement(database: Database, agreement_id: int) -> Agreement:
    async with database.transaction(read_only=True) as db:
        agreement = await db.scalar(
            select(Agreement)
            .where(Agreement.id == agreement_id)
            .options(
                selectinload(Agreement.programme),
                selectinload(Agreement.resident),
                selectinload(Agreement.neighbour),
            )
        )
    assert agreement is not None
    return agreement


async def checkin_count(database: Database, person_id: int) -> int:
    async with database.transaction(read_only=True) as db:
        return int(
            await db.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.resident_id == person_id))
            or 0
        )


async def load_person(database: Database, person_id: int) -> Person:
    async with database.transaction(read_only=True) as db:
        return await db.get_one(Person, person_id)


async def post_form(browser: httpx.AsyncClient, url: str, **fields: str) -> httpx.Response:
    return await browser.post(url, data={"_csrf_token": await csrf_token(browser), **fields})


def open_zip(response: httpx.Response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(response.content))
