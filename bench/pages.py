"""Page benchmark: the review queue and the neighbour's check-in page against a template-only ceiling.

Starts Carelog with `carelog serve` (Granian, one worker; SQLite, or a fresh PostgreSQL database with
BENCH_DATABASE=postgresql) on loopback, with the demo district scaled up (BENCH_AGREEMENTS more
residents of one social worker's area with meal agreements, each with BENCH_DAYS past lunches checked
in and waiting for review). In the same run it starts:
- the ceiling: the same Carelog app on the same Granian settings plus one route, registered here and
  nowhere else, that renders the review queue's own template from a context loaded once (no query,
  no session lookup per request), so queue_rps / ceiling_rps is the share the database work leaves;
- the bare floor of the framework: a minimal Litestar app rendering a small Jinja template.
The three servers run side by side. Each target is loaded in turn for BENCH_DURATION seconds (default
5) with BENCH_CONNECTIONS keep-alive connections, for BENCH_ROUNDS rounds (default 3); figures are
medians over the rounds, and the ratio is the median of each round's ratio, so a change in the
machine's other load cannot favour one target. The load comes from wrk when it is installed
(Debian's `wrk`), otherwise from a small asyncio HTTP/1.1 client in this file (BENCH_CLIENT=python
forces it). The load generator shares the machine's cores with the server.

At 32 connections on one worker the loop is closed: each connection waits for its answer, so the
median latency is about 32 / req/s whatever the page does (the ceiling's own p99 is printed too).
So the queue is also loaded open loop, 2 s after the last closed-loop load (its queued requests
drain first), at half the rate it managed (requests start on a schedule,
and each latency counts from its scheduled start): its p50 and p99 at traffic, not at saturation.

Prints a table and ends with:
result queue_rps=… ceiling_rps=… ratio=… p99_ms=… queue_p50_ms=… checkin_rps=… checkin_p99_ms=… …
(ratio = queue_rps / ceiling_rps; p99_ms is the queue's). Targets (issue 9): ratio >= 0.5, p99 <= 50 ms.
Each load also reads the servers' CPU time from /proc: CPU ms per request of the app (and of
PostgreSQL's processes), and cpu_ratio = ceiling_cpu_ms / queue_cpu_ms, which moves less with the
machine's other load than req/s does and leaves out the database's own CPU.
Never fails on a time; only on an error (a non-200 answer, a server that does not start).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from litestar import Litestar, Request, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DURATION = float(os.environ.get("BENCH_DURATION", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
# sqlite (an embedded file, as a district runs it) or postgresql (a fresh database on PG_ADMIN's server).
DATABASE = os.environ.get("BENCH_DATABASE", "sqlite")
PG_ADMIN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
AGREEMENTS = int(os.environ.get("BENCH_AGREEMENTS", "60"))
DAYS = int(os.environ.get("BENCH_DAYS", "25"))
CLIENT = os.environ.get("BENCH_CLIENT", "wrk" if shutil.which("wrk") else "python")
DRAIN_S = 2.0  # the pause before the open-loop load (see main)
SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"  # noqa: S105 - a throwaway bench database
CARELOG = Path(sys.executable).parent / "carelog"
NEIGHBOUR, REVIEWER = "demo-neighbour-zhao", "demo-sw-li"

BARE_TEMPLATE = """<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8">
<title>{{ title }}</title></head><body><main><h1>{{ title }}</h1><ul>
{% for item in items %}<li><a href="/x/{{ item.id }}">{{ item.name }}</a> {{ item.amount }}</li>{% endfor %}
</ul></main></body></html>"""


def bare_app() -> Litestar:
    """Granian factory for the bare floor of the framework: one route rendering a small template."""
    items = [{"id": n, "name": f"钱老伯 午餐 {n}", "amount": "15.00 元"} for n in range(20)]

    @get("/bare", sync_to_thread=False)
    def page() -> Template:
        return Template(template_name="bare.html", context={"title": "复核", "items": items})

    return Litestar(
        route_handlers=[page],
        template_config=TemplateConfig(
            directory=Path(os.environ["BENCH_BARE_TEMPLATES"]), engine=JinjaTemplateEngine
        ),
    )


def ceiling_app() -> Litestar:
    """Granian factory for the ceiling: Carelog itself (same middleware, same templates) plus one route
    that renders the review queue's template from a context loaded once, then never touches the
    database or the session again. /review minus this is what the queries and the session cost."""
    from litestar.datastructures import State

    from backend.app import create_app
    from backend.auth.service import load_principal
    from backend.security import session_cookie_name
    from backend.settings import load_settings
    from backend.verification.queue import load_queue, queue_size

    settings = load_settings()
    app = create_app(settings, serving=True)  # served as carelog serve serves the app (app_factory)

    @get("/bench/ceiling")
    async def ceiling(request: Request[Any, Any, Any], state: State) -> Template:
        context = getattr(state, "bench_ceiling", None)
        if context is None:
            token = request.cookies[session_cookie_name(settings)]
            async with state.database.transaction(read_only=True) as db:
                principal = await load_principal(db, token, secret_key=settings.secret_key)
                assert principal is not None, "the reviewer's session"
                page = await load_queue(db, principal, kind=None, offset=0)
                waiting = await queue_size(db, principal)
            done = {"approved": None, "sampled": None}
            context = {
                "principal": principal,
                "page": page,
                "done": done,
                "bulk_error": False,
                "decided": None,
            }
            state.bench_ceiling = context
            state.bench_waiting = waiting
        request.state.review_pending = state.bench_waiting  # the navigation's badge, as /review shows it
        return Template(template_name="verification/queue.html", context=context)

    app.register(ceiling)
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_database(name: str, *, drop_only: bool = False) -> str:
    """A fresh PostgreSQL database `name` (dropped first if it exists); its SQLAlchemy URL."""
    import asyncpg

    async def remake() -> None:
        admin = await asyncpg.connect(PG_ADMIN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            if not drop_only:
                await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    asyncio.run(remake())
    return "postgresql+asyncpg://" + f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}".split("://", 1)[1]


async def vacuum_analyze(database_url: str) -> None:
    """What autovacuum does on a live server within a minute of a bulk insert. Without statistics the
    planner guessed the queue's count over 1,509 pending check-ins as a nested loop per row: 3.2 ms of
    PostgreSQL's time per page, 0.84 ms once analyzed. (SQLite is left as a live Carelog leaves it:
    the app runs no ANALYZE there.)"""
    import asyncpg

    conn = await asyncpg.connect("postgresql://" + database_url.split("://", 1)[1])
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def carelog_env(folder: Path, port: int, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")}
    return env | {
        "CARELOG_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{folder / 'carelog.db'}",
        "CARELOG_PHOTO_STORE_URL": f"file://{folder / 'photos'}",
        "CARELOG_SECRET_KEY": SECRET,
        "CARELOG_ENV": "test",
        "CARELOG_PORT": str(port),
        "CARELOG_PUBLIC_ORIGIN": f"http://127.0.0.1:{port}",
        "CARELOG_LOG_LEVEL": "WARNING",
    }


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(CARELOG), *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"carelog {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


async def scale_up(database_url: str, agreements: int, days: int) -> int:
    """More residents of 钱老伯's area, each with an agreement and `days` past lunches pending review."""
    import io

    from PIL import Image
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from backend.db import create_database
    from backend.evidence import service as evidence
    from backend.evidence.imaging import process_photo
    from backend.evidence.models import CaptureSource
    from backend.meals.checkin_service import CheckInDraft, do_check_in
    from backend.meals.models import Agreement, MealSlot, Signatory
    from backend.meals.service import (
        do_confirm_as_neighbour,
        do_create_agreement,
        do_record_resident_confirmation,
    )
    from backend.people.models import Area, Person, PersonKind, Programme, User
    from backend.people.person_service import do_create_person
    from backend.settings import Settings

    database = create_database(Settings(environment="test", database_url=database_url, secret_key=SECRET))
    made = 0
    try:
        async with database.transaction() as db:
            template = await db.scalar(
                select(Agreement)
                .join(User, Agreement.neighbour_id == User.id)
                .where(User.handle == NEIGHBOUR)
                .options(selectinload(Agreement.programme), selectinload(Agreement.resident))
                .limit(1)
            )
            assert template is not None, "the demo's agreement of demo-neighbour-zhao"
            ids = (template.programme_id, template.resident.area_id, template.neighbour_id)
            starts = template.starts_on
        for n in range(agreements):
            async with database.transaction() as db:
                programme = await db.get_one(Programme, ids[0])
                area = await db.get_one(Area, ids[1])
                neighbour = await db.get_one(User, ids[2])
                worker = await db.scalar(select(User).where(User.handle == REVIEWER))
                assert worker is not None
                resident = await do_create_person(
                    db,
                    programme=programme,
                    area=area,
                    kind=PersonKind.RESIDENT,
                    display_name=f"居民{n:04d}",
                    birth_year=1940,
                    actor=worker,
                )
                agreement = await do_create_agreement(
                    db,
                    programme=programme,
                    resident=resident,
                    neighbour=neighbour,
                    social_worker=worker,
                    starts_on=starts,
                    actor=worker,
                )
                await do_confirm_as_neighbour(db, agreement, actor=neighbour)
                await do_record_resident_confirmation(
                    db, agreement, signatory=Signatory.RESIDENT, paper_photo=None, actor=worker
                )
                zone = ZoneInfo(programme.time_zone)
                today = datetime.now(zone).date()
                for back in range(1, days + 1):
                    day = today - timedelta(days=back)
                    if not agreement.covers(day):
                        continue
                    cooked = datetime.combine(day, clock(11, 50), tzinfo=zone)
                    picture = Image.new(
                        "RGB", (96, 72), ((n * 37) % 256, (back * 53) % 256, (n + back) % 256)
                    )
                    buffer = io.BytesIO()
                    picture.save(buffer, "JPEG")
                    processed = process_photo(buffer.getvalue(), max_pixels=40_000_000)
                    photo = await evidence.do_ingest_photo(
                        db,
                        processed,
                        actor=neighbour,
                        client_uuid=uuid.uuid4(),
                        person=await db.get_one(Person, resident.id),
                        captured_at=cooked,
                        capture_source=CaptureSource.EXIF,
                        original_kept=False,
                    )
                    draft = CheckInDraft(
                        agreement.id, MealSlot.LUNCH, day, ("米饭", "青菜"), (photo.client_uuid,)
                    )
                    await do_check_in(
                        db,
                        agreement,
                        draft,
                        [photo],
                        client_uuid=uuid.uuid4(),
                        actor=neighbour,
                        now=cooked + timedelta(minutes=25),
                    )
                    made += 1
    finally:
        await database.dispose()
    return made


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base_url: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start(args: list[str], env: dict[str, str], base_url: str, probe: str, log: Path) -> Server:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, base_url)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{args[0]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base_url + probe, timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise SystemExit(f"{args[0]} did not answer {probe} in 30 s:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def sign_in(env: dict[str, str], base_url: str, handle: str) -> str:
    """A Cookie header for `handle`, signed in through the real one-time code form."""
    link = run_cli(env, "issue-code", handle).strip().split()[-1]
    code = link.rsplit("/", 1)[-1]
    with httpx.Client(base_url=base_url) as browser:
        browser.get("/signin")
        answer = browser.post("/signin", data={"code": code, "_csrf_token": browser.cookies["csrftoken"]})
        if answer.status_code != 303:
            raise SystemExit(f"sign-in of {handle} failed: {answer.status_code}")
        # A first sign-in shows the privacy notice instead of the home page until it is read.
        read = browser.post("/privacy", data={"_csrf_token": browser.cookies["csrftoken"]})
        if read.status_code != 303:
            raise SystemExit(f"reading the notice as {handle} failed: {read.status_code}")
        return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    timeouts: int  # requests still unanswered after 30 s (wrk), counted, not fatal
    # CPU time per request of the server's processes, and of PostgreSQL's, while it was loaded (from
    # /proc): steadier than req/s on a machine whose other load changes, and the database's share of
    # a page shows apart from the app's (here they share the two cores with the load generator).
    cpu_ms: float = 0.0
    db_cpu_ms: float = 0.0


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def load_with_wrk(url: str, cookie: str) -> Load:
    args = [
        "wrk",
        f"-t{min(2, CONNECTIONS)}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(DURATION))}s",
        "--latency",
        "--timeout",
        "30s",
    ]
    if cookie:
        args += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    found = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M)}
    if set(found) != {"50", "99"}:
        raise SystemExit(f"cannot read wrk's output:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise SystemExit(f"{bad.group(1)} answers were not 200:\n{out}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors and sum(map(int, errors.groups()[:3])):
        raise SystemExit(f"connection errors:\n{out}")
    timeouts = int(errors.group(4)) if errors else 0
    return Load(rps, found["50"], found["99"], total, timeouts)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> None:
    """One GET on a keep-alive connection, its whole answer read; SystemExit unless it is a 200."""
    writer.write(request)
    status_line = await reader.readline()
    length, chunked = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while size := int((await reader.readline()).strip() or b"0", 16):
            await reader.readexactly(size + 2)
        await reader.readline()
    else:
        await reader.readexactly(length)
    if not status_line.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"an answer was not 200: {status_line!r}")


