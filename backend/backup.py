"""`carelog backup DEST` and `carelog restore SRC`: a consistent copy of the database and its photos.

A backup is a directory:
- `carelog.db` (SQLite, made with SQLite's online backup API in one step: one read transaction, so a
  consistent snapshot; in WAL mode writers go on meanwhile) or `carelog.pgdump` (PostgreSQL: `pg_dump
  -Fc` run on a snapshot exported from our own repeatable-read transaction, so the counts and photo
  rows we read are exactly those in the dump);
- `photos/<key>`: every stored file that a photo row of that snapshot names, read from whatever the
  store is (local files or S3) and checked against the row's hash before it is written;
- `store.jsonl`: every key in the photo store when the backup ran, with size, SHA-256 and whether a
  row of the snapshot names it (files that no row names are listed but not copied: gc-photos would
  remove them anyway);
- `rows.jsonl`: each photo row's files (photo id, variant, key, SHA-256);
- `manifest.json`: engine, database file hash, row counts per table, the audit chain's length and head.
Photo files are named by their content hash and never rewritten, so copying them after the snapshot
is safe: each file of the snapshot's rows was written before its row committed.

`restore` refuses a target database that holds data unless forced; it loads the database, puts the
photo files back into the configured store, then proves the result: the audit chain verifies, every
photo row's files are there and match, and the row counts equal those recorded at backup time.
It does not migrate: run `carelog migrate` afterwards when the code is newer than the backup.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from backend.audit import AuditHead, verify_chain
from backend.db import create_database, utcnow
from backend.evidence.maintenance import check_photos
from backend.evidence.models import Photo
from backend.evidence.service import ORIGINAL_PREFIX, PHOTO_PREFIX, original_key, photo_key
from backend.models import Base
from backend.settings import Settings
from backend.storage import PhotoStore

FORMAT = "carelog-backup/1"
MANIFEST = "manifest.json"
SQLITE_FILE = "carelog.db"
PG_FILE = "carelog.pgdump"
PHOTOS_DIR = "photos"
STORE_LIST = "store.jsonl"
ROWS_LIST = "rows.jsonl"
# Tables whose rows are not data: a freshly migrated database already has them.
_BOOKKEEPING = {"alembic_version", "audit_head"}
_COPY_CONCURRENCY = 8


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why, without personal data."""


@dataclass
class Snapshot:
    counts: dict[str, int]
    audit_events: int
    audit_head: str
    files: dict[str, str]  # key -> sha256 of every file the snapshot's photo rows name
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BackupReport:
    snapshot: Snapshot
    copied: int
    stored: int
    missing: list[str]


@dataclass
class RestoreReport:
    audit_events: int
    photos_checked: int
    problems: list[str]


@dataclass(frozen=True, slots=True)
class PgTarget:
    """How the PostgreSQL client tools reach the database: a URL without its password for argv, and
    the environment that carries the password. A password on the command line is readable by every
    local user (ps, /proc/<pid>/cmdline) for as long as the dump runs."""

    dsn: str
    env: dict[str, str]


def _pg_target(url: str) -> PgTarget:
    parsed = make_url(url)
    bare = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    dsn = bare.render_as_string(hide_password=False)  # there is none left to hide
    env = dict(os.environ)  # a URL without a password leaves PGPASSWORD or PGPASSFILE to the operator
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)  # decoded: a %40 in the URL is an @ in the password
    return PgTarget(dsn=dsn, env=env)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


async def _describe(db: AsyncSession) -> Snapshot:
    """Counts, audit head and photo files as this session sees them."""
    counts = {}
    for table in Base.metadata.sorted_tables:
        counts[table.name] = int(await db.scalar(select(func.count()).select_from(table)) or 0)
    head = await db.scalar(select(AuditHead).where(AuditHead.id == 1))
    files: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    result = await db.execute(
        select(
            Photo.id, Photo.display_sha256, Photo.thumb_sha256, Photo.received_sha256, Photo.original_kept
        ).order_by(Photo.id)
    )
    for photo_id, display, thumb, received, kept in result:
        wanted = [("display", photo_key(display), display), ("thumb", photo_key(thumb), thumb)]
        if kept:
            wanted.append(("original", original_key(received), received))
        for variant, key, sha256 in wanted:
            files[key] = sha256
            rows.append({"photo_id": photo_id, "variant": variant, "key": key, "sha256": sha256})
    return Snapshot(
        counts=counts,
        audit_events=head.seq if head else 0,
        audit_head=head.hash if head else "",
        files=files,
        rows=rows,
    )


@asynccontextmanager
async def _session_on(url: str) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with AsyncSession(engine) as db:
            yield db
    finally:
        await engine.dispose()


