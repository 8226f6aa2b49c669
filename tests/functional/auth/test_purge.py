"""Purges: what is past its time goes (ceremonies, sessions, sign-in codes, rate-limit rows, view marks),
what is live stays, and the audit chain is never touched. By command, and now and then from a sign-in.
On both databases."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend import clock
from backend.audit import AuditDailyView, AuditEvent
from backend.auth import purge as purge_module
from backend.auth.models import Ceremony, RateBucket, Session, SignInCode
from backend.auth.purge import purge, purge_now_and_then
from backend.db import Database, utcnow
from tests import personas
from tests.conftest import NewBrowser, World, chosen_today, csrf_token


async def _seed(database: Database, world: World) -> None:
    now = utcnow()
    today = clock.today_in(clock.REFERENCE_ZONE)
    user_id = world.user_id(personas.NEIGHBOUR)
    long_ago = now - timedelta(days=200)
    async with database.transaction() as db:
        db.add_all(
            [
                Ceremony(
                    handle_hash="c-old", purpose="signin", challenge=b"x", expires_at=now - timedelta(hours=2)
                ),
                Ceremony(
                    handle_hash="c-live",
                    purpose="signin",
                    challenge=b"x",
                    expires_at=now + timedelta(minutes=5),
                ),
                Session(token_hash="s-expired", user_id=user_id, method="code", expires_at=long_ago),
                Session(
                    token_hash="s-revoked",
                    user_id=user_id,
                    method="code",
                    expires_at=now + timedelta(days=300),
                    revoked_at=long_ago,
                ),
                Session(
                    token_hash="s-just-revoked",
                    user_id=user_id,
                    method="code",
                    expires_at=now + timedelta(days=300),
                    revoked_at=now - timedelta(hours=1),
                ),
                Session(
                    token_hash="s-live", user_id=user_id, method="code", expires_at=now + timedelta(days=3)
                ),
                SignInCode(user_id=user_id, code_hash="k-expired", expires_at=long_ago),
                SignInCode(
                    user_id=user_id, code_hash="k-used", expires_at=now + timedelta(days=1), used_at=long_ago
                ),
                SignInCode(user_id=user_id, code_hash="k-live", expires_at=now + timedelta(days=1)),
                SignInCode(
                    user_id=user_id,
                    code_hash="k-just-used",
                    expires_at=now - timedelta(days=1),
                    used_at=now - timedelta(days=2),
                ),
                RateBucket(key="code:old", window_start=now - timedelta(days=2), count=9),
                RateBucket(key="code:now", window_start=now - timedelta(minutes=1), count=3),
                AuditDailyView(
                    actor_id=user_id,
                    action="photo.viewed",
                    subject_type="photo",
                    subject_id="1",
                    day=today - timedelta(days=5),
                ),
                AuditDailyView(
                    actor_id=user_id, action="photo.viewed", subject_type="photo", subject_id="1", day=today
                ),
            ]
        )


async def _left(database: Database) -> dict[str, set[str]]:
    async with database.transaction(read_only=True) as db:
        return {
            "ceremonies": set(
                await db.scalars(select(Ceremony.handle_hash).where(Ceremony.handle_hash.like("c-%")))
            ),
            "sessions": set(
                await db.scalars(select(Session.token_hash).where(Session.token_hash.like("s-%")))
            ),
            "codes": set(
                await db.scalars(select(SignInCode.code_hash).where(SignInCode.code_hash.like("k-%")))
            ),
            "buckets": set(await db.scalars(select(RateBucket.key).where(RateBucket.key.like("code:%")))),
            "views": {str(d) for d in await db.scalars(select(AuditDailyView.day))},
        }


async def _events(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count()).select_from(AuditEvent)) or 0)


EXPECTED_LEFT = {
    "ceremonies": {"c-live"},
    "sessions": {"s-just-revoked", "s-live"},
    "codes": {"k-live", "k-just-used"},
    "buckets": {"code:now"},
}


async def test_purge_removes_rows_past_their_time_keeps_live_ones_and_never_the_audit_chain(
    database: Database, world: World
) -> None:
    await _seed(database, world)
    events = await _events(database)
    async with database.transaction() as db:
        report = await purge(db)
    assert (report.ceremonies, report.sessions, report.codes, report.rate_buckets, report.view_marks) == (
        1,
        2,
        2,
        1,
        1,
    )
    left = await _left(database)
    assert {k: left[k] for k in EXPECTED_LEFT} == EXPECTED_LEFT
    assert left["views"] == {str(clock.today_in(clock.REFERENCE_ZONE))}
    assert await _events(database) == events
    async with database.transaction() as db:
        assert (await purge(db)).total == 0  # a second run finds nothing


async def test_a_sign_in_purges_a_bounded_batch_at_most_once_an_hour(
    database: Database, world: World, new_browser: NewBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(database, world)
    monkeypatch.setattr(purge_module, "_last_run", -purge_module.OPPORTUNISTIC_EVERY_SECONDS)
    monkeypatch.setattr(purge_module, "OPPORTUNISTIC_BATCH", 1)
    phone = new_browser()
    wrong = await phone.post("/signin", data={"code": "0" * 12, "_csrf_token": await csrf_token(phone)})
    assert wrong.status_code == 400
    left = await _left(database)
    # one row of each kind at most went, after the answer was sent
    assert left["ceremonies"] == {"c-live"} and len(left["sessions"]) == 3 and len(left["codes"]) == 3
    # within the hour, no further purge from sign-ins
    assert await purge_now_and_then(database) is None
    again = await phone.post("/signin", data={"code": "1" * 12, "_csrf_token": await csrf_token(phone)})
    assert again.status_code == 400
    assert len((await _left(database))["sessions"]) == 3


async def test_purge_command_reports_what_it_removed(database: Database, world: World) -> None:
    await _seed(database, world)
    env = {
        **os.environ,
        "CARELOG_DATABASE_URL": str(database.engine.url.render_as_string(hide_password=False)),
        "CARELOG_SECRET_KEY": "x" * 40,
        "CARELOG_ENV": "test",
        "CARELOG_TODAY": chosen_today().isoformat(),  # the command keeps the tests' clock
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "backend.cli", "purge"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "1 passkey ceremonies, 2 sessions, 2 sign-in codes" in result.stdout
    left = await _left(database)
    assert {k: left[k] for k in EXPECTED_LEFT} == EXPECTED_LEFT
