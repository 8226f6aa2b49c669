"""create_app(settings): plugins, routes, templates, middleware, error pages."""

from __future__ import annotations

import gc
import hashlib
import sqlite3
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from litestar import Litestar, MediaType, Request, Response, Router
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.logging.config import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlalchemy.exc import DBAPIError, OperationalError

from backend import clock, i18n
from backend.auditlog.routes import routes as audit_routes
from backend.auth.card_routes import routes as card_routes
from backend.auth.passkey_routes import routes as passkey_routes
from backend.auth.routes import routes as auth_routes
from backend.db import LONG_READS_OPT, create_database
from backend.deps import provide_db, provide_principal, provide_settings, provide_user
from backend.errors import Busy
from backend.evidence.routes import routes as evidence_routes
from backend.health import healthz, healthz_head
from backend.home import routes as home_routes
from backend.labels import TEMPLATE_GLOBALS, local_time
from backend.logs import app_log, configure_logging
from backend.meals.routes import routes as meals_routes
from backend.people.routes import routes as people_routes
from backend.pwa import compression_config
from backend.pwa import routes as pwa_routes
from backend.reports.routes import routes as reports_routes
from backend.security import FrontDoorMiddleware, csrf_config, make_before_send, set_request_language
from backend.settings import PROJECT_ROOT, Settings, load_settings
from backend.settlement.routes import routes as settlement_routes
from backend.storage import PhotoStore
from backend.verification.routes import routes as verification_routes
from backend.visits.routes import routes as visits_routes

TEMPLATE_DIR = PROJECT_ROOT / "web" / "templates"
STATIC_DIR = PROJECT_ROOT / "web" / "static"


@cache
def _static_version(name: str) -> str:
    path = STATIC_DIR / name
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.is_file() else "0"


def static_url(name: str) -> str:
    """A cache-busting URL: the file's hash changes the query, so static files can be cached for a year."""
    return f"/static/{name}?v={_static_version(name)}"


def build_jinja_environment(settings: Settings) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        auto_reload=settings.environment != "production",
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    env.globals.update(
        static_url=static_url,
        current_language=i18n.current_language,
        html_lang=lambda: i18n.HTML_LANG[i18n.current_language()],
        language_names=i18n.LANGUAGE_NAMES,
        **TEMPLATE_GLOBALS,
        # Times are stored in UTC and shown in the deployment's zone unless a page names another.
        local_time=lambda moment, fmt="%Y-%m-%d %H:%M", zone=None: local_time(
            moment, zone or settings.time_zone, fmt
        ),
    )
    return env


