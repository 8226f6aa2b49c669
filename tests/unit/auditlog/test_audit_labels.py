"""The audit trail's words: every event the app writes has a label, and a change reads as lines."""

from __future__ import annotations

import re
from pathlib import Path

from backend import i18n
from backend.auditlog import labels

BACKEND = Path(__file__).resolve().parents[3] / "backend"


def test_every_event_the_app_writes_has_a_label() -> None:
    written = set()
    for path in BACKEND.rglob("*.py"):
        written |= set(re.findall(r'action="([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    written |= {f"{t}.{a}" for t in ("meal_checkin", "visit") for a in ("reviewed", "sampled")}
    assert written - set(labels.ACTIONS) == set()


def test_a_change_reads_as_labelled_lines_with_short_hashes_and_local_times() -> None:
    token = i18n._current.set("en")
    try:
        _check_lines()
    finally:
        i18n._current.reset(token)
    assert dict(labels.details({"status": ["pending", "approved"]}))["状态"] == "等待审核 → 已通过"


def _check_lines() -> None:
    lines = dict(
        labels.details(
            {
                "status": ["pending", "approved"],
                "content_sha256": "a" * 64,
                "expires_at": "2026-12-10T02:09:47.904708+00:00",
                "photo_ids": [3, 4],
                "note": None,
                "new_key": "x" * 500,
            },
            "Asia/Shanghai",
        )
    )
    assert lines["Status"] == "waiting for review → approved"
    assert lines["Content hash"] == "aaaaaaaaaa…"
    assert lines["Valid until"] == "2026-12-10 10:09"
    assert lines["Photos"] == "3、4" and lines["Note"] == "—"
    assert len(lines["new_key"]) == labels.MAX_VALUE  # an unknown field is shown, shortened, not hidden


def test_an_unknown_code_is_shown_as_it_is() -> None:
    assert labels.action_label("something.new") == "something.new"
    assert labels.subject_label("new_table") == "new_table"
