"""Retention: children's visit photos a set time after the pairing ended, meal photos a set time after
their month closed. Files go; rows, hashes, amounts and the audit chain stay. Both databases."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from litestar import Litestar
from sqlalchemy import func, select, update

from backend import clock
from backend.audit import AuditEvent, verify_chain
from backend.db import Database
from backend.evidence.maintenance import check_photos, collect_garbage
from backend.evidence.models import Photo
from backend.evidence.removal import delete_stored, mark_photos_removed, photo_keys
from backend.evidence.retention import RetentionResult, run_retention
from backend.evidence.service import photo_key
from backend.meals.models import CheckInStatus
from backend.settings import Settings
from backend.visits.models import Pairing, PairingStatus
from tests import personas
from tests.conftest import BASE_URL, SECRET, ClientAs, World, csrf_token
from tests.functional import meals_support
from tests.functional.photos_support import api_put, store_of
from tests.functional.settlement_support import close, last_month, review, small_cap_agreement

CHILD_DAYS, MEAL_DAYS = 365, 1095


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """A real directory of photos, so that files can be seen to go (and the CLI sees the same store)."""
    return Settings(
        environment="test",
        database_url=db_url,
        photo_store_url=f"file://{tmp_path / 'photos'}",
        secret_key=SECRET,
        public_origin=BASE_URL,
    )


def _files(settings: Settings, photo: Photo) -> list[Path]:
    root = Path(settings.photo_store_url.removeprefix("file://"))
    return [root / key for key in photo_keys(photo)]


async def _photo(database: Database, photo_id: int) -> Photo:
    async with database.transaction(read_only=True) as db:
        return await db.get_one(Photo, photo_id)


async def _child_photo(client_as: ClientAs, world: World, mother: str, child: str, seed: int) -> int:
    browser = await client_as(mother)
    response = await api_put(browser, meals_support.meal_jpeg(seed), person_id=world.person_id(child))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _pairing_ended(
    database: Database, world: World, child: str, photo_id: int, *, days_ago: int
) -> None:
    """The child's pairing ran from 800 days ago until `days_ago`, and the photo came in 400 days ago."""
    now = clock.utcnow()
    async with database.transaction() as db:
        await db.execute(
            update(Pairing)
            .where(Pairing.child_id == world.person_id(child))
            .values(
                status=PairingStatus.ENDED,
                started_at=now - timedelta(days=800),
                ended_at=now - timedelta(days=days_ago),
            )
        )
        await db.execute(
            update(Photo).where(Photo.id == photo_id).values(created_at=now - timedelta(days=400))
        )


async def _retention(
    app: Litestar, database: Database, *, now: datetime | None = None, dry_run: bool = False
) -> RetentionResult:
    return await run_retention(
        database,
        store_of(app),
        now=now or clock.utcnow(),
        child_photo_days=CHILD_DAYS,
        meal_photo_days=MEAL_DAYS,
        dry_run=dry_run,
    )


async def _audit_count(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count(AuditEvent.id))) or 0)


async def _two_ended_pairings(client_as: ClientAs, world: World, database: Database) -> tuple[int, int]:
    """Xiaoyu's pairing ended 366 days ago (due), Duoduo's 300 days ago (not yet)."""
    due = await _child_photo(client_as, world, personas.CARING_MOTHER, "xiaoyu", 1)
    kept = await _child_photo(client_as, world, personas.OTHER_MOTHER, "duoduo", 2)
    await _pairing_ended(database, world, "xiaoyu", due, days_ago=366)
    await _pairing_ended(database, world, "duoduo", kept, days_ago=300)
    return due, kept


