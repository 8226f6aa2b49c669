"""Contracts: created by the programme's staff with a budget in yuan parsed exactly to fen and stages that
add up to it; bad input is a 400 in Chinese with nothing stored; supervision sessions are logged."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.db import Database
from backend.pillar.models import Agency, AgencyRole, Contract, Supervision
from tests import personas
from tests.conftest import ClientAs, World
from tests.functional.pillar.pillar_support import post, today


async def _agency(database: Database, world: World, role: AgencyRole) -> int:
    async with database.transaction(read_only=True) as db:
        found = await db.scalar(
            select(Agency.id).where(
                Agency.programme_id == world.cast.programmes["pillar"].id, Agency.role == role
            )
        )
    assert found is not None
    return int(found)


async def _contracts(database: Database) -> int:
    async with database.transaction(read_only=True) as db:
        return int(await db.scalar(select(func.count(Contract.id))) or 0)


async def contract_fields(database: Database, world: World, **overrides: str) -> dict[str, Any]:
    fields = {
        "title": "2027年度顶梁柱母亲服务（二期）",
        "agency_id": str(await _agency(database, world, AgencyRole.DELIVERING)),
        "budget": "12345.67",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "pass_mark_pct": "60",
        "stage-0-label": "首期",
        "stage-0-amount": "2345.67",
        "stage-0-round": "none",
        "stage-1-label": "中期",
        "stage-1-amount": "5000",
        "stage-1-round": "mid_term",
        "stage-2-label": "尾款",
        "stage-2-amount": "5000.00",
        "stage-2-round": "final",
    }
    fields.update(overrides)
    return fields


async def test_staff_creates_a_contract_with_exact_fen(
    client_as: ClientAs, world: World, database: Database
) -> None:
    zhou = await client_as(personas.PILLAR_STAFF)
    pillar_id = world.cast.programmes["pillar"].id
    page = await zhou.get(f"/pillar/{pillar_id}/contracts/new")
    assert page.status_code == 200, page.text[-3000:]
    assert 'id="contract-form"' in page.text
    response = await post(zhou, f"/pillar/{pillar_id}/contracts", await contract_fields(database, world))
    assert response.status_code == 303, response.text[-3000:]
    async with database.transaction(read_only=True) as db:
        contract = await db.scalar(select(Contract).where(Contract.title == "2027年度顶梁柱母亲服务（二期）"))
        assert contract is not None
        await db.refresh(contract, ["stages"])
        assert contract.budget_fen == 1_234_567
        assert [s.amount_fen for s in contract.stages] == [234_567, 500_000, 500_000]
        assert [s.round.value if s.round else None for s in contract.stages] == [None, "mid_term", "final"]
    shown = await zhou.get(response.headers["location"])
    assert shown.status_code == 200 and "12345.67" in shown.text
    listing = await zhou.get(f"/pillar/{pillar_id}/contracts")
    assert listing.status_code == 200, listing.text[-3000:]
    assert "12345.67" in listing.text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stage-2-amount": "4999.99"}, "stages"),  # the stages do not add up to the budget
        ({"budget": "15.5x"}, "budget"),
        ({"budget": "-12345.67"}, "budget"),
        ({"budget": "1e9"}, "budget"),
        ({"budget": "一万"}, "budget"),
        ({"stage-1-amount": "abc"}, "stage-1-amount"),
        ({"stage-0-amount": "-2345.67"}, "stage-0-amount"),
        ({"ends_on": "2025-12-31"}, "ends_on"),
        ({"pass_mark_pct": "0"}, "pass_mark_pct"),
        ({"agency_id": "999999"}, "agency_id"),
    ],
)
async def test_bad_contract_input_is_refused_in_chinese_and_nothing_is_stored(
    client_as: ClientAs, world: World, database: Database, overrides: dict[str, str], field: str
) -> None:
    zhou = await client_as(personas.PILLAR_STAFF)
    pillar_id = world.cast.programmes["pillar"].id
    before = await _contracts(database)
    fields = await contract_fields(database, world, **overrides)
    response = await post(zhou, f"/pillar/{pillar_id}/contracts", fields)
    assert response.status_code == 400, response.text[-3000:]
    message = re.search(rf'id="{field}-error" role="alert">([^<]*)<', response.text)
    assert message is not None and re.search(r"[\u4e00-\u9fff]", message[1]), message
    assert await _contracts(database) == before


async def test_a_supervising_agency_session_is_logged_on_the_contract(
    client_as: ClientAs, world: World, database: Database
) -> None:
    zhou = await client_as(personas.PILLAR_STAFF)
    async with database.transaction(read_only=True) as db:
        contract_id = await db.scalar(
            select(Contract.id).where(Contract.programme_id == world.cast.programmes["pillar"].id)
        )
    supervising = await _agency(database, world, AgencyRole.SUPERVISING)
    fields = {
        "held_on": today(),
        "supervisor_agency_id": str(supervising),
        "format": "one_to_one",
        "mode": "online",
        "minutes": "45",
        "attendees": "1",
        "note": "个案督导",
    }
    response = await post(zhou, f"/pillar/contracts/{contract_id}/supervision", fields)
    assert response.status_code == 303, response.text[-3000:]
    bad = await post(zhou, f"/pillar/contracts/{contract_id}/supervision", {**fields, "minutes": "5"})
    assert bad.status_code == 400 and 'id="minutes-error"' in bad.text
    delivering = await _agency(database, world, AgencyRole.DELIVERING)
    wrong = await post(
        zhou,
        f"/pillar/contracts/{contract_id}/supervision",
        {**fields, "supervisor_agency_id": str(delivering)},
    )
    assert wrong.status_code == 400 and 'id="supervisor_agency_id-error"' in wrong.text
    async with database.transaction(read_only=True) as db:
        sessions = list(await db.scalars(select(Supervision).where(Supervision.contract_id == contract_id)))
    assert len(sessions) == 2  # the demo's one and this one
    assert {s.minutes for s in sessions} == {120, 45}
    page = await zhou.get(f"/pillar/contracts/{contract_id}")
    assert "个案督导" in page.text


async def test_the_programme_page_links_its_staff_to_agencies_contracts_and_criteria(
    client_as: ClientAs, world: World
) -> None:
    zhou = await client_as(personas.PILLAR_STAFF)
    pillar_id = world.cast.programmes["pillar"].id
    page = await zhou.get(f"/programmes/{pillar_id}")
    assert page.status_code == 200
    for link in (
        f"/pillar/{pillar_id}/agencies",
        f"/pillar/{pillar_id}/contracts",
        f"/pillar/{pillar_id}/criteria",
    ):
        assert f'href="{link}"' in page.text
