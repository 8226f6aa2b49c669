"""Logs carry no names, no ids of people, no codes and no tokens."""

from __future__ import annotations

import logging

import httpx
import pytest

from backend.db import Database
from backend.logs import JsonFormatter
from tests import personas
from tests.conftest import World, csrf_token, issue_code


async def test_a_whole_visit_leaves_nothing_personal_in_the_logs(
    client: httpx.AsyncClient, world: World, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = await issue_code(database, personas.SOCIAL_WORKER)
    bad_code = "ZZZZ-ZZZZ-ZZZZ"
    person_id = world.person_id("qian")

    await client.get(f"/signin/c/{code}")
    await client.post("/signin", data={"code": bad_code, "_csrf_token": await csrf_token(client)})
    await client.post("/signin", data={"code": code, "_csrf_token": await csrf_token(client)})
    token = client.cookies["carelog_session"]
    await client.get("/")
    await client.get(f"/people/{person_id}")
    await client.get(f"/people/{world.person_id('lele')}")  # a 404 for her
    await client.get("/no/such/place/钱老伯")
    await client.post("/signout", data={"_csrf_token": await csrf_token(client)})

    formatter = JsonFormatter()
    # Everything the server side logged (httpx is the test's own client, not part of the app).
    lines = [formatter.format(r) for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text = "\n".join(lines)
    assert '"route": "/people/{person_id}"' in text  # requests are logged, by template
    assert '"route": "/signin/c/{code}"' in text
    for secret in (code, bad_code, "ZZZZZZZZZZZZ", token, "李娜", "钱老伯", "黄乐乐", f"/people/{person_id}"):
        assert secret not in text, secret
