"""audit.record_many (the spreadsheet import's batch append): the chain it writes is the one that as many
record() calls would write, byte for byte, and `carelog verify-audit` accepts it. Both databases."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend import audit
from backend.audit import AuditEvent, AuditHead, verify_chain
from backend.db import Database
from backend.people.models import Area
from tests import factories
from tests.conftest import World


class _Rollback(Exception):
    pass


def _ticking_clock() -> Iterator[datetime]:
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    return (start + timedelta(microseconds=7 * i) for i in itertools.count())


def _events(areas: list[Area], actor_id: int) -> list[tuple[Any, str, Any, dict[str, Any] | None]]:
    class _Actor:
        id = actor_id

    return [
        (None if i % 3 == 0 else _Actor(), f"area.test{i % 2}", area, {"n": i, "名": "区", "list": [i, None]})
        for i, area in enumerate(areas)
    ] + [(None, "area.empty", areas[0], None)]


async def _stored(database: Database, first_id: int) -> list[tuple[Any, ...]]:
    async with database.transaction(read_only=True) as db:
        rows = await db.scalars(select(AuditEvent).where(AuditEvent.id >= first_id).order_by(AuditEvent.id))
        return [
            (e.id, e.at, e.actor_id, e.action, e.subject_type, e.subject_id, e.change, e.prev_hash, e.hash)
            for e in rows
        ]


async def _record_one_by_one(
    database: Database, events: list[Any], first_id: int, out: list[tuple[Any, ...]]
) -> None:
    """record() each event, read the events back into `out`, then roll the transaction back."""
    async with database.transaction() as db:
        for actor, action, subject, change in events:
            await audit.record(db, actor=actor, action=action, subject=subject, change=change)
        rows = await db.scalars(
            select(AuditEvent)
            .where(AuditEvent.id >= first_id)
            .order_by(AuditEvent.id)
            .execution_options(populate_existing=True)
        )
        out[:] = [
            (
                e.id,
                e.at,
                e.actor_id,
                e.action,
                e.subject_type,
                e.subject_id,
                e.change,
                e.prev_hash,
                e.hash,
            )
            for e in rows
        ]
        raise _Rollback


async def test_record_many_writes_the_chain_record_would(
    database: Database, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database.transaction() as db:
        areas = [a for _ in range(3) for a in await factories.make_district(db)]
        head = await db.get_one(AuditHead, 1)
        first_id = head.seq + 1
    actor_id = next(iter(world.cast.users.values())).id
    events = _events(areas, actor_id)

    # One by one, from the same head: written, read back, then rolled back.
    clock = _ticking_clock()
    monkeypatch.setattr(audit, "utcnow", lambda: next(clock))
    one_by_one: list[tuple[Any, ...]] = []
    with pytest.raises(_Rollback):
        await _record_one_by_one(database, events, first_id, one_by_one)

    clock = _ticking_clock()
    monkeypatch.setattr(audit, "utcnow", lambda: next(clock))
    async with database.transaction() as db:
        hashes = await audit.record_many(db, events)
        # A later record() in the same session continues the chain from the batch's last event.
        follow = await audit.record(db, actor=None, action="area.after", subject=areas[0])
    monkeypatch.undo()

    stored = await _stored(database, first_id)
    assert len(one_by_one) == len(events) == len(hashes)
    assert stored[:-1] == one_by_one
    assert [r[8] for r in stored[:-1]] == hashes
    assert follow.prev_hash == hashes[-1] and follow.id == first_id + len(events)
    async with database.transaction(read_only=True) as db:
        report = await verify_chain(db)
        head = await db.get_one(AuditHead, 1)
    assert report.first_bad_id is None
    assert (head.seq, head.hash) == (follow.id, follow.hash)


async def test_record_many_of_nothing_writes_nothing(database: Database, world: World) -> None:
    async with database.transaction() as db:
        before = await db.get_one(AuditHead, 1)
        seq = before.seq
        assert await audit.record_many(db, []) == []
    async with database.transaction(read_only=True) as db:
        assert (await db.get_one(AuditHead, 1)).seq == seq


async def test_verify_audit_command_passes_after_a_batch(
    database: Database, world: World, settings: object
) -> None:
    async with database.transaction() as db:
        areas = list(await factories.make_district(db))
        await audit.record_many(db, [(None, "area.batched", a, {"i": i}) for i, a in enumerate(areas * 20)])
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
    assert result.returncode == 0, result.stdout + result.stderr
