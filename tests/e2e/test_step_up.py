"""Step-up in a real phone browser: a staff member whose last proof is older than 15 minutes presses
"close the month", is asked to confirm it's her, confirms with her passkey (Chromium's virtual platform
authenticator, user verification on) and closes the month. Its own server on http://localhost (WebAuthn
refuses an IP address as RP ID), as in test_passkeys.py."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from backend import clock
from tests import personas
from tests.e2e.harness import BrowserLog, LiveServer, SignIn, open_menu, running_server
from tests.e2e.test_passkeys import add_passkey_on_account_page, add_platform_authenticator


@pytest.fixture(scope="module")
def live_server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("live-step-up"), public_host="localhost") as server:
        yield server


def make_proof_stale(live_server: LiveServer, handle: str) -> None:
    """Her sessions' last proof 20 minutes ago, straight in the server's database."""
    stamp = (clock.utcnow() - timedelta(minutes=20)).strftime("%Y-%m-%d %H:%M:%S.%f")
    with closing(sqlite3.connect(live_server.workdir / "carelog.db", timeout=30)) as conn, conn:
        changed = conn.execute(
            "UPDATE auth_session SET verified_at = ? WHERE user_id = "
            "(SELECT id FROM user_account WHERE handle = ?) AND revoked_at IS NULL",
            (stamp, handle),
        ).rowcount
    assert changed >= 1


def press_close(page: Page) -> None:
    page.locator("#close-form input[name=confirm]").check()
    page.locator("#close-form button[type=submit]").tap()


def test_staff_confirms_with_her_passkey_after_15_minutes_and_closes_the_month(
    page: Page, sign_in: SignIn, live_server: LiveServer, browser_log: BrowserLog, artifacts_dir: Path
) -> None:
    assert page.viewport_size == {"width": 390, "height": 844}
    add_platform_authenticator(page)
    sign_in(page, personas.STAFF)
    add_passkey_on_account_page(page, live_server)

    open_menu(page)
    page.locator("#menu a[href='/settlement']").tap()
    page.locator("ul.list a").first.tap()
    expect(page).to_have_url(re.compile(r"/settlement/\d+\?month=\d{4}-\d{2}$"))
    # The month before the demo's: nothing pending in it, and the demo staff member approved nothing.
    page.get_by_role("link", name="上个月", exact=True).tap()
    expect(page).to_have_url(re.compile(r"/settlement/\d+\?month=\d{4}-\d{2}$"))
    month_url = page.url
    expect(page.locator("#close-form")).to_be_visible()

    make_proof_stale(live_server, personas.STAFF)
    press_close(page)
    expect(page).to_have_url(re.compile(r"/account/confirm\?next="))
    expect(page.get_by_role("heading", level=1)).to_have_text("确认是您本人")
    page.screenshot(path=str(artifacts_dir / "step-up-confirm-phone.png"), full_page=True)
    with page.expect_response(live_server.url("/account/confirm/passkey")) as confirmed:
        page.get_by_role("button", name="用我的通行密钥确认", exact=True).tap()
    assert confirmed.value.status == 200, confirmed.value.text()
    page.wait_for_url(month_url)

    press_close(page)
    page.wait_for_url(month_url)
    expect(page.locator("#close-form")).to_have_count(0)
    expect(page.locator(".settle-state")).to_contain_text("周敏")
    page.screenshot(path=str(artifacts_dir / "step-up-closed-phone.png"), full_page=True)
