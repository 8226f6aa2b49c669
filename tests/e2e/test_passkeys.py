"""Passkeys in a real phone browser: a WebAuthn ceremony against Chromium's virtual authenticator.

No mocks: the page's own passkeys.js calls navigator.credentials.create() and .get(), Chromium's
DevTools virtual authenticator (a platform authenticator with a screen lock) answers, and the server
checks the signatures. WebAuthn refuses an IP address as RP ID, so this module runs its own server
whose public origin is http://localhost:PORT (a secure context in Chromium, also without https).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import segno
from playwright.sync_api import CDPSession, Page, expect

from backend import clock
from tests import personas
from tests.e2e.harness import BrowserLog, LiveServer, NewPhone, SignIn, open_menu, running_server

SESSION_COOKIE = "carelog_session"  # the plain-http name; https uses the __Host- prefix
PROGRAMME_ZONE = ZoneInfo("Asia/Shanghai")  # the default CARELOG_TIME_ZONE, which the e2e server keeps
ADD_PASSKEY = "在这部手机上添加通行密钥"
CODE_SHOWN = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")  # as the card prints it
# WeChat's built-in browser on Android (XWeb), as its users' phones send it.
WECHAT_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin "
    "NetType/WIFI Language/zh_CN ABI/arm64"
)


# Overrides the session-wide server for this module only: same setup, but on http://localhost.
@pytest.fixture(scope="module")
def live_server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("live-localhost"), public_host="localhost") as server:
        yield server


def add_platform_authenticator(page: Page) -> tuple[CDPSession, str]:
    """The phone's own authenticator: built in, keeps passkeys, verifies the user (screen lock)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, str(added["authenticatorId"])


def stored_credentials(cdp: CDPSession, authenticator_id: str) -> list[dict[str, Any]]:
    found = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    return list(found["credentials"])


def add_passkey_on_account_page(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url("/account"))
    with page.expect_response(live_server.url("/account/passkeys")) as registered:
        page.get_by_role("button", name=ADD_PASSKEY, exact=True).tap()
    assert registered.value.status == 201, registered.value.text()
    expect(page.locator("#passkey-list").get_by_role("listitem")).to_have_count(1)


def session_cookie(page: Page) -> dict[str, object] | None:
    return next((dict(c) for c in page.context.cookies() if c["name"] == SESSION_COOKIE), None)


def sign_out(page: Page, live_server: LiveServer) -> None:
    open_menu(page)
    page.get_by_role("button", name="退出登录", exact=True).tap()
    expect(page).to_have_url(live_server.url("/signin"))
    assert session_cookie(page) is None, "still a session cookie after signing out"


