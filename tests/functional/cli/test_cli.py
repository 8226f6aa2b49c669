"""The carelog command as an operator uses it: issue a sign-in link, refuse nonsense clearly."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

import httpx
import pytest

from backend import clock
from backend.settings import Settings
from tests import personas
from tests.conftest import SECRET, World, csrf_token


def _carelog(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    env |= {
        "CARELOG_DATABASE_URL": settings.database_url,
        "CARELOG_SECRET_KEY": SECRET,
        "CARELOG_PUBLIC_ORIGIN": settings.public_origin,
        "CARELOG_ENV": "test",
        "CARELOG_TODAY": clock.today_in(clock.REFERENCE_ZONE).isoformat(),  # the tests' clock
    }
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args], env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_issue_code_prints_a_link_that_signs_the_person_in(
    settings: Settings, world: World, client: httpx.AsyncClient
) -> None:
    done = await asyncio.to_thread(_carelog, settings, "issue-code", personas.NEIGHBOUR)
    assert done.returncode == 0, done.stderr
    link = re.search(r"(http://\S+/signin/c/([0-9A-Z]{12}))", done.stdout)
    assert link is not None, done.stdout
    page = await client.get(link.group(1).replace(settings.public_origin, ""))
    assert page.status_code == 200
    signed = await client.post(
        "/signin", data={"code": link.group(2), "_csrf_token": await csrf_token(client)}
    )
    assert signed.status_code == 303


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("issue-code", "nobody-here"), 1, "no active user"),
        (("issue-code", personas.NEIGHBOUR, "--hours", "0"), 2, "--hours must be between 1 and 336"),
        (("issue-code", personas.NEIGHBOUR, "--hours", "99999"), 2, "--hours must be between 1 and 336"),
        (("create-admin", "Bad Name!"), 2, "a user name has"),
    ],
)
async def test_cli_refuses_bad_input_with_a_clear_message(
    settings: Settings, world: World, args: tuple[str, ...], code: int, message: str
) -> None:
    done = await asyncio.to_thread(_carelog, settings, *args)
    assert done.returncode == code
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_setting_stops_the_cli_with_the_variables_name() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")} | {"CARELOG_PORT": "eighty"}
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "migrate"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "CARELOG_PORT must be a whole number" in done.stderr
