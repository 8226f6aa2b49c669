"""On a narrow phone and with doubled text, pages never scroll sideways, and tap targets stay large."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests import personas
from tests.e2e.harness import BrowserLog, LiveServer, SignIn, open_menu

NARROW: ViewportSize = {"width": 360, "height": 780}  # the narrowest common phone width
MIN_TARGET_PX = 44  # WCAG 2.5.5 and Apple's guideline; Android asks for 48 dp

# Controls a person taps. The skip link is outside header and main, hidden until focused.
TARGETS_JS = """
() => [...document.querySelectorAll(`header a, header button,
    main a, main button, main input:not([type=hidden]), main select, main textarea`)]
  .map((el) => {
    const box = el.getBoundingClientRect();
    const label = (el.innerText || el.value || el.outerHTML).trim().replace(/\\s+/g, ' ').slice(0, 40);
    return {label, width: Math.round(box.width * 10) / 10, height: Math.round(box.height * 10) / 10};
  })
  .filter((t) => t.width > 0 || t.height > 0)
"""


def assert_no_horizontal_scroll(page: Page, where: str) -> None:
    # With is_mobile, Chromium widens the layout viewport (window.innerWidth) to fit over-wide content,
    # which would hide the very overflow looked for; documentElement.clientWidth stays the phone's width.
    sizes = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
        " client: document.documentElement.clientWidth})"
    )
    viewport = page.viewport_size
    assert viewport is not None
    assert sizes["client"] == viewport["width"], f"{where}: unexpected layout width {sizes}"
    assert sizes["scroll"] <= min(sizes["inner"], sizes["client"]), f"{where} scrolls sideways: {sizes}"


def assert_large_targets(page: Page, where: str) -> None:
    targets = page.evaluate(TARGETS_JS)
    assert targets, f"{where}: no buttons or links found"
    small = [t for t in targets if t["height"] < MIN_TARGET_PX or t["width"] < MIN_TARGET_PX]
    assert not small, f"{where}: targets smaller than {MIN_TARGET_PX} px: {small}"


def double_text_size(page: Page) -> None:
    """What 200% text zoom does: double the root font size (the app's own is 112.5%, 18 px)."""
    before = page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.evaluate(f"() => {{ document.documentElement.style.fontSize = '{2 * before}px'; }}")
    after = page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert after == 2 * before, (before, after)


def check_page(page: Page, where: str, artifacts_dir: Path, shot: str | None = None) -> None:
    assert_no_horizontal_scroll(page, where)
    assert_large_targets(page, where)
    if shot:
        page.screenshot(path=str(artifacts_dir / f"{shot}.png"), full_page=True)
    double_text_size(page)
    assert_no_horizontal_scroll(page, f"{where} at 200% text")
    if shot:
        page.screenshot(path=str(artifacts_dir / f"{shot}-text200.png"), full_page=True)


def test_sign_in_page_fits_a_narrow_phone_with_large_targets_and_double_text(
    page: Page, live_server: LiveServer, browser_log: BrowserLog, artifacts_dir: Path
) -> None:
    page.set_viewport_size(NARROW)
    page.goto(live_server.url("/signin"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    page.screenshot(path=str(artifacts_dir / "signin.png"), full_page=True)
    check_page(page, "sign-in page (zh)", artifacts_dir, "layout-signin-zh-360")

    page.get_by_role("button", name="English", exact=True).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    check_page(page, "sign-in page (en)", artifacts_dir)

    # An error message must fit too.
    page.get_by_role("button", name="Sign in", exact=True).tap()
    expect(page.get_by_role("alert")).to_be_visible()
    check_page(page, "sign-in page with an error (en)", artifacts_dir)

    browser_log.assert_clean(expected_failures=[(400, "/signin")])


@pytest.mark.parametrize(
    ("handle", "name"),
    [
        pytest.param(personas.STAFF, "周敏", id="staff"),
        pytest.param(personas.SOCIAL_WORKER, "李娜", id="social-worker"),
        # Not the mother of the sign-in flow test: switching language here changes her stored locale.
        pytest.param(personas.OTHER_MOTHER, "刘芳", id="caring-mother"),
        pytest.param(personas.NEIGHBOUR, "赵桂兰", id="neighbour"),
    ],
)
def test_home_page_fits_a_narrow_phone_with_large_targets_and_double_text(
    page: Page,
    live_server: LiveServer,
    sign_in: SignIn,
    browser_log: BrowserLog,
    artifacts_dir: Path,
    request: pytest.FixtureRequest,
    handle: str,
    name: str,
) -> None:
    kind = request.node.callspec.id
    page.set_viewport_size(NARROW)
    sign_in(page, handle)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"您好，{name}")
    check_page(page, f"home page of the {kind} (zh)", artifacts_dir, f"layout-home-{kind}-zh-360")

    open_menu(page)
    page.get_by_role("button", name="English", exact=True).tap()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello, {name}")
    check_page(page, f"home page of the {kind} (en)", artifacts_dir, f"layout-home-{kind}-en-360")

    browser_log.assert_clean()


def test_layout_checks_notice_a_page_that_scrolls_sideways_or_a_small_target(
    page: Page, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    # The checks above are only worth something if they fail on a bad page (see the is_mobile note).
    page.set_viewport_size(NARROW)
    page.goto(live_server.url("/signin"))
    page.evaluate(
        """() => {
        const wide = document.createElement('div');
        wide.style.width = '600px';  // set through the CSSOM, which the CSP allows
        wide.textContent = 'wide';
        document.querySelector('main').append(wide);
        const small = document.createElement('a');
        small.href = '#';
        small.textContent = 'x';
        document.querySelector('main').append(small);
      }"""
    )
    with pytest.raises(AssertionError, match="scrolls sideways"):
        assert_no_horizontal_scroll(page, "sign-in page with a 600 px block")
    with pytest.raises(AssertionError, match="smaller than 44 px"):
        assert_large_targets(page, "sign-in page with a one-letter link")
    browser_log.assert_clean()
