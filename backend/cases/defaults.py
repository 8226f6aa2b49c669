"""What a new social-work-station programme starts with: its assessment dimensions and service packages
(the province's four packages). Staff edit both afterwards (cases/config_service.py). The words are
stored in Chinese, the scheme's own; they are data, like the visit checklist, not interface text."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.cases.models import CaseDimension, ServiceItem, ServicePackage
from backend.people.models import Programme, ProgrammeKind

STATION_DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("physical_health", "身体健康"),
    ("psychological", "心理状况"),
    ("social_relations", "社会关系"),
    ("living_conditions", "生活环境"),
    ("employment_income", "就业与收入"),
    ("education", "教育"),
)

STATION_PACKAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("未成年人成长", ("课业辅导", "亲子沟通指导", "心理疏导", "安全教育")),
    ("老年人关爱", ("探访陪伴", "生活照料协助", "健康监测", "精神慰藉")),
    ("残疾人帮扶", ("康复训练协助", "辅具申请协助", "就业支持")),
    ("资源链接", ("政策咨询", "救助申请协助", "转介服务", "志愿者对接")),
)


async def do_seed_defaults(db: AsyncSession, programme: Programme, *, actor: Actor | None) -> bool:
    """Give a social-work-station programme its default dimensions and packages, once (a programme that
    already has dimensions is left alone). Returns whether anything was added."""
    if programme.kind is not ProgrammeKind.SOCIAL_WORK_STATION:
        return False
    existing = await db.scalar(select(func.count()).where(CaseDimension.programme_id == programme.id))
    if existing:
        return False
    for position, (code, label) in enumerate(STATION_DIMENSIONS):
        db.add(CaseDimension(programme_id=programme.id, code=code, label=label, position=position))
    for position, (name, items) in enumerate(STATION_PACKAGES):
        package = ServicePackage(programme_id=programme.id, name=name, position=position)
        db.add(package)
        await db.flush()
        for item_position, label in enumerate(items):
            db.add(
                ServiceItem(
                    package_id=package.id, programme_id=programme.id, label=label, position=item_position
                )
            )
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="cases.defaults_seeded",
        subject=programme,
        change={"dimensions": len(STATION_DIMENSIONS), "packages": len(STATION_PACKAGES)},
    )
    return True
