"""What the offline tests and bench/upload_bytes.py share: a phone without signal, a camera photo, the
outbox as the page's IndexedDB holds it, and the check-ins as the live server's database holds them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, Route

from tests.data.corpus import CAPTURED, phone_photo

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


def camera_photo(path: Path, taken: datetime) -> Path:
    """A 12-megapixel phone JPEG (4032x3024 stored sideways, EXIF orientation 6, GPS, about 4.6 MB),
    taken at `taken` (camera-local time in EXIF DateTimeOriginal)."""
    stamp = taken.strftime("%Y:%m:%d %H:%M:%S").encode()
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
    photos: e.photos.map((p) => ({ uuid: p.uuid, type: p.type, bytes: p.data.byteLength, captured: p.captured, sent: p.sent })),
  }));
}"""


def outbox_entries(page: Page) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = page.evaluate(OUTBOX_JS)
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
