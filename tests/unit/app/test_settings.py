"""Settings: read once from CARELOG_* variables, strict, documented in the README."""

from __future__ import annotations

import dataclasses
import re
import stat
from pathlib import Path

import pytest

from backend import settings as settings_module
from backend.settings import PROJECT_ROOT, Settings, SettingsError, env_names, load_settings

KEY = "k7Qx2mP9sLd4Rt8Wz1Nc6Hb3Jf5Gy0AeUv"  # production refuses a key of few distinct characters
HTTPS_ORIGIN = "https://carelog.example.org"


@pytest.fixture
def project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the development secret out of the real checkout's var/."""
    monkeypatch.setattr(settings_module, "PROJECT_ROOT", tmp_path)
    return tmp_path


def _documented_settings() -> list[str]:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `(CARELOG_[A-Z0-9_]+)` \|", readme, flags=re.MULTILINE)


def test_every_setting_is_documented_in_the_readme_table_and_nothing_else_is() -> None:
    documented = _documented_settings()
    assert len(documented) == len(set(documented)), "a setting appears twice in the README table"
    assert set(env_names()) - set(documented) == set(), "settings missing from the README table"
    assert set(documented) - set(env_names()) == set(), "README documents settings the app does not read"


def test_every_setting_names_a_field_of_settings() -> None:
    field_names = {f.name for f in dataclasses.fields(Settings)}
    assert {attr for attr, _parse in settings_module._PARSERS.values()} <= field_names


def test_defaults_load_with_only_a_secret_key() -> None:
    loaded = load_settings({"CARELOG_SECRET_KEY": KEY})
    assert loaded == Settings(secret_key=KEY)
    assert loaded.environment == "development"
    assert loaded.database_url == f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'carelog.db'}"
    assert loaded.photo_store_url == f"file://{PROJECT_ROOT / 'var' / 'photos'}"
    assert loaded.public_origin == "http://localhost:8000"
    assert (loaded.host, loaded.port, loaded.workers) == ("127.0.0.1", 8000, 1)
    assert loaded.time_zone == "Asia/Shanghai"
    assert loaded.default_language == "zh_Hans"
    assert loaded.is_sqlite
    assert not loaded.secure_cookies


def test_development_with_an_empty_environment_generates_a_secret_once_and_keeps_it(
    project_root: Path,
) -> None:
    first = load_settings({})
    second = load_settings({})
    key_file = project_root / "var" / "secret_key"
    assert len(first.secret_key) >= 32
    assert second.secret_key == first.secret_key == key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_variables_outside_carelog_are_ignored() -> None:
    loaded = load_settings({"CARELOG_SECRET_KEY": KEY, "PORT": "abc", "AWS_REGION": "cn-north-1"})
    assert loaded.port == 8000


def test_good_values_are_parsed_into_typed_fields() -> None:
    loaded = load_settings(
        {
            "CARELOG_SECRET_KEY": KEY,
            "CARELOG_ENV": "test",
            "CARELOG_DATABASE_URL": "postgresql+asyncpg://carelog@db:5432/carelog",
            "CARELOG_PHOTO_STORE_URL": "s3://carelog-photos/prod",
            "CARELOG_PUBLIC_ORIGIN": "https://carelog.example.org:8443/",
            "CARELOG_TIME_ZONE": "Asia/Urumqi",
            "CARELOG_DEFAULT_LANGUAGE": "en",
            "CARELOG_HOST": " 10.0.0.5 ",
            "CARELOG_PORT": "8080",
            "CARELOG_WORKERS": "4",
            "CARELOG_MAX_UPLOAD_BYTES": "20_000_000",
            "CARELOG_LOG_LEVEL": "debug",
        }
    )
    assert loaded.environment == "test"
    assert not loaded.is_sqlite
    assert loaded.photo_store_url == "s3://carelog-photos/prod"
    assert loaded.public_origin == "https://carelog.example.org:8443"  # the trailing slash is dropped
    assert loaded.zone.key == "Asia/Urumqi"
    assert loaded.default_language == "en"
    assert (loaded.host, loaded.port, loaded.workers) == ("10.0.0.5", 8080, 4)
    assert loaded.max_upload_bytes == 20_000_000
    assert loaded.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CARELOG_PORT", "abc", "CARELOG_PORT must be a whole number"),
        ("CARELOG_PORT", "70000", "CARELOG_PORT must be between 1 and 65535"),
        ("CARELOG_PORT", "0", "CARELOG_PORT must be between 1 and 65535"),
        ("CARELOG_WORKERS", "0", "CARELOG_WORKERS must be between 1 and 64"),
        ("CARELOG_SESSION_HOURS", "1.5", "CARELOG_SESSION_HOURS must be a whole number"),
        ("CARELOG_TIME_ZONE", "Mars/Olympus", "CARELOG_TIME_ZONE must be an IANA time zone"),
        ("CARELOG_DATABASE_URL", "mysql://x", "CARELOG_DATABASE_URL must start with"),
        ("CARELOG_DATABASE_URL", "sqlite:///var/carelog.db", "CARELOG_DATABASE_URL must start with"),
        ("CARELOG_PHOTO_STORE_URL", "ftp://x", "CARELOG_PHOTO_STORE_URL must be"),
        ("CARELOG_PHOTO_STORE_URL", "s3://", "CARELOG_PHOTO_STORE_URL must be"),
        ("CARELOG_DEFAULT_LANGUAGE", "fr", "CARELOG_DEFAULT_LANGUAGE must be one of zh_Hans, en"),
        ("CARELOG_ENV", "staging", "CARELOG_ENV must be one of development, production, test"),
        ("CARELOG_PUBLIC_ORIGIN", "carelog.example.org", "CARELOG_PUBLIC_ORIGIN must be an origin"),
        (
            "CARELOG_PUBLIC_ORIGIN",
            "https://carelog.example.org/app",
            "CARELOG_PUBLIC_ORIGIN must be an origin",
        ),
        ("CARELOG_SECRET_KEY", "too-short", "CARELOG_SECRET_KEY must be at least 32 characters"),
        ("CARELOG_HOST", "  ", "CARELOG_HOST must not be empty"),
        ("CARELOG_LOG_LEVEL", "verbose", "CARELOG_LOG_LEVEL must be one of"),
    ],
)
def test_a_bad_value_stops_start_up_with_a_message_naming_the_variable(
    name: str, value: str, message: str
) -> None:
    environ = {"CARELOG_SECRET_KEY": KEY, name: value}
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(environ)