def _local_time(
    moment: datetime, fmt: str = "%Y-%m-%d %H:%M", zone: str | None = None, *, default_zone: str
) -> str:
    # Times are stored in UTC and shown in the deployment's zone unless a page names another.
    return local_time(moment, zone or default_zone, fmt)


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path == "/healthz":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _error_response(
    request: Request[Any, Any, Any], status: int, detail: str, headers: dict[str, str] | None
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
        return Redirect("/signin", status_code=303)
    if exc.status_code >= 500:
        app_log.error(
            "server error", extra={"route": request.scope.get("path_template") or "-"}, exc_info=exc
        )
    return _error_response(request, exc.status_code, str(exc.detail), exc.headers)


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
    app_log.warning(
        "database unavailable", extra={"route": request.scope.get("path_template") or "-"}, exc_info=exc
    )
    busy = Busy()
    return _error_response(request, busy.status_code, str(busy.detail), busy.headers)


def handle_unreadable_body(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Any]:
    # A form whose text fields are not UTF-8 (a broken client, or a probe): the request is at fault.
    app_log.info("unreadable request body", extra={"route": request.scope.get("path_template") or "-"})
    return _error_response(
        request, 400, i18n.gettext("The form could not be read. Please send it again."), None
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    app_log.error("unhandled error", extra={"route": request.scope.get("path_template") or "-"}, exc_info=exc)
    # Promise nothing the server cannot keep: a failed write was rolled back, so it is not saved.
    if request.method in ("GET", "HEAD"):
        message = i18n.gettext("Something went wrong on our side. Please try again in a moment.")
    else:
        message = i18n.gettext(
            "Something went wrong on our side, and what you just sent was not saved. "
            "Go back, check it and send it again."
        )
    return _error_response(request, 500, message, None)


def settle_garbage_collector() -> None:
    """For a serving process, once started. The objects alive then (modules, the app, SQLAlchemy's and
    Jinja's caches: some 200,000) live as long as the process, so gc.freeze() takes them out of every
    later collection; and the youngest generation is collected after 7,000 net allocations rather than
    700, since one page allocates thousands of short-lived objects that reference counting frees anyway
    (the queue page set off a collection every 2.3 requests). bench/pages.py, same machine, two runs
    each: /review 136-145 -> 150-158 req/s, the neighbour's check-in page 221 (both) -> 273-299 req/s.
    Not in tests, which create many apps in one process: each freeze would keep the previous ones'
    leftovers for good."""
    gc.freeze()
    gc.set_threshold(7000, 10, 10)


def create_app(settings: Settings | None = None, *, serving: bool = False) -> Litestar:
    """The app. `serving` is for the process that will serve it (carelog serve, via app_factory)."""
    settings = settings or load_settings()
    if settings.today is not None:
        clock.pretend_today(settings.today)
    i18n.check_catalogs()

    async def startup(app: Litestar) -> None:
        app.state.database = create_database(settings)
        app.state.photo_store = PhotoStore.from_url(settings.photo_store_url)
        if serving:
            settle_garbage_collector()

    async def shutdown(app: Litestar) -> None:
        database = getattr(app.state, "database", None)
        if database is not None:
            await database.dispose()

    engine = JinjaTemplateEngine.from_environment(build_jinja_environment(settings))
    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        cache_control=CacheControlHeader(max_age=31536000, public=True),
        include_in_schema=False,
    )
    handlers: list[Any] = [
        static,
        healthz,
        healthz_head,
        *home_routes,
        *auth_routes,
        *passkey_routes,
        *card_routes,
        *people_routes,
        *evidence_routes,
        *meals_routes,
        *visits_routes,
        # Whole months and programmes: their reads stay off the event loop's thread (db.py).
        Router(
            path="/",
            route_handlers=[*settlement_routes, *reports_routes, *audit_routes],
            opt={LONG_READS_OPT: True},
        ),
        *verification_routes,
        *pwa_routes,
    ]
    exception_handlers: dict[type[Exception] | int, Callable[..., Any]] = {
        HTTPException: handle_http_exception,
        DBAPIError: handle_database_error,
        UnicodeDecodeError: handle_unreadable_body,
        Exception: handle_unexpected,
    }
    return Litestar(
        route_handlers=handlers,
        dependencies={
            "db": Provide(provide_db),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "principal": Provide(provide_principal),
            "user": Provide(provide_user),
        },
        state=State({"settings": settings}),
        on_startup=[startup],
        on_shutdown=[shutdown],
        template_config=TemplateConfig(instance=engine),
        plugins=[HTMXPlugin()],
        csrf_config=csrf_config(settings),
        compression_config=compression_config(),
        middleware=[DefineMiddleware(FrontDoorMiddleware, settings=settings)],
        before_send=[make_before_send(settings)],
        exception_handlers=exception_handlers,
        logging_config=LoggingConfig(log_exceptions="never", configure_root_logger=False),
        request_max_body_size=settings.max_upload_bytes,
        # The machine-readable schema only (for the offline outbox and API tests); the browsable
        # renderers load scripts from elsewhere, which our CSP rightly refuses.
        openapi_config=OpenAPIConfig(
            title="Carelog", version="0.1.0", path="/schema", render_plugins=[JsonRenderPlugin()]
        ),
        debug=False,
    )


def app_factory() -> Litestar:
    """Entry point for Granian (`backend.app:app_factory` with --factory): the process owns logging."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings, serving=True)


def template_dir() -> Path:
    return TEMPLATE_DIR
