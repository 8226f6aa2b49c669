"""The audit trail: one event per write, in the same transaction, hash-chained and append-only."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from backend import audit
from backend.audit import AuditEvent, verify_chain
from backend.db import Database
from backend.people.models import Person
from tests import factories
from tests.conftest import World


async def test_every_demo_write_has_its_event_and_the_chain_verifies(
    database: Database, world: World
) -> None:
    async with database.transaction(read_only=True) as db:
        people = await db.scalar(select(func.count(Person.id)))
        created = await db.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "person.created")
        )
        report = await verify_chain(db)
    assert people == created
    assert report.first_bad_id is None and report.checked > 50


async def test_a_failed_write_leaves_no_event(database: Database, world: World) -> None:
    async with database.transaction(read_only=True) as db:
        before = await db.scalar(select(func.count(AuditEvent.id)))

    async def failing_request() -> None:
        async with database.transaction() as db:
            await factories.make_district(db)
            raise RuntimeError("the request failed after writing")

    with pytest.raises(RuntimeError):
        await failing_request()
    async with database.transaction(read_only=True) as db:
        assert await db.scalar(select(func.count(AuditEvent.id))) == before
        assert (await verify_chain(db)).first_bad_id is None


async def test_concurrent_writers_keep_one_unbroken_chain(database: Database, world: World) -> None:
    async def write(i: int) -> None:
        async with database.transaction() as db:
            await factories.make_district(db, name=f"并发区{i}")

    await asyncio.gather(*(write(i) for i in range(12)))
    async with database.transaction(read_only=True) as db:
        report = await verify_chain(db)
    assert report.first_bad_id is None


async def test_database_refuses_to_update_or_delete_an_event(database: Database, world: World) -> None:
    for statement in (
        "UPDATE audit_event SET action = 'x' WHERE id = 3",
        "DELETE FROM audit_event WHERE id = 3",
    ):
        with pytest.raises(DBAPIError):
            async with database.transaction() as db:
                await db.execute(text(statement))


async def _tamper(database: Database, statement: str) -> None:
    async with database.transaction() as db:
        if database.engine.dialect.name == "postgresql":
            await db.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
            await db.execute(text(statement))
            await db.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
        else:
            await db.execute(text("DROP TRIGGER audit_event_no_update"))
            await db.execute(text("DROP TRIGGER audit_event_no_delete"))
            await db.execute(text(statement))


@pytest.mark.parametrize(
    ("statement", "bad_id"),
    [
        ('UPDATE audit_event SET change = \'{"kind": "child"}\' WHERE id = 17', 17),
        ("UPDATE audit_event SET actor_id = NULL, action = 'area.renamed' WHERE id = 5", 5),
        ("DELETE FROM audit_event WHERE id = 9", 9),
        ("DELETE FROM audit_event WHERE id = (SELECT max(id) FROM audit_event)", None),
    ],
)
async def test_verify_audit_names_the_first_edited_or_missing_event(
    database: Database, world: World, statement: str, bad_id: int | None
) -> None:
    async with database.transaction(read_only=True) as db:
        last = await db.scalar(select(func.max(AuditEvent.id)))
    assert last is not None
    await _tamper(database, statement)
    async with database.transaction(read_only=True) as db:
        report = await verify_chain(db)
    assert report.first_bad_id == (bad_id if bad_id is not None else last)


async def test_verify_audit_command_exits_nonzero_and_names_the_event(
    database: Database, world: World, settings: object
) -> None:
    await _tamper(database, "UPDATE audit_event SET subject_id = '999' WHERE id = 12")
    env = {
        **os.environ,
        "CARELOG_DATABASE_URL": str(database.engine.url.render_as_string(hide_password=False)),
        "CARELOG_SECRET_KEY": "x" * 40,
        "CARELOG_ENV": "test",
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "backend.cli", "verify-audit"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "event 12" in result.stdout


async def test_record_hashes_cover_the_change(database: Database, world: World) -> None:
    async with database.transaction() as db:
        area = (await factories.make_district(db))[0]
        event = await audit.record(db, actor=None, action="area.checked", subject=area, change={"n": 1})
    assert len(event.hash) == 64 and event.prev_hash != event.hash
