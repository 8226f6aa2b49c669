"""Releasing a stage of a pillar-mother agency contract: the only place its money moves (house rule 3).

A stage tied to an evaluation round is released only when that round's latest evaluation passed, and by
a staff member other than the one who recorded it (the database checks that too). A stage without a
round (an advance on signing) needs a staff member other than the contract's creator. A stage is
released once, ever: `ContractRelease.stage_id` is unique, so a second or concurrent release is a 409
and one line stays.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.errors import Conflict
from backend.i18n import gettext as _
from backend.pillar.evaluation_service import latest_evaluation
from backend.pillar.models import Contract, ContractStage
from backend.settlement.models import ContractRelease


async def release_of(db: AsyncSession, stage_id: int) -> ContractRelease | None:
    found: ContractRelease | None = await db.scalar(
        select(ContractRelease).where(ContractRelease.stage_id == stage_id)
    )
    return found


async def releases_of(db: AsyncSession, contract_id: int) -> list[ContractRelease]:
    query = select(ContractRelease).where(ContractRelease.contract_id == contract_id)
    return list(await db.scalars(query.order_by(ContractRelease.released_on, ContractRelease.id)))


async def released_totals(db: AsyncSession, contract_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(fen released so far, stages released) per contract."""
    if not contract_ids:
        return {}
    rows = await db.execute(
        select(ContractRelease.contract_id, func.sum(ContractRelease.amount_fen), func.count())
        .where(ContractRelease.contract_id.in_(contract_ids))
        .group_by(ContractRelease.contract_id)
    )
    return {int(contract_id): (int(total), int(count)) for contract_id, total, count in rows}


async def do_release_stage(
    db: AsyncSession, stage: ContractStage, *, actor: Actor, today: date, note: str = ""
) -> ContractRelease:
    """`today` is the day in the programme's time zone."""
    if actor is None:
        raise Conflict(_("Only a staff member releases money."))
    contract = await db.get_one(Contract, stage.contract_id)
    if await release_of(db, stage.id) is not None:
        raise Conflict(_("This stage's money was already released."))
    evaluation = None
    if stage.round is not None:
        evaluation = await latest_evaluation(db, contract.id, stage.round)
        if evaluation is None:
            raise Conflict(_("This stage waits for its evaluation: nothing can be released yet."))
        if not evaluation.passed:
            raise Conflict(_("The latest evaluation of this round failed: nothing can be released."))
        if evaluation.recorded_by_id == actor.id:
            raise Conflict(_("Another staff member must release it: you recorded its evaluation."))
    elif contract.created_by_id == actor.id:
        raise Conflict(_("Another staff member must release it: you created the contract."))
    release = ContractRelease(
        programme_id=contract.programme_id,
        contract_id=contract.id,
        stage_id=stage.id,
        evaluation_id=evaluation.id if evaluation is not None else None,
        evaluation_recorded_by_id=evaluation.recorded_by_id if evaluation is not None else None,
        amount_fen=stage.amount_fen,
        released_on=today,
        released_by_id=actor.id,
        note=note.strip()[:300],
    )
    try:
        # A savepoint: a release committed meanwhile by another request fails only this insert.
        async with db.begin_nested():
            db.add(release)
            await db.flush()
    except IntegrityError as error:
        raise Conflict(_("This stage's money was already released.")) from error
    await audit.record(
        db,
        actor=actor,
        action="contract.stage_released",
        subject=release,
        change={
            "contract": contract.id,
            "stage": stage.id,
            "amount_fen": stage.amount_fen,
            "evaluation": evaluation.id if evaluation is not None else None,
        },
        programme_id=contract.programme_id,
    )
    return release
