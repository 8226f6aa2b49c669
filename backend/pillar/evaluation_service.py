"""Criteria and evaluations of a delivering agency's contract (written by the programme's staff; audited).

An evaluation scores every active criterion of the programme: the manual ones are typed by the staff
member from the evaluating agency's report; a `satisfaction` criterion is computed from the round's
survey answers of the mothers that agency serves (the mean of the four answers, 1 to 5, over every
answer of the round, as a share of 5, times the criterion's points, rounded half up in integers: no
float is ever stored or compared). It passes at the contract's pass mark with the financial audit
passed. A later evaluation of the same round is kept beside the first; the latest one counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.db import utcnow
from backend.errors import NotFound, Refused
from backend.i18n import gettext as _
from backend.people.models import Programme
from backend.pillar.models import (
    Agency,
    AgencyRole,
    Contract,
    Criterion,
    CriterionSource,
    Evaluation,
    EvaluationScore,
    PillarFile,
    Round,
    SurveyResponse,
)
from backend.pillar.policy import is_pillar_staff

MAX_CRITERION_POINTS = 100


@dataclass(frozen=True)
class SurveyFigures:
    count: int
    answers_sum: int  # the sum of all four answers of every response

    @property
    def mean_x100(self) -> int | None:
        """The mean answer (1 to 5) times 100, rounded half up; None without answers."""
        if not self.count:
            return None
        return (50 * self.answers_sum + self.count) // (2 * self.count)

    def score(self, max_points: int) -> int:
        """mean / 5 x max_points, rounded half up: sum x max / (20 x count) in integers; 0 without answers."""
        if not self.count:
            return 0
        return (2 * self.answers_sum * max_points + 20 * self.count) // (40 * self.count)


async def survey_figures(db: AsyncSession, contract: Contract, round_: Round) -> SurveyFigures:
    answers = (
        SurveyResponse.q_overall + SurveyResponse.q_group + SurveyResponse.q_services + SurveyResponse.q_life
    )
    row = (
        await db.execute(
            select(func.count(SurveyResponse.id), func.coalesce(func.sum(answers), 0))
            .join(PillarFile, PillarFile.id == SurveyResponse.file_id)
            .where(
                SurveyResponse.programme_id == contract.programme_id,
                SurveyResponse.round == round_,
                PillarFile.agency_id == contract.agency_id,
            )
        )
    ).one()
    return SurveyFigures(count=int(row[0]), answers_sum=int(row[1]))


async def active_criteria(db: AsyncSession, programme_id: int) -> list[Criterion]:
    query = select(Criterion).where(Criterion.programme_id == programme_id, Criterion.retired_at.is_(None))
    return list(await db.scalars(query.order_by(Criterion.position, Criterion.id)))


async def retired_criteria(db: AsyncSession, programme_id: int) -> list[Criterion]:
    query = select(Criterion).where(Criterion.programme_id == programme_id, Criterion.retired_at.is_not(None))
    return list(await db.scalars(query.order_by(Criterion.position, Criterion.id)))


async def get_criterion_for_staff(db: AsyncSession, user: Principal, criterion_id: int) -> Criterion:
    criterion = await db.get(Criterion, criterion_id)
    if criterion is None or not is_pillar_staff(user, criterion.programme_id):
        raise NotFound()
    return criterion


async def do_add_criterion(
    db: AsyncSession, programme: Programme, *, label: str, max_score: int, actor: Actor
) -> Criterion:
    label = label.strip()
    if not label or len(label) > 80:
        raise Refused(
            _("Give the criterion a name of at most 80 characters."), field="label", status_code=400
        )
    if not 1 <= max_score <= MAX_CRITERION_POINTS:
        raise Refused(
            _("Give its points as a whole number from 1 to 100."), field="max_score", status_code=400
        )
    last = await db.scalar(select(func.max(Criterion.position)).where(Criterion.programme_id == programme.id))
    criterion = Criterion(
        programme_id=programme.id,
        label=label,
        max_score=max_score,
        position=(last if last is not None else -1) + 1,
        source=CriterionSource.MANUAL,
    )
    try:
        async with db.begin_nested():
            db.add(criterion)
            await db.flush()
    except IntegrityError as error:
        raise Refused(
            _("The programme already has a criterion of that name."), field="label", status_code=409
        ) from error
    await audit.record(
        db, actor=actor, action="pillar.criterion_added", subject=criterion, change={"points": max_score}
    )
    return criterion


async def do_retire_criterion(
    db: AsyncSession, criterion: Criterion, *, actor: Actor, now: datetime | None = None
) -> Criterion:
    """Later evaluations leave it out; earlier ones keep their score for it."""
    if criterion.retired_at is None:
        criterion.retired_at = now or utcnow()
        await db.flush()
        await audit.record(db, actor=actor, action="pillar.criterion_retired", subject=criterion)
    return criterion


@dataclass(frozen=True)
class EvaluationDraft:
    round: Round
    evaluated_on: date
    evaluator_agency_id: int | None
    scores: dict[int, int]  # manual criterion id -> points
    audit_passed: bool
    audit_note: str
    note: str


async def do_record_evaluation(
    db: AsyncSession, contract: Contract, draft: EvaluationDraft, *, actor: Actor, today: date
) -> Evaluation:
    if actor is None:
        raise Refused(_("Only a staff member records an evaluation."), field="form", status_code=403)
    if draft.evaluated_on > today:
        raise Refused(_("The day cannot be in the future."), field="evaluated_on", status_code=400)
    if draft.evaluated_on < contract.starts_on:
        raise Refused(
            _("The day cannot be before the contract starts."), field="evaluated_on", status_code=400
        )
    if draft.evaluator_agency_id is not None:
        agency = await db.get(Agency, draft.evaluator_agency_id)
        if (
            agency is None
            or agency.programme_id != contract.programme_id
            or agency.role is not AgencyRole.EVALUATING
        ):
            raise Refused(
                _("Choose an evaluating agency of this programme."),
                field="evaluator_agency_id",
                status_code=400,
            )
    criteria = await active_criteria(db, contract.programme_id)
    if not criteria:
        raise Refused(_("The programme has no criteria to score."), field="form", status_code=409)
    figures = await survey_figures(db, contract, draft.round)
    scores: dict[int, int] = {}
    for criterion in criteria:
        if criterion.source is CriterionSource.SATISFACTION:
            scores[criterion.id] = figures.score(criterion.max_score)
            continue
        score = draft.scores.get(criterion.id)
        if score is None or not 0 <= score <= criterion.max_score:
            raise Refused(
                _("Give a whole number from 0 to %(max)s.") % {"max": criterion.max_score},
                field=f"score-{criterion.id}",
                status_code=400,
            )
        scores[criterion.id] = score
    total = sum(scores.values())
    max_total = sum(c.max_score for c in criteria)
    passed = total * 100 >= contract.pass_mark_pct * max_total and draft.audit_passed
    evaluation = Evaluation(
        contract_id=contract.id,
        programme_id=contract.programme_id,
        round=draft.round,
        evaluated_on=draft.evaluated_on,
        evaluator_agency_id=draft.evaluator_agency_id,
        total_score=total,
        max_total=max_total,
        audit_passed=draft.audit_passed,
        audit_note=draft.audit_note.strip()[:500],
        passed=passed,
        survey_count=figures.count,
        satisfaction_x100=figures.mean_x100,
        note=draft.note.strip()[:1000],
        recorded_by_id=actor.id,
    )
    db.add(evaluation)
    await db.flush()
    for criterion_id, score in scores.items():
        db.add(EvaluationScore(evaluation_id=evaluation.id, criterion_id=criterion_id, score=score))
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pillar.evaluation_recorded",
        subject=evaluation,
        change={
            "contract": contract.id,
            "round": draft.round.value,
            "total": total,
            "max_total": max_total,
            "audit_passed": draft.audit_passed,
            "passed": passed,
            "survey_count": figures.count,
        },
    )
    return evaluation


async def latest_evaluation(db: AsyncSession, contract_id: int, round_: Round) -> Evaluation | None:
    found: Evaluation | None = await db.scalar(
        select(Evaluation)
        .where(Evaluation.contract_id == contract_id, Evaluation.round == round_)
        .order_by(Evaluation.id.desc())
        .limit(1)
    )
    return found
