"""What erasing a person (people/erasure.py) clears in case work: the words written about her.

A station case's and a pillar mother's file keep their ids, dates, stages, ratings, levels, minutes,
statuses and hashes, so the figures and the audit chain still add up; the free text goes: the order's
description and contact, assessment and rating notes, goals, delivery and review notes, the close
note, and for a pillar mother her profile notes, her needs' words, her group's contact notes and her
survey comment. Photos of her are removed by the caller with her other photos: those that carry her
as subject, and the photos of contacts with her (`contact_photos_of`: they are sent about nobody,
since a group member may not send photos about her person record). A case still open refuses the
erasure: close it first, as an active pairing must end first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case as sa_case
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.models import (
    Assessment,
    AssessmentRating,
    Case,
    CaseOrder,
    CaseStatus,
    Delivery,
    Goal,
)
from backend.i18n import lazy_gettext as _l
from backend.pillar.models import Contact, Need, PillarFile, ProfileVersion, SurveyResponse


def _cases(person_id: int) -> Any:
    return select(Case.id).where(Case.person_id == person_id)


def _files(person_id: int) -> Any:
    return select(PillarFile.id).where(PillarFile.case_id.in_(_cases(person_id)))


def contact_photos_of(person_id: int) -> Any:
    """Photos of the contacts with a pillar mother (sent about nobody, so not found by their subject)."""
    return select(Contact.photo_id).where(
        Contact.file_id.in_(_files(person_id)), Contact.photo_id.is_not(None)
    )


async def _count(db: AsyncSession, model: Any, *where: Any) -> int:
    return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def open_case_refusal(db: AsyncSession, person_id: int) -> str | None:
    if await _count(db, Case, Case.person_id == person_id, Case.status != CaseStatus.CLOSED):
        return str(_l("This person still has an open case: close it first."))
    return None


async def case_texts_going(db: AsyncSession, person_id: int) -> list[tuple[str, int]]:
    """The lines of the erasure's dry run: what goes, with how many rows."""
    cases, files = _cases(person_id), _files(person_id)
    lines = [
        (
            str(_l("Case notes: requests, assessments, goals, service deliveries")),
            await _count(db, Assessment, Assessment.case_id.in_(cases))
            + await _count(db, Goal, Goal.case_id.in_(cases))
            + await _count(db, Delivery, Delivery.case_id.in_(cases)),
        ),
        (
            str(_l("Pillar-mother file: profile notes, needs, contact notes, survey comments")),
            await _count(db, ProfileVersion, ProfileVersion.file_id.in_(files))
            + await _count(db, Need, Need.file_id.in_(files))
            + await _count(db, Contact, Contact.file_id.in_(files))
            + await _count(db, SurveyResponse, SurveyResponse.file_id.in_(files)),
        ),
    ]
    return [(label, n) for label, n in lines if n]


async def clear_case_texts(db: AsyncSession, person_id: int) -> None:
    cases, files = _cases(person_id), _files(person_id)
    orders = select(Case.order_id).where(Case.person_id == person_id, Case.order_id.is_not(None))
    await db.execute(update(CaseOrder).where(CaseOrder.id.in_(orders)).values(description="", contact=""))
    await db.execute(update(Case).where(Case.id.in_(cases)).values(close_note=None))
    assessments = select(Assessment.id).where(Assessment.case_id.in_(cases))
    await db.execute(update(Assessment).where(Assessment.id.in_(assessments)).values(note=""))
    await db.execute(
        update(AssessmentRating).where(AssessmentRating.assessment_id.in_(assessments)).values(note="")
    )
    await db.execute(update(Goal).where(Goal.case_id.in_(cases)).values(text="", outcome_note=None))
    await db.execute(
        update(Delivery).where(Delivery.case_id.in_(cases)).values(note="", delivered_by="", review_note=None)
    )
    # An "other" qualification must keep a note (a CHECK): it becomes empty words, not NULL.
    await db.execute(
        update(ProfileVersion)
        .where(ProfileVersion.file_id.in_(files))
        .values(qualification_note=sa_case((ProfileVersion.qualification_note.is_(None), None), else_=""))
    )
    await db.execute(
        update(ProfileVersion).where(ProfileVersion.file_id.in_(files)).values(household_note="")
    )
    await db.execute(update(Need).where(Need.file_id.in_(files)).values(text=""))
    await db.execute(update(Contact).where(Contact.file_id.in_(files)).values(note=""))
    await db.execute(update(SurveyResponse).where(SurveyResponse.file_id.in_(files)).values(comment=""))
