"""The shape every domain follows (DESIGN.md, "Layout"; issue 23), read from the source's imports:
nothing imports the app but its entry points, no route module imports another, and the helpers that
were once copied per domain exist once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[3] / "backend"
ENTRY_POINTS = {"backend.cli", "backend.app"}
# Modules that hold route handlers without the routes name: the home page, health, the PWA files.
OTHER_ROUTE_MODULES = {"backend.home", "backend.health", "backend.pwa"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(BACKEND.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module this file imports, at any depth (late imports inside functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module_name(p): p for p in BACKEND.rglob("*.py")}


def _is_route_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last == "routes" or last.endswith("_routes") or name in OTHER_ROUTE_MODULES


def test_the_source_tree_is_found() -> None:
    assert "backend.app" in MODULES and "backend.meals.checkin_routes" in MODULES


def test_only_the_entry_points_import_the_app() -> None:
    importers = sorted(
        name for name, path in MODULES.items() if "backend.app" in _imports(path) and name not in ENTRY_POINTS
    )
    assert importers == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _is_route_module(n) and n != "backend.routes"))
def test_a_route_module_imports_no_other_route_module(name: str) -> None:
    imported = {m for m in _imports(MODULES[name]) if m in MODULES and _is_route_module(m) and m != name}
    assert imported == set()


def test_only_the_route_table_and_the_app_gather_route_modules() -> None:
    gatherers = sorted(
        name
        for name, path in MODULES.items()
        if not _is_route_module(name)
        and name not in {"backend.routes", *ENTRY_POINTS}
        and any(m in MODULES and _is_route_module(m) for m in _imports(path))
    )
    assert gatherers == []


def _defined(function: str) -> list[str]:
    return sorted(
        name
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function
    )


@pytest.mark.parametrize(
    ("function", "home"),
    [
        ("find_by_client_uuid", "backend.idempotency"),
        ("answer_retry", "backend.idempotency"),
        ("own_photos_by_uuid", "backend.evidence.policy"),
        ("photo_limiter", "backend.evidence.intake"),
        ("local_today", "backend.clock"),
        ("add_months", "backend.clock"),
        ("month_days", "backend.clock"),
        ("static_url", "backend.static"),
        ("handle_http_exception", "backend.error_pages"),
        ("awaiting_review", "backend.db"),
    ],
)
def test_a_shared_helper_exists_once(function: str, home: str) -> None:
    assert _defined(function) == [home]


def test_no_late_import_works_around_a_cycle() -> None:
    marked = sorted(
        name for name, path in MODULES.items() if "imported late (cycle)" in path.read_text("utf-8")
    )
    assert marked == []
