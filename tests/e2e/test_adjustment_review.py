"""On two phones: staff member 周敏 enters an adjustment over the review threshold; it shows as pending
and counts nowhere; a second staff member approves it from the month page (a form, no JavaScript
needed); the statement then lists it as counted. The second staff member is made with the app's own
services against the live server's database."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Page, expect

from tests import personas
from tests.e2e.harness import BrowserLog, LiveServer, NewPhone, SignIn, open_menu
from tests.e2e.test_layout import assert_no_horizontal_scroll

SECOND_STAFF = "e2e-staff-wu"
REASON = "上月漏记三餐（家属电话确认）"

MAKE_STAFF = """
import asyncio, sys
from sqlalchemy import select
from backend.db import create_database
from backend.settings import load_settings
from backend.people.models import Area, Programme, ProgrammeKind, Role, User
from backend.people.service import do_add_membership, do_create_user

async def main() -> None:
    database = create_database(load_settings())
    async with database.transaction() as db:
        if await db.scalar(select(User.id).where(User.handle == sys.argv[1])) is None:
            meals = Programme.kind == ProgrammeKind.NEIGHBOUR_MEALS
            programme = await db.scalar(select(Programme).where(meals).order_by(Programme.id))
            area = await db.get_one(Area, programme.area_id)
            user = await do_create_user(db, handle=sys.argv[1], display_name="吴敏", actor=None)
            await do_add_membership(
                db, user=user, programme=programme, area=area, role=Role.STAFF, actor=None
            )
    await database.dispose()

asyncio.run(main())
"""


def _make_second_staff(live_server: LiveServer) -> None:
    subprocess.run(
        [sys.executable, "-c", MAKE_STAFF, SECOND_STAFF],
        env=live_server.env,
        cwd=live_server.workdir,
        check=True,
        timeout=120,
    )


def test_an_adjustment_over_the_threshold_waits_for_a_second_staff_member_then_counts(
    page: Page,
    new_phone: NewPhone,
    sign_in: SignIn,
    live_server: LiveServer,
    browser_log: BrowserLog,
    artifacts_dir: Path,
) -> None:
    _make_second_staff(live_server)
    sign_in(page, personas.STAFF)
    open_menu(page)
    page.locator("#menu a[href='/settlement']").tap()
    page.locator("ul.list a").first.tap()
    expect(page).to_have_url(re.compile(r"/settlement/\d+\?month=\d{4}-\d{2}$"))

    form = page.locator("#adjustment-form")
    form.locator("#adj-amount").fill("200")
    form.locator("#adj-reason").fill(REASON)
    form.get_by_role("button").tap()
    # Redirected to the month it is dated into: pending, with no button for the person who entered it.
    pending = page.locator("#pending-adjustments .pending-adjustment").filter(has_text=REASON)
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("待批准")
    expect(pending.get_by_role("button", name="批准这笔调整")).to_have_count(0)
    assert_no_horizontal_scroll(page, "month with a pending adjustment")
    page.screenshot(path=str(artifacts_dir / "adjustment-pending-phone.png"), full_page=True)
    dated_month_url = page.url

    second = new_phone()
    sign_in(second, SECOND_STAFF)
    second.goto(dated_month_url)
    waiting = second.locator("#pending-adjustments .pending-adjustment").filter(has_text=REASON)
    expect(waiting).to_have_count(1)
    waiting.get_by_role("button", name="批准这笔调整").tap()
    expect(second.locator("#pending-adjustments .pending-adjustment").filter(has_text=REASON)).to_have_count(
        0
    )

    second.locator("a[href*='/statement?month=']").first.tap()
    expect(second).to_have_url(re.compile(r"/statement\?month="))
    line = second.locator("ul.adjustments li").filter(has_text=REASON)
    expect(line).to_have_count(1)
    expect(line).to_contain_text("200.00")
    expect(line).to_contain_text("已计入")
    assert_no_horizontal_scroll(second, "statement with an approved adjustment")
    second.screenshot(path=str(artifacts_dir / "adjustment-approved-statement-phone.png"), full_page=True)
