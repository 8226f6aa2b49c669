"""Audit events carry ids and categories, never the free text people wrote (review notes, checklist
wording). On both databases."""

from __future__ import annotations

import json

from sqlalchemy import select

from backend.audit import AuditEvent
from backend.db import Database
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional.review_support import clean_meal, decide, past_days, sent_visit

MARKER = "私密备注-Zq7Xw3"


async def _changes(database: Database) -> list[tuple[str, dict[str, object]]]:
    async with database.transaction(read_only=True) as db:
        return [(a, c) for a, c in await db.execute(select(AuditEvent.action, AuditEvent.change))]


async def test_review_notes_are_not_copied_into_audit_events(
    client_as: ClientAs, world: World, database: Database
) -> None:
    mother = await client_as(personas.CARING_MOTHER)
    visit_id = await sent_visit(mother, database, world)
    meal = await clean_meal(database, world, past_days(1)[0], seed=71)
    worker = await client_as(personas.SOCIAL_WORKER)
    sent_back = await decide(
        worker, "visit", visit_id, "needs_fix", reason="details_missing", note=f"{MARKER} 请写明"
    )
    assert sent_back.status_code == 303
    rejected = await decide(worker, "meal", meal.id, "reject", reason="other", note=f"理由 {MARKER}")
    assert rejected.status_code == 303, rejected.text

    changes = await _changes(database)
    assert all(MARKER not in json.dumps(change, ensure_ascii=False) for _, change in changes)
    # The two decisions above (the demo's station programme holds a reviewed service delivery of its own).
    reviews = [change for action, change in changes if action in ("visit.reviewed", "meal_checkin.reviewed")]
    assert len(reviews) == 2
    assert {(r["reason"], r["note"]) for r in reviews} == {("details_missing", True), ("other", True)}


async def test_checklist_wording_is_not_copied_into_audit_events(
    client_as: ClientAs, world: World, database: Database
) -> None:
    programme = world.cast.programmes["mothers"].id
    staff = await client_as(personas.STAFF)
    token = await csrf_token(staff)
    added = await staff.post(
        f"/programmes/{programme}/checklist",
        data={"_csrf_token": token, "need_area": "daily_life", "label": f"一起 {MARKER}"},
    )
    assert added.status_code == 303
    changes = await _changes(database)
    (item_added,) = [change for action, change in changes if action == "visit_checklist.item_added"]
    assert item_added == {"programme_id": programme, "need_area": "daily_life"}
    assert all(MARKER not in json.dumps(change, ensure_ascii=False) for _, change in changes)