def issue_card_on_the_card_page(worker: Page, live_server: LiveServer, artifacts_dir: Path) -> str:
    """The social worker issues a card for 王秀英; returns the sign-in link its QR code encodes."""
    open_menu(worker)
    worker.get_by_role("link", name="登录卡", exact=True).tap()
    expect(worker).to_have_url(live_server.url("/cards"))
    expect(worker.get_by_role("heading", level=1)).to_have_text("登录卡")
    worker.get_by_role("button", name="为王秀英发登录卡", exact=True).tap()

    card = worker.get_by_role("article", name="关爱记登录卡")
    expect(card).to_be_visible()
    expect(card.locator(".card-name")).to_have_text("王秀英")
    expect(card).to_contain_text(f"打开 {live_server.base_url} 并输入")
    qr = card.locator(".qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 150 and box["width"] == box["height"], box
    shown = card.locator(".card-code").inner_text().strip()
    assert CODE_SHOWN.match(shown), f"the card shows {shown!r} as its code"
    worker.screenshot(path=str(artifacts_dir / "passkeys-card.png"), full_page=True)

    # What a camera would read: the QR must be exactly the one-time link for the code on the card.
    # (No QR decoder is installed; segno draws a given text deterministically, so re-encode and compare.)
    link = f"{live_server.base_url}/signin/c/{shown.replace('-', '')}"
    expected = re.search(r' d="([^"]+)"', segno.make(link, error="m").svg_inline(scale=5, omitsize=True))
    assert expected is not None
    assert qr.locator("path").get_attribute("d") == expected.group(1), f"the QR does not encode {link}"
    return link


def test_caring_mother_signs_in_with_a_passkey_until_she_removes_it(
    new_phone: NewPhone,
    live_server: LiveServer,
    sign_in: SignIn,
    browser_log: BrowserLog,
    artifacts_dir: Path,
) -> None:
    worker = new_phone()
    sign_in(worker, personas.SOCIAL_WORKER)
    expect(worker.get_by_role("heading", level=1)).to_have_text("您好，李娜")
    link = issue_card_on_the_card_page(worker, live_server, artifacts_dir)

    # The mother's phone: a fresh browser with its own platform authenticator. She scans the card.
    mother = new_phone()
    cdp, authenticator = add_platform_authenticator(mother)
    live_server.set_notice_read(personas.CARING_MOTHER, read=False)
    mother.goto(link)
    expect(mother.get_by_role("heading", level=1)).to_have_text("在这部手机上登录")
    mother.get_by_role("button", name="登录", exact=True).tap()
    # Her first sign-in with a card (the notice is unread): the privacy notice first, then her home.
    expect(mother).to_have_url(live_server.url("/privacy"))
    mother.get_by_role("button", name="我已读过").tap()
    expect(mother).to_have_url(live_server.url("/"))
    expect(mother.get_by_role("heading", level=1)).to_have_text("您好，王秀英")

    # She adds a passkey on the account page, keeping the suggested name.
    open_menu(mother)
    mother.get_by_role("link", name="我的账号", exact=True).tap()
    expect(mother).to_have_url(live_server.url("/account"))
    expect(mother.get_by_text("您还没有通行密钥。")).to_be_visible()
    expect(mother.get_by_label("通行密钥名称")).to_have_value("我的手机")
    expect(mother.get_by_text("此浏览器不支持通行密钥")).to_be_hidden()
    with mother.expect_response(live_server.url("/account/passkeys")) as registered:
        mother.get_by_role("button", name=ADD_PASSKEY, exact=True).tap()
    assert registered.value.status == 201, registered.value.text()
    passkey_list = mother.locator("#passkey-list")
    expect(passkey_list.get_by_role("listitem")).to_have_count(1)
    expect(passkey_list.get_by_role("listitem")).to_contain_text("我的手机")
    expect(passkey_list.get_by_role("button", name="删除通行密钥 我的手机", exact=True)).to_be_visible()
    expect(mother.get_by_text("您还没有通行密钥。")).to_have_count(0)
    mother.screenshot(path=str(artifacts_dir / "passkeys-account.png"), full_page=True)

    credentials = stored_credentials(cdp, authenticator)
    assert len(credentials) == 1, credentials
    assert credentials[0]["isResidentCredential"] is True, "the passkey is not discoverable"
    assert credentials[0]["rpId"] == "localhost"
    assert credentials[0]["userHandle"], "no user handle: the phone could not say whose passkey it is"

    # Signed out, she signs in with the passkey alone: no code typed. Twice, so that the
    # authenticator's counter has to go up past a value the server has already stored.
    for attempt in (1, 2):
        sign_out(mother, live_server)
        expect(mother.get_by_label("登录码")).to_have_value("")
        if attempt == 1:
            expect(mother.get_by_role("button", name="用通行密钥登录", exact=True)).to_be_visible()
            mother.screenshot(path=str(artifacts_dir / "passkeys-signin.png"), full_page=True)
        mother.get_by_role("button", name="用通行密钥登录", exact=True).tap()
        expect(mother).to_have_url(live_server.url("/"))
        expect(mother.get_by_role("heading", level=1)).to_have_text("您好，王秀英")
        assert session_cookie(mother) is not None
    used = stored_credentials(cdp, authenticator)[0]
    assert used["signCount"] > credentials[0]["signCount"], (credentials[0], used)

    # She removes the passkey; the phone still holds it, but the server no longer accepts it.
    open_menu(mother)
    mother.get_by_role("link", name="我的账号", exact=True).tap()
    mother.get_by_role("button", name="删除通行密钥 我的手机", exact=True).tap()
    expect(mother).to_have_url(live_server.url("/account"))
    expect(mother.get_by_text("您还没有通行密钥。")).to_be_visible()
    expect(mother.locator("#passkey-list")).to_have_count(0)
    sign_out(mother, live_server)
    with mother.expect_response(live_server.url("/signin/passkey")) as refused:
        mother.get_by_role("button", name="用通行密钥登录", exact=True).tap()
    assert refused.value.status == 400
    expect(mother.get_by_role("alert")).to_have_text("无法验证通行密钥。请重试，或用登录卡登录。")
    expect(mother).to_have_url(live_server.url("/signin"))
    expect(mother.get_by_role("heading", level=1)).to_have_text("登录")
    assert session_cookie(mother) is None, "signed in with a removed passkey"
    assert len(stored_credentials(cdp, authenticator)) == 1  # a server cannot delete it from the phone

    # Nothing else went wrong on either phone: no CSP violation, no script error, no other 4xx/5xx.
    browser_log.assert_clean(expected_failures=[(400, "/signin/passkey")])


def test_browser_without_webauthn_shows_the_plain_notice_and_cards_still_work(
    new_phone: NewPhone,
    live_server: LiveServer,
    sign_in: SignIn,
    browser_log: BrowserLog,
    artifacts_dir: Path,
) -> None:
    page = new_phone()
    page.add_init_script("delete window.PublicKeyCredential")
    page.goto(live_server.url("/signin"))
    assert page.evaluate("() => 'PublicKeyCredential' in window") is False
    expect(page.get_by_text("此浏览器不支持通行密钥")).to_be_visible()
    expect(page.get_by_role("button", name="用通行密钥登录")).to_be_hidden()
    expect(page.locator("#in-app-notice")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "passkeys-signin-no-webauthn.png"), full_page=True)

    # The card still signs her in, and the account page offers no passkey it could not make.
    sign_in(page, personas.OTHER_MOTHER)
    open_menu(page)
    page.get_by_role("link", name="我的账号", exact=True).tap()
    expect(page.get_by_text("此浏览器不支持通行密钥")).to_be_visible()
    expect(page.get_by_role("button", name=ADD_PASSKEY)).to_be_hidden()
    browser_log.assert_clean()


