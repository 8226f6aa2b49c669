"""`carelog backup` while photos keep arriving, then `carelog restore` into an empty database and store.

The restored copy must be a consistent moment of the source: its audit chain verifies and is a prefix
of the source's chain, every photo row's files are there with matching hashes, every table holds
exactly the rows recorded at backup time (which lie between the source's counts before and after),
and a closed month's and an open month's settlement totals are those of the source.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.audit import AuditEvent, verify_chain
from backend.db import Database, create_database
from backend.evidence.maintenance import check_photos
from backend.evidence.models import Photo
from backend.meals.models import CheckInStatus
from backend.people.models import Programme, User
from backend.settings import Settings
from backend.settlement.checks import closed_month_mismatches
from backend.settlement.service import do_close_month
from backend.settlement.statements import month_summary
from backend.storage import PhotoStore
from tests import personas
from tests.conftest import BASE_URL, PG_ADMIN_DSN, SECRET, ClientAs, World, recreate_pg_database
from tests.functional.meals_support import agreement_of, at, meal_jpeg, put_checkin, put_photo
from tests.functional.ops_support import carelog
from tests.functional.photos_support import api_put
from tests.functional.settlement_support import last_month, review, this_month


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=db_url,
        photo_store_url=f"file://{tmp_path / 'photos'}",
        secret_key=SECRET,
        public_origin=BASE_URL,
    )


async def _counts(database: Database) -> tuple[int, int]:
    async with database.transaction(read_only=True) as db:
        photos = await db.scalar(select(func.count(Photo.id)))
        events = await db.scalar(select(func.count(AuditEvent.id)))
    return int(photos or 0), int(events or 0)


async def _settle_some_meals(client_as: ClientAs, world: World, database: Database) -> int:
    """Four lunches of 钱老伯 checked in through the API and approved: three last month, which is then
    closed (its ledger written), and one this month (a draft statement). Returns the programme id."""
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    days = [last_month() + timedelta(days=n) for n in range(3)] + [this_month()]
    for n, day in enumerate(days):
        photo = await put_photo(neighbour, meal_jpeg(500 + n, at(day, 11, 45)), world.person_id("qian"))
        body = {
            "agreement_id": agreement.id,
            "slot": "lunch",
            "day": day.isoformat(),
            "dishes": ["米饭", "青菜"],
            "photo_uuids": [str(photo)],
        }
        made = await put_checkin(neighbour, body)
        assert made.status_code == 201, made.text
        await review(
            database, made.json()["id"], CheckInStatus.APPROVED, world.user_id(personas.SOCIAL_WORKER)
        )
    async with database.transaction() as db:
        programme = await db.get_one(Programme, agreement.programme_id)
        staff = await db.get_one(User, world.user_id(personas.STAFF))
        await do_close_month(db, programme, last_month(), actor=staff)
    return agreement.programme_id


async def _totals(database: Database, programme_id: int) -> list[tuple[date, bool, int, int]]:
    """(month, closed, approved meals, total fen) of last month and this month, from month_summary."""
    async with database.transaction(read_only=True) as db:
        programme = await db.get_one(Programme, programme_id)
        out = []
        for month in (last_month(), this_month()):
            summary = await month_summary(db, programme, month)
            out.append((month, summary.closed, summary.approved_meals, summary.total_fen))
    return out


async def _restore_target(settings: Settings, tmp_path: Path, worker_tag: str) -> Settings:
    """An empty database of the same engine and an empty photo directory."""
    if settings.is_sqlite:
        url = f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    else:
        name = f"carelog_r_{worker_tag}"
        await recreate_pg_database(name)
        url = "postgresql+asyncpg://" + PG_ADMIN_DSN.split("://", 1)[1].rsplit("/", 1)[0] + "/" + name
    return replace(settings, database_url=url, photo_store_url=f"file://{tmp_path / 'restored-photos'}")


async def test_a_backup_taken_under_write_load_restores_to_a_verified_consistent_copy(
    settings: Settings,
    client_as: ClientAs,
    world: World,
    database: Database,
    tmp_path: Path,
    worker_tag: str,
) -> None:
    programme_id = await _settle_some_meals(client_as, world, database)
    totals = await _totals(database, programme_id)
    assert [t[1:] for t in totals] == [(True, 3, 4500), (False, 1, 1500)]
    mother = await client_as(personas.CARING_MOTHER)
    child = world.person_id("xiaoyu")
    for seed in range(3):
        assert (await api_put(mother, meal_jpeg(seed), person_id=child)).status_code == 201
    photos_before, events_before = await _counts(database)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    finished_at: list[float] = []

    async def keep_writing() -> None:
        seed = 100
        while not stop.is_set():
            response = await api_put(mother, meal_jpeg(seed), person_id=child)
            assert response.status_code == 201, response.text
            finished_at.append(loop.time())
            seed += 1

    writer = asyncio.create_task(keep_writing())
    await asyncio.sleep(0.3)
    started = loop.time()
    backup = await carelog(settings, "backup", str(tmp_path / "backup"))
    ended = loop.time()
    await asyncio.sleep(0.3)
    stop.set()
    await writer
    assert backup.returncode == 0, backup.output
    assert any(started < t < ended for t in finished_at), "no write completed while the backup ran"
    photos_after, events_after = await _counts(database)
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert photos_before <= manifest["counts"]["photo"] <= photos_after
    assert events_before <= manifest["audit"]["events"] <= events_after
    assert manifest["missing_or_altered"] == []
    assert manifest["files_copied"] == 2 * manifest["counts"]["photo"]  # display copy and thumbnail

    target = await _restore_target(settings, tmp_path, worker_tag)
    restored = await carelog(target, "restore", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.output
    assert "restored and verified" in restored.stdout

    # Checked again here, independently of the command's own report.
    copy = create_database(target)
    try:
        async with copy.transaction(read_only=True) as db:
            chain = await verify_chain(db)
            photos = await check_photos(db, PhotoStore.from_url(target.photo_store_url))
            restored_photos = await db.scalar(select(func.count(Photo.id)))
    finally:
        await copy.dispose()
    assert chain.first_bad_id is None
    assert chain.checked == manifest["audit"]["events"] and chain.head_hash == manifest["audit"]["head"]
    assert photos.bad == [] and photos.checked == restored_photos == manifest["counts"]["photo"]
    async with database.transaction(read_only=True) as db:  # the copy is a prefix of the source's chain
        same_event = await db.scalar(select(AuditEvent.hash).where(AuditEvent.id == chain.checked))
    assert same_event == chain.head_hash
    copy = create_database(target)
    try:  # settlement: the closed month's ledger and this month's draft statement are the same
        assert await _totals(copy, programme_id) == totals
        async with copy.transaction(read_only=True) as db:  # and the ledger matches its check-ins
            assert await closed_month_mismatches(db) == (1, [])
    finally:
        await copy.dispose()

    again = await carelog(target, "restore", str(tmp_path / "backup"))
    assert again.returncode == 1 and "holds data" in again.stderr
    forced = await carelog(target, "restore", "--force", str(tmp_path / "backup"))
    assert forced.returncode == 0 and "restored and verified" in forced.stdout, forced.output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_restore_refuses_a_damaged_backup_and_backup_refuses_a_used_directory(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    dest = tmp_path / "backup"
    assert (await carelog(settings, "backup", str(dest))).returncode == 0
    used = await carelog(settings, "backup", str(dest))
    assert used.returncode == 1 and "is not empty" in used.stderr
    with (dest / "carelog.db").open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00damaged")
    target = replace(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}")
    damaged = await carelog(target, "restore", str(dest))
    assert damaged.returncode == 1 and "backup is damaged" in damaged.stderr
    assert not (tmp_path / "restored.db").exists()
