"""The static files (web/static): served under /static with a year's caching, and named in pages by
static_url(), whose query changes whenever the file does."""

from __future__ import annotations

import hashlib
from functools import cache

from litestar.datastructures import CacheControlHeader
from litestar.router import Router
from litestar.static_files import create_static_files_router

from backend.settings import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "web" / "static"


@cache
def _static_version(name: str) -> str:
    path = STATIC_DIR / name
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.is_file() else "0"


def static_url(name: str) -> str:
    """A cache-busting URL: the file's hash changes the query, so static files can be cached for a year."""
    return f"/static/{name}?v={_static_version(name)}"


def static_files() -> Router:
    return create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        cache_control=CacheControlHeader(max_age=31536000, public=True),
        include_in_schema=False,
        name="static",
    )
