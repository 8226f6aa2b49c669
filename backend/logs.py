"""Structured (JSON lines) logs.

Rule: a log line never carries a person's name, a person's id, a sign-in code or a token. Requests are
logged by route template ("/people/{person_id}"), never by the concrete path.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type and where it happened; not its message, which may quote data.
            entry["exc_type"] = record.exc_info[0].__name__
            entry["trace"] = _frames(record.exc_info[2])
        return json.dumps(entry, ensure_ascii=False, default=str)


def _frames(tb: Any) -> list[str]:
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append(f"{code.co_filename.rsplit('/', 2)[-1]}:{tb.tb_lineno}:{code.co_name}")
        tb = tb.tb_next
    return frames[-8:]


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that would log full URLs or SQL parameters stay quiet below WARNING.
    for noisy in ("sqlalchemy", "aiosqlite", "asyncpg", "httpx", "granian.access", "_granian.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


access_log = logging.getLogger("carelog.access")
app_log = logging.getLogger("carelog")
