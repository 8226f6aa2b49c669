"""In a real phone browser (390 x 844): the Liu'an Street social worker records this month's street
meeting with the caring mother who came, then updates that mother's profile.

Written against element ids and form values, not interface text: other tests switch languages.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests import personas
from tests.e2e.harness import BrowserLog, SignIn


def test_social_worker_records_a_street_meeting_and_edits_a_mothers_profile_on_her_phone(
    page: Page, sign_in: SignIn, browser_log: BrowserLog, artifacts_dir: Path
) -> None:
    sign_in(page, personas.OTHER_STREET_WORKER)
    page.locator("#caring-mothers-link").tap()
    expect(page).to_have_url(re.compile(r"/caring-mothers$"))
    page.locator(".meeting-areas a").first.tap()  # her street, Liu'an
    expect(page).to_have_url(re.compile(r"/areas/\d+/meetings\?programme_id=\d+$"))
    expect(page.locator("#meeting-level")).to_have_value("street_monthly")

    attendees = page.locator("#meeting-attendees input[name=attendee]")
    expect(attendees).to_have_count(1)  # 张丽, the one caring mother of Liu'an Street
    attendees.first.check()
    page.locator("#meeting-others").fill("3")
    page.locator("#meeting-results").fill("张丽介绍了心理咨询小组的做法，孩子们反馈很好。")
    page.locator("#meeting-problems").fill("周末托管场地不够，需要街道协调。")
    page.screenshot(path=str(artifacts_dir / "meetings-form.png"), full_page=True)
    page.locator("#meeting-submit").tap()

    expect(page).to_have_url(re.compile(r"/meetings/\d+\?recorded=1$"))
    expect(page.locator("#recorded")).to_be_visible()
    expect(page.locator("#meeting-problems")).to_contain_text("周末托管")
    expect(page.locator("#meeting-who li")).to_have_count(1)
    page.screenshot(path=str(artifacts_dir / "meetings-recorded.png"), full_page=True)
    meeting_path = re.sub(r"^https?://[^/]+", "", page.url).split("?")[0]

    page.locator("a[href*='/meetings?programme_id=']").tap()
    expect(page.locator(f"#meetings-list a[href='{meeting_path}']")).to_be_visible()

    page.goto(page.url.split("/areas/")[0] + "/caring-mothers")
    page.locator(".mothers a").first.tap()
    expect(page).to_have_url(re.compile(r"/mothers/\d+/profile\?programme_id=\d+$"))
    page.locator("input[name=offer][value=social_integration]").check()
    page.locator("#mother-skills").fill("心理咨询、围棋社")
    page.locator("#mother-capacity").fill("2")
    page.screenshot(path=str(artifacts_dir / "meetings-mother-profile.png"), full_page=True)
    page.locator("#mother-profile-submit").tap()
    expect(page).to_have_url(re.compile(r"/mothers/\d+/profile\?saved=1$"))
    expect(page.locator("#mother-skills")).to_have_value("心理咨询、围棋社")
    expect(page.locator("input[name=offer][value=social_integration]")).to_be_checked()
    expect(page.locator("#saved")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "meetings-mother-profile-saved.png"), full_page=False)
    browser_log.assert_clean()
