"""create_app(settings): plugins, routes, templates, middleware, error pages."""

from __future__ import annotations

import gc
from pathlib import Path

import jinja2
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging.config import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from backend import clock, i18n, links
from backend.db import create_database
from backend.deps import provide_db, provide_principal, provide_settings, provide_user
from backend.error_pages import exception_handlers
from backend.labels import TEMPLATE_GLOBALS, local_time
from backend.logs import configure_logging
from backend.pwa import compression_config
from backend.routes import route_handlers
from backend.security import FrontDoorMiddleware, csrf_config, make_before_send
from backend.settings import PROJECT_ROOT, Settings, load_settings
from backend.slow_body import SlowBodyMiddleware
from backend.static import static_files, static_url
from backend.storage import PhotoStore

TEMPLATE_DIR = PROJECT_ROOT / "web" / "templates"


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
    engine.register_template_callable(key="url_for", template_callable=links.url_for)  # cached (links.py)
    return Litestar(
        route_handlers=[static_files(), *route_handlers()],
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
        # Outermost: every read of a request body, the CSRF check's included, is paced (slow_body.py).
        middleware=[
            DefineMiddleware(SlowBodyMiddleware, settings=settings),
            DefineMiddleware(FrontDoorMiddleware, settings=settings),
        ],
        before_send=[make_before_send(settings)],
        exception_handlers=exception_handlers(),
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
