"""In a real phone browser: a caring mother photographs the child's visit with the plain form, and the
photo she and others see is upright and carries no location.

Written against element ids and the child's name, not interface text: other tests switch this
persona's language.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect

from tests import personas
from tests.data.corpus import RED, WHITE, oriented_jpeg
from tests.e2e.harness import BrowserLog, LiveServer, SignIn

# The upright picture's four quadrant colours, sampled from what Chromium actually decoded.
SAMPLE_JS = """
(img) => {
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const at = (fx, fy) => Array.from(ctx.getImageData(
      Math.floor(canvas.width * fx), Math.floor(canvas.height * fy), 1, 1).data.slice(0, 3));
  return {width: img.naturalWidth, height: img.naturalHeight,
          topLeft: at(0.25, 0.25), bottomRight: at(0.75, 0.75)};
}
"""


def _close(got: list[int], want: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 60 for a, b in zip(got, want, strict=True))


def test_a_photo_sent_sideways_with_gps_is_shown_upright_and_without_location(
    page: Page,
    live_server: LiveServer,
    sign_in: SignIn,
    browser_log: BrowserLog,
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    # What a phone held sideways produces: pixels stored landscape-rotated, EXIF orientation 6, GPS.
    sideways = tmp_path / "IMG_0001.jpg"
    sideways.write_bytes(oriented_jpeg(6, (640, 480)))
    sign_in(page, personas.CARING_MOTHER)
    page.get_by_role("link", name="陈小宇", exact=True).first.tap()  # the person, not a visit
    expect(page).to_have_url(re.compile(r"/people/\d+$"))

    page.locator("#photo-input").set_input_files(str(sideways))
    page.locator("#photo-upload-form button[type=submit]").tap()
    expect(page).to_have_url(re.compile(r"/people/\d+#photo-\d+$"))
    thumb = page.locator(".photo-grid img").first
    expect(thumb).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "photo-person-page.png"), full_page=True)
    shown = thumb.evaluate(SAMPLE_JS)
    assert (shown["width"], shown["height"]) == (320, 240), shown  # upright: landscape again
    assert _close(shown["topLeft"], RED) and _close(shown["bottomRight"], WHITE), shown

    browser_log.assert_clean()  # the person's page itself, thumbnails included

    # Opened on its own, the photo is shown in Chromium's built-in image viewer, whose inline styles our
    # `sandbox; default-src 'none'` refuses (the viewer then shows the picture unstyled), and in which
    # the sandbox blocks the test's own injected listener script: both expected, both proof it holds.
    page.locator(".photo-grid a").first.tap()
    expect(page).to_have_url(re.compile(r"/photos/\d+/display$"))
    page.screenshot(path=str(artifacts_dir / "photo-display-upright.png"))
    served = page.request.get(page.url)
    assert served.status == 200
    assert served.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert served.headers["cache-control"].startswith("private")
    image = Image.open(io.BytesIO(served.body()), formats=["JPEG"])
    assert image.size == (640, 480)
    assert not image.getexif() and "comment" not in image.info and "xmp" not in image.info
    assert b"GPS" not in served.body() and b"Exif" not in served.body()
    assert all("Applying inline style" in v for v in browser_log.csp_violations), browser_log.csp_violations
    browser_log.csp_violations.clear()
    sandboxed = "because the document's frame is sandboxed"
    assert all(sandboxed in e for e in browser_log.console_errors), browser_log.console_errors
    browser_log.console_errors.clear()
    browser_log.assert_clean()
