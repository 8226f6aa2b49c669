"""/healthz: is the database answering, and can the photo store write and read back?"""

from __future__ import annotations

from litestar import MediaType, Response, get
from litestar.datastructures import State
from sqlalchemy import text

from backend.db import Database
from backend.storage import PhotoStore


@get("/healthz", name="healthz", media_type=MediaType.JSON, include_in_schema=False)
async def healthz(state: State) -> Response[dict[str, object]]:
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
    healthy = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if healthy else "failing", "checks": checks},
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )
