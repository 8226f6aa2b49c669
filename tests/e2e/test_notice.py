"""In a phone browser (390 x 844): the privacy notice at first sign-in, in Chinese, in large type."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import personas
from tests.e2e.harness import BrowserLog, LiveServer, in_chinese, open_menu


@pytest.mark.parametrize(
    ("handle", "name", "kept"),
    [
        pytest.param(
            personas.OTHER_MOTHER, "刘芳", "孩子的照片在结对结束 365 天后删除。", id="caring-mother"
        ),
        pytest.param(
            personas.OTHER_NEIGHBOUR, "孙玉梅", "送餐照片在当月结算 1095 天后删除。", id="neighbour"
        ),
    ],
)
def test_first_sign_in_shows_the_notice_in_chinese_and_reading_it_leads_home(
    page: Page,
    live_server: LiveServer,
    browser_log: BrowserLog,
    artifacts_dir: Path,
    handle: str,
    name: str,
    kept: str,
) -> None:
    live_server.set_notice_read(handle, read=False)
    page.goto(live_server.link_for(handle, notice_read=False))
    page.get_by_role("button", name="登录", exact=True).tap()

    expect(page).to_have_url(live_server.url("/privacy"))
    in_chinese(page)  # another test may have chosen English for her
    expect(page.get_by_role("heading", level=1)).to_have_text("我们为您保存哪些信息")
    notice = page.locator("#privacy-notice")
    expect(notice).to_contain_text(kept)
    expect(notice).to_contain_text("您的权利")
    # Large, readable type for older eyes: the text is at least the app's 18 px root size.
    sizes = notice.locator("li").evaluate_all(
        "items => items.map(i => parseFloat(getComputedStyle(i).fontSize))"
    )
    assert sizes and min(sizes) >= 18, sizes
    page.screenshot(path=str(artifacts_dir / f"notice-{handle}.png"), full_page=True)

    page.get_by_role("button", name="我已读过", exact=True).tap()
    expect(page).to_have_url(live_server.url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"您好，{name}")

    # Later it is on the menu, with the day she read it and no button.
    open_menu(page)
    page.get_by_role("link", name="我们为您保存哪些信息").tap()
    expect(page).to_have_url(live_server.url("/privacy"))
    expect(page.locator("#notice-seen")).to_contain_text("您已于")
    expect(page.get_by_role("button", name="我已读过")).to_have_count(0)
    browser_log.assert_clean()
