"""Without signal, on a phone: the demo neighbour checks in a meal with a real 12-megapixel photo, and it
arrives exactly once when the connection returns, whatever happens in between.

Each test checks in a different past day of 钱老伯's lunch (the agreement began last month; the demo
filled only the last three days), so the tests do not depend on each other or on test_meal_checkin.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Dialog, Page, Request, Route, expect

from backend import clock
from tests import personas
from tests.e2e.harness import BrowserLog, LiveServer, NewPhone, SignIn, open_menu
from tests.e2e.offline_support import (
    SHANGHAI,
    camera_photo,
    checkins_on,
    go_offline,
    go_online,
    outbox_entries,
    read_storage,
    wait_until_controlled,
)

SAVED = "已保存在这部手机上。一有网络就会自动发送，您可以关闭这个页面。"
MAX_UPLOAD = 700_000  # bytes: what a phone may send for one photo (the original is about 4.6 MB)
WAIT_S = 30.0


_FREE_DAYS: dict[Path, list[date]] = {}


def meal_day(server: LiveServer, n: int) -> date:
    """The n-th free day for these tests, read from the server's data once (so each test keeps its own
    day, whatever the others have sent since): 钱老伯's lunch days, latest first, before the demo's
    last three, with no check-in and in a month with a menu. None of it reads the real date: the
    server and this test share the tests' clock, and on a month's first days they reach into last month."""
    if server.workdir not in _FREE_DAYS:
        today = clock.today_in(ZoneInfo(SHANGHAI))
        with sqlite3.connect(f"file:{server.workdir / 'carelog.db'}?mode=ro", uri=True) as db:
            starts, agreement = db.execute(
                "SELECT a.starts_on, a.id FROM meal_agreement a JOIN person p ON p.id = a.resident_id"
                " WHERE p.display_name = '钱老伯'"
            ).fetchone()
            taken = {
                row[0]
                for row in db.execute("SELECT day FROM meal_checkin WHERE agreement_id = ?", (agreement,))
            }
            planned = {
                row[0][:7]
                for row in db.execute(
                    "SELECT month FROM meal_menu_entry WHERE agreement_id = ?", (agreement,)
                )
            }
        first = date.fromisoformat(str(starts))
        candidates = [today - timedelta(days=back) for back in range(4, (today - first).days + 1)]
        _FREE_DAYS[server.workdir] = [
            d for d in candidates if d.isoformat() not in taken and d.isoformat()[:7] in planned
        ]
    free = _FREE_DAYS[server.workdir]
    if n >= len(free):
        pytest.fail(
            f"the demo left {len(free)} free lunch days before {clock.today_in(ZoneInfo(SHANGHAI))}",
            pytrace=False,
        )
    return free[n]


def agreement_id(server: LiveServer, resident: str) -> int:
    with sqlite3.connect(f"file:{server.workdir / 'carelog.db'}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT a.id FROM meal_agreement a JOIN person p ON p.id = a.resident_id"
            " WHERE p.display_name = ?",
            (resident,),
        ).fetchone()
    return int(row[0])


def until(condition: Callable[[], bool], what: str, page: Page) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still not true after {WAIT_S:.0f} s: {what}", pytrace=False)
        page.wait_for_timeout(100)


def open_neighbour(page: Page, sign_in: SignIn, handle: str = personas.NEIGHBOUR) -> None:
    sign_in(page, handle)  # which also brings her back to 中文 if another test chose English
    wait_until_controlled(page)


def open_checkin(page: Page, server: LiveServer, agreement: int, day: date) -> None:
    page.goto(server.url(f"/meals/agreements/{agreement}/checkin?day={day}"))
    expect(page.get_by_role("heading", level=1)).to_have_text("钱老伯的午餐")


def send_checkin(page: Page, photo: Path) -> None:
    page.get_by_label(re.compile("拍饭菜照片")).set_input_files(str(photo))
    page.get_by_role("button", name="发送", exact=True).tap()


def saved_offline(page: Page, day: date) -> None:
    outbox = page.locator("#outbox")
    expect(outbox.get_by_role("status")).to_have_text(SAVED, timeout=WAIT_S * 1000)
    expect(page.locator("#outbox-badge")).to_have_text(re.compile(r"未发送\s*1"))
    expect(outbox.locator(".outbox-item")).to_have_count(1)
    expect(outbox.locator(".outbox-item")).to_contain_text(f"钱老伯的午餐 · {day}")


def test_a_meal_checked_in_offline_stays_pending_through_a_reload_and_arrives_once_online(
    page: Page,
    live_server: LiveServer,
    sign_in: SignIn,
    browser_log: BrowserLog,
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    day = meal_day(live_server, 0)
    photo = camera_photo(tmp_path / "lunch.jpg", day, 11, 50)
    assert 4_000_000 < photo.stat().st_size < 5_500_000
    agreement = agreement_id(live_server, "钱老伯")
    database = live_server.workdir / "carelog.db"
    open_neighbour(page, sign_in)

    open_checkin(page, live_server, agreement, day)
    go_offline(page.context)
    send_checkin(page, photo)
    saved_offline(page, day)
    [entry] = outbox_entries(page)
    assert entry["kind"] == "checkin" and entry["state"] == "pending"
    [shrunk] = entry["photos"]
    # Shrunk on the phone, and its capture time read from the original's EXIF before that.
    assert shrunk["type"] == "image/jpeg" and shrunk["bytes"] <= MAX_UPLOAD
    assert shrunk["captured"] == f"{day}T11:50:00"
    page.screenshot(path=str(artifacts_dir / "offline-checkin-saved.png"), full_page=True)

    # Reloading without signal: she is warned first, then the kept offline page still lists it.
    dialogs: list[str] = []

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", accept)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("没有网络")
    assert dialogs == ["beforeunload"]
    item = page.locator("#outbox .outbox-item")
    expect(item).to_contain_text(f"钱老伯的午餐 · {day}")
    expect(item).to_contain_text("等待网络")
    page.screenshot(path=str(artifacts_dir / "offline-page-pending.png"), full_page=True)
    assert checkins_on(database, agreement, day) == []

    # Back online: the offline page returns to the check-in page, which sends the outbox on load.
    go_online(page.context)
    until(lambda: len(checkins_on(database, agreement, day)) > 0, "the check-in arrived", page)
    page.wait_for_function(
        "async () => (await window.carelogOutbox.flush(), window.carelogOutbox.count() === 0)"
    )
    assert outbox_entries(page) == []
    [stored] = checkins_on(database, agreement, day)
    assert stored.client_uuid.replace("-", "") == entry["uuid"].replace("-", "")
    assert stored.photo_bytes <= MAX_UPLOAD
    assert (stored.photo_width, stored.photo_height) == (1536, 2048)  # upright: EXIF orientation 6 applied
    assert stored.capture_source == "client" and str(stored.captured_at).startswith(f"{day} 03:50:00")
    browser_log.assert_clean()


def test_a_page_closed_while_sending_sends_once_when_the_app_is_opened_again(
    new_phone: NewPhone, live_server: LiveServer, sign_in: SignIn, tmp_path: Path
) -> None:
    day = meal_day(live_server, 1)
    photo = camera_photo(tmp_path / "lunch.jpg", day, 12, 5)
    agreement = agreement_id(live_server, "钱老伯")
    database = live_server.workdir / "carelog.db"
    page = new_phone()
    open_neighbour(page, sign_in)
    context = page.context
    committed: list[int] = []

    def lose_the_answer(route: Route) -> None:
        # The server receives and stores the check-in; the phone never hears back.
        committed.append(route.fetch().status)

    context.route("**/api/checkins/*", lose_the_answer)
    open_checkin(page, live_server, agreement, day)
    send_checkin(page, photo)
    until(lambda: bool(committed), "the check-in reached the server", page)
    page.close()
    context.unroute("**/api/checkins/*", lose_the_answer)
    assert committed == [201]
    assert len(checkins_on(database, agreement, day)) == 1

    again = context.new_page()
    again.goto(live_server.url("/"))
    again.wait_for_function(
        "async () => (await window.carelogOutbox.flush(), window.carelogOutbox.count() === 0)"
    )
    assert outbox_entries(again) == []
    assert len(checkins_on(database, agreement, day)) == 1


@pytest.mark.parametrize("web_locks", [True, False], ids=["web-locks", "no-web-locks"])
def test_the_same_entry_sent_from_two_tabs_at_once_arrives_once(
    web_locks: bool, new_phone: NewPhone, live_server: LiveServer, sign_in: SignIn, tmp_path: Path
) -> None:
    day = meal_day(live_server, 2 if web_locks else 3)
    photo = camera_photo(tmp_path / "lunch.jpg", day, 11, 30)
    agreement = agreement_id(live_server, "钱老伯")
    database = live_server.workdir / "carelog.db"
    first = new_phone()
    context = first.context
    if not web_locks:  # a browser without the Web Locks API: only the server's idempotency is left
        context.add_init_script("Object.defineProperty(navigator, 'locks', { value: undefined });")
    open_neighbour(first, sign_in)
    second = context.new_page()
    second.goto(live_server.url("/"))
    open_checkin(first, live_server, agreement, day)
    go_offline(context)
    send_checkin(first, photo)
    saved_offline(first, day)
    expect(second.locator("#outbox-badge")).to_have_text(re.compile(r"未发送\s*1"))  # told by the first tab

    sent: list[str] = []

    def on_request(request: Request) -> None:
        if request.method == "PUT" and "/api/checkins/" in request.url:
            sent.append(request.url)

    context.on("request", on_request)
    go_online(context)  # both tabs hear "online" and flush at the same moment
    for tab in (first, second):
        tab.wait_for_function(
            "async () => (await window.carelogOutbox.flush(), window.carelogOutbox.count() === 0)"
        )
    assert len(checkins_on(database, agreement, day)) == 1
    if web_locks:
        assert len(sent) == 1, sent


def test_a_refusal_after_reconnecting_is_shown_and_kept_until_she_removes_it(
    new_phone: NewPhone, live_server: LiveServer, sign_in: SignIn, artifacts_dir: Path, tmp_path: Path
) -> None:
    day = meal_day(live_server, 4)
    photo = camera_photo(tmp_path / "lunch.jpg", day, 11, 40)
    agreement = agreement_id(live_server, "钱老伯")
    database = live_server.workdir / "carelog.db"
    phone = new_phone()
    open_neighbour(phone, sign_in)
    open_checkin(phone, live_server, agreement, day)
    go_offline(phone.context)
    send_checkin(phone, photo)
    saved_offline(phone, day)

    # Meanwhile the same meal is checked in from her other phone.
    other = new_phone()
    open_neighbour(other, sign_in)
    open_checkin(other, live_server, agreement, day)
    send_checkin(other, photo)
    expect(other).to_have_url(re.compile(r"/meals/history\?month=\d{4}-\d{2}&sent=\d+#checkin-\d+$"))
    [kept] = checkins_on(database, agreement, day)

    go_online(phone.context)
    refused = phone.locator("#outbox .outbox-item.refused")
    expect(refused).to_contain_text("没有被接受： 这一餐已经打过卡了。", timeout=WAIT_S * 1000)
    expect(phone.locator("#outbox-badge")).to_have_text(re.compile(r"未发送\s*1"))
    phone.screenshot(path=str(artifacts_dir / "offline-refused.png"), full_page=True)
    assert [e["state"] for e in outbox_entries(phone)] == ["refused"]
    phone.reload()  # still shown on the next page: a refusal is never dropped by itself
    expect(refused).to_contain_text("这一餐已经打过卡了。")

    phone.on("dialog", lambda dialog: dialog.accept())
    refused.get_by_role("button", name="删除").tap()
    expect(phone.locator("#outbox-badge")).to_be_hidden()
    assert outbox_entries(phone) == []
    assert checkins_on(database, agreement, day) == [kept]


def test_signing_out_with_unsent_entries_asks_first_and_then_leaves_nothing_on_the_phone(
    new_phone: NewPhone, live_server: LiveServer, sign_in: SignIn, tmp_path: Path
) -> None:
    day = meal_day(live_server, 5)
    photo = camera_photo(tmp_path / "lunch.jpg", day, 11, 45)
    agreement = agreement_id(live_server, "钱老伯")
    page = new_phone()
    open_neighbour(page, sign_in)
    open_checkin(page, live_server, agreement, day)

    def busy(route: Route) -> None:  # the server is up but cannot take photos now: the entry waits
        route.fulfill(status=503, json={"status": 503, "detail": "busy"})

    page.context.route("**/api/photos/*", busy)
    send_checkin(page, photo)
    saved_offline(page, day)

    asked: list[str] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog.message)
        if len(asked) == 1:
            dialog.dismiss()  # "no, keep me signed in"
        else:
            dialog.accept()

    page.on("dialog", answer)
    open_menu(page)
    signout = page.get_by_role("button", name="退出登录")
    signout.tap()
    expect(page.locator("#outbox-badge")).to_have_text(re.compile(r"未发送\s*1"))
    assert asked == ["这部手机上还有 1 条记录没有发送。退出登录会把它们从手机上删除。仍然退出吗？"]
    assert len(outbox_entries(page)) == 1

    signout.tap()
    page.wait_for_url(live_server.url("/signin"))
    assert len(asked) == 2
    page.context.unroute("**/api/photos/*", busy)
    # Clear-Site-Data emptied this site's storage: no outbox, and the caches hold only the app shell.
    assert outbox_entries(page) == []
    cached = read_storage(
        page,
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
              for (const r of await (await caches.open(name)).keys()) urls.push(new URL(r.url).pathname);
            }
            return urls;
        }""",
    )
    assert all(url == "/offline" or url.startswith("/static/") for url in cached), cached
    assert checkins_on(live_server.workdir / "carelog.db", agreement, day) == []


