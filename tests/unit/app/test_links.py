"""The cached route reverse (backend/links.py) gives Litestar's own answer for every named route."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.exceptions import NoRouteMatchFoundException

from backend import links
from backend.app import create_app
from backend.settings import Settings


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    path: Path = tmp_path_factory.mktemp("links") / "links.db"
    return create_app(Settings(environment="test", database_url=f"sqlite+aiosqlite:///{path}"))


def _sample(kind: type) -> object:
    return {int: 7, uuid.UUID: uuid.UUID(int=1)}.get(kind, "2026-11-18")


def test_every_named_route_reverses_as_litestar_does(app: Litestar) -> None:
    checked = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not handler.name or handler.name == "static":
                continue
            params = {p.name: _sample(p.type) for p in route.path_parameters.values()}
            assert links.reverse(app, handler.name, **params) == app.route_reverse(handler.name, **params)
            checked += 1
    assert checked > 80


def test_a_wrong_type_or_an_unknown_name_is_refused(app: Litestar) -> None:
    with pytest.raises(NoRouteMatchFoundException):
        links.reverse(app, "evidence.display", photo_id="7")
    with pytest.raises(NoRouteMatchFoundException):
        links.reverse(app, "no.such.route")