async def test_child_photos_go_a_year_after_the_pairing_ended_and_stay_before(
    client_as: ClientAs, world: World, database: Database, running_app: Litestar, settings: Settings
) -> None:
    due, kept = await _two_ended_pairings(client_as, world, database)
    before = await _photo(database, due)

    result = await _retention(running_app, database)

    assert result.plan.child_photos.photo_ids == {due}
    assert result.removed == 1 and result.files_deleted == 2 and result.files_left == []
    removed = await _photo(database, due)
    assert removed.removed_at is not None and removed.removed_reason == "retention"
    # The row keeps every hash: statements and the audit chain still name them.
    assert (removed.received_sha256, removed.display_sha256, removed.thumb_sha256) == (
        before.received_sha256,
        before.display_sha256,
        before.thumb_sha256,
    )
    assert not any(path.exists() for path in _files(settings, removed))
    still = await _photo(database, kept)
    assert still.removed_at is None and all(path.exists() for path in _files(settings, still))

    async with database.transaction(read_only=True) as db:
        event = await db.scalar(
            select(AuditEvent).where(AuditEvent.action == "photo.removed", AuditEvent.subject_id == str(due))
        )
        assert event is not None and event.actor_id is None and event.change == {"reason": "retention"}
        chain = await verify_chain(db)
        assert chain.first_bad_id is None
        photos = await check_photos(db, store_of(running_app))
        assert photos.bad == [] and photos.removed == 1

    # A second run finds nothing more to do.
    again = await _retention(running_app, database)
    assert again.removed == 0 and again.plan.photo_ids == set()


async def test_dry_run_lists_what_is_due_and_changes_nothing(
    client_as: ClientAs, world: World, database: Database, running_app: Litestar, settings: Settings
) -> None:
    due, _ = await _two_ended_pairings(client_as, world, database)
    events = await _audit_count(database)

    result = await _retention(running_app, database, dry_run=True)

    assert result.plan.child_photos.photo_ids == {due} and result.removed == 0
    received = (clock.utcnow() - timedelta(days=400)).date()
    assert result.plan.child_photos.oldest == result.plan.child_photos.newest == received
    photo = await _photo(database, due)
    assert photo.removed_at is None and all(path.exists() for path in _files(settings, photo))
    assert await _audit_count(database) == events


async def test_serving_a_removed_photo_says_removed_not_a_server_error(
    client_as: ClientAs, world: World, database: Database, running_app: Litestar
) -> None:
    due, _ = await _two_ended_pairings(client_as, world, database)
    await _retention(running_app, database)
    staff = await client_as(personas.STAFF)
    await staff.post(
        "/language", data={"_csrf_token": await csrf_token(staff), "language": "en", "next": "/"}
    )
    response = await staff.get(f"/photos/{due}/display", headers={"accept": "text/html"})
    assert response.status_code == 410, response.text
    assert "removed (retention)" in response.text
    assert not response.headers["content-type"].startswith("image/")
    # A page's thumbnail of it is a wordless grey tile in the image's place, still 410.
    tile = await staff.get(f"/photos/{due}/thumb", headers={"accept": "image/*"})
    assert tile.status_code == 410
    assert tile.headers["content-type"].startswith("image/svg+xml")
    assert tile.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in tile.headers["content-security-policy"]
    assert b"<script" not in tile.content


