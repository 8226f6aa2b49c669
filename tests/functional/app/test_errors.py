"""Unexpected failures: a friendly 500 in the user's language, a 503 health report, and no leaks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from litestar import get

from backend.app import create_app
from backend.logs import JsonFormatter
from backend.settings import Settings
from tests.conftest import BASE_URL, started


@get("/test-only/explode", name="test.explode")
async def explode() -> str:
    raise RuntimeError("secret detail: 钱老伯 lives at 5 Wutong Lane")


@asynccontextmanager
async def _serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.register(explode)
    async with (
        started(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as b,
    ):
        yield b


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_an_unexpected_error_is_a_friendly_500_that_reveals_nothing(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with _serve(settings) as browser:
        zh = await browser.get("/test-only/explode")
        en = await browser.get("/test-only/explode", headers={"accept-language": "en"})
        api = await browser.get("/test-only/explode", headers={"accept": "application/json"})
    assert zh.status_code == 500 and "服务器错误" in zh.text
    assert en.status_code == 500 and "Server error" in en.text
    assert api.status_code == 500 and api.json()["status"] == 500
    for response in (zh, en, api):
        assert "钱老伯" not in response.text and "Traceback" not in response.text
        assert response.headers["x-content-type-options"] == "nosniff"
    logged = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert '"exc_type": "RuntimeError"' in logged
    assert "钱老伯" not in logged and "Wutong Lane" not in logged


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_health_is_503_when_the_database_cannot_be_reached(settings: Settings, tmp_path: Path) -> None:
    broken = replace(settings, database_url=f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    async with _serve(broken) as browser:
        response = await browser.get("/healthz")
        probed = await browser.head("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "failing", "checks": {"database": "failing", "photo_store": "ok"}}
    assert probed.status_code == 503
    assert probed.content == b""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_form_with_bytes_that_are_not_text_is_a_400_not_a_500(settings: Settings) -> None:
    async with _serve(settings) as browser:
        await browser.get("/signin")
        token = browser.cookies["csrftoken"]
        body = (
            b'--XX\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n' + token.encode() + b"\r\n"
            b'--XX\r\nContent-Disposition: form-data; name="code"\r\n\r\n\xff\xfe\x00\x81\r\n--XX--\r\n'
        )
        response = await browser.post(
            "/signin", content=body, headers={"content-type": "multipart/form-data; boundary=XX"}
        )
    assert response.status_code == 400
    assert "无法读取" in response.text
