"""Helpers shared by the meal-plan tests: photos of meals, check-ins made directly, and API calls."""

from __future__ import annotations

import io
import random
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backend import clock
from backend.db import Database
from backend.evidence.imaging import process_photo
from backend.evidence.models import CaptureSource, Photo
from backend.evidence.service import do_ingest_photo
from backend.meals.checkin_service import CheckInDraft, do_check_in
from backend.meals.models import Agreement, CheckIn, MealSlot, Signatory
from backend.meals.service import (
    do_confirm_as_neighbour,
    do_create_agreement,
    do_record_resident_confirmation,
)
from backend.people.models import Area, Person, Programme, Role, User
from backend.settlement.models import lock_period
from tests import factories
from tests.conftest import World, csrf_token

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai_today() -> date:
    return factories.today()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time on `day`, as an aware datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def meal_jpeg(seed: int, captured: datetime | None = None, size: tuple[int, int] = (480, 360)) -> bytes:
    """A plate of food unlike any other seed's, with its capture time in EXIF (camera-local) if given."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randint(120, 230), rng.randint(90, 200), rng.randint(40, 160)))
    draw = ImageDraw.Draw(image)
    for _ in range(9):
        x, y, r = rng.randint(0, size[0]), rng.randint(0, size[1]), rng.randint(20, 90)
        draw.ellipse(
            (x - r, y - r, x + r, y + r), fill=(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        )
    options: dict[str, Any] = {"quality": 85}
    if captured is not None:
        exif = Image.Exif()
        exif[0x8769] = {0x9003: captured.astimezone(SHANGHAI).strftime("%Y:%m:%d %H:%M:%S")}
        options["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


async def agreement_of(database: Database, resident_id: int) -> Agreement:
    async with database.transaction(read_only=True) as db:
        agreement = await db.scalar(
            select(Agreement)
            .where(Agreement.resident_id == resident_id)
            .options(selectinload(Agreement.programme), selectinload(Agreement.resident))
            .order_by(Agreement.id.desc())
            .limit(1)
        )
    assert agreement is not None
    return agreement


async def stored_photo(
    database: Database, *, uploader_id: int, person_id: int, seed: int, captured_at: datetime | None = None
) -> Photo:
    """A photo row made by the real pipeline (its files are not stored: enough for pages and flags)."""
    processed = process_photo(meal_jpeg(seed, captured_at), max_pixels=40_000_000)
    async with database.transaction() as db:
        uploader = await db.get_one(User, uploader_id)
        person = await db.get_one(Person, person_id)
        return await do_ingest_photo(
            db,
            processed,
            actor=uploader,
            client_uuid=uuid.uuid4(),
            person=person,
            captured_at=captured_at,
            capture_source=CaptureSource.EXIF if captured_at else CaptureSource.NONE,
            original_kept=False,
        )


async def make_checkin(
    database: Database,
    agreement: Agreement,
    day: date,
    *,
    seed: int,
    slot: MealSlot = MealSlot.LUNCH,
    dishes: tuple[str, ...] = ("米饭", "青菜"),
    captured_at: datetime | None = None,
    photo: Photo | None = None,
    now: datetime | None = None,
) -> CheckIn:
    """A check-in through do_check_in, sent by the agreement's neighbour on the day itself by default."""
    if photo is None:
        photo = await stored_photo(
            database,
            uploader_id=agreement.neighbour_id,
            person_id=agreement.resident_id,
            seed=seed,
            captured_at=captured_at or at(day, 11, 55),
        )
    async with database.transaction() as db:
        loaded = await db.scalar(
            select(Agreement).where(Agreement.id == agreement.id).options(selectinload(Agreement.programme))
        )
        assert loaded is not None
        neighbour = await db.get_one(User, agreement.neighbour_id)
        draft = CheckInDraft(agreement.id, slot, day, dishes, (photo.client_uuid,))
        return await do_check_in(
            db, loaded, draft, [photo], client_uuid=uuid.uuid4(), actor=neighbour, now=now or at(day, 12, 20)
        )


async def outsider_agreement(database: Database, world: World) -> Agreement:
    """A confirmed agreement in the other district's programme, overseen by the outsider social worker."""
    async with database.transaction() as db:
        programme = await db.get_one(Programme, world.outsider_programme_id)
        resident = await db.get_one(Person, world.outsider_resident_id)
        area = await db.get_one(Area, resident.area_id)
        neighbour = await factories.make_user(
            db, "outsider-neighbour", role=Role.NEIGHBOUR, programme=programme, area=area, name="远山邻居"
        )
        worker = await db.scalar(select(User).where(User.handle == "outsider-sw"))
        assert worker is not None
        agreement = await do_create_agreement(
            db,
            programme=programme,
            resident=resident,
            neighbour=neighbour,
            social_worker=worker,
            starts_on=shanghai_today() - timedelta(days=40),
            actor=worker,
        )
        await do_confirm_as_neighbour(db, agreement, actor=neighbour)
        await do_record_resident_confirmation(
            db, agreement, signatory=Signatory.RESIDENT, paper_photo=None, actor=worker
        )
    return agreement


async def close_month(database: Database, programme_id: int, day: date) -> None:
    """A closed period row for the day's month, without settling it (settlement's own tests close
    months through do_close_month)."""
    async with database.transaction() as db:
        period = await lock_period(db, programme_id, day, for_update=True)
        period.closed_at = clock.now_in(SHANGHAI)
        period.audit_head_hash = "0" * 64


async def checkin_count(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count(CheckIn.id))) or 0)


async def put_checkin(
    browser: httpx.AsyncClient, body: dict[str, Any], client_uuid: uuid.UUID | None = None
) -> httpx.Response:
    return await browser.put(
        f"/api/checkins/{client_uuid or uuid.uuid4()}",
        json=body,
        headers={"x-csrftoken": await csrf_token(browser)},
    )


async def put_photo(browser: httpx.AsyncClient, data: bytes, person_id: int) -> uuid.UUID:
    photo_uuid = uuid.uuid4()
    response = await browser.put(
        f"/api/photos/{photo_uuid}",
        content=data,
        params={"person_id": person_id},
        headers={"content-type": "image/jpeg", "x-csrftoken": await csrf_token(browser)},
    )
    assert response.status_code == 201, response.text
    return photo_uuid


async def form_checkin(
    browser: httpx.AsyncClient,
    agreement_id: int,
    photo: bytes,
    *,
    day: date | None = None,
    slot: str = "lunch",
    dishes: list[str] | None = None,
    extra: str = "",
    client_uuid: str | None = None,
    more: dict[str, str] | None = None,
) -> httpx.Response:
    fields: dict[str, Any] = {
        "_csrf_token": await csrf_token(browser),
        "client_uuid": client_uuid or str(uuid.uuid4()),
        "slot": slot,
        "day": (day or shanghai_today()).isoformat(),
        "extra_dishes": extra,
        "dish": dishes if dishes is not None else ["米饭", "青菜"],
        **(more or {}),
    }
    return await browser.post(
        f"/meals/agreements/{agreement_id}/checkins",
        data=fields,
        files={"photo": ("meal.jpg", photo, "image/jpeg")},
    )
