"""The installable app in Chromium: manifest, icons, service worker, offline page, installability.

Also the generator of the PNG icons: `python -m tests.e2e.test_offline_install` renders
web/static/icons/icon.svg (the one source) in Chromium at each size the manifest names and writes
the PNGs next to it; a test checks that the committed PNGs still match the SVG.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageStat
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests import personas
from tests.e2e.harness import CHROMIUM, CHROMIUM_ARGS, BrowserLog, LiveServer, SignIn, open_menu
from tests.e2e.offline_support import go_offline, go_online, wait_until_controlled

ICONS = Path(__file__).resolve().parents[2] / "web" / "static" / "icons"
# file name -> (size, maskable). Maskable icons keep their picture inside the central 80% (the safe
# zone a launcher may crop to a circle) on a full-bleed background.
ICON_FILES = {
    "icon-192.png": (192, False),
    "icon-512.png": (512, False),
    "maskable-512.png": (512, True),
}
BRAND = "#0b6e4f"


def render_icon(browser: Browser, size: int, *, maskable: bool) -> bytes:
    svg = base64.b64encode((ICONS / "icon.svg").read_bytes()).decode()
    inner = round(size * 0.8) if maskable else size
    background = BRAND if maskable else "transparent"
    html = (
        f"<html><body style='margin:0;background:{background};width:{size}px;height:{size}px;"
        "display:flex;align-items:center;justify-content:center'>"
        f"<img src='data:image/svg+xml;base64,{svg}' width='{inner}' height='{inner}'></body></html>"
    )
    page = browser.new_page(viewport={"width": size, "height": size}, device_scale_factor=1)
    try:
        page.set_content(html)
        page.wait_for_function("() => document.images[0].complete")
        png = page.screenshot(omit_background=not maskable)
    finally:
        page.close()
    return png


def write_icons(playwright: Playwright) -> None:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    try:
        for name, (size, maskable) in ICON_FILES.items():
            image = Image.open(io.BytesIO(render_icon(browser, size, maskable=maskable)))
            image.save(ICONS / name, "PNG", optimize=True)
            print(f"wrote {ICONS / name} ({size}x{size}{', maskable' if maskable else ''})")
    finally:
        browser.close()


def test_committed_icons_are_rendered_from_the_one_svg(browser: Browser) -> None:
    for name, (size, maskable) in ICON_FILES.items():
        committed = Image.open(ICONS / name).convert("RGBA")
        assert committed.size == (size, size), name
        fresh = Image.open(io.BytesIO(render_icon(browser, size, maskable=maskable))).convert("RGBA")
        # Anti-aliasing may differ by a shade between Chromium versions; a changed SVG differs a lot.
        difference = ImageStat.Stat(ImageChops.difference(committed, fresh)).mean
        assert max(difference) < 2.0, f"{name} no longer matches icon.svg: run python -m {__name__}"


def check_installable(playwright: Playwright, url: str, profile: str) -> dict[str, object]:
    """Open `url` in a persistent context (installability is judged only outside incognito), wait for
    the service worker, and return Chromium's installability errors and the served manifest."""
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 390, "height": 844},
        locale="zh-CN",
    )
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(url)
        page.wait_for_function("async () => !!(await navigator.serviceWorker.ready).active")
        errors = installability_errors(page)
        manifest = page.evaluate("() => fetch('/manifest.webmanifest').then((r) => r.json())")
        return {"errors": errors, "manifest": manifest}
    finally:
        context.close()


def installability_errors(page: Page) -> list[str]:
    session = page.context.new_cdp_session(page)
    try:
        result = session.send("Page.getInstallabilityErrors")
    finally:
        session.detach()
    return [item["errorId"] for item in result.get("installabilityErrors", [])]


# Chromium once never answered Page.getInstallabilityErrors (CI, 2026-11-26: the run hung for 40
# minutes; a DevTools call has no timeout in Playwright's sync API). So the check runs in a child
# process that is killed, with its browser, when it takes longer than this, and is tried once more.
INSTALLABILITY_TIMEOUT_S = 90


