"""In a real phone browser: the demo caring mother logs a visit with two photos and two need areas, sees it
waiting for review, and the area's social worker opens it with its photos.

Written against element ids, form values and the child's name, not interface text: other tests switch
personas' languages. The review queue itself is issue 6; until it exists the worker's home lists the visits
waiting for review.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests import personas
from tests.data.corpus import phone_photo
from tests.e2e.harness import BrowserLog, NewPhone, SignIn


def test_mother_logs_a_visit_with_two_photos_on_her_phone_and_the_social_worker_sees_it(
    page: Page,
    new_phone: NewPhone,
    sign_in: SignIn,
    browser_log: BrowserLog,
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    photos = []
    for n in (1, 2):
        path = tmp_path / f"IMG_00{n}.jpg"
        path.write_bytes(phone_photo((1280, 960), seed=40 + n))
        photos.append(str(path))

    sign_in(page, personas.CARING_MOTHER)
    child = page.locator("#visits-home li.due-item", has_text="陈小宇")
    expect(child).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "visits-mother-home.png"), full_page=True)
    child.locator("a[id^=log-visit-]").tap()
    expect(page).to_have_url(re.compile(r"/visits/new\?pairing_id=\d+$"))
    expect(page.locator("#visit-child")).to_have_value(re.compile(r"\d+"))

    page.locator("#visit-minutes").fill("75")
    page.locator("input[name=need_area][value=daily_life]").check()
    page.locator("input[name=need_area][value=mind_character]").check()
    page.locator("#visit-checklist > summary").tap()
    page.locator("input[name=checklist]").first.check()
    page.locator("#visit-note").fill("一起读了绘本，检查了书包。")
    page.locator("#visit-photos").set_input_files(photos)
    page.screenshot(path=str(artifacts_dir / "visits-log-form.png"), full_page=True)
    page.locator("#visit-submit").tap()

    # Sending shrinks both photos in the page and uploads them before the visit itself: on a loaded CI
    # machine that once took longer than expect's default 5 s, so the wait is for the answer, not a time.
    expect(page).to_have_url(re.compile(r"/visits/\d+\?sent=1$"), timeout=30_000)
    expect(page.locator("#visit-sent")).to_be_visible()
    expect(page.locator("#visit-status")).to_have_class(re.compile(r"\bpending\b"))
    expect(page.locator(".photo-grid img")).to_have_count(2)
    page.screenshot(path=str(artifacts_dir / "visits-sent-pending.png"), full_page=True)
    visit_path = re.sub(r"^https?://[^/]+", "", page.url).split("?")[0]

    page.goto(page.url.split("/visits/")[0] + "/")
    expect(page.locator("#recent-visits a[href='" + visit_path + "']")).to_be_visible()

    worker = new_phone()
    sign_in(worker, personas.SOCIAL_WORKER)
    # Her home leads with what she must do; a visit waiting for review opens where she can decide it.
    expect(worker.locator("#todo-review")).to_be_visible()
    review_path = visit_path.replace("/visits/", "/review/visit/")
    worker.locator("#pending-visits a[href='" + review_path + "']").tap()
    expect(worker.locator("#decide-approve")).to_be_visible()
    expect(worker.locator("#card-visit-" + visit_path.rsplit("/", 1)[1] + " img")).to_have_count(2)
    expect(worker.locator("#visit-correct")).to_have_count(0)  # hers to review, not to correct
    worker.screenshot(path=str(artifacts_dir / "visits-social-worker.png"), full_page=True)
    browser_log.assert_clean()


def test_mother_adds_a_photo_to_a_visit_through_the_correction_form(
    page: Page, sign_in: SignIn, browser_log: BrowserLog, artifacts_dir: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "IMG_101.jpg", tmp_path / "IMG_102.jpg"
    first.write_bytes(phone_photo((1280, 960), seed=61))
    second.write_bytes(phone_photo((1280, 960), seed=62))
    sign_in(page, personas.CARING_MOTHER)
    page.goto(page.url.rstrip("/") + "/visits/new")
    page.locator("#visit-minutes").fill("45")
    page.locator("input[name=need_area][value=daily_life]").check()
    camera = page.locator("label.camera[for=visit-photos]")
    expect(camera).to_be_visible()
    # The camera tile comes before the checklist, as on the meal check-in.
    assert camera.bounding_box()["y"] < page.locator("#visit-checklist").bounding_box()["y"]  # type: ignore[index]
    page.locator("#visit-photos").set_input_files(str(first))
    expect(camera).to_have_class(re.compile(r"\bhas-file\b"))
    page.locator("#visit-submit").tap()
    expect(page).to_have_url(re.compile(r"/visits/\d+\?sent=1$"), timeout=30_000)
    expect(page.locator(".photo-grid img")).to_have_count(1)
    old_path = re.sub(r"^https?://[^/]+", "", page.url).split("?")[0]

    page.locator("#visit-correct").tap()
    expect(page).to_have_url(re.compile(r"/visits/\d+/correct$"))
    expect(page.locator("input[name=keep_photo]")).to_have_count(1)
    expect(page.locator("input[name=keep_photo]")).to_be_checked()
    page.locator("#visit-photos").set_input_files(str(second))  # a new photo through the plain form
    page.locator("#visit-note").fill("补一张照片")
    page.screenshot(path=str(artifacts_dir / "visits-correct-with-photo.png"), full_page=True)
    page.locator("#visit-submit").tap()
    expect(page).to_have_url(re.compile(r"/visits/\d+\?sent=1$"), timeout=30_000)
    assert re.sub(r"^https?://[^/]+", "", page.url).split("?")[0] != old_path  # a new version
    expect(page.locator(".photo-grid img")).to_have_count(2)
    browser_log.assert_clean()
