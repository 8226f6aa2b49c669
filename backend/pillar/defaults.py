"""What a new pillar-mother programme starts with besides the case-work core's dimensions and packages
(cases/defaults.py): the criteria its agencies are evaluated on. Staff edit them afterwards. The words
are the scheme's own (data, not interface text)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.people.models import Programme
from backend.pillar.models import Criterion, CriterionSource

# (label, points, source): 100 points in all; the mothers' satisfaction is scored from the survey.
PILLAR_CRITERIA: tuple[tuple[str, int, CriterionSource], ...] = (
    ("服务完成度", 30, CriterionSource.MANUAL),
    ("服务质量与成效", 30, CriterionSource.MANUAL),
    ("项目管理与档案", 20, CriterionSource.MANUAL),
    ("服务对象满意度", 20, CriterionSource.SATISFACTION),
)


async def do_seed_criteria(db: AsyncSession, programme: Programme, *, actor: Actor | None) -> None:
    for position, (label, points, source) in enumerate(PILLAR_CRITERIA):
        db.add(
            Criterion(
                programme_id=programme.id, label=label, max_score=points, position=position, source=source
            )
        )
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pillar.criteria_seeded",
        subject=programme,
        change={"criteria": len(PILLAR_CRITERIA)},
    )
