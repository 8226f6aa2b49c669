"""Bytes a phone sends for one 12-megapixel meal photo, against the photo itself.

Drives Debian's Chromium as tests/e2e/test_offline.py does: a live `carelog serve` with the demo
district, the demo neighbour signed in on a 390x844 phone, the check-in page, the camera input given
a generated 12-megapixel JPEG (4032x3024, EXIF orientation 6, GPS, DateTimeOriginal; about 4.6 MB),
"send". The page shrinks the photo (long side 2048, JPEG 0.85) and sends it with PUT /api/photos;
the bytes of every request body the page sent are counted, by kind, and the page's JPEG is checked.
The floor is the original file: what the plain form (no JavaScript) would have sent.

Ends with: result upload_bytes=… original_bytes=… ratio=… send_ms=… (tap on "send" to the history page)
(target: upload_bytes <= 700000, i.e. 0.7 MB). Never fails on a size or a time; only on an error.
BENCH_ROUNDS (default 3) check-ins are sent, each a different day; the median is reported.
"""

from __future__ import annotations

import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Request, expect, sync_playwright

from tests import personas
from tests.e2e.harness import CHROMIUM, CHROMIUM_ARGS, running_server
from tests.e2e.offline_support import SHANGHAI, camera_photo

ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "3")))
TARGET = 700_000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        workdir = Path(tmp)
        with sqlite3.connect(workdir / "carelog.db") as db:
            agreement = db.execute(
                "SELECT a.id FROM meal_agreement a JOIN person p ON p.id = a.resident_id"
                " WHERE p.display_name = '钱老伯'"
            ).fetchone()[0]
        today = datetime.now(ZoneInfo(SHANGHAI)).date()
        rows: list[tuple[int, int, int, float]] = []  # original, photo PUT, check-in PUT, ms
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
            )
            page = context.new_page()
            page.goto(server.link_for(personas.NEIGHBOUR))
            page.get_by_role("button", name="登录", exact=True).click()
            page.wait_for_url(server.url("/"))
            for n in range(ROUNDS):
                day = today - timedelta(days=4 + n)  # the demo checked in the last three days
                photo = camera_photo(workdir / f"lunch-{n}.jpg", day, 12)
                checkin_bodies: list[int] = []

                def on_request(request: Request, bodies: list[int] = checkin_bodies) -> None:
                    if request.method == "PUT" and "/api/checkins/" in request.url:
                        bodies.append(len(request.post_data_buffer or b""))

                page.on("request", on_request)
                page.goto(server.url(f"/meals/agreements/{agreement}/checkin?day={day}"))
                page.get_by_label(re.compile("拍饭菜照片|Take a photo")).set_input_files(str(photo))
                started = time.perf_counter()
                page.locator("#checkin-form button[type=submit]").click()
                expect(page).to_have_url(re.compile(r"/meals/history\?"), timeout=60_000)
                elapsed_ms = (time.perf_counter() - started) * 1000
                page.remove_listener("request", on_request)
                # Playwright does not report Blob bodies, so the photo's bytes are what the server
                # received (the photo row records them), which is exactly what the page sent.
                with sqlite3.connect(workdir / "carelog.db") as db:
                    (photo_bytes,) = db.execute(
                        "SELECT SUM(p.received_bytes) FROM meal_checkin c JOIN meal_checkin_photo l"
                        " ON l.checkin_id = c.id JOIN photo p ON p.id = l.photo_id"
                        " WHERE c.agreement_id = ? AND c.day = ?",
                        (agreement, day.isoformat()),
                    ).fetchone()
                rows.append((photo.stat().st_size, int(photo_bytes), sum(checkin_bodies), elapsed_ms))
            browser.close()

    print(
        f"{'round':>5} {'original B':>12} {'photo PUT B':>12} {'check-in PUT B':>15}"
        f" {'ratio':>7} {'send ms':>8}"
    )
    for n, (original, photo_bytes, checkin_bytes, ms) in enumerate(rows, start=1):
        print(
            f"{n:>5} {original:>12} {photo_bytes:>12} {checkin_bytes:>15}"
            f" {photo_bytes / original:>7.3f} {ms:>8.0f}"
        )
    upload = int(statistics.median(r[1] + r[2] for r in rows))
    original = int(statistics.median(r[0] for r in rows))
    ms = statistics.median(r[3] for r in rows)
    verdict = "within" if upload <= TARGET else "OVER"
    print(f"median: {upload} bytes sent for a {original}-byte photo ({verdict} the {TARGET}-byte target)")
    print(
        f"result upload_bytes={upload} original_bytes={original} ratio={upload / original:.3f}"
        f" send_ms={ms:.0f}"
    )


if __name__ == "__main__":
    main()
