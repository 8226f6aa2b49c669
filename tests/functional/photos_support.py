"""Helpers shared by the photo tests: sending photos the two ways a phone does, and looking inside."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
from litestar import Litestar
from PIL import Image
from sqlalchemy import func, select

from backend.audit import AuditEvent
from backend.db import Database
from backend.evidence.models import Photo
from backend.storage import PhotoStore
from tests.conftest import csrf_token


async def api_put(
    browser: httpx.AsyncClient,
    data: bytes,
    *,
    client_uuid: uuid.UUID | None = None,
    person_id: int | None = None,
    content_type: str = "image/jpeg",
    params: dict[str, Any] | None = None,
) -> httpx.Response:
    query = dict(params or {})
    if person_id is not None:
        query["person_id"] = person_id
    return await browser.put(
        f"/api/photos/{client_uuid or uuid.uuid4()}",
        content=data,
        params=query,
        headers={"content-type": content_type, "x-csrftoken": await csrf_token(browser)},
    )


async def form_upload(
    browser: httpx.AsyncClient,
    person_id: int,
    data: bytes,
    *,
    filename: str = "photo.jpg",
    client_uuid: str | None = None,
    content_type: str = "image/jpeg",
) -> httpx.Response:
    fields = {"_csrf_token": await csrf_token(browser), "client_uuid": client_uuid or str(uuid.uuid4())}
    return await browser.post(
        f"/people/{person_id}/photos", data=fields, files={"photo": (filename, data, content_type)}
    )


def store_of(app: Litestar) -> PhotoStore:
    store: PhotoStore = app.state.photo_store
    return store


async def stored_keys(app: Litestar) -> list[str]:
    return sorted([item.key async for item in store_of(app).list("")])


async def photo_count(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count(Photo.id))) or 0)


async def audit_actions(database: Database, action: str) -> list[AuditEvent]:
    async with database.transaction(read_only=True) as db:
        return list((await db.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())


def open_jpeg(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data), formats=["JPEG"])
    image.load()
    return image


def assert_clean_jpeg(data: bytes) -> Image.Image:
    """A served photo: a JPEG with no EXIF, GPS, comment, XMP or device serial anywhere in its bytes."""
    image = open_jpeg(data)
    assert not image.getexif(), "EXIF survived"
    assert set(image.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "icc_profile"}
    for marker in (b"Exif\x00\x00", b"SN-4F2A", b"PhoneMaker", b"Wutong", b"xmpmeta", b"<script", b"<html"):
        assert marker not in data, marker
    return image
