"""Every migration runs up and down on both engines, and the models match the migrated schema."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from backend.migrate import alembic_config, downgrade, upgrade
from backend.models import Base
from tests.conftest import recreate_pg_database, require_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path, worker_tag: str) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
    require_postgres()
    name = f"carelog_mig_{worker_tag}"
    asyncio.run(recreate_pg_database(name))
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def _run(url: str, work: Any) -> Any:
    async def inner() -> Any:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(inner())


def _tables(url: str) -> set[str]:
    return set(_run(url, lambda conn: inspect(conn).get_table_names())) - {"alembic_version"}


def test_every_migration_runs_up_and_down_step_by_step(empty_db_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(empty_db_url))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert revisions, "no migrations found"
    for revision in revisions:
        upgrade(empty_db_url, revision)
    assert _tables(empty_db_url) == set(Base.metadata.tables)
    for revision in reversed(revisions[:-1]):
        downgrade(empty_db_url, revision)
    downgrade(empty_db_url, "base")
    assert _tables(empty_db_url) == set()
    upgrade(empty_db_url, "head")  # and up again from nothing
    assert _tables(empty_db_url) == set(Base.metadata.tables)


def test_autogenerate_finds_no_difference_between_models_and_migrations(empty_db_url: str) -> None:
    upgrade(empty_db_url, "head")

    def diff(conn: Any) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    assert _run(empty_db_url, diff) == []


def test_migration_files_carry_dated_names() -> None:
    versions = Path(__file__).resolve().parents[3] / "migrations" / "versions"
    names = [p.name for p in versions.glob("*.py")]
    assert names
    for name in names:
        assert name[:4].isdigit() and name[4] == "_" and name[7] == "_", name
