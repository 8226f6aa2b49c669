"""Staff browse the audit trail: filters by action, actor, subject type and day, newest first, paged
by id, with the chain's check; nobody else may. On both databases."""

from __future__ import annotations

import re

from backend.db import Database
from backend.meals.models import CheckInStatus
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional import meals_support
from tests.functional.settlement_support import close, last_month, meals, this_month


def _ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="audit-event" id="event-(\d+)">', html)]


async def test_staff_filter_the_trail_and_see_the_chain_intact(
    client_as: ClientAs, world: World, database: Database
) -> None:
    agreement = await meals_support.agreement_of(database, world.person_id("qian"))
    await meals(
        database,
        agreement,
        last_month(),
        [CheckInStatus.APPROVED],
        reviewer_id=world.user_id(personas.SOCIAL_WORKER),
    )
    await close(database, agreement.programme_id, last_month(), world.user_id(personas.STAFF))
    staff = await client_as(personas.STAFF)

    page = await staff.get("/audit")
    assert page.status_code == 200 and "审计链完整" in page.text
    ids = _ids(page.text)
    assert len(ids) == 20 and ids == sorted(ids, reverse=True)
    older = re.search(r'href="/audit\?(before=\d+)"', page.text)
    assert older is not None
    second = await staff.get(f"/audit?{older.group(1)}")
    assert _ids(second.text) and max(_ids(second.text)) < min(ids)

    closed = await staff.get("/audit", params={"action": "settlement"})
    assert "settlement.month_closed" in closed.text and "meal_checkin.submitted" not in closed.text
    # In words, with labelled details and short hashes: no raw JSON, no 64-character hash on the page.
    event = closed.text.split('class="audit-event"')[1].split("</li>")[0]
    assert "月份结算完成" in event and "结算月份" in event and "{" not in event
    assert not re.search(r"[0-9a-f]{64}", re.sub(r'title="[^"]*"', "", event))  # full hash on hover only
    reviewed = (await staff.get("/audit", params={"action": "meal_checkin.reviewed"})).text
    assert "审核餐食" in reviewed and "等待审核 → 已通过" in reviewed
    exact = await staff.get("/audit", params={"action": "meal_checkin.submitted"})
    assert "meal_checkin.submitted" in exact.text and "settlement.month_closed" not in exact.text
    by_actor = await staff.get("/audit", params={"actor": personas.STAFF})
    assert "settlement.month_closed" in by_actor.text and "meal_checkin.submitted" not in by_actor.text
    by_subject = await staff.get("/audit", params={"subject_type": "settlement_period"})
    assert _ids(by_subject.text) and "meal_checkin.submitted" not in by_subject.text
    future = this_month().replace(year=this_month().year + 1).isoformat()
    assert _ids((await staff.get("/audit", params={"date_from": future})).text) == []
    today = meals_support.shanghai_today().isoformat()
    assert _ids((await staff.get("/audit", params={"date_from": today, "date_to": today})).text)
    assert (await staff.get("/audit", params={"date_from": "2026-02-30"})).status_code == 400
    assert (await staff.get("/audit", params={"action": "x" * 65})).status_code == 400


async def test_only_staff_browse_the_audit_trail(client_as: ClientAs, world: World) -> None:
    for handle in (personas.SOCIAL_WORKER, personas.NEIGHBOUR, personas.CARING_MOTHER, personas.OUTSIDER):
        assert (await (await client_as(handle)).get("/audit")).status_code == 403
