"""The mothers' satisfaction survey: at mid-term and at the end, four questions on a scale of 1 (very
unsatisfied) to 5 (very satisfied) and an optional comment, answered on her phone or recorded from her
paper answers by a worker.

One answer per file and round (the unique (file_id, round) keeps it so). The form carries a client UUID
made when the page was rendered: the same answers sent again under it are the original row; other
answers under the same UUID are a 409, as is a second answer to a round already answered.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.errors import NotFound, Refused
from backend.i18n import gettext as _
from backend.idempotency import Submitted, answer_retry, find_by_client_uuid
from backend.pillar import policy
from backend.pillar.models import GroupMember, GroupRole, PillarFile, Round, SurveyResponse

QUESTIONS = ("q_overall", "q_group", "q_services", "q_life")
ROUNDS = (Round.MID_TERM, Round.FINAL)


@dataclass(frozen=True)
class SurveyDraft:
    round: Round
    answered_on: date
    q_overall: int
    q_group: int
    q_services: int
    q_life: int
    comment: str = ""
    on_paper: bool = False

    @property
    def content_sha256(self) -> str:
        # Her own answers are dated by the day they arrive: a re-send on another day is the same answers.
        content = {
            "round": self.round.value,
            "answered_on": self.answered_on.isoformat() if self.on_paper else None,
            **{q: getattr(self, q) for q in QUESTIONS},
            "comment": self.comment,
            "on_paper": self.on_paper,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _different() -> str:
    return _("These answers were already sent with other words. Open the survey again to see them.")


def _answered() -> str:
    return _("This round of the survey has already been answered.")


async def own_file(db: AsyncSession, user: Principal) -> PillarFile:
    """The file of the pillar mother who is signed in (her own active place as the mother of a group);
    404 for everyone else."""
    found = await db.scalar(
        select(PillarFile)
        .join(GroupMember, GroupMember.file_id == PillarFile.id)
        .where(
            GroupMember.user_id == user.id,
            GroupMember.role == GroupRole.MOTHER,
            GroupMember.ended_at.is_(None),
            policy.visible_files(user),
        )
        .order_by(PillarFile.id.desc())
        .limit(1)
        .options(*policy.file_options())
    )
    if found is None:
        raise NotFound()
    return found


async def answers_of(db: AsyncSession, file_id: int) -> dict[Round, SurveyResponse]:
    rows = await db.scalars(select(SurveyResponse).where(SurveyResponse.file_id == file_id))
    return {Round(r.round): r for r in rows}


def next_round(answered: dict[Round, SurveyResponse]) -> Round | None:
    """Mid-term first, then final; None when both are answered."""
    return next((r for r in ROUNDS if r not in answered), None)


async def do_answer_survey(
    db: AsyncSession,
    file: PillarFile,
    draft: SurveyDraft,
    *,
    client_uuid: uuid.UUID,
    actor: Actor,
) -> Submitted[SurveyResponse]:
    """Store the answers of one round (audited without the answers: only the round and whether on
    paper). A retry under the same UUID with the same answers is the original; anything else that
    would make a second row is a 409 with nothing stored."""
    sha256 = draft.content_sha256
    existing = await find_by_client_uuid(db, SurveyResponse, client_uuid)
    if existing is not None:
        return answer_retry(existing, actor=actor, sha256=sha256, different=_different())
    taken = await db.scalar(
        select(SurveyResponse.id).where(
            SurveyResponse.file_id == file.id, SurveyResponse.round == draft.round
        )
    )
    if taken is not None:
        raise Refused(_answered(), field="form", status_code=409)
    row = SurveyResponse(
        client_uuid=client_uuid,
        file_id=file.id,
        programme_id=file.programme_id,
        area_id=file.area_id,
        round=draft.round,
        answered_on=draft.answered_on,
        q_overall=draft.q_overall,
        q_group=draft.q_group,
        q_services=draft.q_services,
        q_life=draft.q_life,
        comment=draft.comment,
        on_paper=draft.on_paper,
        recorded_by_id=actor.id,
        content_sha256=sha256,
    )
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError:
        # The same form, sent twice at once, committed first (or the round was answered meanwhile).
        existing = await find_by_client_uuid(db, SurveyResponse, client_uuid)
        if existing is not None:
            return answer_retry(existing, actor=actor, sha256=sha256, different=_different())
        raise Refused(_answered(), field="form", status_code=409) from None
    await audit.record(
        db,
        actor=actor,
        action="pillar.survey_answered",
        subject=row,
        change={"file_id": file.id, "round": draft.round.value, "on_paper": draft.on_paper},
        programme_id=file.programme_id,
    )
    return Submitted(row, created=True)
