"""The programme's checklist of suggestions for a visit: twenty, five in each need area.

They are data, not interface text: a programme's staff reword, add or retire them (stored per
programme in `visit_checklist_item`); these are only the starting list a new programme is given.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.people.models import Programme
from backend.visits.models import ChecklistItem, NeedArea

DEFAULT_CHECKLIST: dict[NeedArea, tuple[str, ...]] = {
    NeedArea.DAILY_LIFE: (
        "检查衣食和居住是否安全",
        "一起整理房间或书包",
        "提醒按时作息和个人卫生",
        "了解近期身体状况和就医",
        "陪同购买生活必需品",
    ),
    NeedArea.MIND_CHARACTER: (
        "陪伴阅读或讲故事",
        "辅导作业、了解学习情况",
        "聊聊心情和烦恼",
        "表扬进步、一起定小目标",
        "带孩子参加研学或参观",
    ),
    NeedArea.SOCIAL_INTEGRATION: (
        "陪同参加社区或关爱空间活动",
        "鼓励和同伴一起玩",
        "一起参加兴趣小组（如棋类社）",
        "了解与同学、老师的关系",
        "教一项生活或安全技能",
    ),
    NeedArea.FAMILY_EDUCATION: (
        "与监护人交流孩子近况",
        "向监护人介绍家庭教育方法",
        "帮助家庭联系所需资源",
        "鼓励与外出父母视频通话",
        "和监护人一起商量下次安排",
    ),
}


async def do_seed_checklist(db: AsyncSession, programme: Programme, *, actor: Actor | None) -> int:
    """Give a programme the starting checklist, unless it already has one. Returns items added."""
    if await db.scalar(select(ChecklistItem.id).where(ChecklistItem.programme_id == programme.id).limit(1)):
        return 0
    position = 0
    for area, labels in DEFAULT_CHECKLIST.items():
        for label in labels:
            position += 1
            db.add(ChecklistItem(programme_id=programme.id, need_area=area, label=label, position=position))
    await db.flush()
    await audit.record(
        db, actor=actor, action="visit_checklist.seeded", subject=programme, change={"items": position}
    )
    return position


async def checklist_for(db: AsyncSession, programme_id: int) -> list[ChecklistItem]:
    rows = await db.scalars(
        select(ChecklistItem)
        .where(ChecklistItem.programme_id == programme_id, ChecklistItem.retired_at.is_(None))
        .order_by(ChecklistItem.position, ChecklistItem.id)
    )
    return list(rows)
