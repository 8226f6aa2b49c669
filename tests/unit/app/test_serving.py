"""What a serving process does that a test app does not: settle its garbage collector once started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import asyncio, gc, sys
from backend.app import create_app
from backend.settings import Settings

async def main(serving):
    settings = Settings(environment="test", database_url="sqlite+aiosqlite:///" + sys.argv[2],
                        photo_store_url="memory://", secret_key="x" * 40)
    app = create_app(settings, serving=serving)
    before = gc.get_freeze_count()
    async with app.lifespan():
        print(gc.get_freeze_count() > before, gc.get_threshold()[0])

asyncio.run(main(sys.argv[1] == "serving"))
"""


def _probe(mode: str, tmp_path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode, str(tmp_path / "probe.db")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_served_app_freezes_its_startup_objects_and_collects_young_ones_less_often(tmp_path: Path) -> None:
    assert _probe("serving", tmp_path) == "True 7000"


def test_an_app_made_for_tests_leaves_the_garbage_collector_alone(tmp_path: Path) -> None:
    assert _probe("test", tmp_path) == "False 700"
