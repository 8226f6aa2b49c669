"""On a phone, the first-week faults that were about a page: a lost-phone sign-out asks first and names
the person; the passkey suggestion sits below the day's tasks and can be put away."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests import personas
from tests.e2e.harness import BrowserLog, LiveServer, SignIn, in_chinese


def test_signing_a_person_out_everywhere_is_asked_first_and_names_her(
    page: Page, live_server: LiveServer, sign_in: SignIn, browser_log: BrowserLog
) -> None:
    sign_in(page, personas.SOCIAL_WORKER)
    in_chinese(page)
    page.goto(live_server.url("/cards"))
    card_button = page.locator("form[id^=issue-card-] button", has_text="王秀英")
    lost = page.locator("a.danger-link", has_text="王秀英")
    expect(lost).to_be_visible()
    # Apart from the everyday button: below it, not beside it.
    assert lost.bounding_box()["y"] > card_button.bounding_box()["y"] + 40  # type: ignore[index]
    lost.tap()
    expect(page).to_have_url(re.compile(r"/cards/\d+/recover$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("让王秀英在所有设备上退出？")
    expect(page.get_by_role("button", name="确定，让王秀英在所有设备上退出")).to_be_visible()
    page.get_by_role("link", name="取消，返回登录卡页面").tap()
    expect(page).to_have_url(live_server.url("/cards"))
    expect(page.locator(".notice[role=status]")).to_have_count(0)  # nothing was done
    browser_log.assert_clean()


def test_the_passkey_suggestion_comes_after_her_meals_and_can_be_put_away(
    page: Page, sign_in: SignIn, browser_log: BrowserLog
) -> None:
    sign_in(page, personas.OTHER_NEIGHBOUR)
    in_chinese(page)
    offer = page.locator("#passkey-offer")
    expect(offer).to_contain_text("下次用指纹或刷脸登录")
    meals = page.locator("#meals-today")
    assert meals.bounding_box()["y"] < offer.bounding_box()["y"]  # type: ignore[index]
    offer.get_by_role("button", name="以后再说，先隐藏").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，孙玉梅")
    expect(page.locator("#passkey-offer")).to_have_count(0)
    page.reload()
    expect(page.locator("#passkey-offer")).to_have_count(0)
    browser_log.assert_clean()
