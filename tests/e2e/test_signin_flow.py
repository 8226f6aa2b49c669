"""In a real phone browser: sign in with a card's one-time link or code, switch language, sign out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import personas
from tests.e2e.harness import BrowserLog, LiveServer, NewPhone, open_menu

SESSION_COOKIE = "carelog_session"  # the plain-http name; https uses the __Host- prefix


def session_cookie(page: Page) -> dict[str, object] | None:
    return next((dict(c) for c in page.context.cookies() if c["name"] == SESSION_COOKIE), None)


def assert_signed_out(page: Page, live_server: LiveServer) -> None:
    assert session_cookie(page) is None, "a session cookie is set"
    response = page.request.get(live_server.url("/"), max_redirects=0)
    assert response.status == 303, f"/ answered {response.status} to a phone that is not signed in"
    assert response.headers["location"].startswith("/signin")


def test_caring_mother_signs_in_with_a_card_link_and_switches_to_english(
    page: Page, live_server: LiveServer, browser_log: BrowserLog, artifacts_dir: Path
) -> None:
    html = page.locator("html")
    page.goto(live_server.link_for(personas.CARING_MOTHER))

    # The link only shows a confirmation: chat apps open links for previews and must not burn the code.
    expect(page.get_by_role("heading", level=1)).to_have_text("在这部手机上登录")
    expect(html).to_have_attribute("lang", "zh-Hans")
    assert_signed_out(page, live_server)

    page.get_by_role("button", name="登录", exact=True).tap()
    expect(page).to_have_url(live_server.url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，王秀英")
    children = page.get_by_role("region", name="与我结对的孩子")
    expect(children.get_by_role("link", name=re.compile("陈小宇"))).to_be_visible()
    expect(html).to_have_attribute("lang", "zh-Hans")
    cookie = session_cookie(page)
    assert cookie is not None, "signed in but no session cookie"
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    page.screenshot(path=str(artifacts_dir / "home-zh.png"), full_page=True)

    open_menu(page)
    page.get_by_role("button", name="English", exact=True).tap()
    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(live_server.url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, 王秀英")
    children = page.get_by_role("region", name="Children paired with me")
    expect(children.get_by_role("link", name=re.compile("陈小宇"))).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "home-en.png"), full_page=True)

    open_menu(page)
    page.get_by_role("button", name="Sign out", exact=True).tap()
    expect(page).to_have_url(live_server.url("/signin"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_label("Sign-in code")).to_be_visible()
    assert_signed_out(page, live_server)
    page.screenshot(path=str(artifacts_dir / "signin-after-signout-en.png"), full_page=True)

    # The Back button must not bring the child's name back from a cache (pages are no-store).
    page.go_back()
    expect(page).to_have_url(re.compile(re.escape(live_server.url("/signin"))))
    expect(page.get_by_text("陈小宇")).to_have_count(0)

    page.goto(live_server.url("/"))
    expect(page).to_have_url(re.compile(re.escape(live_server.url("/signin"))))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    browser_log.assert_clean()


def test_a_used_card_link_opened_again_shows_a_clear_chinese_error(
    new_phone: NewPhone, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    link = live_server.issue_link(personas.OTHER_STREET_WORKER)
    own_phone = new_phone()
    own_phone.goto(link)
    own_phone.get_by_role("button", name="登录", exact=True).tap()
    expect(own_phone.get_by_role("heading", level=1)).to_have_text("您好，陈静")

    # The same link again, e.g. forwarded in a chat, on another phone.
    other_phone = new_phone()
    other_phone.goto(link)
    expect(other_phone.get_by_role("heading", level=1)).to_have_text("在这部手机上登录")
    other_phone.get_by_role("button", name="登录", exact=True).tap()
    expect(other_phone).to_have_url(live_server.url("/signin"))
    expect(other_phone.get_by_role("alert")).to_contain_text("此登录码无效")
    expect(other_phone.get_by_label("登录码")).to_have_attribute("aria-invalid", "true")
    assert_signed_out(other_phone, live_server)

    # The refused attempt does not lock the real person out.
    own_phone.reload()
    expect(own_phone.get_by_role("heading", level=1)).to_have_text("您好，陈静")

    browser_log.assert_clean(expected_failures=[(400, "/signin")])


def test_neighbour_types_the_code_from_her_card_by_hand(
    page: Page, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    code = live_server.issue_link(personas.OTHER_NEIGHBOUR).rsplit("/", 1)[1]
    # As printed on the card (ABCD-EFGH-JKMN), typed in lower case with a space instead of a dash.
    typed = f"{code[:4]}-{code[4:8]} {code[8:]}".lower()
    page.goto(live_server.url("/signin"))
    page.get_by_label("登录码").tap()
    page.keyboard.type(typed)
    page.get_by_role("button", name="登录", exact=True).tap()
    expect(page).to_have_url(live_server.url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，孙玉梅")
    browser_log.assert_clean()


def test_code_typed_with_a_full_width_chinese_keyboard_signs_in(
    page: Page, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    code = live_server.issue_link("demo-neighbour-wu").rsplit("/", 1)[1]
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in code)  # ASCII letters and digits -> full width
    page.goto(live_server.url("/signin"))
    page.get_by_label("登录码").fill(full_width)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，吴凤英", timeout=500)
    browser_log.assert_clean()


def test_browser_log_notices_content_security_policy_violations(
    page: Page, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    # The CSP checks in the other tests are only worth something if a violation would be seen.
    page.goto(live_server.url("/signin"))
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = '1'; document.body.append(s); }"
    )
    for _ in range(20):
        if browser_log.csp_violations:
            break
        page.wait_for_timeout(50)
    assert any("script-src" in v for v in browser_log.csp_violations), browser_log.csp_violations
    with pytest.raises(AssertionError, match="Content Security Policy violated"):
        browser_log.assert_clean()