def test_the_app_is_installable_and_registers_its_service_worker(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url("/signin").replace("127.0.0.1", "localhost")
    command = [sys.executable, "-m", "tests.e2e.test_offline_install", "--installable", url]
    root = Path(__file__).resolve().parents[2]
    outcome: dict[str, object] | None = None
    for attempt in range(2):
        child = subprocess.Popen(
            [*command, str(tmp_path / f"profile-{attempt}")],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = child.communicate(timeout=INSTALLABILITY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            continue
        assert child.returncode == 0, err[-2000:]
        outcome = json.loads(out.strip().splitlines()[-1])
        break
    assert outcome is not None, (
        f"Chromium did not answer the installability check twice in {INSTALLABILITY_TIMEOUT_S} s"
    )
    assert outcome["errors"] == [], outcome["errors"]
    manifest = outcome["manifest"]
    assert isinstance(manifest, dict)
    assert manifest["short_name"] == "关爱记" and manifest["lang"] == "zh-Hans"


def test_offline_a_page_is_answered_by_the_kept_offline_page_and_nothing_personal_is_cached(
    page: Page, live_server: LiveServer, sign_in: SignIn, browser_log: BrowserLog
) -> None:
    sign_in(page, personas.OTHER_NEIGHBOUR)
    wait_until_controlled(page)
    cached = page.evaluate(
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
              const cache = await caches.open(name);
              for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
            }
            return urls;
        }"""
    )
    assert "/offline" in cached
    assert all(url == "/offline" or url.startswith("/static/") for url in cached), cached
    go_offline(page.context)
    try:
        page.goto(live_server.url("/account"))
        expect(page.get_by_role("heading", level=1)).to_have_text("没有网络")
    finally:
        go_online(page.context)
    browser_log.assert_clean()


def test_a_new_service_worker_deletes_the_caches_of_earlier_versions(
    page: Page, live_server: LiveServer, sign_in: SignIn
) -> None:
    sign_in(page, personas.OTHER_NEIGHBOUR)
    wait_until_controlled(page)
    open_menu(page)
    page.get_by_role("link", name="我的账号").tap()
    page.wait_for_url(live_server.url("/account"))
    # htmx keeps no copy of these pages for the back button.
    assert page.evaluate("() => sessionStorage.getItem('htmx-history-cache')") is None
    source = page.evaluate("() => fetch('/sw.js').then((r) => r.text())")
    version = re.search(r'const VERSION = "([0-9a-f]+)"', source)
    assert version is not None
    # As if an earlier version had left its shell behind: the next worker to activate removes it.
    page.evaluate(
        """async () => {
            await (await caches.open('carelog-shell-0123456789ab')).put('/static/old.css', new Response('x'));
            await (await navigator.serviceWorker.getRegistration()).unregister();
        }"""
    )
    context = page.context
    page.close()  # the unregistered worker goes once no page uses it
    again = context.new_page()
    again.goto(live_server.url("/account"))
    again.wait_for_function("async () => (await navigator.serviceWorker.ready).active.state === 'activated'")
    keys = again.evaluate("() => caches.keys()")
    assert keys == [f"carelog-shell-{version.group(1)}"]


def _jpeg(exif: Image.Exif | None) -> list[int]:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "JPEG", exif=exif.tobytes() if exif else b"")
    return list(buffer.getvalue())


def _exif(endian: str, **tags: str) -> Image.Exif:
    exif = Image.Exif()
    exif.endian = endian
    exif[0x0112] = 6
    exif[0x8769] = {int(key[1:], 16): value for key, value in tags.items()}
    return exif


def test_the_phone_reads_the_capture_time_from_exif_and_nothing_from_a_broken_file(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url("/offline"))
    read = "async (bytes) => window.carelogOutbox.exifTime(new Blob([new Uint8Array(bytes)]))"
    big = _jpeg(_exif(">", x9003="2026:11:20 09:30:00", x9011="+08:00"))
    little = _jpeg(_exif("<", x9003="2026:11:21 18:05:59"))
    assert page.evaluate(read, big) == "2026-11-20T09:30:00+08:00"
    assert page.evaluate(read, little) == "2026-11-21T18:05:59"
    assert page.evaluate(read, _jpeg(_exif("<", x9003="not a time"))) is None
    assert page.evaluate(read, _jpeg(None)) is None
    broken = big[:40] + [0xFF] * 30  # an APP1 segment cut short
    assert page.evaluate(read, broken) is None
    assert page.evaluate(read, list(b"\x89PNG\r\n\x1a\n" + bytes(60))) is None


if __name__ == "__main__":
    with sync_playwright() as pw:
        if sys.argv[1:2] == ["--installable"]:
            print(json.dumps(check_installable(pw, sys.argv[2], sys.argv[3]), ensure_ascii=False))
        else:
            write_icons(pw)
    sys.exit(0)