def test_wechat_browser_advises_opening_the_phones_own_browser(
    new_phone: NewPhone, live_server: LiveServer, browser_log: BrowserLog, artifacts_dir: Path
) -> None:
    page = new_phone(user_agent=WECHAT_USER_AGENT)
    page.goto(live_server.url("/signin"))
    notice = page.locator("#in-app-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("内置浏览器")
    expect(notice).to_contain_text("在浏览器中打开")
    # The sign-in card keeps working there.
    expect(page.get_by_label("登录码")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "passkeys-signin-wechat.png"), full_page=True)
    browser_log.assert_clean()


def test_wechat_notice_names_the_app_in_chinese(
    new_phone: NewPhone, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    page = new_phone(user_agent=WECHAT_USER_AGENT)
    page.goto(live_server.url("/signin"))
    notice = page.locator("#in-app-notice")
    expect(notice).to_contain_text("您正在使用微信的内置浏览器", timeout=1_000)
    browser_log.assert_clean()


def test_cancelled_passkey_creation_says_so_in_chinese_and_stores_nothing(
    new_phone: NewPhone, live_server: LiveServer, sign_in: SignIn, browser_log: BrowserLog
) -> None:
    page = new_phone()
    cdp, authenticator = add_platform_authenticator(page)
    # The fingerprint or screen lock is not given (or the prompt is dismissed): NotAllowedError.
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False})
    sign_in(page, personas.NEIGHBOUR)
    page.goto(live_server.url("/account"))
    page.get_by_role("button", name=ADD_PASSKEY, exact=True).tap()
    expect(page.get_by_role("alert")).to_have_text("通行密钥未创建：操作已取消或超时。")
    expect(page.get_by_text("您还没有通行密钥。")).to_be_visible()
    assert stored_credentials(cdp, authenticator) == []
    browser_log.assert_clean()


def test_adding_a_second_passkey_on_the_same_phone_explains_in_chinese(
    new_phone: NewPhone, live_server: LiveServer, sign_in: SignIn, browser_log: BrowserLog
) -> None:
    page = new_phone()
    add_platform_authenticator(page)
    sign_in(page, personas.OTHER_NEIGHBOUR)
    add_passkey_on_account_page(page, live_server)
    page.get_by_role("button", name=ADD_PASSKEY, exact=True).tap()
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(page.locator("#passkey-list").get_by_role("listitem")).to_have_count(1)
    assert not re.search(r"[A-Za-z]{3,}", alert.inner_text()), f"not Chinese: {alert.inner_text()!r}"
    browser_log.assert_clean()


def today_in_utc_and_programme_zone() -> tuple[date, date]:
    now = clock.utcnow()
    return now.date(), now.astimezone(PROGRAMME_ZONE).date()


def test_passkey_list_shows_the_day_it_was_added_in_the_programme_time_zone(
    new_phone: NewPhone, live_server: LiveServer, sign_in: SignIn
) -> None:
    before = today_in_utc_and_programme_zone()
    page = new_phone()
    add_platform_authenticator(page)
    sign_in(page, "demo-mother-zhang")
    add_passkey_on_account_page(page, live_server)
    shown = page.locator("#passkey-list li .muted").inner_text()
    after = today_in_utc_and_programme_zone()
    if before != after:
        pytest.skip("a day boundary passed during the test")
    _utc_day, local_day = after
    assert shown == f"添加于 {local_day.isoformat()}"
