"""Every page each demo persona can reach by tapping, on a phone: no server error, and no moderate,
serious or critical accessibility fault as axe-core sees it (heading order and landmark names are
moderate; the brief asks for none serious or critical, and the pages have none of either).

The sweep starts at the home page and follows same-origin links breadth-first (GET only: no form is
sent, so it changes nothing), at most a couple of pages of each route shape (/review/meal/12 and
/review/meal/13 are one shape) and PAGE_LIMIT pages per persona. axe-core is installed by `make test`
(pinned, from the npm registry, into .venv/axe); without it the sweep skips locally and fails in CI.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from tests import personas
from tests.e2e.harness import IN_CI, PHONE, LiveServer, in_chinese

AXE = Path(__file__).resolve().parents[2] / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PAGE_LIMIT = 50
PER_SHAPE = 2
FAILING_IMPACTS = {"moderate", "serious", "critical"}
SKIPPED_PREFIXES = ("/static/", "/photos/", "/signin", "/sw.js", "/manifest.webmanifest")
SKIPPED_SUFFIXES = (".csv", ".xlsx")
AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
  }));
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        message = f"{AXE} is missing (make test installs axe-core with npm)"
        if IN_CI:
            pytest.fail(f"{message} and CI=true: the sweep may not skip", pytrace=False)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    # bypass_csp: axe is injected as an inline script, which the app's CSP rightly refuses.
    context = browser.new_context(**PHONE, bypass_csp=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def links_on(page: Page, origin: str) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all("a[href]:not([download])", "links => links.map(a => a.href)")
    found = []
    for href in hrefs:
        url, _fragment = urldefrag(href)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != origin:
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path.startswith(SKIPPED_PREFIXES) or parts.path.endswith(SKIPPED_SUFFIXES):
            continue
        found.append(path)
    return found


@pytest.mark.parametrize(
    "handle",
    [
        personas.STAFF,
        personas.SOCIAL_WORKER,
        personas.CARING_MOTHER,
        personas.NEIGHBOUR,
        personas.OTHER_STREET_WORKER,
        personas.STATION_WORKER,
        personas.SCOUT,
        personas.CADRE,
        personas.AGENCY_WORKER,
        personas.VOLUNTEER,
        personas.PILLAR_MOTHER,
        personas.PILLAR_PAYER,
    ],
)
def test_every_page_a_persona_reaches_has_no_server_error_and_no_accessibility_fault(
    handle: str, phone: Page, live_server: LiveServer, axe_source: str, artifacts_dir: Path
) -> None:
    phone.goto(live_server.link_for(handle))
    phone.locator("#signin-link-form button").tap()
    phone.wait_for_url(live_server.url("/"))
    in_chinese(phone)  # the sweep reads the Chinese pages
    origin = live_server.base_url
    queue: deque[str] = deque(["/"])
    seen_shapes: dict[str, int] = {}
    visited: list[str] = []
    errors: list[str] = []
    faults: list[str] = []
    while queue and len(visited) < PAGE_LIMIT:
        path = queue.popleft()
        if path in visited or seen_shapes.get(shape(path), 0) >= PER_SHAPE:
            continue
        seen_shapes[shape(path)] = seen_shapes.get(shape(path), 0) + 1
        visited.append(path)
        response = phone.goto(live_server.url(path))
        status = response.status if response is not None else 0
        if status >= 500 or status == 0:
            errors.append(f"{path}: {status}")
            continue
        phone.add_script_tag(content=axe_source)
        for v in phone.evaluate(AXE_RUN):
            if v["impact"] in FAILING_IMPACTS:
                faults.append(f"{path}: {v['id']} ({v['impact']}) {v['help']} at {v['targets']}")
        queue.extend(p for p in links_on(phone, origin) if p not in visited)
    name = re.sub(r"[^\w.-]+", "_", handle)
    (artifacts_dir / f"sweep-{name}.txt").write_text("\n".join(visited) + "\n", encoding="utf-8")
    assert len(visited) >= 5, f"the sweep reached only {visited}"
    assert errors == [], f"server errors: {errors}"
    assert faults == [], "accessibility faults:\n" + "\n".join(faults)


def test_the_sweep_notices_a_serious_fault(phone: Page, live_server: LiveServer, axe_source: str) -> None:
    # Worth something only if it fails on a bad page: an image without a text alternative is critical.
    phone.goto(live_server.url("/signin"))
    phone.evaluate(
        "() => { const img = document.createElement('img'); img.src = '/static/icons/icon.svg';"
        " document.querySelector('main').append(img); }"
    )
    phone.add_script_tag(content=axe_source)
    found = {v["id"]: v["impact"] for v in phone.evaluate(AXE_RUN)}
    assert found.get("image-alt") in FAILING_IMPACTS, found
