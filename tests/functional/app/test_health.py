"""/healthz: the public check writes nothing anywhere; the deep check (which writes and deletes a
probe) runs for a loopback caller or with the health token, and is refused (403) to anyone else."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import event

from backend.app import create_app
from backend.db import Database
from backend.settings import Settings
from tests.conftest import BASE_URL, started

PUBLIC = ("203.0.113.9", 40000)
LOOPBACK = ("127.0.0.1", 40000)
TOKEN = secrets.token_urlsafe(40)


@pytest.fixture
def health_settings(settings: Settings, tmp_path: Path) -> Settings:
    # Photos on local disk, so every write to the store shows in the directory tree.
    return replace(settings, photo_store_url=f"file://{tmp_path / 'photos'}", health_token=TOKEN)


def _tree(root: Path) -> dict[str, int]:
    """Every file and directory under root with its modification time: creating and deleting a probe
    file changes its directory's time even when nothing is left behind."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in [root, *root.rglob("*")]}


class StatementLog:
    def __init__(self, database: Database) -> None:
        self.writer: list[str] = []
        self.reader: list[str] = []
        self._hooks: list[tuple[Any, Callable[..., None]]] = []
        for engine, into in ((database.engine, self.writer), (database.read_engine, self.reader)):

            def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any, into: list[str] = into) -> None:
                into.append(statement.strip().split(None, 1)[0].upper())

            event.listen(engine.sync_engine, "before_cursor_execute", hook)
            self._hooks.append((engine.sync_engine, hook))

    def writes(self) -> list[str]:
        return [s for s in self.writer + self.reader if s in ("INSERT", "UPDATE", "DELETE", "CREATE", "DROP")]

    def close(self) -> None:
        for target, hook in self._hooks:
            event.remove(target, "before_cursor_execute", hook)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Litestar]:
    async with started(create_app(settings)) as app:
        yield app


def browser(app: Litestar, client: tuple[str, int], **headers: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=client)
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers)


async def test_public_health_check_makes_no_database_or_photo_store_write(
    health_settings: Settings, tmp_path: Path
) -> None:
    async with serving(health_settings) as app:
        root = tmp_path / "photos"
        before = _tree(root)
        log = StatementLog(app.state.database)
        try:
            for address in (PUBLIC, LOOPBACK):
                async with browser(app, address) as probe:
                    got = await probe.get("/healthz")
                    assert got.status_code == 200, got.text
                    assert got.json() == {"status": "ok", "checks": {"database": "ok", "photo_store": "ok"}}
                    assert (await probe.head("/healthz")).status_code == 200
        finally:
            log.close()
        assert log.writes() == []
        assert log.writer == []  # not even a transaction on the writing engine
        assert log.reader  # the database was asked (SELECT 1)
        assert _tree(root) == before


async def test_public_health_check_still_reports_an_unreachable_photo_store(
    health_settings: Settings, tmp_path: Path
) -> None:
    async with serving(health_settings) as app:
        (tmp_path / "photos").rename(tmp_path / "gone")
        (tmp_path / "photos").write_bytes(b"a file where the store's directory was")
        async with browser(app, PUBLIC) as probe:
            got = await probe.get("/healthz")
        assert got.status_code == 503
        assert got.json()["checks"]["photo_store"] == "failing"


@pytest.mark.parametrize(
    "query", ["?deep=1", "?deep=1&token=wrong-token-0123456789-0123456789-x", "?deep=yes"]
)
async def test_deep_health_from_a_public_address_without_the_token_is_refused(
    health_settings: Settings, tmp_path: Path, query: str
) -> None:
    async with serving(health_settings) as app:
        before = _tree(tmp_path / "photos")
        async with browser(app, PUBLIC) as probe:
            got = await probe.get(f"/healthz{query}")
        assert got.status_code == 403
        assert got.json()["status"] == "refused"
        assert _tree(tmp_path / "photos") == before


async def test_deep_health_with_no_token_configured_is_refused_to_a_public_address_even_with_an_empty_one(
    health_settings: Settings,
) -> None:
    async with serving(replace(health_settings, health_token="")) as app, browser(app, PUBLIC) as probe:
        assert (await probe.get("/healthz?deep=1&token=")).status_code == 403


async def test_deep_health_with_the_token_writes_and_removes_its_probe(
    health_settings: Settings, tmp_path: Path
) -> None:
    async with serving(health_settings) as app:
        root = tmp_path / "photos"
        before = _tree(root)
        log = StatementLog(app.state.database)
        try:
            async with browser(app, PUBLIC) as probe:
                by_query = await probe.get(f"/healthz?deep=1&token={TOKEN}")
            async with browser(app, PUBLIC, **{"x-health-token": TOKEN}) as probe:
                by_header = await probe.get("/healthz?deep=1")
        finally:
            log.close()
        for got in (by_query, by_header):
            assert got.status_code == 200, got.text
            assert got.json() == {
                "status": "ok",
                "checks": {"database": "ok", "photo_store": "ok"},
                "deep": True,
            }
        assert log.writer  # the deep check did use the writing engine
        assert _tree(root) != before  # it wrote to the store ...
        assert [p for p in root.rglob("*") if p.is_file()] == []  # ... and left nothing behind


async def test_deep_health_from_loopback_runs_without_a_token_but_not_through_a_proxy(
    health_settings: Settings,
) -> None:
    async with serving(health_settings) as app:
        async with browser(app, LOOPBACK) as local:
            got = await local.get("/healthz?deep=1")
            assert got.status_code == 200 and got.json()["deep"] is True
        # A reverse proxy on the same host forwards the public's requests from 127.0.0.1.
        async with browser(app, LOOPBACK, **{"x-forwarded-for": "198.51.100.7"}) as proxied:
            assert (await proxied.get("/healthz?deep=1")).status_code == 403
