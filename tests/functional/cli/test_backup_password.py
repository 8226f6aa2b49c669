"""pg_dump and pg_restore get the database password from the environment, never from their argv
(which any local user can read in `ps` while a long dump runs)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from backend.backup import make_backup, pg_command, restore_backup
from backend.settings import Settings
from tests.conftest import _TABLES, BASE_URL, SECRET, recreate_pg_database

PASSWORD = "S3cr#t:p@ss/w0rd"  # characters a URL must escape, so decoding is tested too
URL = "postgresql+asyncpg://carelog:S3cr%23t%3Ap%40ss%2Fw0rd@db.internal:5433/carelog"


@pytest.mark.parametrize("tool", ["pg_dump", "pg_restore", "psql"])
def test_the_argv_for_a_url_with_a_password_carries_no_password_and_the_environment_does(tool: str) -> None:
    argv, env = pg_command(tool, ["--format=custom"], URL)
    joined = " ".join(argv)
    assert "S3cr" not in joined and "w0rd" not in joined and "%40" not in joined
    assert argv == [tool, "--format=custom", "--dbname=postgresql://carelog@db.internal:5433/carelog"]
    assert env["PGPASSWORD"] == PASSWORD


def test_a_url_without_a_password_leaves_the_operators_password_file_in_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PGPASSFILE", "/etc/carelog/pgpass")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    argv, env = pg_command("pg_dump", [], "postgresql+asyncpg://carelog@db.internal/carelog")
    assert argv == ["pg_dump", "--dbname=postgresql://carelog@db.internal/carelog"]
    assert env["PGPASSFILE"] == "/etc/carelog/pgpass" and "PGPASSWORD" not in env


_RECORDER = """#!{python}
import json, os, sys
with open({log!r}, "a") as log:
    log.write(json.dumps({{"argv": sys.argv, "pgpassword": os.environ.get("PGPASSWORD")}}) + "\\n")
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


def _record_calls_of(tool: str, bin_dir: Path, log: Path) -> None:
    real = f"/usr/bin/{tool}"
    if not Path(real).exists():
        pytest.skip(f"{real} is not installed")
    script = bin_dir / tool
    script.write_text(_RECORDER.format(python=sys.executable, log=str(log), real=real))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def _with_password(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    password = parsed.password or "pw-kept-off-the-command-line-0123"  # ignored by a trusting server
    return parsed.set(password=str(password)).render_as_string(hide_password=False), str(password)


async def test_a_real_postgresql_backup_and_restore_never_put_the_password_on_a_command_line(
    pg_database: str, tmp_path: Path, worker_tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This worker's database holds what the previous test left (photo rows whose files were in that
    # test's memory store): start from empty tables, as the db_url fixture does.
    conn = await asyncpg.connect("postgresql://" + pg_database.split("://", 1)[1])
    try:
        await conn.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE")
        await conn.execute("UPDATE audit_head SET seq = 0, hash = $1 WHERE id = 1", "0" * 64)
    finally:
        await conn.close()
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.jsonl"
    bin_dir.mkdir()
    for tool in ("pg_dump", "pg_restore"):
        _record_calls_of(tool, bin_dir, log)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    source_url, password = _with_password(pg_database)
    source = Settings(
        environment="test",
        database_url=source_url,
        photo_store_url=f"file://{tmp_path / 'photos'}",
        secret_key=SECRET,
        public_origin=BASE_URL,
    )
    await make_backup(source, tmp_path / "backup")

    name = f"carelog_pw_{worker_tag}"
    await recreate_pg_database(name)
    target_url, _ = _with_password(pg_database.rsplit("/", 1)[0] + "/" + name)
    target = Settings(
        environment="test",
        database_url=target_url,
        photo_store_url=f"file://{tmp_path / 'restored'}",
        secret_key=SECRET,
        public_origin=BASE_URL,
    )
    report = await restore_backup(target, tmp_path / "backup")
    assert report.problems == []

    calls = [json.loads(line) for line in log.read_text().splitlines()]
    work = [c for c in calls if "--version" not in c["argv"]]
    assert sorted(Path(c["argv"][0]).name for c in work) == ["pg_dump", "pg_restore"]
    for call in calls:
        assert not any(password in arg for arg in call["argv"]), call["argv"]
    for call in work:
        assert call["pgpassword"] == password
