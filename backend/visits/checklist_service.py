"""The programme's checklist of suggestions for a visit: twenty, five in each need area.

They are data, not interface text: a programme's staff reword, add or retire them (stored per
programme in `visit_checklist_item`); these are only the starting list a new programme is given.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.db import utcnow
from backend.i18n import gettext as _
from backend.people.models import Programme
from backend.visits.models import ChecklistItem, NeedArea
from backend.visits.service import VisitRefused

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


# ---- staff keep the list: add, reword, retire (a visit keeps the words it was sent with) ----

MAX_ACTIVE_ITEMS = 40
MIN_LABEL_CHARS, MAX_LABEL_CHARS = 2, 80


def clean_label(raw: str) -> str:
    """NFC (full-width punctuation stays as typed), inner runs of spaces made one, 2 to 80 characters."""
    label = " ".join(unicodedata.normalize("NFC", raw).split())
    if not MIN_LABEL_CHARS <= len(label) <= MAX_LABEL_CHARS:
        raise VisitRefused(
            _("Write the suggestion in %(low)s to %(high)s characters.")
            % {"low": MIN_LABEL_CHARS, "high": MAX_LABEL_CHARS},
            field="label",
        )
    return label


async def _refuse_duplicate(db: AsyncSession, programme_id: int, label: str, *, but: int | None) -> None:
    # The database holds it too (one label per programme, retired ones included); this says it kindly.
    query = select(ChecklistItem.id).where(
        ChecklistItem.programme_id == programme_id, ChecklistItem.label == label
    )
    if but is not None:
        query = query.where(ChecklistItem.id != but)
    if await db.scalar(query.limit(1)) is not None:
        raise VisitRefused(
            _("The checklist already has this suggestion (perhaps retired)."), field="label", status_code=409
        )


async def do_add_checklist_item(
    db: AsyncSession, programme: Programme, *, need_area: NeedArea, label: str, actor: Actor
) -> ChecklistItem:
    label = clean_label(label)
    active = await db.scalar(
        select(func.count(ChecklistItem.id)).where(
            ChecklistItem.programme_id == programme.id, ChecklistItem.retired_at.is_(None)
        )
    )
    if (active or 0) >= MAX_ACTIVE_ITEMS:
        raise VisitRefused(
            _("The checklist has %(count)s suggestions already: retire one first.") % {"count": active},
            field="label",
        )
    await _refuse_duplicate(db, programme.id, label, but=None)
    last = await db.scalar(
        select(func.max(ChecklistItem.position)).where(ChecklistItem.programme_id == programme.id)
    )
    item = ChecklistItem(
        programme_id=programme.id, need_area=need_area, label=label, position=(last or 0) + 1
    )
    db.add(item)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="visit_checklist.item_added",
        subject=item,
        # Categories and ids only: the words themselves stay on the item, out of the audit trail.
        change={"programme_id": programme.id, "need_area": need_area.value},
    )
    return item


async def do_reword_checklist_item(
    db: AsyncSession, item: ChecklistItem, *, need_area: NeedArea, label: str, actor: Actor
) -> ChecklistItem:
    """New words for later visits; visits already sent keep the words they were sent with."""
    if item.retired_at is not None:
        raise VisitRefused(_("This suggestion has been retired."), field="label", status_code=409)
    label = clean_label(label)
    await _refuse_duplicate(db, item.programme_id, label, but=item.id)
    # Which fields changed, not the words (they stay on the item, out of the audit trail).
    change = {
        "fields": ["label"] if item.label != label else [],
        "need_area": [item.need_area.value, need_area.value],
    }
    item.label, item.need_area = label, need_area
    await db.flush()
    await audit.record(db, actor=actor, action="visit_checklist.item_reworded", subject=item, change=change)
    return item


async def do_retire_checklist_item(db: AsyncSession, item: ChecklistItem, *, actor: Actor) -> ChecklistItem:
    if item.retired_at is not None:
        raise VisitRefused(_("This suggestion has been retired."), field="label", status_code=409)
    item.retired_at = utcnow()
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="visit_checklist.item_retired",
        subject=item,
        change={"need_area": item.need_area.value},
    )
    return item
