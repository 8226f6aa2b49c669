"""A pillar mother's group volunteer logs a phone contact with no signal, at 390 x 844: the outbox keeps
it on the phone (its photo too) and sends it once when the signal returns; the cadre then sees it on the
mother's file, and the mother's group is no longer overdue on the cadre's home."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

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

VOLUNTEER = "demo-vol-fang"  # 方琳, in 杨春燕's group only
CADRE = "demo-cadre-lin"
SAVED = "已保存在这部手机上。一有网络就会自动发送，您可以关闭这个页面。"
WAIT_MS = 30_000
NOTE = "电话里聊了女儿期中考试，情绪不错。"


def _db(server: LiveServer) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{server.workdir / 'carelog.db'}?mode=ro", uri=True)


def _yangs_file(server: LiveServer) -> int:
    with _db(server) as db:
        row = db.execute(
            "SELECT pillar_file.id FROM pillar_file JOIN case_file ON case_file.id = pillar_file.case_id"
            " JOIN person ON person.id = case_file.person_id WHERE person.display_name = '杨春燕'"
        ).fetchone()
    return int(row[0])


def test_a_volunteers_phone_contact_logged_offline_arrives_once_and_clears_the_overdue_group(
    new_phone: NewPhone,
    live_server: LiveServer,
    sign_in: SignIn,
    browser_log: BrowserLog,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    today = clock.today_in(ZoneInfo(SHANGHAI))
    file_id = _yangs_file(live_server)

    volunteer = new_phone()
    sign_in(volunteer, VOLUNTEER)
    expect(volunteer.locator(f"#pillar-mother-{file_id}")).to_be_visible()
    volunteer.locator(f"#pillar-mother-{file_id}").get_by_role("link", name="登记联系").tap()
    volunteer.wait_for_url(f"**/pillar/mothers/{file_id}/contacts/new")
    wait_until_controlled(volunteer)
    volunteer.locator("#contact-day").fill(today.isoformat())
    volunteer.locator("#contact-channel-phone").check()
    volunteer.locator("#contact-minutes").fill("25")
    volunteer.locator("#contact-note").fill(NOTE)
    go_offline(volunteer.context)
    volunteer.locator("#contact-photo").set_input_files(
        str(camera_photo(tmp_path / "call.jpg", today, 19, 30))
    )
    volunteer.screenshot(path=str(artifacts_dir / "pillar-contact-form.png"), full_page=True)
    volunteer.locator("#contact-submit").tap()
    expect(volunteer.locator("#outbox").get_by_role("status")).to_have_text(SAVED, timeout=WAIT_MS)
    [entry] = outbox_entries(volunteer)
    assert entry["kind"] == "contact" and entry["body"]["file_id"] == file_id
    go_online(volunteer.context)
    volunteer.wait_for_function(
        "async () => (await window.carelogOutbox.flush(), window.carelogOutbox.count() === 0)"
    )
    assert outbox_entries(volunteer) == []
    with _db(live_server) as db:
        rows = db.execute(
            "SELECT channel, minutes, photo_id FROM pillar_contact WHERE file_id = ? AND note = ?",
            (file_id, NOTE),
        ).fetchall()
    assert len(rows) == 1 and rows[0][:2] == ("phone", 25) and rows[0][2] is not None

    cadre = new_phone()
    sign_in(cadre, CADRE)
    expect(cadre.locator("#pillar-overdue-none")).to_be_visible()
    cadre.goto(live_server.url(f"/pillar/mothers/{file_id}"))
    expect(cadre.get_by_text(NOTE)).to_be_visible()
    cadre.screenshot(path=str(artifacts_dir / "pillar-contact-file.png"), full_page=True)
