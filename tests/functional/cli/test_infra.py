"""infra/ checked without a container engine (none runs here): compose.yaml parsed and held against the
app's settings, the Caddyfile validated by Caddy itself, the Dockerfile against both. A real
`docker compose up` remains untested; docs/operations.md says so.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.settings import Settings, SettingsError, env_names, load_settings

INFRA = Path(__file__).resolve().parents[3] / "infra"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}")


def _example_env() -> dict[str, str]:
    values = {}
    for line in (INFRA / "carelog.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?message}, from the example environment."""

    def one(match: re.Match[str]) -> str:
        name, kind, default = match.groups()
        if name in env:
            return env[name]
        assert kind and kind.endswith("-"), f"${{{name}}} is neither in the example env file nor defaulted"
        return default

    return _VAR.sub(one, value).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((INFRA / "compose.yaml").read_text())
    return loaded


def _environment(service: dict[str, Any]) -> dict[str, str]:
    return {k: _interpolate(str(v), _example_env()) for k, v in service.get("environment", {}).items()}


def test_compose_has_the_app_postgresql_an_object_store_and_caddy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"app", "migrate", "postgres", "objectstore", "bucket", "caddy"} <= set(services)
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown service {needed}"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"
    assert {"80:80", "443:443"} <= set(services["caddy"]["ports"])
    assert "ports" not in services["app"]  # reached only through Caddy
    assert services["app"]["command"] == ["carelog", "serve"]
    assert services["migrate"]["command"] == ["carelog", "migrate"]
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_app_environment_is_a_valid_production_configuration(compose: dict[str, Any]) -> None:
    env = _environment(compose["services"]["app"])
    carelog = {k: v for k, v in env.items() if k.startswith("CARELOG_")}
    assert set(carelog) <= set(env_names())
    assert set(_example_env()) - {"CARELOG_DOMAIN"} <= set(env_names()) | {
        "POSTGRES_PASSWORD",
        "S3_ACCESS_KEY",
        "S3_SECRET_KEY",
        "S3_BUCKET",
    }
    with pytest.raises(SettingsError, match="CARELOG_SECRET_KEY"):
        load_settings(carelog)  # the example's placeholder key must never run a production server
    carelog["CARELOG_SECRET_KEY"] = secrets.token_urlsafe(48)  # what the operator fills in
    settings: Settings = load_settings(carelog)  # production: refuses a short secret or plain http
    assert settings.environment == "production" and settings.public_origin.startswith("https://")
    assert settings.database_url.startswith("postgresql+asyncpg://carelog:")
    assert settings.database_url.endswith("@postgres:5432/carelog")
    assert settings.photo_store_url == "s3://carelog-photos" and settings.trust_proxy
    assert env["AWS_ENDPOINT"] == "http://objectstore:9000"
    postgres = _environment(compose["services"]["postgres"])
    assert postgres["POSTGRES_PASSWORD"] in settings.database_url
    store = _environment(compose["services"]["objectstore"])
    assert (store["MINIO_ROOT_USER"], store["MINIO_ROOT_PASSWORD"]) == (
        env["AWS_ACCESS_KEY_ID"],
        env["AWS_SECRET_ACCESS_KEY"],
    )
    assert _environment(compose["services"]["caddy"])["CARELOG_DOMAIN"] in settings.public_origin


def test_the_caddyfile_proxies_to_every_app_instance_and_caddy_accepts_it(compose: dict[str, Any]) -> None:
    text = (INFRA / "Caddyfile").read_text()
    port = compose["x-app"]["environment"]["CARELOG_PORT"]
    assert re.search(r"dynamic a \{\s*name app\s*port " + port + r"\b", text)
    assert "{$CARELOG_DOMAIN} {" in text
    limit = int(re.search(r"max_size (\d+)MB", text).group(1)) * 1_000_000  # type: ignore[union-attr]
    assert limit > Settings().max_upload_bytes
    if shutil.which("caddy") is None:
        if IN_CI:
            pytest.fail("caddy is not installed and CI=true (.ci/run installs it)")
        pytest.skip("caddy is not installed (apt-get install caddy)")
    done = subprocess.run(
        ["caddy", "adapt", "--config", str(INFRA / "Caddyfile"), "--validate"],
        env={**os.environ, "CARELOG_DOMAIN": _example_env()["CARELOG_DOMAIN"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert '"dynamic_upstreams":{"name":"app","port":"8000"' in done.stdout.replace(" ", "")


def test_the_dockerfile_is_slim_non_root_and_serves_with_granian(compose: dict[str, Any]) -> None:
    text = (INFRA / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    user = re.search(r"^USER (\S+)", text, re.M)
    assert user is not None and user.group(1) not in ("root", "0")
    assert f"EXPOSE {compose['x-app']['environment']['CARELOG_PORT']}" in text
    assert "exec carelog serve" in text and "postgresql-client" in text
    ignored = (INFRA / "Dockerfile.dockerignore").read_text().split()
    assert {".git", ".venv", "var"} <= set(ignored)


def test_postgresql_admits_every_connection_three_instances_can_hold(compose: dict[str, Any]) -> None:
    """The example in docs/operations.md runs three instances of CARELOG_WORKERS workers, each worker
    holding at its peak the page reader's pool and the writer's pool with its overflow."""
    from backend.db import PAGE_READER_POOL, POSTGRESQL_WRITER_POOL

    command = compose["services"]["postgres"]["command"]
    allowed = int(next(arg.split("=", 1)[1] for arg in command if arg.startswith("max_connections=")))
    workers = int(_environment(compose["services"]["app"])["CARELOG_WORKERS"])
    pools = (PAGE_READER_POOL, POSTGRESQL_WRITER_POOL)
    per_worker = sum(pool["pool_size"] + pool["max_overflow"] for pool in pools)
    assert allowed >= 3 * workers * per_worker + 10  # and a few for backups, psql and the migration