def test_a_visit_logged_offline_arrives_once_with_its_time_in_the_programme_zone(
    page: Page, live_server: LiveServer, sign_in: SignIn, browser_log: BrowserLog, tmp_path: Path
) -> None:
    day = meal_day(live_server, 0)
    photo = camera_photo(tmp_path / "visit.jpg", day, 16, 20)
    open_neighbour(page, sign_in, personas.OTHER_MOTHER)
    page.goto(live_server.url("/visits/new"))
    expect(page.get_by_role("heading", level=1)).to_have_text("登记走访")
    page.locator("#visit-when").fill(f"{day}T16:30")
    page.locator("input[name=need_area][value=daily_life]").check()
    page.locator("#visit-note").fill("没有信号的楼道里记下的。")
    go_offline(page.context)
    page.locator("#visit-photos").set_input_files(str(photo))
    page.locator("#visit-submit").tap()
    expect(page.locator("#outbox").get_by_role("status")).to_have_text(SAVED, timeout=WAIT_S * 1000)
    [entry] = outbox_entries(page)
    assert entry["kind"] == "visit"
    assert entry["body"]["visited_at"] == f"{day}T16:30:00+08:00"  # Asia/Shanghai, no clock change
    assert entry["photos"][0]["bytes"] <= MAX_UPLOAD and entry["photos"][0]["captured"].endswith("16:20:00")

    go_online(page.context)
    page.wait_for_function(
        "async () => (await window.carelogOutbox.flush(), window.carelogOutbox.count() === 0)"
    )
    assert outbox_entries(page) == []
    with sqlite3.connect(f"file:{live_server.workdir / 'carelog.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT visited_at, note FROM visit WHERE replace(client_uuid, '-', '') = ?",
            (entry["uuid"].replace("-", ""),),
        ).fetchall()
    assert [(str(at)[:19], note) for at, note in rows] == [(f"{day} 08:30:00", "没有信号的楼道里记下的。")]
    browser_log.assert_clean()