def _sqlite_path(url: str) -> Path:
    return Path(url.split("///", 1)[1])


def _sqlite_copy(source: Path, target: Path, busy_timeout_ms: int) -> None:
    """SQLite's online backup API, all pages in one step (one read transaction: a consistent copy)."""
    src = sqlite3.connect(source, timeout=busy_timeout_ms / 1000)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        verdict = dst.execute("PRAGMA integrity_check").fetchone()
        if not verdict or verdict[0] != "ok":
            raise BackupError(f"the copied database failed its integrity check: {verdict}")
    finally:
        dst.close()
        src.close()


def pg_command(tool: str, args: list[str], url: str) -> tuple[list[str], dict[str, str]]:
    """argv and environment for one client tool against `url`: the password only in the environment."""
    target = _pg_target(url)
    return [tool, *args, f"--dbname={target.dsn}"], target.env


def _pg_tool(tool: str, args: list[str], url: str, *trailing: str) -> None:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed (it comes with the PostgreSQL client package)")
    argv, env = pg_command(tool, args, url)
    # The tool is a fixed name found on PATH; the arguments are our own (the URL is the operator's setting).
    done = subprocess.run([*argv, *trailing], capture_output=True, text=True, check=False, env=env)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-1500:]}")


def _tool_major(tool: str) -> int:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed (it comes with the PostgreSQL client package)")
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    if found is None:
        raise BackupError(f"cannot read the version of {tool}: {out!r}")
    return int(found.group(1))


async def _check_tool_version(db: AsyncSession, tool: str) -> None:
    server = int(await db.scalar(text("SHOW server_version_num")) or 0) // 10000
    client = await asyncio.to_thread(_tool_major, tool)
    if client < server:
        raise BackupError(
            f"{tool} {client} is older than the PostgreSQL server ({server}); install {tool} {server}"
        )


async def _snapshot_sqlite(settings: Settings, dest: Path) -> Snapshot:
    target = dest / SQLITE_FILE
    await asyncio.to_thread(
        _sqlite_copy, _sqlite_path(settings.database_url), target, settings.sqlite_busy_timeout_ms
    )
    async with _session_on(f"sqlite+aiosqlite:///{target}") as db:
        return await _describe(db)


async def _snapshot_postgres(settings: Settings, dest: Path) -> Snapshot:
    engine = create_async_engine(settings.database_url, hide_parameters=True)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                db = AsyncSession(bind=conn)
                await _check_tool_version(db, "pg_dump")
                snapshot_id = str(await db.scalar(text("SELECT pg_export_snapshot()")))
                args = ["--format=custom", f"--snapshot={snapshot_id}", f"--file={dest / PG_FILE}"]
                await asyncio.to_thread(_pg_tool, "pg_dump", args, settings.database_url)
                described = await _describe(db)
                await db.close()
                return described
    finally:
        await engine.dispose()


async def _each_bounded(items: list[str], work: Any) -> None:
    gate = asyncio.Semaphore(_COPY_CONCURRENCY)

    async def one(item: str) -> None:
        async with gate:
            await work(item)

    await asyncio.gather(*(one(item) for item in items))


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _prepare_destination(dest: Path) -> None:
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty; give a new or empty directory")
    dest.mkdir(parents=True, exist_ok=True)


