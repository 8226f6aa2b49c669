"""Staff keep the programme's service packages (and their items) and its assessment dimensions, as they
keep the visit checklist: add, rename, retire. A retired one stays on the plans and assessments that
used it; the words are data (stored as typed), and the audit trail keeps ids only.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.cases.models import CaseDimension, ServiceItem, ServicePackage
from backend.db import utcnow
from backend.errors import Refused
from backend.i18n import gettext as _
from backend.people.models import Programme

MIN_LABEL_CHARS, MAX_LABEL_CHARS = 2, 80
MAX_ACTIVE = 40


def clean_label(raw: str, *, field: str = "label") -> str:
    label = " ".join(unicodedata.normalize("NFC", raw[:400]).split())
    if not MIN_LABEL_CHARS <= len(label) <= MAX_LABEL_CHARS:
        raise Refused(
            _("Write the name in %(low)s to %(high)s characters.")
            % {"low": MIN_LABEL_CHARS, "high": MAX_LABEL_CHARS},
            field=field,
            status_code=400,
        )
    return label


def _taken(field: str) -> Refused:
    return Refused(_("This name is already in use here (perhaps retired)."), field=field, status_code=409)


def _retired(field: str) -> Refused:
    return Refused(_("This has been retired."), field=field, status_code=409)


async def _next_position(db: AsyncSession, column: Any, *where: Any) -> int:
    last = await db.scalar(select(func.max(column)).where(*where))
    return (last if last is not None else -1) + 1


async def _count_active(db: AsyncSession, model: Any, *where: Any) -> int:
    return (await db.scalar(select(func.count(model.id)).where(model.retired_at.is_(None), *where))) or 0


# ---- packages ----


async def do_add_package(
    db: AsyncSession, programme: Programme, name: str, *, actor: Actor
) -> ServicePackage:
    name = clean_label(name, field="package_name")
    if await _count_active(db, ServicePackage, ServicePackage.programme_id == programme.id) >= MAX_ACTIVE:
        raise Refused(_("Retire one first: there are too many."), field="package_name", status_code=409)
    if await db.scalar(
        select(ServicePackage.id).where(
            ServicePackage.programme_id == programme.id, ServicePackage.name == name
        )
    ):
        raise _taken("package_name")
    package = ServicePackage(
        programme_id=programme.id,
        name=name,
        position=await _next_position(
            db, ServicePackage.position, ServicePackage.programme_id == programme.id
        ),
    )
    db.add(package)
    await db.flush()
    await audit.record(
        db, actor=actor, action="cases.package_added", subject=programme, change={"package_id": package.id}
    )
    return package


async def do_rename_package(
    db: AsyncSession, package: ServicePackage, name: str, *, actor: Actor
) -> ServicePackage:
    field = f"package-{package.id}"
    if package.retired_at is not None:
        raise _retired(field)
    name = clean_label(name, field=field)
    if name == package.name:
        return package
    if await db.scalar(
        select(ServicePackage.id).where(
            ServicePackage.programme_id == package.programme_id,
            ServicePackage.name == name,
            ServicePackage.id != package.id,
        )
    ):
        raise _taken(field)
    package.name = name
    await db.flush()
    await audit.record(
        db, actor=actor, action="cases.package_renamed", subject=package, change={"package_id": package.id}
    )
    return package


async def do_retire_package(db: AsyncSession, package: ServicePackage, *, actor: Actor) -> ServicePackage:
    if package.retired_at is None:
        package.retired_at = utcnow()
        await db.flush()
        await audit.record(
            db,
            actor=actor,
            action="cases.package_retired",
            subject=package,
            change={"package_id": package.id},
        )
    return package


# ---- items of a package ----


async def do_add_item(db: AsyncSession, package: ServicePackage, label: str, *, actor: Actor) -> ServiceItem:
    field = f"new-item-{package.id}"
    if package.retired_at is not None:
        raise _retired(field)
    label = clean_label(label, field=field)
    if await _count_active(db, ServiceItem, ServiceItem.package_id == package.id) >= MAX_ACTIVE:
        raise Refused(_("Retire one first: there are too many."), field=field, status_code=409)
    if await db.scalar(
        select(ServiceItem.id).where(ServiceItem.package_id == package.id, ServiceItem.label == label)
    ):
        raise _taken(field)
    item = ServiceItem(
        package_id=package.id,
        programme_id=package.programme_id,
        label=label,
        position=await _next_position(db, ServiceItem.position, ServiceItem.package_id == package.id),
    )
    db.add(item)
    await db.flush()
    await audit.record(
        db, actor=actor, action="cases.item_added", subject=item, change={"package_id": package.id}
    )
    return item


async def do_rename_item(db: AsyncSession, item: ServiceItem, label: str, *, actor: Actor) -> ServiceItem:
    field = f"item-{item.id}"
    if item.retired_at is not None:
        raise _retired(field)
    label = clean_label(label, field=field)
    if label == item.label:
        return item
    if await db.scalar(
        select(ServiceItem.id).where(
            ServiceItem.package_id == item.package_id, ServiceItem.label == label, ServiceItem.id != item.id
        )
    ):
        raise _taken(field)
    item.label = label
    await db.flush()
    await audit.record(
        db, actor=actor, action="cases.item_renamed", subject=item, change={"package_id": item.package_id}
    )
    return item


async def do_retire_item(db: AsyncSession, item: ServiceItem, *, actor: Actor) -> ServiceItem:
    if item.retired_at is None:
        item.retired_at = utcnow()
        await db.flush()
        await audit.record(
            db, actor=actor, action="cases.item_retired", subject=item, change={"package_id": item.package_id}
        )
    return item


# ---- assessment dimensions ----


async def do_add_dimension(
    db: AsyncSession, programme: Programme, label: str, *, actor: Actor
) -> CaseDimension:
    label = clean_label(label, field="label")
    if await _count_active(db, CaseDimension, CaseDimension.programme_id == programme.id) >= MAX_ACTIVE:
        raise Refused(_("Retire one first: there are too many."), field="label", status_code=409)
    if await db.scalar(
        select(CaseDimension.id).where(
            CaseDimension.programme_id == programme.id, CaseDimension.label == label
        )
    ):
        raise _taken("label")
    position = await _next_position(db, CaseDimension.position, CaseDimension.programme_id == programme.id)
    dimension = CaseDimension(
        programme_id=programme.id, code=f"custom_{position}", label=label, position=position
    )
    # A code is unique per programme; a custom one follows the position, which only grows.
    while await db.scalar(
        select(CaseDimension.id).where(
            CaseDimension.programme_id == programme.id, CaseDimension.code == dimension.code
        )
    ):
        position += 1
        dimension.code, dimension.position = f"custom_{position}", position
    db.add(dimension)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="cases.dimension_added",
        subject=programme,
        change={"dimension_id": dimension.id},
    )
    return dimension


async def do_rename_dimension(
    db: AsyncSession, dimension: CaseDimension, label: str, *, actor: Actor
) -> CaseDimension:
    field = f"dimension-{dimension.id}"
    if dimension.retired_at is not None:
        raise _retired(field)
    label = clean_label(label, field=field)
    if label == dimension.label:
        return dimension
    if await db.scalar(
        select(CaseDimension.id).where(
            CaseDimension.programme_id == dimension.programme_id,
            CaseDimension.label == label,
            CaseDimension.id != dimension.id,
        )
    ):
        raise _taken(field)
    dimension.label = label
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="cases.dimension_renamed",
        subject=dimension,
        change={"dimension_id": dimension.id},
    )
    return dimension


async def do_retire_dimension(db: AsyncSession, dimension: CaseDimension, *, actor: Actor) -> CaseDimension:
    if dimension.retired_at is None:
        dimension.retired_at = utcnow()
        await db.flush()
        await audit.record(
            db,
            actor=actor,
            action="cases.dimension_retired",
            subject=dimension,
            change={"dimension_id": dimension.id},
        )
    return dimension
