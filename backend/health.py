"""/healthz: is the database answering, and can the photo store write and read back?

GET answers with the checks as JSON; HEAD with the same status and no body, for monitors and load
balancers that probe with HEAD (Litestar does not answer HEAD on a GET route: it was a 405)."""

from __future__ import annotations

from litestar import MediaType, Response, get, head
from litestar.datastructures import State
from sqlalchemy import text

from backend.db import Database
from backend.storage import PhotoStore

NO_STORE = {"Cache-Control": "no-store"}


async def _checks(state: State) -> dict[str, str]:
    database: Database = state.database
    store: PhotoStore = state.photo_store
    checks: dict[str, str] = {}
    try:
        async with database.transaction(read_only=True) as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # any failure means "not healthy"; the kind is not the probe's business
        checks["database"] = "failing"
    checks["photo_store"] = "ok" if await store.check() else "failing"
    return checks


def _status(checks: dict[str, str]) -> int:
    return 200 if all(v == "ok" for v in checks.values()) else 503


@get("/healthz", name="healthz", media_type=MediaType.JSON, include_in_schema=False)
async def healthz(state: State) -> Response[dict[str, object]]:
    checks = await _checks(state)
    status = _status(checks)
    return Response(
        {"status": "ok" if status == 200 else "failing", "checks": checks},
        status_code=status,
        headers=NO_STORE,
    )


@head("/healthz", name="healthz.head", include_in_schema=False)
async def healthz_head(state: State) -> Response[None]:
    return Response(None, status_code=_status(await _checks(state)), headers=NO_STORE)
