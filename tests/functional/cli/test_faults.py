"""Faults on a real `carelog serve` process: kill -9 mid-upload, a photo write the kernel refuses, and a
burst of decompression bombs while another user keeps working. Limits are generous; no time is judged.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sqlite3
import struct
import threading
import time
import uuid
import zlib
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from backend.db import Database
from backend.evidence.models import Photo
from backend.evidence.service import photo_key
from backend.settings import Settings
from tests import personas
from tests.conftest import BASE_URL, SECRET, World, issue_code
from tests.data.corpus import phone_photo, png_header_only
from tests.functional.ops_support import carelog, serving, signed_in

MiB = 1024 * 1024


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=db_url,
        photo_store_url=f"file://{tmp_path / 'photos'}",
        secret_key=SECRET,
        public_origin=BASE_URL,
    )


async def _put_photo(browser: httpx.AsyncClient, data: bytes, person_id: int) -> httpx.Response:
    return await browser.put(
        f"/api/photos/{uuid.uuid4()}",
        content=data,
        params={"person_id": person_id},
        headers={"content-type": "image/jpeg", "x-csrftoken": browser.cookies["csrftoken"]},
    )


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


async def _referenced(database: Database) -> set[str]:
    async with database.transaction(read_only=True) as db:
        rows = (await db.execute(select(Photo.display_sha256, Photo.thumb_sha256))).all()
    return {photo_key(sha) for row in rows for sha in row}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_kill_9_during_fifty_uploads_leaves_no_row_without_its_file_and_gc_cleans_up(
    settings: Settings, world: World, database: Database, tmp_path: Path
) -> None:
    code = await issue_code(database, personas.CARING_MOTHER)
    photos = [phone_photo((1600, 1200), seed=n) for n in range(50)]
    child = world.person_id("xiaoyu")
    folder = tmp_path / "photos"
    with serving(settings, tmp_path) as server:
        mother = await signed_in(server.base_url, code)

        async def upload(data: bytes) -> httpx.Response:
            return await _put_photo(mother, data, child)

        uploads = [asyncio.create_task(upload(data)) for data in photos]
        answered = 0
        while answered < 8:  # some are done, most are still in flight
            await asyncio.sleep(0.02)
            answered = sum(1 for task in uploads if task.done())
        server.kill_hard()
        outcomes = await asyncio.gather(*uploads, return_exceptions=True)
        await mother.aclose()
    created = [o.json()["id"] for o in outcomes if isinstance(o, httpx.Response) and o.status_code == 201]
    cut_off = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(o, httpx.TransportError) for o in cut_off), cut_off
    answers = [(o.status_code, o.text[:200]) for o in outcomes if isinstance(o, httpx.Response)]
    assert len(created) >= 8 and cut_off, answers  # the kill did land mid-burst

    db_file = settings.database_url.split("///", 1)[1]
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    async with database.transaction(read_only=True) as db:
        stored_ids = set((await db.scalars(select(Photo.id))).all())
    assert set(created) <= stored_ids  # every answered upload survived the kill

    checked = await carelog(settings, "check")
    assert checked.returncode == 0, checked.output
    assert f"photos checked: {len(stored_ids)}, with missing or altered files: 0" in checked.stdout

    # A day later the operator runs gc-photos: it removes exactly the files no row names.
    referenced = await _referenced(database)
    before = _files(folder)
    assert referenced <= before
    old = time.time() - 2 * 24 * 3600
    for path in folder.rglob("*"):
        os.utime(path, (old, old))
    cleaned = await carelog(settings, "gc-photos")
    assert cleaned.returncode == 0, cleaned.output
    assert f"{len(before - referenced)} unreferenced removed" in cleaned.stdout
    assert _files(folder) == referenced

    with serving(settings, tmp_path) as again:  # and the server starts again on the same files
        async with httpx.AsyncClient(base_url=again.base_url) as browser:
            assert (await browser.get("/healthz")).status_code == 200


def _limit_file_size(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_photo_write_refused_by_the_kernel_is_a_503_and_no_row(
    settings: Settings, world: World, database: Database, tmp_path: Path
) -> None:
    """Disk full, as near as this machine allows: the server may write no file past 256 KiB
    (RLIMIT_FSIZE, so the kernel answers EFBIG the way it answers ENOSPC on a full disk). The database
    is PostgreSQL here, so the only files the server writes are photos (and its log, kept small)."""
    code = await issue_code(database, personas.CARING_MOTHER)
    big = phone_photo((2400, 1800), seed=7)  # its display copy is well over 256 KiB
    with serving(settings, tmp_path, preexec=lambda: _limit_file_size(256 * 1024)) as server:
        mother = await signed_in(server.base_url, code)
        refused = await _put_photo(mother, big, world.person_id("xiaoyu"))
        assert refused.status_code == 503, refused.text
        assert "照片暂时无法保存，什么也没有保存" in refused.json()["detail"]
        assert refused.headers["retry-after"] == "5"
        assert (await mother.get("/")).status_code == 200  # the server itself is fine
        await mother.aclose()
    async with database.transaction(read_only=True) as db:
        assert (await db.scalars(select(Photo.id))).all() == []


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _png_bomb(width: int, height: int) -> bytes:
    """A real decompression bomb within the pixel limit: a few hundred KiB that decode to ~100 MiB."""
    rows = zlib.compress((b"\x00" * (width * 3 + 1)) * height, 9)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("at_once", [20])
async def test_bombs_at_once_keep_memory_bounded_and_another_user_served(
    settings: Settings, world: World, database: Database, tmp_path: Path, at_once: int
) -> None:
    mother_code = await issue_code(database, personas.CARING_MOTHER)
    neighbour_code = await issue_code(database, personas.NEIGHBOUR)
    inside_limit = _png_bomb(6000, 6000)  # 36 megapixels, under the 40 MP limit: decoded for real
    header_only = png_header_only(100_000, 100_000)  # refused from its header
    assert len(inside_limit) < 1 * MiB
    with serving(settings, tmp_path) as server:
        mother = await signed_in(server.base_url, mother_code)
        neighbour = await signed_in(server.base_url, neighbour_code)
        idle_rss = server.rss_bytes()
        peak = idle_rss
        sampling = True

        def sample() -> None:
            nonlocal peak
            while sampling:
                peak = max(peak, server.rss_bytes())
                time.sleep(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        half = at_once // 2
        bombs = [inside_limit] * half + [header_only] * (at_once - half)
        uploads = [asyncio.create_task(_put_photo(mother, data, world.person_id("xiaoyu"))) for data in bombs]
        pages: list[tuple[int, float]] = []
        while not all(task.done() for task in uploads):
            started = time.perf_counter()
            page = await neighbour.get("/")
            pages.append((page.status_code, time.perf_counter() - started))
        results = await asyncio.gather(*uploads)
        sampling = False
        sampler.join()
        await mother.aclose()
        await neighbour.aclose()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] * half + [413] * (at_once - half), [
        (r.status_code, r.text[:300]) for r in results
    ]
    assert pages and {status for status, _ in pages} == {200}
    # Six or ten bombs decoded at once would need 0.6-1 GiB and more (~103 MiB of pixels each, plus the
    # resize); the photo limiter lets at most four (here two: one per core) decode at a time.
    # The bound is generous on purpose.
    grown = peak - idle_rss
    print(
        f"{at_once} bombs: idle RSS {idle_rss / MiB:.0f} MiB, peak {peak / MiB:.0f} MiB, "
        f"pages answered {len(pages)}"
    )
    assert grown < 700 * MiB, f"RSS grew by {grown / MiB:.0f} MiB"