async def _connection(host: str, port: int, request: bytes, until: float, latencies: list[float]) -> int:
    """One keep-alive connection sending GETs back to back until `until`; latencies appended."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            await _exchange(reader, writer, request)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()
    return 0


def _get_request(url: str, cookie: str) -> tuple[str, int, bytes]:
    parts = httpx.URL(url)
    request = (
        f"GET {parts.raw_path.decode()} HTTP/1.1\r\nHost: {parts.host}:{parts.port}\r\n"
        + (f"Cookie: {cookie}\r\n" if cookie else "")
        + "\r\n"
    ).encode()
    return parts.host, parts.port or 80, request


def load_at_rate(url: str, cookie: str, rate: float, duration: float) -> Load:
    """Open-loop load: requests start on a fixed schedule (`rate` a second) whatever the answers do,
    over at most BENCH_CONNECTIONS connections, and each latency runs from its scheduled start, so a
    slow answer delays and counts against the ones behind it (no coordinated omission). This is the
    latency a page shows at a given traffic, rather than at saturation."""
    host, port, request = _get_request(url, cookie)
    latencies: list[float] = []

    async def run() -> None:
        free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        opened = [await asyncio.open_connection(host, port) for _ in range(CONNECTIONS)]
        for pair in opened:
            free.put_nowait(pair)
        start = time.perf_counter() + 0.05

        async def one(due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            reader, writer = await free.get()
            try:
                await _exchange(reader, writer, request)
            finally:
                free.put_nowait((reader, writer))
            latencies.append(time.perf_counter() - due)

        try:
            await asyncio.gather(*(one(start + n / rate) for n in range(max(1, int(rate * duration)))))
        finally:
            for _reader, writer in opened:
                writer.close()

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return Load(len(ordered) / elapsed, pct(0.50), pct(0.99), len(ordered), 0)


def load_with_python(url: str, cookie: str) -> Load:
    host, port, request = _get_request(url, cookie)
    latencies: list[float] = []

    async def run() -> int:
        until = time.perf_counter() + DURATION
        results = await asyncio.gather(
            *(_connection(host, port, request, until, latencies) for _ in range(CONNECTIONS))
        )
        return sum(results)

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return Load(len(latencies) / elapsed, pct(0.50), pct(0.99), len(latencies), 0)


def _proc_stats() -> list[tuple[int, int, str, float]]:
    """(pid, parent pid, command name, CPU seconds so far) of every process."""
    tick = os.sysconf("SC_CLK_TCK")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        found.append((int(entry.name), int(fields[1]), name, (int(fields[11]) + int(fields[12])) / tick))
    return found


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by process `pid` with its descendants, and by PostgreSQL's processes."""
    stats = _proc_stats()
    children: dict[int, list[int]] = {}
    for child, parent, _, _ in stats:
        children.setdefault(parent, []).append(child)
    tree, todo = set(), [pid]
    while todo:
        current = todo.pop()
        tree.add(current)
        todo += children.get(current, [])
    used = {p: cpu for p, _, _, cpu in stats}
    return sum(used.get(p, 0.0) for p in tree), sum(cpu for _, _, n, cpu in stats if n == "postgres")


