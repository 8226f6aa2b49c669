"""The S3 photo store path, end to end, against moto's S3 server on loopback (a real HTTP S3 protocol).

This is the only S3 service it is tested against here; see the deployment section of docs/operations.md. The
database does not matter to the store, so these run on SQLite.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import select

from backend import clock
from backend.db import Database
from backend.evidence.maintenance import check_photos, collect_garbage
from backend.evidence.models import Photo
from backend.evidence.service import photo_key
from backend.settings import Settings
from backend.storage import PhotoStore
from tests import personas
from tests.conftest import BASE_URL, SECRET, ClientAs, World
from tests.functional.meals_support import meal_jpeg
from tests.functional.ops_support import carelog
from tests.functional.photos_support import api_put, assert_clean_jpeg

BUCKET = "carelog-photos"
PREFIX = "qingxi"
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh bucket, and the AWS_* variables the app's store (obstore) and `carelog` read."""
    env = {
        "AWS_ENDPOINT": s3_endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "carelog-test",
        "AWS_SECRET_ACCESS_KEY": "carelog-test-secret",
        "AWS_REGION": "us-east-1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="carelog-test",
        aws_secret_access_key="carelog-test-secret",
    )
    for old in client.list_objects_v2(Bucket=BUCKET).get("Contents", []) if _exists(client) else []:
        client.delete_object(Bucket=BUCKET, Key=old["Key"])
    if not _exists(client):
        client.create_bucket(Bucket=BUCKET)
    return client


def _exists(client: Any) -> bool:
    return any(b["Name"] == BUCKET for b in client.list_buckets().get("Buckets", []))


@pytest.fixture
def settings(db_url: str, bucket: Any) -> Settings:
    return Settings(
        environment="test",
        database_url=db_url,
        photo_store_url=f"s3://{BUCKET}/{PREFIX}",
        secret_key=SECRET,
        public_origin=BASE_URL,
    )


def _keys(client: Any) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


async def test_photos_are_stored_served_checked_and_collected_on_s3(
    settings: Settings, bucket: Any, client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    assert (await mother.get("/healthz")).status_code == 200  # writes, reads and deletes a probe object
    sent = []
    for seed in range(3):
        response = await api_put(mother, meal_jpeg(seed), person_id=world.person_id("xiaoyu"))
        assert response.status_code == 201, response.text
        sent.append(response.json())

    keys = _keys(bucket)
    for photo in sent:
        for sha in (photo["display_sha256"], photo["thumb_sha256"]):
            assert f"{PREFIX}/{photo_key(sha)}" in keys
        served = await mother.get(f"/photos/{photo['id']}/display")
        assert served.status_code == 200
        assert hashlib.sha256(served.content).hexdigest() == photo["display_sha256"]
        assert_clean_jpeg(served.content)
    assert not [k for k in keys if not k.startswith(f"{PREFIX}/")]  # nothing outside the prefix

    store = PhotoStore.from_url(settings.photo_store_url)
    orphan = photo_key("ab" * 32)
    await store.put(orphan, b"left by a crash")
    async with database.transaction(read_only=True) as db:
        assert (await check_photos(db, store)).bad == []
        young = await collect_garbage(db, store)
        later = await collect_garbage(db, store, now=clock.system_utcnow() + timedelta(days=2))
    assert young.removed == [] and later.removed == [orphan]
    assert f"{PREFIX}/{orphan}" not in _keys(bucket)

    # An altered object: "evidence missing" for the viewer, and `carelog check` names it.
    bucket.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{photo_key(sent[0]['thumb_sha256'])}", Body=b"tampered")
    assert (await mother.get(f"/photos/{sent[0]['id']}/thumb")).status_code == 410
    checked = await carelog(settings, "check")
    assert checked.returncode == 1, checked.output
    assert f"photo {sent[0]['id']}: thumb file missing or altered" in checked.stdout


async def test_a_backup_from_s3_restores_into_another_bucket_prefix(
    settings: Settings, bucket: Any, client_as: ClientAs, world: World, database: Database, tmp_path: Path
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    child = world.person_id("xiaoyu")
    for seed in range(2):
        assert (await api_put(mother, meal_jpeg(seed), person_id=child)).status_code == 201
    backup = await carelog(settings, "backup", str(tmp_path / "backup"))
    assert backup.returncode == 0, backup.output
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["photo_store"] == "s3" and manifest["files_copied"] == 4

    target = replace(
        settings,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}",
        photo_store_url=f"s3://{BUCKET}/restored",
    )
    restored = await carelog(target, "restore", str(tmp_path / "backup"))
    assert restored.returncode == 0, restored.output
    async with database.transaction(read_only=True) as db:
        hashes = (await db.scalars(select(Photo.display_sha256))).all()
    assert all(f"restored/{photo_key(sha)}" in _keys(bucket) for sha in hashes)