async def make_backup(settings: Settings, dest: Path) -> BackupReport:
    await asyncio.to_thread(_prepare_destination, dest)
    engine_name = "sqlite" if settings.is_sqlite else "postgresql"
    snap = await (_snapshot_sqlite if settings.is_sqlite else _snapshot_postgres)(settings, dest)
    db_file = dest / (SQLITE_FILE if settings.is_sqlite else PG_FILE)

    store = PhotoStore.from_url(settings.photo_store_url)
    listed: dict[str, int] = {}
    for prefix in (PHOTO_PREFIX, ORIGINAL_PREFIX):
        async for stored in store.list(prefix):
            listed[stored.key] = stored.size
    entries: dict[str, dict[str, Any]] = {}
    missing: list[str] = []

    async def copy(key: str) -> None:
        data = await store.get(key)
        wanted = snap.files.get(key)
        if data is None:
            if wanted is not None:
                missing.append(key)
            return
        digest = hashlib.sha256(data).hexdigest()
        entries[key] = {"key": key, "size": len(data), "sha256": digest, "referenced": wanted is not None}
        if wanted is None:
            return
        if digest != wanted:
            missing.append(key)
            return
        target = dest / PHOTOS_DIR / key
        target.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(target.write_bytes, data)

    await _each_bounded(sorted(set(listed) | set(snap.files)), copy)
    with (dest / STORE_LIST).open("w", encoding="utf-8") as out:
        for key in sorted(entries):
            out.write(json.dumps(entries[key]) + "\n")
    with (dest / ROWS_LIST).open("w", encoding="utf-8") as out:
        for row in snap.rows:
            out.write(json.dumps(row) + "\n")
    manifest = {
        "format": FORMAT,
        "created_at": utcnow().isoformat(),
        "engine": engine_name,
        "database_file": db_file.name,
        "database_sha256": await asyncio.to_thread(_sha256_file, db_file),
        "counts": snap.counts,
        "audit": {"events": snap.audit_events, "head": snap.audit_head},
        "photo_store": store.description,
        "files_referenced": len(snap.files),
        "files_copied": len(snap.files) - len(missing),
        "files_in_store": len(entries),
        "missing_or_altered": sorted(missing),
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return BackupReport(
        snapshot=snap, copied=len(snap.files) - len(missing), stored=len(entries), missing=missing
    )


def read_manifest(src: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"no readable {MANIFEST} in {src}: {type(exc).__name__}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{src} is not a {FORMAT} backup")
    return manifest


async def holds_data(url: str) -> bool:
    """True if any table of ours (bookkeeping aside) has a row; a missing database or table is empty."""
    if url.startswith("sqlite") and not _sqlite_path(url).exists():
        return False
    async with _session_on(url) as db:
        existing = await db.run_sync(lambda s: set(s.get_bind().dialect.get_table_names(s.connection())))
        for table in Base.metadata.sorted_tables:
            wanted = table.name in existing and table.name not in _BOOKKEEPING
            if wanted and await db.scalar(select(select(table).exists())):
                return True
    return False


async def _load_database(settings: Settings, src: Path, manifest: dict[str, Any]) -> None:
    db_file = src / manifest["database_file"]
    if await asyncio.to_thread(_sha256_file, db_file) != manifest["database_sha256"]:
        raise BackupError(f"{db_file.name} does not match the hash in {MANIFEST}: the backup is damaged")
    if settings.is_sqlite:
        target = _sqlite_path(settings.database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)  # the app is stopped: a stale log must not replay over the copy
        await asyncio.to_thread(_sqlite_copy, db_file, target, settings.sqlite_busy_timeout_ms)
        await asyncio.to_thread(_set_wal, target)
        return
    async with _session_on(settings.database_url) as db:
        await _check_tool_version(db, "pg_restore")
    args = [
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
    ]
    await asyncio.to_thread(_pg_tool, "pg_restore", args, settings.database_url, str(db_file))


def _set_wal(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


async def restore_backup(settings: Settings, src: Path, *, force: bool = False) -> RestoreReport:
    manifest = read_manifest(src)
    wanted = "sqlite" if settings.is_sqlite else "postgresql"
    if manifest["engine"] != wanted:
        raise BackupError(f"this backup is of {manifest['engine']}, the target database is {wanted}")
    if not force and await holds_data(settings.database_url):
        raise BackupError("the target database holds data; restore into an empty one, or pass --force")
    await _load_database(settings, src, manifest)

    store = PhotoStore.from_url(settings.photo_store_url)
    problems: list[str] = []
    entries = [entry for entry in _lines(src / STORE_LIST) if entry["referenced"]]

    async def put(entry: dict[str, Any]) -> None:
        path = src / PHOTOS_DIR / entry["key"]
        data = await asyncio.to_thread(path.read_bytes) if path.exists() else None
        if data is None or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            problems.append(f"backup file {entry['key']} is missing or altered")
            return
        await store.put(entry["key"], data)

    gate = asyncio.Semaphore(_COPY_CONCURRENCY)

    async def bounded(entry: dict[str, Any]) -> None:
        async with gate:
            await put(entry)

    await asyncio.gather(*(bounded(entry) for entry in entries))

    database = create_database(settings)
    try:
        async with database.transaction(read_only=True, long_reads=True) as db:
            chain = await verify_chain(db)
            photos = await check_photos(db, store)
            now = await _describe(db)
    finally:
        await database.dispose()
    if chain.first_bad_id is not None:
        problems.append(f"audit chain broken at event {chain.first_bad_id}: {chain.reason}")
    if chain.head_hash != manifest["audit"]["head"] or chain.checked != manifest["audit"]["events"]:
        problems.append("the audit chain's head differs from the one recorded at backup time")
    for photo_id, variant in photos.bad:
        problems.append(f"photo {photo_id}: {variant} file missing or altered")
    for table, count in sorted(manifest["counts"].items()):
        if now.counts.get(table) != count:
            problems.append(f"table {table}: {now.counts.get(table)} rows, {count} at backup time")
    return RestoreReport(audit_events=chain.checked, photos_checked=photos.checked, problems=problems)
