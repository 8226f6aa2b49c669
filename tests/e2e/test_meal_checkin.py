"""On a phone: the demo neighbour checks in today's lunch with a camera photo, in three taps, and finds
it waiting for review in her history. "Under a minute" rests on those three taps (counted below) and
on each answering with one page; the test times nothing, since wall-clock limits fail on a loaded
machine (the photo pipeline's own speed is in bench/, against a floor measured in the same run)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from backend import clock
from tests import personas
from tests.e2e.harness import BrowserLog, LiveServer, SignIn
from tests.e2e.test_layout import assert_large_targets, assert_no_horizontal_scroll


def camera_jpeg(path: Path) -> Path:
    """What a phone camera hands the page: a 12-megapixel-class JPEG with its capture time in EXIF."""
    image = Image.new("RGB", (2000, 1500), (214, 180, 120))
    draw = ImageDraw.Draw(image)
    draw.ellipse((250, 100, 1750, 1400), fill=(246, 246, 240), outline=(190, 190, 190), width=18)
    for box, colour in (
        ((500, 350, 950, 800), (200, 60, 40)),
        ((1000, 400, 1450, 850), (60, 150, 60)),
        ((700, 850, 1250, 1250), (250, 250, 235)),
    ):
        draw.ellipse(box, fill=colour)
    exif = Image.Exif()
    exif[0x8769] = {0x9003: clock.now_in(ZoneInfo("Asia/Shanghai")).strftime("%Y:%m:%d %H:%M:%S")}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88, exif=exif.tobytes())
    path.write_bytes(buffer.getvalue())
    return path


def test_demo_neighbour_checks_in_todays_lunch_from_the_camera_and_sees_it_pending(
    page: Page,
    live_server: LiveServer,
    sign_in: SignIn,
    browser_log: BrowserLog,
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    photo = camera_jpeg(tmp_path / "lunch.jpg")
    assert page.viewport_size == {"width": 390, "height": 844}
    sign_in(page, personas.NEIGHBOUR)  # in 中文 even if the layout test chose English for her
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，赵桂兰")

    today = page.get_by_role("region", name="今天的饭菜")
    lunch = today.get_by_role("link", name=re.compile("钱老伯 · 午餐"))
    expect(lunch).to_contain_text("还没打卡")
    page.screenshot(path=str(artifacts_dir / "meal-home-due.png"), full_page=True)
    lunch.tap()  # tap 1

    expect(page.get_by_role("heading", level=1)).to_have_text("钱老伯的午餐")
    dishes = page.get_by_role("group", name="菜品").get_by_role("checkbox")
    expect(dishes.first).to_be_checked()  # from her menu, ticked already
    assert dishes.count() >= 2
    camera = page.get_by_label(re.compile("拍饭菜照片"))
    expect(camera).to_have_attribute("capture", "environment")
    camera.set_input_files(str(photo))  # tap 2, and the photo
    expect(page.get_by_text("照片已拍好。点这里可以重拍。")).to_be_visible()
    assert_no_horizontal_scroll(page, "check-in page")
    assert_large_targets(page, "check-in page")
    page.screenshot(path=str(artifacts_dir / "meal-checkin.png"), full_page=True)

    page.get_by_role("button", name="发送", exact=True).tap()  # tap 3
    expect(page).to_have_url(re.compile(r"/meals/history\?month=\d{4}-\d{2}&sent=\d+#checkin-\d+$"))
    expect(page.get_by_role("status")).to_contain_text("已发送，社工会进行审核。")
    sent = page.locator(".checkin-card:target")
    expect(sent).to_contain_text("午餐")
    expect(sent).to_contain_text("钱老伯")
    expect(sent).to_contain_text("等待审核")
    expect(sent.get_by_role("img", name="饭菜照片")).to_be_visible()
    # Every thumbnail arrives through the authorised photo route and decodes.
    page.wait_for_function("() => [...document.images].every((i) => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(artifacts_dir / "meal-history-pending.png"), full_page=True)

    page.goto(live_server.url("/"))
    expect(today.get_by_role("link", name=re.compile("钱老伯 · 午餐"))).to_contain_text("已打卡 · 等待审核")
    browser_log.assert_clean()
