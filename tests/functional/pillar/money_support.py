"""Helpers for the agency-money tests (no tests here): the demo contract, its criteria, survey answers
put in through the model, and an evaluation form."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend.db import Database
from backend.pillar.models import (
    Contract,
    Criterion,
    CriterionSource,
    Evaluation,
    PillarFile,
    Round,
    SurveyResponse,
)
from backend.settlement.models import ContractRelease
from tests.conftest import World
from tests.functional.pillar.pillar_support import post, today


async def demo_contract(database: Database, world: World) -> Contract:
    async with database.transaction(read_only=True) as db:
        found = await db.scalar(
            select(Contract)
            .where(Contract.programme_id == world.cast.programmes["pillar"].id)
            .options(selectinload(Contract.stages))
            .order_by(Contract.id)
        )
    assert found is not None
    return found


async def criteria(database: Database, world: World) -> list[Criterion]:
    async with database.transaction(read_only=True) as db:
        return list(
            await db.scalars(
                select(Criterion)
                .where(
                    Criterion.programme_id == world.cast.programmes["pillar"].id,
                    Criterion.retired_at.is_(None),
                )
                .order_by(Criterion.position)
            )
        )


async def add_survey(
    database: Database, file_id: int, round_: Round, answers: tuple[int, int, int, int], recorder: int
) -> None:
    async with database.transaction() as db:
        file = await db.get_one(PillarFile, file_id)
        db.add(
            SurveyResponse(
                client_uuid=uuid.uuid4(),
                file_id=file.id,
                programme_id=file.programme_id,
                area_id=file.area_id,
                round=round_,
                answered_on=date.fromisoformat(today()),
                q_overall=answers[0],
                q_group=answers[1],
                q_services=answers[2],
                q_life=answers[3],
                on_paper=True,
                recorded_by_id=recorder,
                content_sha256="0" * 64,
            )
        )


async def evaluation_fields(
    database: Database, world: World, manual: list[int], round_: str = "mid_term", audit: str = "passed"
) -> dict[str, Any]:
    """`manual`: the scores of the manual criteria in their order."""
    found = [c for c in await criteria(database, world) if c.source is CriterionSource.MANUAL]
    assert len(found) == len(manual)
    fields: dict[str, Any] = {
        "round": round_,
        "evaluated_on": today(),
        "evaluator_agency_id": "",
        "audit": audit,
        "audit_note": "",
        "note": "",
    }
    fields.update({f"score-{c.id}": str(score) for c, score in zip(found, manual, strict=True)})
    return fields


async def record(browser: httpx.AsyncClient, contract_id: int, fields: dict[str, Any]) -> httpx.Response:
    return await post(browser, f"/pillar/contracts/{contract_id}/evaluations", fields)


async def evaluations(database: Database, contract_id: int) -> list[Evaluation]:
    async with database.transaction(read_only=True) as db:
        return list(
            await db.scalars(
                select(Evaluation)
                .where(Evaluation.contract_id == contract_id)
                .options(selectinload(Evaluation.scores))
                .order_by(Evaluation.id)
            )
        )


async def releases(database: Database, contract_id: int) -> list[ContractRelease]:
    async with database.transaction(read_only=True) as db:
        return list(
            await db.scalars(
                select(ContractRelease)
                .where(ContractRelease.contract_id == contract_id)
                .order_by(ContractRelease.id)
            )
        )
