"""The pieces behind the e2e fixtures: a live `carelog serve` and a log of what the browser complained about.

The server is set up the way an operator would: `carelog migrate`, `carelog demo` (whose printed
one-time links are parsed), then `carelog serve` on a free port with its own temporary database and
photo store, so parallel pytest workers never share state.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NoReturn, Protocol

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Error, Page, Response, expect

from backend import clock
from tests import personas

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# A phone: a common width at its real pixel density, touch, and a Chinese-speaking owner.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
SECRET_KEY = "e2e-secret-key-0123456789-abcdefghijklmn"  # 40 characters
START_TIMEOUT_S = 30.0
CLI_TIMEOUT_S = 60.0
LINK = re.compile(r"(https?://\S+/signin/c/[0-9A-Za-z]+)\s*$")

# The Chinese display names `carelog demo` prints next to each link (see backend/demo.py).
DEMO_NAMES = {
    personas.STAFF: "周敏",
    personas.SOCIAL_WORKER: "李娜",
    personas.OTHER_STREET_WORKER: "陈静",
    personas.CARING_MOTHER: "王秀英",
    personas.OTHER_MOTHER: "刘芳",
    "demo-mother-zhang": "张丽",
    personas.NEIGHBOUR: "赵桂兰",
    personas.OTHER_NEIGHBOUR: "孙玉梅",
    "demo-neighbour-wu": "吴凤英",
}


class NewPhone(Protocol):
    """Opens another phone; `user_agent` replaces Chromium's own (e.g. a messaging app's browser)."""

    def __call__(self, *, user_agent: str | None = None) -> Page: ...


SignIn = Callable[[Page, str], None]


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    workdir: Path
    carelog: Path
    demo_links: dict[str, str] = field(default_factory=dict)  # Chinese display name -> link

    @property
    def stderr_path(self) -> Path:
        return self.workdir / "serve.err"

    def stderr_tail(self, limit: int = 6000) -> str:
        return _tail(self.stderr_path, limit)

    def url(self, path: str) -> str:
        return self.base_url + path

    def run_cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(self.carelog), *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            _fail(
                f"`carelog {' '.join(args)}` exited with {done.returncode}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done.stdout

    def set_notice_read(self, handle: str, *, read: bool = True) -> None:
        """Mark the privacy notice read (or not yet) for `handle`, straight in the server's database.
        Every link this harness hands out marks it read, so that tests not about the notice land on the
        home page; tests/e2e/test_notice.py asks for a link without it."""
        with closing(sqlite3.connect(self.workdir / "carelog.db", timeout=30)) as conn, conn:
            if read:
                stamp = clock.utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores it
                conn.execute(
                    "UPDATE user_account SET notice_seen_at = ? WHERE handle = ? AND notice_seen_at IS NULL",
                    (stamp, handle),
                )
            else:
                conn.execute("UPDATE user_account SET notice_seen_at = NULL WHERE handle = ?", (handle,))

    def issue_link(self, handle: str, *, notice_read: bool = True) -> str:
        """A fresh one-time sign-in link, issued the way an operator would (`carelog issue-code`)."""
        if notice_read:
            self.set_notice_read(handle)
        out = self.run_cli("issue-code", handle)
        for line in out.splitlines():
            found = LINK.search(line)
            if found:
                return self.checked_link(found.group(1))
        _fail(f"`carelog issue-code {handle}` printed no link:\n{out}")

    def link_for(self, handle: str, *, notice_read: bool = True) -> str:
        """The link the demo printed for this persona if still unused here, else a newly issued one."""
        link = self.demo_links.pop(DEMO_NAMES.get(handle, ""), None)
        if link is None:
            return self.issue_link(handle, notice_read=notice_read)
        if notice_read:
            self.set_notice_read(handle)
        return link

    def checked_link(self, link: str) -> str:
        if not link.startswith(self.base_url + "/signin/c/"):
            _fail(f"a printed sign-in link is not on the public origin {self.base_url}: {link}")
        return link


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse_demo_links(out: str) -> dict[str, str]:
    """`  王秀英  caring mother, Guiyuan Community   http://…/signin/c/CODE` -> {"王秀英": link}."""
    links: dict[str, str] = {}
    for line in out.splitlines():
        found = LINK.search(line)
        if found:
            links[line.split()[0]] = found.group(1)
    return links


def _tail(path: Path, limit: int = 4000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-limit:] or "(empty)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # Granian stops its workers on SIGTERM
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the process group we created for it, nothing else
            proc.wait(timeout=10)


@contextmanager
def running_server(
    workdir: Path,
    *,
    public_host: str = "127.0.0.1",
    demo: bool = True,
    today: date | None = None,
    port: int | None = None,
) -> Iterator[LiveServer]:
    """`public_host` names the server in its public origin (it always listens on 127.0.0.1).

    Passkeys need "localhost": WebAuthn refuses an IP address as RP ID, and the app takes its RP ID
    from the public origin's host name. `demo=False` starts from an empty database (migrated, no
    demo: the first run of a real scheme). A server started again on the same `workdir` keeps its
    database; `today` moves its clock (the tests' clock by default) and `port` keeps its origin.
    """
    carelog = Path(sys.executable).parent / "carelog"
    if not carelog.exists():
        _fail(f"the carelog console script is missing next to {sys.executable} (pip install -e .)")
    port = port or _free_port()
    base_url = f"http://{public_host}:{port}"
    # Settings refuse unknown CARELOG_* variables, so start from an environment without any.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    env.update(
        CARELOG_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'carelog.db'}",
        CARELOG_PHOTO_STORE_URL=f"file://{workdir / 'photos'}",
        CARELOG_SECRET_KEY=SECRET_KEY,
        CARELOG_PORT=str(port),
        CARELOG_PUBLIC_ORIGIN=base_url,
        CARELOG_ENV="test",
        # The server keeps the tests' clock (tests/conftest.py), so "today" is the same day on both sides.
        CARELOG_TODAY=(today or clock.today_in(clock.REFERENCE_ZONE)).isoformat(),
        PYTHONUNBUFFERED="1",
    )
    server = LiveServer(base_url=base_url, env=env, workdir=workdir, carelog=carelog)
    (workdir / "photos").mkdir(exist_ok=True)
    server.run_cli("migrate")
    if demo:
        demo_out = server.run_cli("demo")
        server.demo_links = {
            name: server.checked_link(url) for name, url in parse_demo_links(demo_out).items()
        }
        missing = sorted(set(DEMO_NAMES.values()) - set(server.demo_links))
        if missing:
            _fail(f"`carelog demo` printed no link for {missing}:\n{demo_out}")

    out_path, err_path = workdir / "serve.out", server.stderr_path
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [str(carelog), "serve"], env=env, cwd=workdir, stdout=out, stderr=err, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                _fail(
                    f"`carelog serve` exited with {proc.returncode} before answering /healthz\n"
                    f"stderr:\n{_tail(err_path)}\nstdout:\n{_tail(out_path)}"
                )
            try:
                if httpx.get(server.url("/healthz"), timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                _fail(
                    f"`carelog serve` did not answer 200 on {server.url('/healthz')} within "
                    f"{START_TIMEOUT_S:.0f} s\nstderr:\n{_tail(err_path)}\nstdout:\n{_tail(out_path)}"
                )
            time.sleep(0.1)
        yield server
    finally:
        _stop(proc)


# The app's CSP allows no inline script; this runs only because Playwright injects it out of band.
# It reports every violation, including any that Chromium does not log to the console.
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__e2eCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} on ${e.documentURI}`);
});
"""


@dataclass
class BrowserLog:
    """Everything the pages of one test complained about."""

    csp_violations: list[str] = field(default_factory=list)
    js_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_responses: list[tuple[int, str]] = field(default_factory=list)  # (status, path)

    def on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text:
            self.csp_violations.append(text)
        elif message.type == "error" and not text.startswith("Failed to load resource"):
            # Failed loads are recorded with their path by on_response instead.
            self.console_errors.append(text)

    def on_csp_violation(self, description: str) -> None:
        self.csp_violations.append(description)

    def on_page_error(self, error: Error) -> None:
        self.js_errors.append(f"{error.name}: {error.message}")

    def on_response(self, response: Response) -> None:
        path = "/" + response.url.split("/", 3)[-1].split("?", 1)[0]
        if response.status >= 400:
            self.failed_responses.append((response.status, path))

    def assert_clean(self, *, expected_failures: list[tuple[int, str]] | None = None) -> None:
        assert not self.csp_violations, f"Content Security Policy violated: {self.csp_violations}"
        assert not self.js_errors, f"JavaScript errors: {self.js_errors}"
        assert not self.console_errors, f"console errors: {self.console_errors}"
        assert self.failed_responses == (expected_failures or []), (
            f"unexpected error responses: {self.failed_responses}"
        )


def open_menu(page: Page) -> None:
    """Open the top bar's menu (account, cards, settlement, language, sign-out), as a thumb would."""
    menu = page.locator("#menu")
    if menu.get_attribute("open") is None:
        page.locator("#menu-button").tap()
    expect(menu.locator(".menu-panel")).to_be_visible()


def in_chinese(page: Page) -> None:
    """Another test may have switched this persona to English on this server (the choice is stored)."""
    if page.locator("html").get_attribute("lang") == "en":
        open_menu(page)
        with page.expect_navigation():  # the form posts, then lands on the same page in Chinese
            page.locator("#language-form button[value=zh_Hans]").tap()
        page.wait_for_load_state("load")
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
