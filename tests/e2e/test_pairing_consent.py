"""In a real phone browser (390 x 844): the social worker pairs 马小琪, a child under 14, with a caring
mother. Without the guardian's consent ticked the pairing is refused and nothing changes; with it ticked
(监护人已同意) the child is paired.

Written against element ids and names, not interface text, except the consent box's own label.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests import personas
from tests.e2e.harness import BrowserLog, SignIn


def test_social_worker_pairs_a_child_under_14_only_with_the_guardians_consent_on_her_phone(
    page: Page, sign_in: SignIn, browser_log: BrowserLog, artifacts_dir: Path
) -> None:
    sign_in(page, personas.SOCIAL_WORKER)
    page.get_by_role("link", name=re.compile("马小琪")).first.tap()
    expect(page).to_have_url(re.compile(r"/pairings/match/\d+$"))
    expect(page.locator("#consent-hint")).to_be_visible()
    form = page.locator("form[id^=confirm-]").first
    consent = form.get_by_label("监护人已同意")
    expect(consent).to_be_visible()
    expect(consent).not_to_be_checked()
    # The page fits the phone: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(artifacts_dir / "pairing-consent-form.png"), full_page=True)

    match_path = re.sub(r"^https?://[^/]+", "", page.url)
    form.get_by_role("button").tap()  # without the consent
    expect(page.locator("#match-error")).to_be_visible()
    expect(page.locator("#current-pairing")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "pairing-consent-refused.png"), full_page=True)

    form = page.locator("form[id^=confirm-]").first
    form.get_by_label("监护人已同意").check()
    form.get_by_role("button").tap()
    expect(page).to_have_url(re.compile(r"/pairings/match/\d+\?paired=1$"))
    expect(page.locator("#current-pairing")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "pairing-consent-paired.png"), full_page=True)
    browser_log.assert_clean(expected_failures=[(400, match_path)])  # the refusal, answered 400
