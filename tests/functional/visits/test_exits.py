"""Ending a pairing: request, investigation, district review; no step skipped, none by the wrong role."""

from __future__ import annotations

from sqlalchemy import select

from backend.db import Database
from backend.visits.models import ExitRequest, ExitStatus, Pairing, PairingStatus, Visit
from tests import personas
from tests.conftest import ClientAs, World, csrf_token
from tests.functional.photos_support import audit_actions
from tests.functional.visits_support import pairing_id_of


async def _step(browser: object, pairing_id: int, note: str = "记录", **extra: str) -> int:
    token = await csrf_token(browser)  # type: ignore[arg-type]
    response = await browser.post(  # type: ignore[attr-defined]
        f"/pairings/{pairing_id}/exit", data={"_csrf_token": token, "note": note, **extra}
    )
    return int(response.status_code)


async def _pairing(database: Database, pairing_id: int) -> Pairing:
    async with database.transaction(read_only=True) as db:
        return await db.get_one(Pairing, pairing_id)


async def test_an_exit_goes_through_request_investigation_and_review_then_the_child_can_be_matched(
    client_as: ClientAs, world: World, database: Database
) -> None:
    pairing_id = await pairing_id_of(database, world, "xiaoyu")
    worker = await client_as(personas.SOCIAL_WORKER)
    staff = await client_as(personas.STAFF)
    assert await _step(worker, pairing_id, "监护人申请：孩子父母返乡照顾") == 303
    assert (  # the district cannot review before the street office investigated: not her step yet
        await _step(staff, pairing_id, "跳过调查", decision="approve") == 403
    )
    assert await _step(worker, pairing_id, "街道走访核实，情况属实") == 303
    assert await _step(worker, pairing_id, "社工不能审批", decision="approve") == 403
    assert (await _pairing(database, pairing_id)).status is PairingStatus.ACTIVE
    assert await _step(staff, pairing_id, "区妇联审核同意", decision="approve") == 303

    pairing = await _pairing(database, pairing_id)
    assert pairing.status is PairingStatus.ENDED and pairing.ended_at is not None
    actions = [
        "pairing_exit.requested",
        "pairing_exit.investigated",
        "pairing_exit.approved",
        "pairing.ended",
    ]
    for action in actions:
        assert len(await audit_actions(database, action)) == 1, action
    async with database.transaction(read_only=True) as db:
        visits = (await db.scalars(select(Visit.id).where(Visit.pairing_id == pairing_id))).all()
    assert len(visits) == 2  # the child's history stays whole
    # The matching list opens for the child: she is waiting again on the worker's home.
    home = (await worker.get("/")).text
    assert f'href="/pairings/match/{world.person_id("xiaoyu")}"' in home.split('id="waiting-children"')[1]
    page = await worker.get(f"/pairings/match/{world.person_id('xiaoyu')}")
    assert 'id="suggestions"' in page.text or 'id="no-suggestions"' in page.text
    # The mother no longer sees the child's visits.
    mother = await client_as(personas.CARING_MOTHER)
    assert (await mother.get(f"/visits/{visits[0]}")).status_code == 404


async def test_a_rejected_exit_leaves_the_pairing_and_a_new_request_may_follow(
    client_as: ClientAs, world: World, database: Database
) -> None:
    pairing_id = await pairing_id_of(database, world, "duoduo")
    worker = await client_as(personas.SOCIAL_WORKER)
    staff = await client_as(personas.STAFF)
    assert await _step(worker, pairing_id) == 303
    assert await _step(worker, pairing_id) == 303
    assert await _step(staff, pairing_id, "不同意", decision="reject") == 303
    assert (await _pairing(database, pairing_id)).status is PairingStatus.ACTIVE
    assert await _step(worker, pairing_id, "再次申请") == 303
    async with database.transaction(read_only=True) as db:
        statuses = (
            await db.scalars(select(ExitRequest.status).where(ExitRequest.pairing_id == pairing_id))
        ).all()
    assert sorted(statuses) == sorted([ExitStatus.REJECTED, ExitStatus.REQUESTED])


async def test_no_one_outside_the_area_or_role_can_take_a_step(
    client_as: ClientAs, world: World, database: Database
) -> None:
    pairing_id = await pairing_id_of(database, world, "xiaoyu")
    mother = await client_as(personas.CARING_MOTHER)
    assert await _step(mother, pairing_id) == 403  # she sees her pairing, not its exit
    other_street = await client_as(personas.OTHER_STREET_WORKER)
    assert await _step(other_street, pairing_id) == 404
    staff = await client_as(personas.STAFF)
    assert await _step(staff, pairing_id) == 403  # the request is recorded by the area's social worker
    worker = await client_as(personas.SOCIAL_WORKER)
    assert await _step(worker, pairing_id, "   ") == 400  # every step needs its note
    async with database.transaction(read_only=True) as db:
        assert (await db.scalar(select(ExitRequest.id))) is None


async def test_the_service_refuses_a_review_before_the_investigation_and_a_second_review(
    world: World, database: Database
) -> None:
    import pytest

    from backend.errors import Conflict
    from backend.people.models import User
    from backend.visits.exit_service import do_decide_exit, do_record_investigation, do_request_exit

    async with database.transaction() as db:
        pairing = await db.get_one(Pairing, await pairing_id_of(database, world, "lele"))
        worker = await db.get_one(User, world.user_id(personas.OTHER_STREET_WORKER))
        staff = await db.get_one(User, world.user_id(personas.STAFF))
        request = await do_request_exit(db, pairing, "申请", actor=worker)
        with pytest.raises(Conflict):
            await do_decide_exit(db, request, pairing, approve=True, note="跳过", actor=staff)
        with pytest.raises(Conflict):
            await do_request_exit(db, pairing, "重复申请", actor=worker)
        await do_record_investigation(db, request, "调查", actor=worker)
        with pytest.raises(Conflict):
            await do_record_investigation(db, request, "再调查", actor=worker)
        await do_decide_exit(db, request, pairing, approve=True, note="同意", actor=staff)
        with pytest.raises(Conflict):
            await do_decide_exit(db, request, pairing, approve=False, note="改主意", actor=staff)
        assert pairing.status is PairingStatus.ENDED
