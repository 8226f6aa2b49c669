"""/healthz: is the database answering, and is the photo store reachable?

The public check writes nothing: a read-only `SELECT 1` and a HEAD of one key in the photo store, so
a flood of probes costs reads, never storage writes. The deep check (`?deep=1`) also opens a write
transaction and writes, reads back and deletes a probe object; it runs only for a loopback client
that did not come through a proxy, or with `token=` equal to CARELOG_HEALTH_TOKEN (compared in
constant time). Anyone else asking for it gets 403, so a monitor that is misconfigured finds out.

GET answers with the checks as JSON; HEAD with the same status and no body, for monitors and load
balancers that probe with HEAD (Litestar does not answer HEAD on a GET route: it was a 405)."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from litestar import MediaType, Request, Response, get, head
from litestar.datastructures import State
from litestar.params import FromQuery
from sqlalchemy import text

from backend.db import Database
from backend.security import client_address
from backend.settings import Settings
from backend.storage import PhotoStore, StorageError

NO_STORE = {"Cache-Control": "no-store"}
# Never written: the shallow check only asks whether the store answers for it.
PROBE_KEY = "health/never-written"
_PROXY_HEADERS = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


async def _database_ok(database: Database, *, deep: bool) -> bool:
    try:
        # Deep: a write transaction (on SQLite it takes the write lock), committed with nothing in it.
        async with database.transaction(read_only=not deep) as session:
            await session.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not healthy"; the kind is not the probe's business
        return False


async def _store_ok(store: PhotoStore, *, deep: bool) -> bool:
    if deep:
        return await store.check()  # writes, reads back and deletes a probe object
    try:
        await store.head(PROBE_KEY)  # missing is the answer expected; an unreachable store raises
        return True
    except StorageError:
        return False


async def _checks(state: State, *, deep: bool) -> dict[str, str]:
    checks = {
        "database": "ok" if await _database_ok(state.database, deep=deep) else "failing",
        "photo_store": "ok" if await _store_ok(state.photo_store, deep=deep) else "failing",
    }
    return checks


def _status(checks: dict[str, str]) -> int:
    return 200 if all(v == "ok" for v in checks.values()) else 503


def _is_loopback(request: Request[Any, Any, Any], settings: Settings) -> bool:
    headers = {name for name, _ in request.scope.get("headers", [])}
    if not settings.trust_proxy and any(h in headers for h in _PROXY_HEADERS):
        # A proxy on the same host forwards every public request from 127.0.0.1: not a local caller.
        return False
    try:
        return ipaddress.ip_address(client_address(request.scope, settings)).is_loopback
    except ValueError:
        return False


def may_run_deep(request: Request[Any, Any, Any], settings: Settings, token: str | None) -> bool:
    given = bool(settings.health_token) and token is not None
    if given and hmac.compare_digest(str(token).encode(), settings.health_token.encode()):
        return True
    return _is_loopback(request, settings)


@get("/healthz", name="healthz", media_type=MediaType.JSON, include_in_schema=False)
async def healthz(
    request: Request[Any, Any, Any],
    state: State,
    deep: FromQuery[str | None] = None,
    token: FromQuery[str | None] = None,
) -> Response[dict[str, object]]:
    wants_deep = deep not in (None, "", "0")
    token = request.headers.get("x-health-token") or token  # the header keeps it out of proxies' logs
    if wants_deep and not may_run_deep(request, state.settings, token):
        return Response(
            {"status": "refused", "detail": "the deep check answers on loopback or with the health token"},
            status_code=403,
            headers=NO_STORE,
        )
    checks = await _checks(state, deep=wants_deep)
    status = _status(checks)
    body: dict[str, object] = {"status": "ok" if status == 200 else "failing", "checks": checks}
    if wants_deep:
        body["deep"] = True
    return Response(body, status_code=status, headers=NO_STORE)


@head("/healthz", name="healthz.head", include_in_schema=False)
async def healthz_head(state: State) -> Response[None]:
    return Response(None, status_code=_status(await _checks(state, deep=False)), headers=NO_STORE)
