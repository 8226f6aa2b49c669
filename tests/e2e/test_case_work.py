"""A social-work station's order, from a scout's phone to the quarter's figures, at 390 x 844.

The hardship scout 马建国 reports a need with a photo; the station's worker 何芸 takes the order (a new
household), records a home assessment with two photos, builds a plan from a service package and logs
a delivery with no signal, which the outbox sends once when the signal returns; her colleague 高磊
approves it in the shared review queue; the quarter's figures then count one more home visit, case
and delivery than before (the demo already holds a case at the same station).
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from backend import clock
from tests.e2e.harness import BrowserLog, LiveServer, NewPhone, SignIn
from tests.e2e.offline_support import (
    SHANGHAI,
    camera_photo,
    go_offline,
    go_online,
    outbox_entries,
    wait_until_controlled,
)

SCOUT = "demo-scout-ma"
WORKER = "demo-sw-he"
COLLEAGUE = "demo-sw-gao"
SAVED = "已保存在这部手机上。一有网络就会自动发送，您可以关闭这个页面。"
WAIT_MS = 30_000


def _db(server: LiveServer) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{server.workdir / 'carelog.db'}?mode=ro", uri=True)


def _station_programme(server: LiveServer) -> int:
    with _db(server) as db:
        return int(db.execute("SELECT id FROM programme WHERE kind = 'social_work_station'").fetchone()[0])


def _quarter_figures(page: Page, server: LiveServer, programme_id: int, day: str) -> dict[str, str]:
    """The Wutong station's row of the quarter's CSV, by Chinese column header."""
    response = page.request.get(server.url(f"/programmes/{programme_id}/figures.csv?period=quarter&on={day}"))
    assert response.status == 200, response.status
    rows = list(csv.reader(io.StringIO(response.text().lstrip("\ufeff"))))
    header_at = next(i for i, row in enumerate(rows) if row and row[0] == "区域")
    header = rows[header_at]
    station = next(row for row in rows[header_at + 1 :] if row and row[0] == "梧桐街道")
    return dict(zip(header, station, strict=True))


def test_a_scouts_report_becomes_a_case_served_reviewed_and_counted_in_the_quarter(
    new_phone: NewPhone,
    live_server: LiveServer,
    sign_in: SignIn,
    browser_log: BrowserLog,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    today = clock.today_in(ZoneInfo(SHANGHAI))
    marker = f"独居老人，冬天暖气坏了（{uuid.uuid4().hex[:6]}）"
    programme_id = _station_programme(live_server)

    # The worker reads the quarter's figures before anything happens.
    worker = new_phone()
    sign_in(worker, WORKER)
    before = _quarter_figures(worker, live_server, programme_id, today.isoformat())

    # 1. The scout reports the need from her phone, with a photo.
    scout = new_phone()
    sign_in(scout, SCOUT)
    scout.goto(live_server.url("/scout/report"))
    expect(scout.get_by_role("heading", level=1)).to_have_text("报告需求")
    scout.locator("#order-area").select_option(label="桂园社区")
    scout.locator("#order-category").select_option("elderly")
    scout.locator("#order-description").fill(marker)
    scout.locator("#order-contact").fill("居委会转告")
    scout.locator("#scout-photo").set_input_files(str(camera_photo(tmp_path / "door.jpg", today, 9, 10)))
    scout.get_by_role("button", name="发送报告").tap()
    expect(scout.get_by_text(marker)).to_be_visible()
    scout.screenshot(path=str(artifacts_dir / "case-work-scout.png"), full_page=True)

    # 2. The station's worker takes the order: a new household, and the case opens.
    worker.goto(live_server.url("/orders"))
    worker.get_by_role("link", name=re.compile(re.escape(marker[:8]))).first.tap()
    expect(worker.get_by_text(marker)).to_be_visible()
    worker.locator("#take-new-name").fill("唐秀兰")
    worker.get_by_role("button", name="接单并立案").tap()
    worker.wait_for_url(re.compile(r"/cases/\d+$"))
    case_id = int(worker.url.rsplit("/", 1)[1])
    expect(worker.get_by_role("heading", level=1)).to_contain_text("唐秀兰")

    # 3. The home assessment, with two photos.
    worker.goto(live_server.url(f"/cases/{case_id}/assessments/new"))
    worker.locator("#assessment-day").fill(today.isoformat())
    for group in worker.locator("fieldset").all():
        radios = group.locator("input[type=radio]")
        if radios.count():
            radios.nth(2).check()
    worker.locator("#assessment-note").fill("独居，行动不便，家中暖气故障。")
    worker.locator("#assessment-photos").set_input_files(
        [
            str(camera_photo(tmp_path / "room.jpg", today, 10, 0)),
            str(camera_photo(tmp_path / "heater.jpg", today, 10, 5)),
        ]
    )
    worker.screenshot(path=str(artifacts_dir / "case-work-assessment.png"), full_page=True)
    worker.locator("#assessment-submit").tap()
    worker.wait_for_url(re.compile(rf"/cases/{case_id}\?saved=assessment"))
    photos = worker.locator(".photo-grid img")
    expect(photos).to_have_count(2)
    photos.first.scroll_into_view_if_needed()
    expect(photos.first).to_be_visible()

    # 4. A plan from the elderly-care package: a goal and a service the worker delivers herself.
    worker.goto(live_server.url(f"/cases/{case_id}/plan"))
    worker.locator("#goal-dimension").select_option(label="生活环境")
    worker.locator("#goal-text").fill("冬季前修好暖气")
    worker.locator("#goal-add-submit").tap()
    worker.locator("#item-service").select_option(label="探访陪伴")
    worker.locator("#item-frequency").select_option("weekly")
    worker.locator("#item-add-submit").tap()
    expect(worker.get_by_text("探访陪伴").first).to_be_visible()
    worker.screenshot(path=str(artifacts_dir / "case-work-plan.png"), full_page=True)

    # 5. A delivery logged with no signal: it waits on the phone and arrives once.
    worker.goto(live_server.url(f"/cases/{case_id}/deliveries/new"))
    wait_until_controlled(worker)
    worker.locator("#delivery-day").fill(today.isoformat())
    worker.locator("#delivery-minutes").fill("45")
    worker.locator("#delivery-note").fill("陪同联系物业维修暖气。")
    worker.locator("#delivery-at-home").uncheck()  # at the property office: not a home visit
    go_offline(worker.context)
    worker.locator("#delivery-photos").set_input_files(
        str(camera_photo(tmp_path / "visit.jpg", today, 11, 0))
    )
    worker.locator("#delivery-submit").tap()
    expect(worker.locator("#outbox").get_by_role("status")).to_have_text(SAVED, timeout=WAIT_MS)
    [entry] = outbox_entries(worker)
    assert entry["kind"] == "delivery"
    go_online(worker.context)
    worker.wait_for_function(
        "async () => (await window.carelogOutbox.flush(), window.carelogOutbox.count() === 0)"
    )
    assert outbox_entries(worker) == []
    with _db(live_server) as db:
        rows = db.execute(
            "SELECT id, status, minutes FROM service_delivery WHERE case_id = ?", (case_id,)
        ).fetchall()
    assert [(status, minutes) for _id, status, minutes in rows] == [("pending", 45)]
    delivery_id = rows[0][0]

    # 6. Her colleague approves it in the shared review queue.
    colleague = new_phone()
    sign_in(colleague, COLLEAGUE)
    colleague.goto(live_server.url(f"/review/delivery/{delivery_id}"))
    expect(colleague.get_by_text("陪同联系物业维修暖气。")).to_be_visible()
    colleague.screenshot(path=str(artifacts_dir / "case-work-review.png"), full_page=True)
    colleague.get_by_role("button", name="通过", exact=True).first.tap()
    expect(colleague.get_by_text("已通过").first).to_be_visible(timeout=WAIT_MS)
    with _db(live_server) as db:
        status = db.execute("SELECT status FROM service_delivery WHERE id = ?", (delivery_id,)).fetchone()[0]
    assert status == "approved"

    # 7. The quarter's figures count one more home visit, case and delivery.
    after = _quarter_figures(worker, live_server, programme_id, today.isoformat())
    for column in ("入户走访", "新开个案", "服务次数"):
        assert int(after[column]) == int(before[column]) + 1, (column, before[column], after[column])
    worker.goto(live_server.url(f"/programmes/{programme_id}/figures?period=quarter&on={today}"))
    expect(worker.get_by_role("heading", level=1)).to_be_visible()
    worker.screenshot(path=str(artifacts_dir / "case-work-figures.png"), full_page=True)

    # The scout sees her report taken, and nothing the worker wrote.
    scout.goto(live_server.url("/scout"))
    report = scout.locator("li, article, tr").filter(has_text=marker).first
    expect(report).to_contain_text("已接单")
    expect(scout.get_by_text("唐秀兰")).to_have_count(0)
    scout.screenshot(path=str(artifacts_dir / "case-work-scout-list.png"), full_page=True)
    worker.goto(live_server.url(f"/cases/{case_id}"))
    worker.screenshot(path=str(artifacts_dir / "case-work-case.png"), full_page=True)
    browser_log.assert_clean()
