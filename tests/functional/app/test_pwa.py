"""The installable app on the server side: service worker, manifest, offline page, light pages.

Run on both databases like every functional test (the pages behind them read the database).
"""

from __future__ import annotations

import io
import json
import re

import httpx
from PIL import Image

from backend.db import Database
from backend.pwa import SHELL_FILES, STATIC_DIR
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.meals_support import agreement_of

LIGHT_PAGE_BYTES = 60 * 1024
GZIP = {"Accept-Encoding": "gzip"}


async def test_the_service_worker_is_served_from_the_root_uncached_with_a_versioned_shell(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["service-worker-allowed"] == "/"
    source = response.text
    assert "__CARELOG" not in source
    version = re.search(r'const VERSION = "([0-9a-f]{12})";', source)
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", source).group(1))  # type: ignore[union-attr]
    assert version is not None
    # Only the app shell: the offline page and versioned static files, nothing about anyone.
    assert shell[0] == "/offline"
    assert all(re.fullmatch(r"/static/[\w./-]+\?v=[0-9a-f]{10}", url) for url in shell[1:]), shell
    assert len(shell) == len(SHELL_FILES) + 1
    for url in shell:
        assert (await client.get(url)).status_code == 200, url


async def test_the_manifest_names_the_app_in_chinese_and_its_icons_exist_at_their_sizes(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["short_name"] == "关爱记" and "关爱记" in manifest["name"]
    assert manifest["start_url"] == "/" and manifest["scope"] == "/" and manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#0b6e4f"
    purposes = set()
    for icon in manifest["icons"]:
        served = await client.get(icon["src"])
        assert served.status_code == 200, icon["src"]
        purposes.add(icon["purpose"])
        if icon["type"] == "image/png":
            width, height = Image.open(io.BytesIO(served.content)).size
            assert f"{width}x{height}" == icon["sizes"]
    assert purposes == {"any", "maskable"}
    assert {"192x192", "512x512"} <= {i["sizes"] for i in manifest["icons"]}


async def test_the_offline_page_is_public_and_names_no_one_nor_carries_a_token(
    client_as: ClientAs, world: World
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    page = await neighbour.get("/offline")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    assert "没有网络" in page.text
    assert neighbour.cookies["csrftoken"] not in page.text
    assert "赵桂兰" not in page.text and 'action="/signout"' not in page.text
    assert 'data-owner=""' in page.text


async def test_pages_with_people_keep_no_htmx_history_and_carry_the_outbox(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    for path in ("/", f"/meals/agreements/{agreement.id}/checkin"):
        page = await neighbour.get(path)
        assert page.status_code == 200
        assert 'hx-history="false"' in page.text
        assert f'data-owner="{world.user_id(personas.NEIGHBOUR)}"' in page.text
        assert 'rel="manifest"' in page.text
    form = (await neighbour.get(f"/meals/agreements/{agreement.id}/checkin")).text
    # The plain form is still a form (it works without JS); the outbox only reads these attributes.
    assert 'method="post" enctype="multipart/form-data" data-outbox="checkin"' in form
    assert f'data-person="{world.person_id("qian")}"' in form


async def test_static_text_is_compressed_but_pages_are_not(client_as: ClientAs, world: World) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    script = await neighbour.get("/static/htmx.min.js", headers=GZIP)
    assert script.headers["content-encoding"] == "gzip"
    assert script.num_bytes_downloaded < len(script.content) / 2
    assert (await neighbour.get("/sw.js", headers=GZIP)).headers["content-encoding"] == "gzip"
    # BREACH: a page holds the CSRF token, so it is never compressed; neither are API answers.
    page = await neighbour.get("/", headers=GZIP)
    assert "content-encoding" not in page.headers
    icon = await neighbour.get("/static/icons/icon-512.png", headers=GZIP)
    assert "content-encoding" not in icon.headers


async def test_the_check_in_page_loads_in_at_most_60_kb_on_the_wire(
    client_as: ClientAs, world: World, database: Database
) -> None:
    neighbour = await client_as(personas.NEIGHBOUR)
    agreement = await agreement_of(database, world.person_id("qian"))
    page = await neighbour.get(f"/meals/agreements/{agreement.id}/checkin", headers=GZIP)
    assert page.status_code == 200
    assets = re.findall(r'<(?:script src|link rel="stylesheet" href)="(/static/[^"]+)"', page.text)
    assert {a.split("?")[0] for a in assets} == {
        "/static/app.css",
        "/static/htmx.min.js",
        "/static/outbox.js",
        "/static/app.js",
    }
    total = page.num_bytes_downloaded
    for url in assets:
        response = await neighbour.get(url, headers=GZIP)
        assert response.status_code == 200
        total += response.num_bytes_downloaded
    assert total <= LIGHT_PAGE_BYTES, f"{total} bytes"
    raw = sum((STATIC_DIR / a.split("?")[0].removeprefix("/static/")).stat().st_size for a in assets)
    print(f"check-in page: {total} bytes on the wire ({len(page.content) + raw} uncompressed)")
