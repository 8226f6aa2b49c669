"""Pages in both languages, error pages, health, and the headers every response carries."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from backend.db import Database
from backend.people.models import User
from tests import personas
from tests.conftest import ClientAs, World, csrf_token


async def test_interface_is_chinese_by_default(client: httpx.AsyncClient, world: World) -> None:
    page = await client.get("/signin")
    assert page.status_code == 200
    assert '<html lang="zh-Hans">' in page.text
    assert "登录码" in page.text


async def test_english_browser_gets_english_until_it_chooses_otherwise(
    client: httpx.AsyncClient, world: World
) -> None:
    page = await client.get("/signin", headers={"accept-language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in page.text and "Sign-in code" in page.text
    chinese = await client.get("/signin", headers={"accept-language": "zh-TW,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh-Hans">' in chinese.text


async def test_language_choice_is_kept_in_the_users_setting_and_follows_her_to_a_new_phone(
    client_as: ClientAs, world: World, database: Database
) -> None:
    browser = await client_as(personas.NEIGHBOUR)
    response = await browser.post(
        "/language", data={"language": "en", "next": "/", "_csrf_token": await csrf_token(browser)}
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "Residents I cook for" in (await browser.get("/")).text
    async with database.transaction(read_only=True) as db:
        locale = await db.scalar(select(User.locale).where(User.handle == personas.NEIGHBOUR))
    assert locale == "en"
    other_phone = await client_as(personas.NEIGHBOUR)  # no lang cookie yet; the setting wins
    home = await other_phone.get("/", headers={"accept-language": "zh-CN"})
    assert "Residents I cook for" in home.text


async def test_language_switch_never_redirects_off_site(client: httpx.AsyncClient, world: World) -> None:
    token = await csrf_token(client)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = await client.post(
            "/language", data={"language": "en", "next": target, "_csrf_token": token}
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/"


async def test_unknown_language_is_ignored(client: httpx.AsyncClient, world: World) -> None:
    token = await csrf_token(client)
    response = await client.post(
        "/language", data={"language": "fr", "next": "/signin", "_csrf_token": token}
    )
    assert response.status_code == 303
    assert '<html lang="zh-Hans">' in (await client.get("/signin")).text


async def test_unknown_page_is_a_friendly_404_in_both_languages(
    client: httpx.AsyncClient, world: World
) -> None:
    zh = await client.get("/no/such/page")
    assert zh.status_code == 404 and "找不到页面" in zh.text and 'lang="zh-Hans"' in zh.text
    en = await client.get("/no/such/page", headers={"accept-language": "en"})
    assert en.status_code == 404 and "Not found" in en.text


async def test_wrong_method_is_a_405_page_not_a_500(client: httpx.AsyncClient, world: World) -> None:
    response = await client.put("/signin")
    assert response.status_code in (403, 405)  # CSRF runs first for unsafe methods
    response = await client.delete("/healthz")
    assert response.status_code == 405


async def test_forbidden_page_in_both_languages(client: httpx.AsyncClient, world: World) -> None:
    await client.get("/signin")
    zh = await client.post("/signin", data={"code": "x"})  # no CSRF token
    assert zh.status_code == 403 and "无权操作" in zh.text
    en = await client.post("/signin", data={"code": "x"}, headers={"accept-language": "en"})
    assert en.status_code == 403 and "Not allowed" in en.text


async def test_health_reports_database_and_photo_store(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "photo_store": "ok"}}


async def test_health_answers_a_head_probe_with_its_status_and_no_body(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.head("/healthz")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"


async def test_every_page_carries_the_security_headers(client_as: ClientAs, world: World) -> None:
    browser = await client_as(personas.SOCIAL_WORKER)
    for path in ("/", "/signin", "/no/such/page", f"/people/{world.person_id('qian')}"):
        headers = (await browser.get(path)).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"


async def test_static_files_are_cacheable_and_versioned(client: httpx.AsyncClient, world: World) -> None:
    page = (await client.get("/signin")).text
    assert "/static/app.css?v=" in page and "/static/htmx.min.js?v=" in page
    css = await client.get("/static/app.css")
    assert css.status_code == 200 and "max-age=31536000" in css.headers["cache-control"]


async def test_pages_have_no_inline_script_or_style(client_as: ClientAs, world: World) -> None:
    browser = await client_as(personas.STAFF)
    for path in ("/", "/signin"):
        text = (await browser.get(path)).text
        assert "<script>" not in text and "style=" not in text and "onclick" not in text


async def test_names_are_escaped_in_pages(client_as: ClientAs, world: World, database: Database) -> None:
    async with database.transaction() as db:
        user = await db.scalar(select(User).where(User.handle == personas.NEIGHBOUR))
        assert user is not None
        user.display_name = "<img src=x onerror=alert(1)>"
    text = (await (await client_as(personas.NEIGHBOUR)).get("/")).text
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
