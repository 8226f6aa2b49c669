"""Browser security: headers on every response, the Sec-Fetch-Site check, CSRF and cookie settings.

CSRF uses Litestar's double-submit middleware (token in a form field, or in the X-CSRFToken header
that base.html makes htmx send). On top of it, any unsafe request that the browser itself labels
`Sec-Fetch-Site: cross-site` is refused before it reaches a handler.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from backend.i18n import negotiate, set_language
from backend.logs import access_log
from backend.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def session_cookie_name(settings: Settings) -> str:
    # The __Host- prefix needs Secure, which browsers only honour over https.
    return "__Host-carelog" if settings.secure_cookies else "carelog_session"


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_name="__Host-csrftoken" if settings.secure_cookies else "csrftoken",
        cookie_secure=settings.secure_cookies,
        cookie_httponly=True,
        cookie_samesite="lax",
        header_name="x-csrftoken",
        # Health probes come from load balancers; everything else is checked.
        exclude=["^/healthz$"],
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class FrontDoorMiddleware:
    """Runs for every matched route: the language of the request and the cross-site check."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["carelog_started"] = time.perf_counter()
        set_request_language(scope, self.settings)
        if (
            scope.get("method", "GET") not in SAFE_METHODS
            and _header(scope, b"sec-fetch-site") == "cross-site"
        ):
            await _refuse_cross_site(send)
            return
        await self.app(scope, receive, send)


def set_request_language(scope: Scope, settings: Settings) -> None:
    set_language(
        negotiate(_cookie(scope, "lang"), _header(scope, b"accept-language"), settings.default_language)
    )


def make_before_send(settings: Settings) -> Callable[[Message, Scope], Awaitable[None]]:
    """Headers and the access log for every response, including routing 404s and 405s.

    Litestar calls before_send hooks from the app itself, outside routing, so unlike middleware this
    also covers requests that match no route.
    """
    secure = settings.secure_cookies

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(self), geolocation=(), microphone=(), payment=()"
        if "content-security-policy" not in headers:
            headers["Content-Security-Policy"] = CSP
        if not scope.get("path", "").startswith("/static/") and "cache-control" not in headers:
            # Pages carry personal data: nothing may linger in caches after sign-out.
            headers["Cache-Control"] = "no-store"
        if secure:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        state = scope.get("state", {})
        started = state.get("carelog_started")
        access_log.info(
            "request",
            extra={
                "method": scope.get("method", "-"),
                "route": scope.get("path_template") or "-",
                "status": message["status"],
                "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            },
        )

    return before_send


async def _refuse_cross_site(send: Send) -> None:
    from backend.i18n import gettext

    body = gettext("This request came from another website and was refused.").encode()
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 403,
        "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)


def client_address(scope: Scope, settings: Settings) -> str:
    """The caller's address: the connection's, or behind our own proxy the last X-Forwarded-For hop."""
    if settings.trust_proxy:
        forwarded = _header(scope, b"x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:64]
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
