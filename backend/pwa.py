"""The installable app: the service worker at the root scope, the web app manifest and the offline page.

The service worker caches the app shell only (style, scripts, icons and the offline page, which shows
nothing about anyone). Its cache name is the hash of those files, written into the worker as it is
served, so any change to the shell changes the worker's bytes: the browser installs the new worker,
which fills a new cache and deletes the old ones when it takes over.

Static text (CSS, JS, SVG, the manifest, the worker) is sent gzip-compressed to browsers that accept
it. Pages and API answers are not: every page carries the CSRF token, and compressing a secret next to
text an attacker can choose leaks it byte by byte (BREACH).
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from typing import Any

from litestar import Response, get
from litestar.config.compression import CompressionConfig
from litestar.middleware.compression import CompressionMiddleware
from litestar.response import Template
from litestar.types import Receive, Scope, Send

from backend.static import STATIC_DIR, static_url

MANIFEST = STATIC_DIR / "manifest.webmanifest"
SERVICE_WORKER = STATIC_DIR / "sw.js"
OFFLINE_PATH = "/offline"

# The app shell: what the offline page needs, and what every page loads first.
SHELL_FILES = (
    "app.css",
    "htmx.min.js",
    "app.js",
    "outbox.js",
    "icons/icon.svg",
    "icons/icon-192.png",
)
COMPRESSIBLE = re.compile(r"^/(?:static/.+\.(?:css|js|svg|webmanifest)|sw\.js|manifest\.webmanifest)$")
# The browser must look for a new worker on every visit; a stale manifest only delays an icon change.
NO_CACHE = {"Cache-Control": "no-cache"}


class StaticCompression(CompressionMiddleware):
    """Litestar's compression, applied only to the static text named by COMPRESSIBLE."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if COMPRESSIBLE.match(scope.get("path", "")):
            await super().__call__(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def compression_config() -> CompressionConfig:
    # Level 6: within a few per cent of 9 on these files, at a third of the CPU time.
    return CompressionConfig(
        backend="gzip", minimum_size=500, gzip_compress_level=6, middleware_class=StaticCompression
    )


def _shell_urls() -> list[str]:
    return [OFFLINE_PATH, *(static_url(name) for name in SHELL_FILES)]


@cache
def service_worker_source() -> str:
    urls = _shell_urls()
    version = hashlib.sha256(
        b"".join([SERVICE_WORKER.read_bytes(), *(u.encode() for u in urls)])
    ).hexdigest()[:12]
    source = SERVICE_WORKER.read_text(encoding="utf-8")
    return source.replace('"__CARELOG_VERSION__"', json.dumps(version)).replace(
        '["__CARELOG_SHELL__"]', json.dumps(urls)
    )


@get("/sw.js", name="pwa.service_worker", include_in_schema=False, sync_to_thread=False)
def service_worker() -> Response[str]:
    return Response(
        service_worker_source(),
        media_type="text/javascript; charset=utf-8",
        headers={**NO_CACHE, "Service-Worker-Allowed": "/"},
    )


@get("/manifest.webmanifest", name="pwa.manifest", include_in_schema=False, sync_to_thread=False)
def manifest() -> Response[bytes]:
    return Response(MANIFEST.read_bytes(), media_type="application/manifest+json", headers=NO_CACHE)


@get(OFFLINE_PATH, name="pwa.offline", include_in_schema=False, sync_to_thread=False)
def offline() -> Template:
    # Public and the same for everyone: the service worker keeps it, so it names no one and carries
    # no CSRF token. What is waiting to be sent is read from this phone's outbox by outbox.js.
    context: dict[str, Any] = {}
    return Template(template_name="pwa/offline.html", context=context, headers=NO_CACHE)


routes = [service_worker, manifest, offline]
