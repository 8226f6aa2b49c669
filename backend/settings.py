"""All configuration, read once from CARELOG_* environment variables.

Every field below is documented in the README's settings table (a test checks that the two agree).
A bad value stops start-up with a message naming the variable; nothing is silently defaulted.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend.secret_check import weak_secret_reason

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("zh_Hans", "en")
ENVIRONMENTS = ("development", "production", "test")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _int(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    try:
        value = int(raw.strip().replace("_", ""), 10)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    value = raw.strip()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _database_url(name: str, raw: str) -> str:
    value = raw.strip()
    if value.startswith("sqlite+aiosqlite:///") or value.startswith("postgresql+asyncpg://"):
        return value
    raise SettingsError(f"{name} must start with sqlite+aiosqlite:/// or postgresql+asyncpg://, got {raw!r}")


def _store_url(name: str, raw: str) -> str:
    value = raw.strip()
    scheme = urlsplit(value).scheme
    if scheme in ("file", "memory", "s3") and (scheme == "memory" or len(value) > len(scheme) + 3):
        return value
    raise SettingsError(f"{name} must be file:///path, memory:// or s3://bucket[/prefix], got {raw!r}")


def _origin(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise SettingsError(f"{name} must be an origin like https://carelog.example.org, got {raw!r}")
    return value


def _zone(name: str, raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{name} must be an IANA time zone such as Asia/Shanghai, got {raw!r}") from None
    return raw.strip()


def _date(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a date such as 2026-03-01, got {raw!r}") from None


def _secret(name: str, raw: str) -> str:
    if len(raw) < 32:
        raise SettingsError(f"{name} must be at least 32 characters long")
    return raw


@dataclass(frozen=True, slots=True)
class Settings:
    environment: str = "development"
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'carelog.db'}"
    photo_store_url: str = f"file://{PROJECT_ROOT / 'var' / 'photos'}"
    secret_key: str = field(default="", repr=False)
    # localhost rather than 127.0.0.1: a WebAuthn RP ID must be a host name, not an IP address.
    public_origin: str = "http://localhost:8000"
    time_zone: str = "Asia/Shanghai"
    default_language: str = "zh_Hans"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # A year: a card-only user on her own phone should not be asked for a new card every month.
    # Sessions end earlier by sign-out, "sign out everywhere" or a worker's recovery.
    session_hours: int = 24 * 365
    signin_code_hours: int = 72
    sqlite_busy_timeout_ms: int = 5000
    max_upload_bytes: int = 15 * 1024 * 1024
    max_photo_pixels: int = 40_000_000
    keep_originals: bool = False
    # Share of a bulk approval held back at random for a one-by-one look (0 turns sampling off).
    review_sample_percent: int = 10
    log_level: str = "INFO"
    trust_proxy: bool = False
    # Social workers' and staff's sessions end after this long without a request (mothers and
    # neighbours keep session_hours: they sign in with a card on their own phone).
    worker_idle_hours: int = 12
    # An adjustment larger than this (either sign) counts only once a second staff member approves it.
    adjustment_review_fen: int = 15_000
    # Retention: children's visit photos, counted from the end of the pairing; meal photos, counted
    # from the close of their month. `carelog retention` removes what is due.
    child_photo_retention_days: int = 365
    meal_photo_retention_days: int = 3 * 365
    # A body arriving slower than this (after the first 10 seconds) ends with 408.
    min_upload_bytes_per_second: int = 2048
    # Unset: the deep health check answers only on loopback; set: also to `?token=` that matches.
    health_token: str = field(default="", repr=False)
    # Test and development only: the date the clock starts on (see backend/clock.py).
    today: date | None = None

    @property
    def secure_cookies(self) -> bool:
        return self.public_origin.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


# name -> (field, parser). The parsers take the variable's name for their messages.
_PARSERS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "CARELOG_ENV": ("environment", lambda n, v: _choice(n, v, ENVIRONMENTS)),
    "CARELOG_DATABASE_URL": ("database_url", _database_url),
    "CARELOG_PHOTO_STORE_URL": ("photo_store_url", _store_url),
    "CARELOG_SECRET_KEY": ("secret_key", _secret),
    "CARELOG_PUBLIC_ORIGIN": ("public_origin", _origin),
    "CARELOG_TIME_ZONE": ("time_zone", _zone),
    "CARELOG_DEFAULT_LANGUAGE": ("default_language", lambda n, v: _choice(n, v, LANGUAGES)),
    "CARELOG_HOST": ("host", lambda n, v: v.strip() or _fail(n, "must not be empty")),
    "CARELOG_PORT": ("port", lambda n, v: _int(n, v, minimum=1, maximum=65535)),
    "CARELOG_WORKERS": ("workers", lambda n, v: _int(n, v, minimum=1, maximum=64)),
    "CARELOG_SESSION_HOURS": ("session_hours", lambda n, v: _int(n, v, minimum=1, maximum=24 * 365)),
    "CARELOG_SIGNIN_CODE_HOURS": ("signin_code_hours", lambda n, v: _int(n, v, minimum=1, maximum=24 * 14)),
    "CARELOG_SQLITE_BUSY_TIMEOUT_MS": (
        "sqlite_busy_timeout_ms",
        lambda n, v: _int(n, v, minimum=100, maximum=120_000),
    ),
    "CARELOG_MAX_UPLOAD_BYTES": (
        "max_upload_bytes",
        lambda n, v: _int(n, v, minimum=64 * 1024, maximum=200 * 1024 * 1024),
    ),
    "CARELOG_TRUST_PROXY": ("trust_proxy", lambda n, v: _bool(n, v)),
    "CARELOG_MAX_PHOTO_PIXELS": (
        "max_photo_pixels",
        lambda n, v: _int(n, v, minimum=1_000_000, maximum=80_000_000),
    ),
    "CARELOG_KEEP_ORIGINALS": ("keep_originals", _bool),
    "CARELOG_REVIEW_SAMPLE_PERCENT": (
        "review_sample_percent",
        lambda n, v: _int(n, v, minimum=0, maximum=100),
    ),
    "CARELOG_WORKER_IDLE_HOURS": ("worker_idle_hours", lambda n, v: _int(n, v, minimum=1, maximum=24 * 14)),
    "CARELOG_ADJUSTMENT_REVIEW_FEN": (
        "adjustment_review_fen",
        lambda n, v: _int(n, v, minimum=0, maximum=100_000_000),
    ),
    "CARELOG_CHILD_PHOTO_RETENTION_DAYS": (
        "child_photo_retention_days",
        lambda n, v: _int(n, v, minimum=1, maximum=365 * 30),
    ),
    "CARELOG_MEAL_PHOTO_RETENTION_DAYS": (
        "meal_photo_retention_days",
        lambda n, v: _int(n, v, minimum=1, maximum=365 * 30),
    ),
    "CARELOG_MIN_UPLOAD_BYTES_PER_SECOND": (
        "min_upload_bytes_per_second",
        lambda n, v: _int(n, v, minimum=0, maximum=10_000_000),
    ),
    "CARELOG_HEALTH_TOKEN": ("health_token", _secret),
    "CARELOG_TODAY": ("today", _date),
    "CARELOG_LOG_LEVEL": (
        "log_level",
        lambda n, v: _choice(n, v.upper(), ("DEBUG", "INFO", "WARNING", "ERROR")),
    ),
}


def _fail(name: str, message: str) -> str:
    raise SettingsError(f"{name} {message}")


def env_names() -> list[str]:
    return list(_PARSERS)


def _development_secret() -> str:
    """A per-checkout secret kept in var/, so `make run` needs no setup and restarts keep sessions."""
    path = PROJECT_ROOT / "var" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    unknown = sorted(k for k in env if k.startswith("CARELOG_") and k not in _PARSERS)
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)} (see the README's settings table)")
    values: dict[str, Any] = {}
    for name, (attr, parse) in _PARSERS.items():
        if name in env:
            values[attr] = parse(name, env[name])
    if "public_origin" not in values and "port" in values:
        # The printed links and the cards' QR codes must reach this server on its own port.
        values["public_origin"] = f"http://localhost:{values['port']}"
    settings = Settings(**values)
    if settings.today is not None and settings.environment == "production":
        raise SettingsError(
            "CARELOG_TODAY is for tests and demonstrations; a production server keeps real time"
        )
    if settings.environment == "production" and settings.secret_key:
        weak = weak_secret_reason(settings.secret_key)
        if weak is not None:
            raise SettingsError(f"CARELOG_SECRET_KEY {weak}; generate one (docs/operations.md)")
    if not settings.secret_key:
        if settings.environment == "production":
            raise SettingsError("CARELOG_SECRET_KEY must be set in production (at least 32 characters)")
        settings = Settings(**{**_as_dict(settings), "secret_key": _development_secret()})
    if settings.environment == "production" and not settings.secure_cookies:
        raise SettingsError(
            "CARELOG_PUBLIC_ORIGIN must be https:// in production (passkeys and cookies need it)"
        )
    return settings


def _as_dict(settings: Settings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in fields(settings)}
