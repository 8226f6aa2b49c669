"""The demo's caring-mother side: the programme's checklist, pairings that began two months ago, and a
few past visits (waiting for review), so the home page shows who is due and who is overdue."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.people.models import Programme, User
from backend.visits.checklist import checklist_for, do_seed_checklist
from backend.visits.models import NeedArea, Pairing
from backend.visits.service import VisitDraft, do_log_visit

PAIRED_DAYS_AGO = 60
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


async def create_visits_demo(
    db: AsyncSession, *, programme: Programme, pairings: dict[str, Pairing], now: datetime | None = None
) -> None:
    now = now or utcnow()
    await do_seed_checklist(db, programme, actor=None)
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