def measure(name: str, url: str, cookie: str, pid: int) -> Load:
    check = httpx.get(url, headers={"cookie": cookie} if cookie else None, timeout=30)
    if check.status_code != 200:
        raise SystemExit(f"{name}: GET {url} answered {check.status_code}")
    app_before, db_before = cpu_seconds(pid)
    load = (load_with_wrk if CLIENT == "wrk" else load_with_python)(url, cookie)
    app_after, db_after = cpu_seconds(pid)
    load.cpu_ms = (app_after - app_before) * 1000 / max(1, load.requests)
    # A database process that ended meanwhile takes its CPU out of the sum: never below zero.
    load.db_cpu_ms = max(0.0, db_after - db_before) * 1000 / max(1, load.requests)
    return load


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="carelog-bench-pages-"))
    port, ceiling_port, bare_port = free_port(), free_port(), free_port()
    pg_name = f"carelog_pages_{os.getpid()}"
    env = carelog_env(folder, port, pg_database(pg_name) if DATABASE == "postgresql" else None)
    run_cli(env, "migrate")
    run_cli(env, "demo")
    made = asyncio.run(scale_up(env["CARELOG_DATABASE_URL"], AGREEMENTS, DAYS))
    if DATABASE == "postgresql":
        asyncio.run(vacuum_analyze(env["CARELOG_DATABASE_URL"]))

    templates = folder / "bare"
    templates.mkdir()
    (templates / "bare.html").write_text(BARE_TEMPLATE, encoding="utf-8")
    here = str(Path(__file__).resolve().parent)
    granian = [sys.executable, "-m", "granian", "--interface", "asgi", "--workers", "1", "--no-access-log"]
    granian += ["--host", "127.0.0.1", "--factory", "--working-dir", here]

    # All three servers run side by side (each idle while another is loaded), and the targets are
    # loaded in turn, round after round: a change in the machine's other load then shifts every
    # target alike instead of whichever happened to be measured at that moment.
    servers: list[Server] = []
    rounds: dict[str, list[Load]] = {"bare": [], "ceiling": [], "queue": [], "checkin": []}
    try:
        app = start([str(CARELOG), "serve"], env, f"http://127.0.0.1:{port}", "/healthz", folder / "app.log")
        servers.append(app)
        ceiling = start(
            [*granian, "--port", str(ceiling_port), "pages:ceiling_app"],
            {**env, "CARELOG_PORT": str(ceiling_port)},
            f"http://127.0.0.1:{ceiling_port}",
            "/healthz",
            folder / "ceiling.log",
        )
        servers.append(ceiling)
        bare = start(
            [*granian, "--port", str(bare_port), "pages:bare_app"],
            {**env, "BENCH_BARE_TEMPLATES": str(templates)},
            f"http://127.0.0.1:{bare_port}",
            "/bare",
            folder / "bare.log",
        )
        servers.append(bare)
        neighbour = sign_in(env, app.base_url, NEIGHBOUR)
        reviewer = sign_in(env, app.base_url, REVIEWER)
        agreement_page = re.search(
            r'href="(/meals/agreements/\d+/checkin[^"]*)"',
            httpx.get(app.base_url + "/", headers={"cookie": neighbour}).text,
        )
        if agreement_page is None:
            raise SystemExit("the neighbour's home page links to no check-in page")
        targets = {
            "bare": (bare.base_url + "/bare", "", bare.proc.pid),
            # The ceiling renders the queue's template from a context loaded once, by this reviewer.
            "ceiling": (ceiling.base_url + "/bench/ceiling", reviewer, ceiling.proc.pid),
            "queue": (app.base_url + "/review", reviewer, app.proc.pid),
            "checkin": (app.base_url + agreement_page.group(1), neighbour, app.proc.pid),
        }
        for _ in range(ROUNDS):
            for key, (url, cookie, pid) in targets.items():
                rounds[key].append(measure(key, url, cookie, pid))
        # Then the queue at a steady half of what it managed at saturation: its latency at traffic.
        paced_rate = max(1.0, median([r.rps for r in rounds["queue"]]) / 2)
        # wrk stops with up to BENCH_CONNECTIONS requests still queued in the server, which take it a
        # few hundred ms to answer: without a pause the paced load's first requests waited behind them,
        # and that drain, not the page, made PostgreSQL's p99 81-140 ms (21 ms after the pause).
        time.sleep(DRAIN_S)
        paced = load_at_rate(targets["queue"][0], reviewer, paced_rate, 2 * DURATION)
    finally:
        for server in servers:
            server.stop()

    def summary(key: str) -> Load:
        done = rounds[key]
        return Load(
            median([r.rps for r in done]),
            median([r.p50_ms for r in done]),
            median([r.p99_ms for r in done]),
            sum(r.requests for r in done),
            sum(r.timeouts for r in done),
            median([r.cpu_ms for r in done]),
            median([r.db_cpu_ms for r in done]),
        )

    results = {key: summary(key) for key in rounds}
    # The ratio of each round (both loaded within seconds of each other), then their median.
    ratio = median([q.rps / c.rps for q, c in zip(rounds["queue"], rounds["ceiling"], strict=True)])
    checkin_ratio = median([n.rps / c.rps for n, c in zip(rounds["checkin"], rounds["ceiling"], strict=True)])
    # The same comparison in the app's CPU per request (the database's own CPU left out).
    cpu_ratio = median(
        [c.cpu_ms / q.cpu_ms for q, c in zip(rounds["queue"], rounds["ceiling"], strict=True) if q.cpu_ms]
        or [0.0]
    )
    print(
        f"db={DATABASE}; {CONNECTIONS} connections, {DURATION:.0f} s per target and round, "
        f"{ROUNDS} rounds (medians), client {CLIENT}; "
        f"{made} extra pending check-ins over {AGREEMENTS} agreements"
    )
    print(
        f"{'page':<40}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'of ceiling':>12}"
        f"{'CPU ms/req':>12}{'DB CPU ms':>11}"
    )
    labels = {
        "bare": "bare Litestar template route (floor)",
        "ceiling": "queue template, no DB/session (ceiling)",
        "queue": "review queue /review",
        "checkin": "neighbour's check-in page",
    }
    shares = {"queue": ratio, "checkin": checkin_ratio, "ceiling": 1.0}
    for key in ("bare", "ceiling", "queue", "checkin"):
        r = results[key]
        share = shares.get(key, r.rps / results["ceiling"].rps)
        print(
            f"{labels[key]:<40}{r.rps:>9.0f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{share:>12.2f}"
            f"{r.cpu_ms:>12.2f}{r.db_cpu_ms:>11.2f}"
        )
    print(
        f"{'review queue at ' + format(paced_rate, '.0f') + ' req/s, open loop':<40}{paced.rps:>9.0f}"
        f"{paced.p50_ms:>9.1f}{paced.p99_ms:>9.1f}"
    )
    q, c, n = results["queue"], results["ceiling"], results["checkin"]
    print(
        f"result db={DATABASE} queue_rps={q.rps:.0f} ceiling_rps={c.rps:.0f} ratio={ratio:.2f} "
        f"p99_ms={q.p99_ms:.1f} queue_p50_ms={q.p50_ms:.1f} checkin_rps={n.rps:.0f} "
        f"checkin_ratio={checkin_ratio:.2f} "
        f"checkin_p99_ms={n.p99_ms:.1f} ceiling_p99_ms={c.p99_ms:.1f} bare_rps={results['bare'].rps:.0f} "
        f"paced_rps={paced_rate:.1f} paced_p50_ms={paced.p50_ms:.1f} paced_p99_ms={paced.p99_ms:.1f} "
        f"pending_made={made} rounds={ROUNDS} timeouts={sum(r.timeouts for r in results.values())} "
        f"queue_cpu_ms={q.cpu_ms:.2f} ceiling_cpu_ms={c.cpu_ms:.2f} cpu_ratio={cpu_ratio:.2f} "
        f"queue_db_cpu_ms={q.db_cpu_ms:.2f}"
    )
    shutil.rmtree(folder, ignore_errors=True)
    if DATABASE == "postgresql":
        pg_database(pg_name, drop_only=True)


if __name__ == "__main__":
    main()
