"""The photo store: one small interface over obstore (local files, S3-compatible, or memory).

Keys are chosen by the server (content hashes), never taken from a client's file name.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import obstore
from obstore.store import LocalStore, MemoryStore, from_url


class StorageError(Exception):
    """The store could not be reached or refused the operation."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime


class PhotoStore:
    def __init__(self, store: Any, *, description: str, local_root: Path | None = None) -> None:
        self._store = store
        self.description = description
        self._local_root = local_root

    @classmethod
    def from_url(cls, url: str) -> PhotoStore:
        try:
            return cls._from_url(url)
        except Exception as exc:  # obstore's own configuration errors become ours
            raise StorageError(f"cannot open the photo store: {type(exc).__name__}: {exc}") from exc

    @classmethod
    def _from_url(cls, url: str) -> PhotoStore:
        scheme = urlsplit(url).scheme
        if scheme == "memory":
            return cls(MemoryStore(), description="memory")
        if scheme == "file":
            path = url[len("file://") :]
            return cls(LocalStore(path, mkdir=True), description="local files", local_root=Path(path))
        # S3-compatible: credentials and endpoint come from the standard AWS_* environment variables.
        return cls(from_url(url), description="s3")

    async def put(self, key: str, data: bytes) -> None:
        try:
            await obstore.put_async(self._store, key, data)
        except Exception as exc:
            raise StorageError(type(exc).__name__) from exc

    async def get(self, key: str) -> bytes | None:
        try:
            result = await obstore.get_async(self._store, key)
            return bytes(await result.bytes_async())
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise StorageError(type(exc).__name__) from exc

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self._store, key)
        except FileNotFoundError:
            return
        except Exception as exc:
            raise StorageError(type(exc).__name__) from exc

    async def head(self, key: str) -> StoredObject | None:
        try:
            meta = await obstore.head_async(self._store, key)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise StorageError(type(exc).__name__) from exc
        return StoredObject(key=meta["path"], size=meta["size"], last_modified=meta["last_modified"])

    async def list(self, prefix: str) -> AsyncIterator[StoredObject]:
        """Every object under `prefix`, in batches from the store (no order promised)."""
        try:
            async for batch in obstore.list(self._store, prefix=prefix):
                for meta in batch:
                    yield StoredObject(
                        key=meta["path"], size=meta["size"], last_modified=meta["last_modified"]
                    )
        except Exception as exc:
            raise StorageError(type(exc).__name__) from exc

    async def remove_stale_partials(self, cutoff: datetime) -> tuple[str, ...]:
        """Local files only: what a write left half-done when its process was killed. obstore stages
        each local write as `name#n` beside its target and renames it when complete, and its listing
        never shows such files, so nothing else would ever remove them. Those last changed before
        `cutoff` are deleted; their names are returned. (On S3 an unfinished upload is never an object;
        a bucket lifecycle rule ends abandoned multipart uploads.)"""
        root = self._local_root
        if root is None:
            return ()

        def sweep() -> tuple[str, ...]:
            removed: list[str] = []
            for path in root.rglob("*#*"):
                if path.is_file() and datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff:
                    path.unlink(missing_ok=True)
                    removed.append(str(path.relative_to(root)))
            return tuple(removed)

        try:
            return await anyio.to_thread.run_sync(sweep)
        except OSError as exc:
            raise StorageError(type(exc).__name__) from exc

    async def check(self) -> bool:
        """Write, read back and delete a small probe object."""
        key = f"health/{secrets.token_hex(8)}"
        payload = b"carelog-health"
        try:
            await self.put(key, payload)
            ok = await self.get(key) == payload
            await self.delete(key)
            return ok
        except StorageError:
            return False
