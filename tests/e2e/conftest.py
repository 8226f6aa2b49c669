"""Browser end-to-end fixtures: a real `carelog serve` driven by Debian's Chromium through Playwright.

One server and one browser per pytest process (per xdist worker); a fresh browser context (a phone
with no cookies) per test. Personas are split between tests so none depends on another having run:
signing in and switching language change a user's stored locale.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Page, Playwright, sync_playwright

from tests.e2e.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CSP_LISTENER,
    IN_CI,
    PHONE,
    BrowserLog,
    LiveServer,
    NewPhone,
    SignIn,
    in_chinese,
    running_server,
)

REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keep each phase's report on the item, so fixtures can tell at teardown whether the test failed.
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


def _failed(item: pytest.Item) -> bool:
    return any(report.failed for report in item.stash.get(REPORTS, {}).values())


@pytest.fixture(scope="session")
def artifacts_dir(pytestconfig: pytest.Config) -> Path:
    path = pytestconfig.rootpath / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)"
        if IN_CI:
            pytest.fail(f"{message} and CI=true: browser tests may not skip", pytrace=False)
        pytest.skip(f"{message}; set CI=true to make this a failure")
    return CHROMIUM


@pytest.fixture(scope="session")
def live_server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # Asks for chromium_path only so that a missing browser skips (or fails) before the server starts.
    with running_server(tmp_path_factory.mktemp("live")) as server:
        yield server


# Module scope, not session: between calls Playwright's sync API leaves its event loop marked as
# running in this thread, so while it is alive asyncio.run() and async tests fail. Modules run
# contiguously (also under xdist), so it is stopped before any other module's tests start.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium_path: Path) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def new_phone(
    browser: Browser,
    browser_log: BrowserLog,
    live_server: LiveServer,
    request: pytest.FixtureRequest,
    artifacts_dir: Path,
) -> Iterator[NewPhone]:
    """Opens another phone (a fresh browser context: no cookies) and returns its page.

    If the test fails, every page it opened is saved to test-artifacts/<test name>[-n].png, and
    the end of the server's log is printed (pytest shows it under "Captured stderr teardown").
    """
    contexts: list[BrowserContext] = []

    def open_phone(*, user_agent: str | None = None) -> Page:
        context = browser.new_context(**PHONE, user_agent=user_agent)
        context.set_default_timeout(10_000)
        context.expose_function("__e2eCspViolation", browser_log.on_csp_violation)
        context.add_init_script(CSP_LISTENER)
        context.on("console", browser_log.on_console)
        context.on("weberror", lambda web_error: browser_log.on_page_error(web_error.error))
        context.on("response", browser_log.on_response)
        contexts.append(context)
        return context.new_page()

    yield open_phone

    if _failed(request.node):
        name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
        pages = [page for context in contexts for page in context.pages]
        for number, page in enumerate(pages, start=1):
            target = artifacts_dir / f"{name}{'' if number == 1 else f'-{number}'}.png"
            try:
                page.screenshot(path=str(target), full_page=True)
            except Error as exc:  # a crashed page must not hide the test's own failure
                print(f"could not save {target}: {exc}", file=sys.stderr)
        print(f"--- end of the server's log ({live_server.stderr_path}):", file=sys.stderr)
        print(live_server.stderr_tail(), file=sys.stderr)
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_phone: NewPhone) -> Page:
    """One phone: 390 x 844 CSS pixels at 2x, touch, Chinese locale."""
    return new_phone()


@pytest.fixture
def sign_in(live_server: LiveServer) -> SignIn:
    """Signs `handle` in on `page` the way a person would: open the card's link, tap 登录."""

    def do(page: Page, handle: str) -> None:
        page.goto(live_server.link_for(handle))
        page.get_by_role("button", name="登录", exact=True).tap()
        page.wait_for_url(live_server.url("/"))
        in_chinese(page)  # the tests read Chinese pages; another test may have chosen English for her

    return do