async def test_meal_photos_go_three_years_after_their_month_closed_and_hashes_stay_on_the_statement(
    client_as: ClientAs, world: World, database: Database, running_app: Litestar, settings: Settings
) -> None:
    agreement = await small_cap_agreement(database, world, rate=1500, cap=4000)
    neighbour = await client_as(personas.NEIGHBOUR)
    sent = await api_put(neighbour, meals_support.meal_jpeg(7), person_id=agreement.resident_id)
    assert sent.status_code == 201, sent.text
    photo = await _photo(database, sent.json()["id"])
    month = last_month()
    checkin = await meals_support.make_checkin(database, agreement, month, seed=7, photo=photo)
    await review(database, checkin.id, CheckInStatus.APPROVED, world.user_id(personas.SOCIAL_WORKER))
    await close(database, agreement.programme_id, month, actor_id=None)
    # Meals of a month closed at the tests' clock: the kept time runs from that closing.
    closed_at = clock.utcnow()

    early = await _retention(running_app, database, now=closed_at + timedelta(days=MEAL_DAYS - 1))
    assert early.plan.meal_photos.photo_ids == set()
    assert (await _photo(database, photo.id)).removed_at is None

    late = await _retention(running_app, database, now=closed_at + timedelta(days=MEAL_DAYS + 1))
    assert late.plan.meal_photos.photo_ids == {photo.id} and late.removed == 1
    removed = await _photo(database, photo.id)
    assert removed.removed_reason == "retention"
    assert not any(path.exists() for path in _files(settings, removed))

    staff = await client_as(personas.STAFF)
    response = await staff.get(
        f"/settlement/agreements/{agreement.id}/statement.csv", params={"month": month.strftime("%Y-%m")}
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert any(photo.received_sha256 in " ".join(row) for row in rows)
    async with database.transaction(read_only=True) as db:
        assert (await verify_chain(db)).first_bad_id is None


async def test_a_file_another_live_photo_shares_is_kept_and_gc_finishes_failed_deletes(
    client_as: ClientAs, world: World, database: Database, running_app: Litestar, settings: Settings
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    same = meals_support.meal_jpeg(3)
    first = (await api_put(mother, same, person_id=world.person_id("xiaoyu"))).json()["id"]
    second = (await api_put(mother, same, person_id=world.person_id("xiaoyu"))).json()["id"]
    other = (await api_put(mother, meals_support.meal_jpeg(4), person_id=world.person_id("xiaoyu"))).json()[
        "id"
    ]
    async with database.transaction() as db:
        keys = await mark_photos_removed(db, [first], actor=None, reason="erasure", now=clock.utcnow())
    assert keys == []  # the same picture is still the evidence of the second photo
    assert all(path.exists() for path in _files(settings, await _photo(database, second)))

    async with database.transaction() as db:
        keys = await mark_photos_removed(db, [other], actor=None, reason="retention", now=clock.utcnow())
    removed = await _photo(database, other)
    assert sorted(keys) == sorted(photo_keys(removed))
    # The delete after commit "failed" (never ran): gc-photos finishes it once the files are a day old.
    async with database.transaction(read_only=True) as db:
        report = await collect_garbage(
            db, store_of(running_app), now=clock.system_utcnow() + timedelta(days=2)
        )
    assert sorted(report.removed) == sorted(keys)
    assert not any(path.exists() for path in _files(settings, removed))
    assert all(path.exists() for path in _files(settings, await _photo(database, second)))
    assert await delete_stored(store_of(running_app), keys) == []  # already gone: not a failure


def _carelog(settings: Settings, *args: str, today: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    env |= {
        "CARELOG_DATABASE_URL": settings.database_url,
        "CARELOG_PHOTO_STORE_URL": settings.photo_store_url,
        "CARELOG_SECRET_KEY": SECRET,
        "CARELOG_ENV": "test",
        "CARELOG_TODAY": today or clock.today_in(clock.REFERENCE_ZONE).isoformat(),  # the tests' clock
    }
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], env=env, capture_output=True, text=True, check=False
    )


async def test_carelog_retention_dry_run_then_run_and_check_and_verify_audit_stay_green(
    client_as: ClientAs, world: World, database: Database, settings: Settings
) -> None:
    due, kept = await _two_ended_pairings(client_as, world, database)

    dry = await asyncio.to_thread(_carelog, settings, "retention", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    received = (clock.utcnow() - timedelta(days=400)).date()
    assert f"child_photos (kept 365 days): 1 due, received {received} to {received}" in dry.stdout
    assert "meal_photos (kept 1095 days): 0 due" in dry.stdout
    assert "dry run: nothing changed" in dry.stdout
    assert (await _photo(database, due)).removed_at is None

    run = await asyncio.to_thread(_carelog, settings, "retention")
    assert run.returncode == 0, run.stderr
    assert "photos removed: 1, files deleted: 2" in run.stdout
    assert (await _photo(database, due)).removed_reason == "retention"
    assert (await _photo(database, kept)).removed_at is None

    check = await asyncio.to_thread(_carelog, settings, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "photos removed by retention or erasure (not checked): 1" in check.stdout
    audit = await asyncio.to_thread(_carelog, settings, "verify-audit")
    assert audit.returncode == 0 and "audit chain intact" in audit.stdout
    root = Path(settings.photo_store_url.removeprefix("file://"))
    assert not (root / photo_key((await _photo(database, due)).display_sha256)).exists()
