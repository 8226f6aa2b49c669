from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.auth.principal import Principal
from backend.auth.stepup import STEP_UP_WINDOW, has_recent_proof

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def principal(verified_at: datetime | None) -> Principal:
    return Principal(
        id=1,
        session_id=1,
        display_name="周敏",
        locale=None,
        is_admin=False,
        grants=(),
        verified_at=verified_at,
    )


def test_a_proof_counts_for_15_minutes_and_not_a_second_longer() -> None:
    assert timedelta(minutes=15) == STEP_UP_WINDOW
    assert has_recent_proof(principal(NOW - timedelta(minutes=15)), NOW)
    assert not has_recent_proof(principal(NOW - timedelta(minutes=15, seconds=1)), NOW)


def test_no_proof_or_one_from_the_future_does_not_count() -> None:
    assert not has_recent_proof(principal(None), NOW)
    assert not has_recent_proof(principal(NOW + timedelta(hours=1)), NOW)
