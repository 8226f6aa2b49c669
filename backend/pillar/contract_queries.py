"""What a contract's page shows: each stage's state, the evaluations, supervision sessions and releases."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.people.models import User
from backend.pillar.models import Agency, Contract, ContractStage, Evaluation, EvaluationScore, Supervision
from backend.settlement.contract_money import releases_of
from backend.settlement.models import ContractRelease


class StageState(enum.StrEnum):
    WAITING = "waiting"  # its round has no evaluation yet
    FAILED = "failed"  # its round's latest evaluation failed
    READY = "ready"  # may be released (by a second staff member)
    RELEASED = "released"


@dataclass(frozen=True)
class StageRow:
    stage: ContractStage
    state: StageState
    evaluation: Evaluation | None
    release: ContractRelease | None
    # Ready, but not by the viewer: she recorded its evaluation (or, paid on signing, made the contract).
    others_only: bool = False


def stage_rows(
    contract: Contract,
    evaluations: list[Evaluation],
    releases: list[ContractRelease],
    viewer_id: int | None = None,
) -> list[StageRow]:
    """`evaluations` in recording order: the last of a round is the one that counts."""
    latest = {e.round: e for e in evaluations}
    released = {r.stage_id: r for r in releases}
    rows = []
    for stage in contract.stages:
        evaluation = latest.get(stage.round) if stage.round is not None else None
        if stage.id in released:
            state = StageState.RELEASED
        elif stage.round is None:
            state = StageState.READY
        elif evaluation is None:
            state = StageState.WAITING
        else:
            state = StageState.READY if evaluation.passed else StageState.FAILED
        decider = evaluation.recorded_by_id if evaluation is not None else contract.created_by_id
        others_only = state is StageState.READY and viewer_id is not None and decider == viewer_id
        rows.append(StageRow(stage, state, evaluation, released.get(stage.id), others_only))
    return rows


async def contract_context(
    db: AsyncSession, contract: Contract, viewer_id: int | None = None
) -> dict[str, Any]:
    evaluations = list(
        await db.scalars(
            select(Evaluation)
            .where(Evaluation.contract_id == contract.id)
            .options(
                selectinload(Evaluation.recorded_by),
                selectinload(Evaluation.scores).selectinload(EvaluationScore.criterion),
            )
            .order_by(Evaluation.id)
        )
    )
    releases = await releases_of(db, contract.id)
    supervisions = list(
        await db.scalars(
            select(Supervision)
            .where(Supervision.contract_id == contract.id)
            .order_by(Supervision.held_on.desc(), Supervision.id.desc())
        )
    )
    agency_ids = {s.supervisor_agency_id for s in supervisions} | {e.evaluator_agency_id for e in evaluations}
    agencies = {
        a.id: a for a in await db.scalars(select(Agency).where(Agency.id.in_([i for i in agency_ids if i])))
    }
    user_ids = {r.released_by_id for r in releases} | {s.recorded_by_id for s in supervisions}
    users = {u.id: u for u in await db.scalars(select(User).where(User.id.in_(user_ids)))}
    return {
        "stages": stage_rows(contract, evaluations, releases, viewer_id),
        "evaluations": list(reversed(evaluations)),
        "releases": releases,
        "released_fen": sum(r.amount_fen for r in releases),
        "supervisions": supervisions,
        "agency_names": {i: a.name for i, a in agencies.items()},
        "user_names": {i: u.display_name for i, u in users.items()},
    }
