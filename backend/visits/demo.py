"""The demo's caring-mother side: the programme's checklist, pairings that began two months ago, and a
few past visits (waiting for review), so the home page shows who is due and who is overdue, and last
month's street meeting of Wutong Street."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.people.models import Area, Membership, Person, Programme, Role, User
from backend.visits.checklist_service import checklist_for, do_seed_checklist
from backend.visits.meeting_service import MeetingDraft, do_record_meeting
from backend.visits.models import ConsentMethod, MeetingLevel, NeedArea, Pairing, ReferralSource
from backend.visits.profile_service import ChildIntake, do_record_child_profile, do_set_mother_profile
from backend.visits.service import VisitDraft, do_log_visit

PAIRED_DAYS_AGO = 60
# Last month's street meeting of Wutong Street, recorded by its social worker: both its mothers came.
MEETING_DAYS_AGO = 15
MEETING = (
    "demo-sw-li",
    ("demo-mother-wang", "demo-mother-liu"),
    2,
    "王秀英分享了陪伴阅读的经验；刘芳带朵朵参加了社区手工活动。",
    "周末有的孩子无人照看，希望街道协调关爱空间开放时间。",
)
# (child key, days ago, minutes, need areas, checklist positions, note)
PAST_VISITS = [
    (
        "xiaoyu",
        40,
        90,
        (NeedArea.DAILY_LIFE, NeedArea.MIND_CHARACTER),
        (1, 6),
        "一起整理了书包，读了两本绘本。",
    ),
    ("xiaoyu", 12, 60, (NeedArea.MIND_CHARACTER,), (7,), "数学作业有进步，约好下次去图书馆。"),
    (
        "duoduo",
        38,
        75,
        (NeedArea.SOCIAL_INTEGRATION, NeedArea.FAMILY_EDUCATION),
        (11, 16),
        "陪朵朵参加社区手工活动。",
    ),
]


# Mothers' offers (handle, need areas, skills, capacity) and children's needs (key, source, needs).
MOTHER_PROFILES = [
    ("demo-mother-wang", (NeedArea.DAILY_LIFE, NeedArea.MIND_CHARACTER), "绘本阅读", 1),
    ("demo-mother-liu", (NeedArea.SOCIAL_INTEGRATION, NeedArea.FAMILY_EDUCATION), "围棋社", 1),
    ("demo-mother-zhang", (NeedArea.MIND_CHARACTER, NeedArea.FAMILY_EDUCATION), "心理咨询", 2),
]
CHILD_PROFILES = [
    ("xiaoyu", ReferralSource.SCHOOL, (NeedArea.DAILY_LIFE, NeedArea.MIND_CHARACTER), "demo-sw-li"),
    ("duoduo", ReferralSource.STREET_OFFICE, (NeedArea.SOCIAL_INTEGRATION,), "demo-sw-li"),
    ("lele", ReferralSource.PETITION, (NeedArea.MIND_CHARACTER, NeedArea.FAMILY_EDUCATION), "demo-sw-chen"),
    ("xiaoqi", ReferralSource.SURVEY, (NeedArea.DAILY_LIFE, NeedArea.MIND_CHARACTER), "demo-sw-li"),
]


async def create_visits_demo(
    db: AsyncSession,
    *,
    programme: Programme,
    pairings: dict[str, Pairing],
    children: dict[str, Person],
    users: dict[str, User],
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    await do_seed_checklist(db, programme, actor=None)
    for handle, offers, skills, capacity in MOTHER_PROFILES:
        await do_set_mother_profile(
            db, users[handle], programme, offers=offers, skills=skills, capacity=capacity, actor=None
        )
    today = now.date()
    for key, source, needs, worker in CHILD_PROFILES:
        intake = ChildIntake(
            source, needs, today - timedelta(days=PAIRED_DAYS_AGO + 7), ConsentMethod.SIGNED_FORM
        )
        await do_record_child_profile(db, children[key], intake, actor=users[worker], today=today)
    for pairing in pairings.values():
        # The demo pairings have been running for two months (set before any visit refers to them).
        pairing.started_at = now - timedelta(days=PAIRED_DAYS_AGO)
    items = await checklist_for(db, programme.id)
    for key, days_ago, minutes, areas, positions, note in PAST_VISITS:
        pairing = pairings[key]
        visited_at = (now - timedelta(days=days_ago)).replace(second=0, microsecond=0)
        draft = VisitDraft(
            pairing_id=pairing.id,
            visited_at=visited_at,
            duration_minutes=minutes,
            need_areas=areas,
            checklist=tuple(i.label for i in items if i.position in positions),
            note=note,
            photo_uuids=(),
        )
        await do_log_visit(
            db,
            pairing,
            draft,
            [],
            client_uuid=uuid.uuid4(),
            actor=await db.get_one(User, pairing.mother_id),
            now=visited_at + timedelta(hours=2),
        )
    await _demo_meeting(db, programme, users, today=now.astimezone(ZoneInfo(programme.time_zone)).date())


async def _demo_meeting(
    db: AsyncSession, programme: Programme, users: dict[str, User], *, today: date
) -> None:
    worker, mothers, others, results, problems = MEETING
    street = await db.scalar(
        select(Area)
        .join(Membership, Membership.area_id == Area.id)
        .where(
            Membership.user_id == users[worker].id,
            Membership.programme_id == programme.id,
            Membership.role == Role.SOCIAL_WORKER,
        )
    )
    assert street is not None
    draft = MeetingDraft(
        level=MeetingLevel.STREET_MONTHLY,
        held_on=today - timedelta(days=MEETING_DAYS_AGO),
        attendee_ids=tuple(users[m].id for m in mothers),
        others_count=others,
        results=results,
        problems=problems,
    )
    await do_record_meeting(db, programme, street, draft, actor=users[worker], today=today)