def test_a_misspelt_variable_is_refused_rather_than_ignored() -> None:
    with pytest.raises(SettingsError, match=r"unknown setting\(s\): CARELOG_DATABSE_URL"):
        load_settings({"CARELOG_SECRET_KEY": KEY, "CARELOG_DATABSE_URL": "sqlite+aiosqlite:///x.db"})


def test_the_secret_key_is_never_shown_in_messages_or_repr() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"CARELOG_SECRET_KEY": "short-but-secret"})
    assert "short-but-secret" not in str(refused.value)
    assert KEY not in repr(load_settings({"CARELOG_SECRET_KEY": KEY}))


def test_production_without_a_secret_key_fails(project_root: Path) -> None:
    with pytest.raises(SettingsError, match="CARELOG_SECRET_KEY must be set in production"):
        load_settings({"CARELOG_ENV": "production", "CARELOG_PUBLIC_ORIGIN": HTTPS_ORIGIN})
    assert not (project_root / "var" / "secret_key").exists()


def test_production_with_an_http_origin_fails() -> None:
    with pytest.raises(SettingsError, match=r"CARELOG_PUBLIC_ORIGIN must be https:// in production"):
        load_settings({"CARELOG_ENV": "production", "CARELOG_SECRET_KEY": KEY})
    with pytest.raises(SettingsError, match=r"CARELOG_PUBLIC_ORIGIN must be https:// in production"):
        load_settings(
            {
                "CARELOG_ENV": "production",
                "CARELOG_SECRET_KEY": KEY,
                "CARELOG_PUBLIC_ORIGIN": "http://carelog.lan",
            }
        )


def test_production_with_an_https_origin_and_a_key_loads_with_secure_cookies() -> None:
    loaded = load_settings(
        {"CARELOG_ENV": "production", "CARELOG_SECRET_KEY": KEY, "CARELOG_PUBLIC_ORIGIN": HTTPS_ORIGIN}
    )
    assert loaded.environment == "production"
    assert loaded.secret_key == KEY
    assert loaded.secure_cookies


def test_settings_cannot_be_changed_after_loading() -> None:
    loaded = load_settings({"CARELOG_SECRET_KEY": KEY})
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.port = 9000  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.secret_key = "x" * 40  # type: ignore[misc]


def test_with_only_a_port_the_printed_links_follow_the_port() -> None:
    loaded = load_settings({"CARELOG_SECRET_KEY": KEY, "CARELOG_PORT": "8123"})
    assert loaded.public_origin == "http://localhost:8123"
    chosen = load_settings(
        {"CARELOG_SECRET_KEY": KEY, "CARELOG_PORT": "8123", "CARELOG_PUBLIC_ORIGIN": "http://phone.lan:9000"}
    )
    assert chosen.public_origin == "http://phone.lan:9000"


def test_a_chosen_day_is_read_for_tests_and_refused_in_production() -> None:
    import datetime

    loaded = load_settings({"CARELOG_SECRET_KEY": KEY, "CARELOG_TODAY": "2027-03-01"})
    assert loaded.today == datetime.date(2027, 3, 1)
    with pytest.raises(SettingsError, match="CARELOG_TODAY"):
        load_settings({"CARELOG_SECRET_KEY": KEY, "CARELOG_TODAY": "2027-02-30"})
    with pytest.raises(SettingsError, match="CARELOG_TODAY"):
        load_settings(
            {
                "CARELOG_ENV": "production",
                "CARELOG_SECRET_KEY": KEY,
                "CARELOG_PUBLIC_ORIGIN": HTTPS_ORIGIN,
                "CARELOG_TODAY": "2027-03-01",
            }
        )
