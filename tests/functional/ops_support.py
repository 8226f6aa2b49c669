"""Helpers for tests that act as an operator: `carelog` commands and a real `carelog serve` process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from backend import clock
from backend.settings import Settings
from tests.conftest import SECRET

CARELOG = Path(sys.executable).parent / "carelog"


def carelog_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The process environment for `carelog` with these settings (and no stray CARELOG_* variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    env |= {
        "CARELOG_DATABASE_URL": settings.database_url,
        "CARELOG_PHOTO_STORE_URL": settings.photo_store_url,
        "CARELOG_SECRET_KEY": SECRET,
        "CARELOG_ENV": "test",
        "CARELOG_PUBLIC_ORIGIN": settings.public_origin,
        # The process keeps the tests' clock (tests/conftest.py): codes issued here are valid there.
        "CARELOG_TODAY": clock.today_in(clock.REFERENCE_ZONE).isoformat(),
        "PYTHONUNBUFFERED": "1",
    }
    return env | extra


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return f"exit {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


async def carelog(settings: Settings, *args: str, **extra_env: str) -> Done:
    """Run `carelog ARGS` as its own process without blocking the test's event loop."""
    proc = await asyncio.create_subprocess_exec(
        str(CARELOG),
        *args,
        env=carelog_env(settings, **extra_env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=300)
    return Done(proc.returncode or 0, out.decode(), err.decode())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def log_tail(self, limit: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-limit:] if self.log.exists() else "(no log)"

    def kill_hard(self) -> None:
        """kill -9 of the server's whole process group (Granian's main process and its workers)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def rss_bytes(self) -> int:
        """Resident memory of the server and every process under it, from /proc."""
        return sum(_rss(pid) for pid in _tree(self.proc.pid))


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@contextmanager
def serving(
    settings: Settings, workdir: Path, *, preexec: Callable[[], None] | None = None, **extra_env: str
) -> Iterator[Server]:
    """`carelog serve` on a free loopback port with these settings; stopped (or already killed) after.

    `preexec` runs in the child before exec (e.g. to set a resource limit)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = carelog_env(settings, CARELOG_PORT=str(port), CARELOG_PUBLIC_ORIGIN=base_url, **extra_env)
    log = workdir / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(CARELOG), "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec,
        )
    server = Server(proc, base_url, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"carelog serve exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"carelog serve did not answer /healthz in 30 s:\n{server.log_tail()}")
            time.sleep(0.1)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill_hard()


async def signed_in(base_url: str, code: str) -> httpx.AsyncClient:
    """A browser signed in to a live server with a one-time code (the real form, CSRF included)."""
    browser = httpx.AsyncClient(base_url=base_url, timeout=60)
    await browser.get("/signin")
    token = browser.cookies["csrftoken"]
    response = await browser.post("/signin", data={"code": code, "_csrf_token": token})
    assert response.status_code == 303, response.text
    return browser
