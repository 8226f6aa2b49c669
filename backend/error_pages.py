"""The app's answers to errors: a page in the person's language, or JSON for the API and the phone's
outbox. Every route's own error handlers end here too, so this module sits below all of them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from sqlalchemy.exc import DBAPIError, OperationalError

from backend import i18n
from backend.errors import Busy
from backend.logs import app_log
from backend.security import set_request_language

SIGNIN_PATH = "/signin"


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path == "/healthz":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _route(request: Request[Any, Any, Any]) -> str:
    return request.scope.get("path_template") or "-"


def error_response(
    request: Request[Any, Any, Any], status: int, detail: str, headers: dict[str, str] | None = None
) -> Response[Any]:
    if "route_handler" not in request.scope:
        # Routing failed (404/405) before our middleware ran: choose the language here.
        set_request_language(request.scope, request.app.state.settings)
    if _wants_json(request):
        return Response(
            {"status": status, "detail": detail},
            status_code=status,
            headers=headers,
            media_type=MediaType.JSON,
        )
    template = f"errors/{status}.html" if status in (403, 404, 500, 503) else "errors/error.html"
    return Template(
        template_name=template,
        context={"status": status, "detail": detail},
        status_code=status,
        headers=headers,
    )


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 401 and not _wants_json(request):
        # The sign-in page by its route name would need the app's route table, which a 401 raised
        # while routing may not have reached: the path is fixed in auth/routes.py and checked there.
        return Redirect(SIGNIN_PATH, status_code=303)
    if exc.status_code >= 500:
        app_log.error("server error", extra={"route": _route(request)}, exc_info=exc)
    return error_response(request, exc.status_code, str(exc.detail), exc.headers)


def _is_write_in_a_read(exc: OperationalError) -> bool:
    """SQLite refusing a write on a page reader (db.py: `query_only`): a route that writes through a
    GET request's session, which is a bug to fix, not a moment to retry."""
    return getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_READONLY


def handle_database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    unavailable = isinstance(exc, OperationalError) and not _is_write_in_a_read(exc)
    if not unavailable and not exc.connection_invalidated:
        return handle_unexpected(request, exc)
    # A writer held the SQLite lock past the busy timeout, the database is unreachable, or its connection
    # was lost (a restarted server; see db._ping_when_idle): nothing was committed (the transaction
    # rolled back), so the honest answer is "busy, try again".
    app_log.warning("database unavailable", extra={"route": _route(request)}, exc_info=exc)
    busy = Busy()
    return error_response(request, busy.status_code, str(busy.detail), busy.headers)


def handle_unreadable_body(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Any]:
    # A form whose text fields are not UTF-8 (a broken client, or a probe): the request is at fault.
    app_log.info("unreadable request body", extra={"route": _route(request)})
    return error_response(request, 400, i18n.gettext("The form could not be read. Please send it again."))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    app_log.error("unhandled error", extra={"route": _route(request)}, exc_info=exc)
    # Promise nothing the server cannot keep: a failed write was rolled back, so it is not saved.
    if request.method in ("GET", "HEAD"):
        message = i18n.gettext("Something went wrong on our side. Please try again in a moment.")
    else:
        message = i18n.gettext(
            "Something went wrong on our side, and what you just sent was not saved. "
            "Go back, check it and send it again."
        )
    return error_response(request, 500, message)


def exception_handlers() -> dict[type[Exception] | int, Callable[..., Any]]:
    return {
        HTTPException: handle_http_exception,
        DBAPIError: handle_database_error,
        UnicodeDecodeError: handle_unreadable_body,
        Exception: handle_unexpected,
    }
