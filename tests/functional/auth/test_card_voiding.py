"""Issue 19: recovering an account voids its unused sign-in cards; a new card voids the older unused ones.

Each test first shows that the card worked the day before (a card issued and unused signs in), then
does the step and tries the same card again.
"""

from __future__ import annotations

import httpx
from sqlalchemy import select

from backend.audit import AuditEvent
from backend.db import Database
from tests import personas
from tests.conftest import ClientAs, NewBrowser, World, csrf_token
from tests.functional.auth.test_cards import CODE, issue


async def _card(worker: httpx.AsyncClient, user_id: int) -> str:
    answer = await issue(worker, user_id)
    assert answer.status_code == 200
    found = CODE.search(answer.text)
    assert found is not None
    return found.group(1)


async def _sign_in(new_browser: NewBrowser, code: str) -> int:
    phone = new_browser()
    answer = await phone.post("/signin", data={"code": code, "_csrf_token": await csrf_token(phone)})
    return answer.status_code


async def test_a_new_card_voids_the_persons_older_unused_card(
    client_as: ClientAs, world: World, new_browser: NewBrowser
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    mother = world.user_id(personas.CARING_MOTHER)
    used = await _card(worker, mother)
    assert await _sign_in(new_browser, used) == 303  # a card handed over works
    older = await _card(worker, mother)
    newer = await _card(worker, mother)
    assert await _sign_in(new_browser, older) == 400
    assert await _sign_in(new_browser, newer) == 303
    # Another person's card is not touched by hers.
    neighbour_card = await _card(worker, world.user_id(personas.NEIGHBOUR))
    await _card(worker, mother)
    assert await _sign_in(new_browser, neighbour_card) == 303


async def test_recovering_an_account_voids_its_unused_cards(
    client_as: ClientAs, world: World, new_browser: NewBrowser, database: Database
) -> None:
    worker = await client_as(personas.SOCIAL_WORKER)
    mother = world.user_id(personas.CARING_MOTHER)
    lost = await _card(worker, mother)  # in the bag with the lost phone
    recovered = await worker.post(
        f"/cards/{mother}/recover", data={"_csrf_token": await csrf_token(worker), "confirm": "yes"}
    )
    assert recovered.status_code == 200
    assert await _sign_in(new_browser, lost) == 400
    async with database.transaction(read_only=True) as db:
        events = list(await db.scalars(select(AuditEvent).where(AuditEvent.action == "signin_code.voided")))
    assert len(events) == 1
    assert events[0].subject_id == str(mother) and events[0].actor_id == world.user_id(personas.SOCIAL_WORKER)
    assert events[0].change == {"reason": "recovered", "codes_voided": 1}
    # The card handed over after the recovery works.
    assert await _sign_in(new_browser, await _card(worker, mother)) == 303
