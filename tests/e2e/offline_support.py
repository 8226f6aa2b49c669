"""What the offline tests and bench/upload_bytes.py share: a phone without signal, a camera photo, the
outbox as the page's IndexedDB holds it, and the check-ins as the live server's database holds them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.sync_api import BrowserContext, Page, Route
from playwright.sync_api import Error as PlaywrightError

from tests.data.corpus import CAPTURED, phone_photo

if TYPE_CHECKING:
    from tests.e2e.harness import LiveServer

SHANGHAI = "Asia/Shanghai"


def _no_network(route: Route) -> None:
    route.abort("internetdisconnected")


def go_offline(context: BrowserContext) -> None:
    """Playwright's offline mode, and the same for the service worker's own requests.

    set_offline alone does not reach a service worker that Chromium starts (or restarts) after it
    was called: that worker's fetches still reach the server (checked here with Chromium 156 and
    Playwright 1.65). Aborting every request of the context, the worker's included, is what a phone
    without signal sees.
    """
    context.set_offline(True)
    context.route("**/*", _no_network)


def go_online(context: BrowserContext) -> None:
    context.unroute("**/*", _no_network)
    context.set_offline(False)


def camera_photo(path: Path, day: date, hour: int, minute: int = 0) -> Path:
    """A 12-megapixel phone JPEG (4032x3024 stored sideways, EXIF orientation 6, GPS, about 4.6 MB),
    taken on `day` at hour:minute (EXIF DateTimeOriginal is the camera's local time, without a zone)."""
    stamp = f"{day:%Y:%m:%d} {hour:02d}:{minute:02d}:00".encode()
    data = phone_photo().replace(CAPTURED.encode(), stamp)
    path.write_bytes(data)
    return path


def wait_until_controlled(page: Page) -> None:
    """The service worker is installed and this page is under it (as on any later visit)."""
    page.wait_for_function("async () => !!(await navigator.serviceWorker.ready).active")
    if not page.evaluate("() => !!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("() => !!navigator.serviceWorker.controller")


OUTBOX_JS = """async () => {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open('carelog');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.onblocked = () => reject(new Error('storage blocked'));
  });
  if (!db.objectStoreNames.contains('outbox')) { db.close(); return []; }
  const all = await new Promise((resolve, reject) => {
    const r = db.transaction('outbox').objectStore('outbox').getAll();
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  db.close();
  return all.map((e) => ({
    uuid: e.uuid, kind: e.kind, state: e.state, label: e.label, body: e.body,
    photos: e.photos.map((p) => ({
      uuid: p.uuid, type: p.type, bytes: p.data.byteLength, captured: p.captured, sent: p.sent,
    })),
  }));
}"""


# One look into the page's storage (IndexedDB, the caches) may take this long before it is asked again.
# Right after sign-out, while Chromium deletes the site's storage for Clear-Site-Data, such a call can
# stay unanswered for good: a CI run once hung there for ten minutes, since page.evaluate has no
# timeout. Bounded and retried, the look gives an answer or a clear failure.
STORAGE_LOOK_MS = 3000
STORAGE_LOOKS = 10


def read_storage(page: Page, script: str) -> Any:
    """`script` (an async arrow function) evaluated in the page, each try bounded by STORAGE_LOOK_MS."""
    bounded = (
        "async () => Promise.race([(" + script + ")(), new Promise((_, reject) => setTimeout("
        f"() => reject(new Error('storage did not answer')), {STORAGE_LOOK_MS}))])"
    )
    for look in range(STORAGE_LOOKS):
        try:
            return page.evaluate(bounded)
        except PlaywrightError as exc:
            unanswered = "storage did not answer" in str(exc) or "storage blocked" in str(exc)
            if not unanswered or look == STORAGE_LOOKS - 1:
                raise
            page.wait_for_timeout(200)
    raise AssertionError("unreachable")


def outbox_entries(page: Page) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = read_storage(page, OUTBOX_JS)
    return entries


@dataclass(frozen=True)
class StoredCheckIn:
    id: int
    client_uuid: str
    dishes: str
    photo_bytes: int
    photo_width: int
    photo_height: int
    captured_at: str | None
    capture_source: str


def checkins_on(database: Path, agreement_id: int, day: date) -> list[StoredCheckIn]:
    """The check-ins the server stored for this meal day, read straight from its SQLite file."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT c.id, c.client_uuid, c.dishes, p.received_bytes, p.received_width, p.received_height,"
            " p.captured_at, p.capture_source FROM meal_checkin c"
            " JOIN meal_checkin_photo l ON l.checkin_id = c.id JOIN photo p ON p.id = l.photo_id"
            " WHERE c.agreement_id = ? AND c.day = ? ORDER BY c.id",
            (agreement_id, day.isoformat()),
        ).fetchall()
    return [StoredCheckIn(*row) for row in rows]


# ---------- bench/lighthouse.sh's helper: `python -m tests.e2e.offline_support serve|installable` ----------


def _signed_in_cookies(server: LiveServer, handle: str) -> str:
    """Sign `handle` in the way the e2e tests do (open the card's link, post its code) and return the
    session's cookies as one Cookie header."""
    import httpx

    with httpx.Client(base_url=server.base_url) as browser:
        link = server.link_for(handle)
        browser.get(link)
        code = link.rsplit("/", 1)[1]
        answer = browser.post("/signin", data={"code": code, "_csrf_token": browser.cookies["csrftoken"]})
        if answer.status_code != 303:
            raise SystemExit(f"sign-in of {handle} failed: {answer.status_code}")
        return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


def serve_signed_in(out: Path) -> None:
    """Start a demo server on http://localhost, sign in the demo neighbour and the demo social worker
    (each in her own session), write what Lighthouse needs to `out` as JSON, and serve until terminated.

    The JSON: base_url; checkin_url and headers (the neighbour's Cookie), as before; and `pages`, one
    entry per page bench/lighthouse.sh measures: {"name", "url", "headers"}."""
    import json
    import signal
    import tempfile
    import threading

    from tests import personas
    from tests.e2e.harness import running_server

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp), public_host="localhost") as server:
        neighbour = {"Cookie": _signed_in_cookies(server, personas.NEIGHBOUR)}
        social_worker = {"Cookie": _signed_in_cookies(server, personas.SOCIAL_WORKER)}
        with sqlite3.connect(Path(tmp) / "carelog.db") as db:
            (agreement,) = db.execute(
                "SELECT a.id FROM meal_agreement a JOIN person p ON p.id = a.resident_id"
                " WHERE p.display_name = '钱老伯'"
            ).fetchone()
        checkin_url = server.url(f"/meals/agreements/{agreement}/checkin")
        info = {
            "base_url": server.base_url,
            "checkin_url": checkin_url,
            "headers": neighbour,
            "pages": [
                {"name": "home", "url": server.url("/"), "headers": social_worker},
                {"name": "checkin", "url": checkin_url, "headers": neighbour},
                {"name": "review", "url": server.url("/review"), "headers": social_worker},
            ],
        }
        out.write_text(json.dumps(info))
        stop.wait()


def installable(base_url: str) -> list[str]:
    """Chromium's installability errors for the app (none means installable), from a persistent
    profile: a default Playwright context is incognito-like and always reports `in-incognito`."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from tests.e2e.harness import CHROMIUM, CHROMIUM_ARGS

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(base_url + "/signin")
            page.wait_for_function("async () => !!(await navigator.serviceWorker.ready).active")
            session = context.new_cdp_session(page)
            result = session.send("Page.getInstallabilityErrors")
        finally:
            context.close()
    return [str(item["errorId"]) for item in result.get("installabilityErrors", [])]


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["serve"]:
        serve_signed_in(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["installable"]:
        errors = installable(sys.argv[2])
        print("yes" if not errors else "no " + ",".join(errors))
    else:
        raise SystemExit("usage: python -m tests.e2e.offline_support serve OUT.json | installable BASE_URL")
