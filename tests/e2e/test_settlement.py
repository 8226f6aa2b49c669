"""On a phone and on paper: the demo staff member opens last month's settlement (the demo's reviewed
lunches) and its printable statement; screenshots at phone size and in print media are kept for a
person to look at. The month is not closed here (other browser tests share the demo server and may
close it themselves), so either state is accepted."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests import personas
from tests.e2e.harness import BrowserLog, NewPhone, SignIn, open_menu
from tests.e2e.test_layout import assert_no_horizontal_scroll


def test_staff_read_the_month_and_its_printable_statement(
    page: Page, new_phone: NewPhone, sign_in: SignIn, browser_log: BrowserLog, artifacts_dir: Path
) -> None:
    sign_in(page, personas.STAFF)
    open_menu(page)
    page.locator("#menu a[href='/settlement']").tap()
    expect(page).to_have_url(re.compile(r"/settlement$"))
    page.locator("ul.list a").first.tap()
    expect(page).to_have_url(re.compile(r"/settlement/\d+\?month=\d{4}-\d{2}$"))
    # Draft, or closed already if another browser test of this server closed it first.
    expect(page.locator(".settle-state")).to_be_visible()
    expect(page.locator(".settle-table tbody tr")).to_have_count(3)
    page.screenshot(path=str(artifacts_dir / "settlement-month-phone.png"), full_page=True)
    assert_no_horizontal_scroll(page, "settlement month")

    page.locator("a[href*='/statement?month=']").first.tap()
    expect(page).to_have_url(re.compile(r"/statement\?month="))
    rows = page.locator(".settle-table tbody tr")
    assert rows.count() >= 38
    # At phone width every meal is a card: amount, reviewer and time on screen, nothing scrolls sideways,
    # the hash short until tapped.
    assert_no_horizontal_scroll(page, "statement")
    first = rows.first
    for label in ("元", "审核人", "审核时间"):
        cell = first.locator(f"td[data-label='{label}']")
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (label, box)
    short = first.locator(".hash-tap summary code.hash")
    expect(short).to_have_text(re.compile(r"^[0-9a-f]{10}…$"))
    short.tap()
    expect(first.locator(".hash-tap[open] > code.hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    page.screenshot(path=str(artifacts_dir / "settlement-statement-phone.png"), full_page=True)

    paper = new_phone()
    paper.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    sign_in(paper, personas.STAFF)
    paper.goto(page.url)
    paper.emulate_media(media="print")
    expect(paper.locator(".topbar")).to_be_hidden()
    expect(paper.locator("code.hash-print").first).to_have_text(
        re.compile(r"^[0-9a-f]{64}$")
    )  # whole on paper
    expect(paper.locator(".hash-tap").first).to_be_hidden()
    paper.screenshot(path=str(artifacts_dir / "settlement-statement-print.png"), full_page=True)


def test_staff_read_reports_and_the_audit_trail_on_a_phone(
    page: Page, sign_in: SignIn, browser_log: BrowserLog, artifacts_dir: Path
) -> None:
    sign_in(page, personas.STAFF)
    open_menu(page)
    page.locator("#menu a[href='/reports']").tap()
    page.locator("ul.list a").first.tap()
    expect(page).to_have_url(re.compile(r"/reports/\d+$"))
    expect(page.locator("#total-heading")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "reports-phone.png"), full_page=True)
    assert_no_horizontal_scroll(page, "reports")
    open_menu(page)
    page.locator("#menu a[href='/audit']").tap()
    expect(page.locator("#chain-heading")).to_be_visible()
    expect(page.locator(".audit-event")).to_have_count(20)
    page.locator("#f-action").fill("meal_checkin")
    page.locator("#audit-filter button").tap()
    expect(page).to_have_url(re.compile(r"action=meal_checkin"))
    page.screenshot(path=str(artifacts_dir / "audit-phone.png"), full_page=False)
    assert_no_horizontal_scroll(page, "audit trail")
