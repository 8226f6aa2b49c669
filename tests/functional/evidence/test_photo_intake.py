"""Every file of the corpus through the real API and form: good ones stored clean, bad ones refused
with a clear 4xx in the user's language and nothing stored, and no input ever a 5xx."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar import Litestar

from backend import clock
from backend.db import Database
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.data.corpus import build_corpus, is_upright, oriented_jpeg
from tests.functional.photos_support import (
    api_put,
    assert_clean_jpeg,
    form_upload,
    photo_count,
    stored_keys,
)

CORPUS = build_corpus()
KEY = re.compile(r"photos/[0-9a-f]{2}/[0-9a-f]{64}\.jpg")


@pytest.mark.parametrize("sample", CORPUS, ids=[s.name for s in CORPUS])
async def test_corpus_through_the_api(
    client_as: ClientAs, world: World, database: Database, running_app: Litestar, sample: object
) -> None:
    from tests.data.corpus import Sample

    assert isinstance(sample, Sample)
    mother = await client_as(personas.CARING_MOTHER)
    response = await api_put(mother, sample.data, person_id=world.person_id("xiaoyu"))
    assert response.status_code < 500, response.text
    if sample.refused_with is not None:
        assert response.status_code == sample.refused_with, response.text
        detail = response.json()["detail"]
        assert re.search(r"[\u4e00-\u9fff]", detail), detail  # a sentence in Chinese, not a stack trace
        assert await photo_count(database) == 0 and await stored_keys(running_app) == []
        return
    assert response.status_code == 201, response.text
    body = response.json()
    for variant in ("display", "thumb"):
        served = await mother.get(body[f"{variant}_url"])
        image = assert_clean_jpeg(served.content)
        assert max(image.size) <= (1600 if variant == "display" else 320)
        if sample.upright:
            assert is_upright(image), f"{sample.name} {variant} is not upright"
    assert all(KEY.fullmatch(key) for key in await stored_keys(running_app))


async def test_a_bad_file_is_refused_in_english_for_an_english_phone(
    client_as: ClientAs, world: World
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    mother.headers["accept-language"] = "en"
    mother.cookies.set("lang", "en")
    response = await api_put(mother, b"%PDF-1.4 not a photo")
    assert response.status_code == 415
    assert response.json()["detail"].startswith("This file is not a photo we can accept.")


async def test_a_body_over_the_limit_is_413_in_chinese_and_nothing_is_stored(
    client_as: ClientAs, world: World, database: Database, running_app: Litestar
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    too_big = b"\xff\xd8\xff\xe0" + b"\x00" * (15 * 1024 * 1024 + 1)
    response = await api_put(mother, too_big)
    assert response.status_code == 413 and "文件太大" in response.json()["detail"]
    page = await form_upload(mother, world.person_id("xiaoyu"), too_big)
    assert page.status_code == 413 and "文件太大" in page.text
    assert await photo_count(database) == 0 and await stored_keys(running_app) == []


async def test_an_endless_chunked_body_is_cut_off_with_413(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"\xff\xd8\xff\xe0"
        while sent < 64 * 1024 * 1024:  # a bound for the test itself; the server stops far sooner
            sent += 1024 * 1024
            yield b"\x00" * (1024 * 1024)

    response = await mother.put(
        "/api/photos/6f1c2a54-3b9e-4a0c-9d7e-0a4b5c6d7e8f",
        content=endless(),
        headers={"content-type": "image/jpeg", "x-csrftoken": await csrf_token(mother)},
    )
    assert response.status_code == 413
    assert await photo_count(database) == 0


@pytest.mark.parametrize("content_type", ["application/json", "text/html", "image/svg+xml", "image/gif", ""])
async def test_the_api_takes_only_image_types(client_as: ClientAs, world: World, content_type: str) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    response = await api_put(mother, oriented_jpeg(1), content_type=content_type)
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("filename", "stored"),
    [
        ("../../etc/passwd", True),
        ("a.jpg.php", True),
        ("x\x00.jpg", True),
        ("<script>.jpg", True),
        ("夜" * 5000 + ".jpg", False),  # the multipart parser refuses a 15 kB part header: a clean 400
        ("", False),  # a file part without a name is a text field to the parser: a clean 400
    ],
)
async def test_hostile_file_names_are_ignored(
    client_as: ClientAs, world: World, running_app: Litestar, filename: str, stored: bool
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    response = await form_upload(mother, world.person_id("xiaoyu"), oriented_jpeg(1), filename=filename)
    keys = await stored_keys(running_app)
    assert all(KEY.fullmatch(key) for key in keys), keys
    if stored:
        assert response.status_code == 303 and len(keys) == 2
    else:
        assert response.status_code == 400 and keys == []


async def test_a_capture_time_read_by_the_phone_is_kept_when_the_file_has_none(
    client_as: ClientAs, world: World
) -> None:
    import io

    from tests.data.corpus import quadrants

    buffer = io.BytesIO()
    quadrants().save(buffer, "JPEG")  # what a canvas-downscaled photo looks like: no EXIF at all
    # Yesterday at 09:30 in Shanghai, on the tests' clock (a capture time in the future is not kept).
    day = clock.today_in(clock.REFERENCE_ZONE) - timedelta(days=1)
    mother = await client_as(personas.CARING_MOTHER)
    response = await api_put(
        mother,
        buffer.getvalue(),
        person_id=world.person_id("xiaoyu"),
        params={"captured_at": f"{day}T09:30:00+08:00"},
    )
    assert response.json()["captured_at"].startswith(f"{day}T01:30:00")
    assert response.json()["capture_source"] == "client"
    exif = await api_put(
        mother, oriented_jpeg(1, captured=f"{day:%Y:%m:%d} 09:30:00"), person_id=world.person_id("xiaoyu")
    )
    # EXIF DateTimeOriginal has no zone: it is read in the programme's zone (Asia/Shanghai).
    assert exif.json()["captured_at"].startswith(f"{day}T01:30:00")
    assert exif.json()["capture_source"] == "exif"


async def test_the_api_is_described_in_the_openapi_schema(client_as: ClientAs, world: World) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    schema = (await mother.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/photos/{client_uuid}"]["put"]
    assert set(operation["requestBody"]["content"]) >= {"image/jpeg", "image/png", "image/webp"}
    assert {"200", "201", "409", "413", "415", "422"} <= set(operation["responses"])


async def test_an_upload_cut_off_midway_stores_nothing_and_is_not_a_server_error(
    client_as: ClientAs, world: World, database: Database, running_app: Litestar
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    token = await csrf_token(mother)
    cookies = "; ".join(f"{name}={value}" for name, value in dict(mother.cookies).items())
    path = "/api/photos/0b7a3c1e-5d2f-4e8a-9c6b-1f2e3d4c5b6a"
    incoming = [
        {"type": "http.request", "body": oriented_jpeg(1)[:2000], "more_body": True},
        {"type": "http.disconnect"},  # the phone lost its signal
    ]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver.local"),
            (b"content-type", b"image/jpeg"),
            (b"x-csrftoken", token.encode()),
            (b"cookie", cookies.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
        "state": {},
    }
    await running_app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400
    assert await photo_count(database) == 0
