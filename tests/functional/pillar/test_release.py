"""Releasing a stage of an agency's money (settlement/contract_money.py): only after its round's latest
evaluation passed, by a staff member other than the one who recorded it, once ever (a second or a
concurrent release is a 409 and one ledger line stays). The demo: 秦岚 released the advance."""

from __future__ import annotations

import asyncio

import pytest

from backend.db import Database
from backend.pillar.models import Round
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.photos_support import audit_actions
from tests.functional.pillar.money_support import demo_contract, evaluation_fields, record, releases
from tests.functional.pillar.pillar_support import post
from tests.functional.pillar.test_contracts import contract_fields


def _url(contract_id: int, stage_id: int) -> str:
    return f"/pillar/contracts/{contract_id}/stages/{stage_id}/release"


async def test_the_mid_term_stage_is_released_only_after_a_passed_evaluation_by_another_staff_member(
    client_as: ClientAs, world: World, database: Database
) -> None:
    contract = await demo_contract(database, world)
    mid = next(s for s in contract.stages if s.round is Round.MID_TERM)
    zhou = await client_as(personas.PILLAR_STAFF)
    qin = await client_as(personas.PILLAR_PAYER)
    [advance] = await releases(database, contract.id)  # the demo's advance, released by 秦岚
    assert advance.released_by_id == world.user_id(personas.PILLAR_PAYER)

    waiting = await post(qin, _url(contract.id, mid.id))
    assert waiting.status_code == 409 and "评估" in waiting.text
    assert (
        await record(zhou, contract.id, await evaluation_fields(database, world, [10, 10, 10]))
    ).status_code == 303
    failed = await post(qin, _url(contract.id, mid.id))
    assert failed.status_code == 409
    passed = await record(zhou, contract.id, await evaluation_fields(database, world, [25, 25, 15]))
    assert passed.status_code == 303
    own = await post(zhou, _url(contract.id, mid.id))
    assert own.status_code == 409 and "需由另一位工作人员发放" in own.text
    assert len(await releases(database, contract.id)) == 1

    page = await qin.get(f"/pillar/contracts/{contract.id}")
    assert f'id="release-{mid.id}"' in page.text
    done = await post(qin, _url(contract.id, mid.id))
    assert done.status_code == 303, done.text[-2000:]
    lines = await releases(database, contract.id)
    assert len(lines) == 2
    line = lines[1]
    assert (line.stage_id, line.amount_fen) == (mid.id, mid.amount_fen)
    assert line.released_by_id == world.user_id(personas.PILLAR_PAYER)
    assert line.evaluation_recorded_by_id == world.user_id(personas.PILLAR_STAFF)
    assert line.evaluation_id is not None
    assert len(await audit_actions(database, "contract.stage_released")) == 2

    again = await post(qin, _url(contract.id, mid.id))
    assert again.status_code == 409
    assert len(await releases(database, contract.id)) == 2
    shown = await qin.get(f"/pillar/contracts/{contract.id}")
    assert "140000.00" in shown.text  # 60,000 + 80,000 yuan released so far


async def test_two_concurrent_releases_of_a_stage_leave_one_line(
    client_as: ClientAs, world: World, database: Database
) -> None:
    contract = await demo_contract(database, world)
    mid = next(s for s in contract.stages if s.round is Round.MID_TERM)
    zhou = await client_as(personas.PILLAR_STAFF)
    assert (
        await record(zhou, contract.id, await evaluation_fields(database, world, [25, 25, 15]))
    ).status_code == 303
    first, second = await client_as(personas.PILLAR_PAYER), await client_as(personas.PILLAR_PAYER)
    answers = await asyncio.gather(
        post(first, _url(contract.id, mid.id)), post(second, _url(contract.id, mid.id))
    )
    assert sorted(a.status_code for a in answers) == [303, 409]
    assert [line.stage_id for line in await releases(database, contract.id)].count(mid.id) == 1


async def test_an_advance_on_signing_is_released_by_someone_other_than_the_contracts_creator(
    client_as: ClientAs, world: World, database: Database
) -> None:
    zhou = await client_as(personas.PILLAR_STAFF)
    qin = await client_as(personas.PILLAR_PAYER)
    pillar_id = world.cast.programmes["pillar"].id
    created = await post(zhou, f"/pillar/{pillar_id}/contracts", await contract_fields(database, world))
    assert created.status_code == 303
    contract_id = int(created.headers["location"].split("?")[0].rsplit("/", 1)[1])
    advance = next(s for s in (await _stages(database, contract_id)) if s.round is None)
    assert (await post(zhou, _url(contract_id, advance.id))).status_code == 409
    assert (await post(qin, _url(contract_id, advance.id))).status_code == 303
    [line] = await releases(database, contract_id)
    assert line.amount_fen == 234_567 and line.evaluation_id is None


async def _stages(database: Database, contract_id: int):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from backend.pillar.models import ContractStage

    async with database.transaction(read_only=True) as db:
        return list(await db.scalars(select(ContractStage).where(ContractStage.contract_id == contract_id)))


async def test_a_stage_of_another_contract_is_not_found(
    client_as: ClientAs, world: World, database: Database
) -> None:
    contract = await demo_contract(database, world)
    qin = await client_as(personas.PILLAR_PAYER)
    assert (await post(qin, _url(contract.id, 2_000_000_000))).status_code == 404
    assert (await post(qin, _url(2_000_000_000, contract.stages[0].id))).status_code == 404


@pytest.mark.parametrize(
    "handle",
    [
        personas.AGENCY_WORKER,
        personas.CADRE,
        personas.VOLUNTEER,
        personas.PILLAR_MOTHER,
        personas.OUTSIDER,
    ],
)
async def test_nobody_but_staff_sees_a_contract_or_moves_its_money(
    client_as: ClientAs, world: World, database: Database, handle: str
) -> None:
    contract = await demo_contract(database, world)
    pillar_id = world.cast.programmes["pillar"].id
    final = next(s for s in contract.stages if s.round is Round.FINAL)
    zhou = await client_as(personas.PILLAR_STAFF)
    assert (
        await record(zhou, contract.id, await evaluation_fields(database, world, [30, 30, 20], "final"))
    ).status_code == 303
    browser = await client_as(handle)
    member = 403 if handle != personas.OUTSIDER else 404
    assert (await browser.get(f"/pillar/{pillar_id}/contracts")).status_code == member
    assert (await browser.get(f"/pillar/{pillar_id}/contracts/new")).status_code == member
    created = await post(browser, f"/pillar/{pillar_id}/contracts", await contract_fields(database, world))
    assert created.status_code == member
    assert (await browser.get(f"/pillar/contracts/{contract.id}")).status_code == 404
    assert (await post(browser, f"/pillar/contracts/{contract.id}/supervision")).status_code == 404
    assert (await post(browser, _url(contract.id, final.id))).status_code == 404
    assert len(await releases(database, contract.id)) == 1  # the demo's advance only
