"""The access right for case work (people/export.py calls this): a person's cases with their stages,
assessments, goals, plan items and deliveries, and, for a pillar mother, her file: every profile
version, every need noted, her group's places, the contacts with her and her survey answers. Photos
of her are exported by the caller (they carry her as subject)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.cases.models import (
    Assessment,
    AssessmentRating,
    Case,
    CaseStatusChange,
    Delivery,
    Goal,
    PlanItem,
)
from backend.pillar.models import (
    Contact,
    GroupMember,
    Need,
    PillarFile,
    ProfileVersion,
    SurveyResponse,
)


def _row(obj: Any, *names: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        out[name] = value.value if hasattr(value, "value") and not isinstance(value, int) else value
    return out


async def _all(db: AsyncSession, query: Any) -> list[Any]:
    return list(await db.scalars(query))


async def _file(db: AsyncSession, file: PillarFile) -> dict[str, Any]:
    doc = _row(file, "id", "agency_id", "contact_interval_days", "mother_user_id", "created_at")
    doc["profile_versions"] = [
        _row(
            v,
            "version",
            "qualification",
            "qualification_note",
            "household_note",
            "recorded_at",
            "recorded_by_id",
        )
        for v in await _all(
            db,
            select(ProfileVersion).where(ProfileVersion.file_id == file.id).order_by(ProfileVersion.version),
        )
    ]
    doc["needs"] = [
        _row(n, "dimension_id", "noted_on", "level", "text", "recorded_at", "recorded_by_id")
        for n in await _all(db, select(Need).where(Need.file_id == file.id).order_by(Need.noted_on, Need.id))
    ]
    doc["group"] = [
        _row(m, "user_id", "role", "started_at", "ended_at")
        for m in await _all(
            db, select(GroupMember).where(GroupMember.file_id == file.id).order_by(GroupMember.id)
        )
    ]
    doc["contacts"] = [
        _row(c, "id", "contacted_on", "channel", "minutes", "note", "by_user_id", "photo_id", "submitted_at")
        for c in await _all(
            db, select(Contact).where(Contact.file_id == file.id).order_by(Contact.contacted_on, Contact.id)
        )
    ]
    doc["survey_answers"] = [
        _row(s, "round", "answered_on", "q_overall", "q_group", "q_services", "q_life", "comment", "on_paper")
        for s in await _all(db, select(SurveyResponse).where(SurveyResponse.file_id == file.id))
    ]
    return doc


async def case_documents(db: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    out = []
    for case in await _all(db, select(Case).where(Case.person_id == person_id).order_by(Case.id)):
        doc = _row(
            case, "id", "status", "opened_at", "closed_at", "close_reason", "close_note", "lead_worker_id"
        )
        doc["history"] = [
            _row(c, "from_status", "to_status", "at", "by_id", "reason", "note")
            for c in await _all(
                db,
                select(CaseStatusChange)
                .where(CaseStatusChange.case_id == case.id)
                .order_by(CaseStatusChange.id),
            )
        ]
        assessments = await _all(
            db, select(Assessment).where(Assessment.case_id == case.id).order_by(Assessment.assessed_on)
        )
        doc["assessments"] = []
        for a in assessments:
            entry = _row(a, "id", "assessed_on", "assessed_by_id", "note")
            entry["ratings"] = [
                _row(r, "dimension_id", "rating", "note")
                for r in await _all(
                    db, select(AssessmentRating).where(AssessmentRating.assessment_id == a.id)
                )
            ]
            doc["assessments"].append(entry)
        doc["goals"] = [
            _row(g, "id", "dimension_id", "text", "outcome", "outcome_note", "outcome_at", "retired_at")
            for g in await _all(db, select(Goal).where(Goal.case_id == case.id).order_by(Goal.id))
        ]
        doc["plan_items"] = [
            _row(
                i,
                "id",
                "service_item_id",
                "goal_id",
                "deliverer_kind",
                "deliverer_name",
                "frequency",
                "ended_at",
            )
            for i in await _all(db, select(PlanItem).where(PlanItem.case_id == case.id).order_by(PlanItem.id))
        ]
        doc["deliveries"] = [
            _row(d, "id", "delivered_on", "minutes", "people_count", "at_home", "note", "status", "version")
            for d in await _all(db, select(Delivery).where(Delivery.case_id == case.id).order_by(Delivery.id))
        ]
        file = await db.scalar(select(PillarFile).where(PillarFile.case_id == case.id))
        doc["pillar_file"] = await _file(db, file) if file is not None else None
        out.append(doc)
    return out
