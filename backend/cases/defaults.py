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
from backend.pillar.defaults import do_seed_criteria

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


# The pillar-mother scheme's five dimensions and its packages; each item says what a delivery of it
# counts as in the figures (ServiceItem.measure): a training, a job found, a counselling session, a
# lecture, home help or material aid.
PILLAR_DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("employment", "就业创业"),
    ("family_education", "家庭教育"),
    ("counselling", "心理疏导"),
    ("humane_care", "人文关怀"),
    ("living_conditions", "生活改善"),
)

PILLAR_PACKAGES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("就业帮扶", (("技能培训", "training"), ("岗位推荐", "job"), ("创业指导", "training"))),
    ("家庭教育", (("家庭教育讲座", "lecture"), ("亲子活动", "lecture"))),
    ("心理疏导", (("个体心理咨询", "counselling"), ("团体辅导", "counselling"))),
    ("人文关怀", (("节日慰问", "home_help"), ("上门探访", "home_help"))),
    ("生活改善", (("居家帮扶", "home_help"), ("物资援助", "material_aid"))),
)


def _defaults_of(
    kind: ProgrammeKind,
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, tuple[tuple[str, str | None], ...]], ...]] | None:
    if kind is ProgrammeKind.SOCIAL_WORK_STATION:
        return STATION_DIMENSIONS, tuple(
            (name, tuple((label, None) for label in items)) for name, items in STATION_PACKAGES
        )
    if kind is ProgrammeKind.PILLAR_MOTHERS:
        return PILLAR_DIMENSIONS, PILLAR_PACKAGES
    return None


async def do_seed_defaults(db: AsyncSession, programme: Programme, *, actor: Actor | None) -> bool:
    """Give a case-work programme (station or pillar mothers) its default dimensions and packages, once
    (a programme that already has dimensions is left alone). Returns whether anything was added."""
    defaults = _defaults_of(programme.kind)
    if defaults is None:
        return False
    dimensions, packages = defaults
    existing = await db.scalar(select(func.count()).where(CaseDimension.programme_id == programme.id))
    if existing:
        return False
    for position, (code, label) in enumerate(dimensions):
        db.add(CaseDimension(programme_id=programme.id, code=code, label=label, position=position))
    for position, (name, items) in enumerate(packages):
        package = ServicePackage(programme_id=programme.id, name=name, position=position)
        db.add(package)
        await db.flush()
        for item_position, (label, measure) in enumerate(items):
            db.add(
                ServiceItem(
                    package_id=package.id,
                    programme_id=programme.id,
                    label=label,
                    position=item_position,
                    measure=measure,
                )
            )
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="cases.defaults_seeded",
        subject=programme,
        change={"dimensions": len(dimensions), "packages": len(packages)},
    )
    if programme.kind is ProgrammeKind.PILLAR_MOTHERS:
        await do_seed_criteria(db, programme, actor=actor)
    return True
