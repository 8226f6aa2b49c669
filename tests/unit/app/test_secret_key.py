"""Production refuses a secret key that is public (an example in this repository) or obviously weak."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest

from backend.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[3]
HTTPS_ORIGIN = "https://carelog.example.org"
# Where an operator would copy a key from: the env example, the compose file, the docs, the README.
_ASSIGNED = re.compile(r"CARELOG_SECRET_KEY\s*[=:]\s*[\"']?([^\s\"'$]{32,})")


def _production(key: str) -> dict[str, str]:
    return {"CARELOG_ENV": "production", "CARELOG_SECRET_KEY": key, "CARELOG_PUBLIC_ORIGIN": HTTPS_ORIGIN}


def _example_keys() -> set[str]:
    files = [ROOT / "infra" / "carelog.env.example", ROOT / "infra" / "compose.yaml", ROOT / "README.md"]
    files += sorted((ROOT / "docs").glob("*.md"))
    found: set[str] = set()
    for path in files:
        if path.exists():
            found.update(_ASSIGNED.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_repository_has_an_example_key_to_refuse() -> None:
    assert "change-me-to-48-random-characters-change-me-change-me" in _example_keys()


@pytest.mark.parametrize("key", sorted(_example_keys()))
def test_production_refuses_every_example_secret_key_in_the_repository(key: str) -> None:
    with pytest.raises(SettingsError, match="CARELOG_SECRET_KEY") as refused:
        load_settings(_production(key))
    assert key not in str(refused.value)


@pytest.mark.parametrize(
    "key",
    [
        "k" * 40,
        "ab" * 20,
        "0123401234012340123401234012340123",
        "my-production-secret-example-value-2026",
        "CHANGEME-please-0123456789abcdefghijklmn",
        "test-secret-key-that-is-long-enough-0123456789",
        "e2e-secret-key-0123456789-abcdefghijklmn",
    ],
)
def test_production_refuses_an_obviously_weak_secret_key(key: str) -> None:
    with pytest.raises(SettingsError, match="CARELOG_SECRET_KEY") as refused:
        load_settings(_production(key))
    assert key not in str(refused.value)


def test_production_accepts_a_generated_secret_key() -> None:
    key = secrets.token_urlsafe(48)
    assert load_settings(_production(key)).secret_key == key


def test_development_still_accepts_a_simple_key_for_local_work() -> None:
    assert load_settings({"CARELOG_SECRET_KEY": "k" * 40}).secret_key == "k" * 40
