"""Staff of a case-work programme keep its service packages and assessment dimensions (plain forms).

One POST route per page: the form's `action` says which change, and the package, item or dimension
is named by an id in the form and looked up inside the programme (another programme's id is a 404).
Other members of the programme get 403; anyone else, and any programme that is not case work, 404.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.cases import config_service as config
from backend.cases.case_forms import number, text
from backend.cases.models import CaseDimension, ServiceItem, ServicePackage
from backend.cases.policy import CASE_KINDS
from backend.errors import Forbidden, NotFound, Refused
from backend.i18n import gettext as _
from backend.people.models import Programme
from backend.people.policy import visible_programmes


async def _programme(db: AsyncSession, user: Principal, programme_id: int) -> Programme:
    programme = await db.scalar(
        select(Programme).where(
            Programme.id == programme_id, Programme.kind.in_(CASE_KINDS), visible_programmes(user)
        )
    )
    if programme is None:
        raise NotFound()
    if not (user.is_admin or programme.id in user.staff_programme_ids):
        raise Forbidden()
    return programme


async def _packages_page(
    db: AsyncSession,
    user: Principal,
    programme: Programme,
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Template:
    packages = list(
        await db.scalars(
            select(ServicePackage)
            .where(ServicePackage.programme_id == programme.id)
            .order_by(ServicePackage.position, ServicePackage.id)
            .options(selectinload(ServicePackage.items))
        )
    )
    context: dict[str, Any] = {
        "principal": user,
        "programme": programme,
        "active": [p for p in packages if p.retired_at is None],
        "retired": [p for p in packages if p.retired_at is not None],
        "errors": errors or {},
        "saved": saved,
        "max_chars": config.MAX_LABEL_CHARS,
    }
    return Template(template_name="cases/config_packages.html", context=context, status_code=status_code)


@get("/programmes/{programme_id:int}/packages", name="cases.packages")
async def packages_page(
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    saved: FromQuery[int] = 0,
) -> Template:
    return await _packages_page(db, user, await _programme(db, user, programme_id), saved=bool(saved))


async def _package(db: AsyncSession, programme: Programme, package_id: int | None) -> ServicePackage:
    package = await db.scalar(
        select(ServicePackage).where(
            ServicePackage.id == (package_id or 0), ServicePackage.programme_id == programme.id
        )
    )
    if package is None:
        raise NotFound()
    return package


async def _item(db: AsyncSession, programme: Programme, item_id: int | None) -> ServiceItem:
    item = await db.scalar(
        select(ServiceItem).where(ServiceItem.id == (item_id or 0), ServiceItem.programme_id == programme.id)
    )
    if item is None:
        raise NotFound()
    return item


@post("/programmes/{programme_id:int}/packages", name="cases.packages_change")
async def packages_change(
    request: Request[Any, Any, Any],
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    programme = await _programme(db, user, programme_id)
    form = await request.form()
    action, name = text(form, "action", 20), text(form, "name", 400)
    try:
        if action == "add_package":
            await config.do_add_package(db, programme, name, actor=user)
        elif action == "rename_package":
            await config.do_rename_package(
                db, await _package(db, programme, number(form, "package_id")), name, actor=user
            )
        elif action == "retire_package":
            await config.do_retire_package(
                db, await _package(db, programme, number(form, "package_id")), actor=user
            )
        elif action == "add_item":
            package = await _package(db, programme, number(form, "package_id"))
            await config.do_add_item(db, package, name, actor=user)
        elif action == "rename_item":
            await config.do_rename_item(
                db, await _item(db, programme, number(form, "item_id")), name, actor=user
            )
        elif action == "retire_item":
            await config.do_retire_item(db, await _item(db, programme, number(form, "item_id")), actor=user)
        else:
            raise Refused(_("Choose what to change."), field="form", status_code=400)
    except Refused as exc:
        return await _packages_page(
            db, user, programme, errors={exc.field: str(exc.detail)}, status_code=exc.status_code
        )
    url = request.app.route_reverse("cases.packages", programme_id=programme.id)
    return Redirect(f"{url}?saved=1", status_code=303)


async def _dimensions_page(
    db: AsyncSession,
    user: Principal,
    programme: Programme,
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Template:
    dimensions = list(
        await db.scalars(
            select(CaseDimension)
            .where(CaseDimension.programme_id == programme.id)
            .order_by(CaseDimension.position, CaseDimension.id)
        )
    )
    context: dict[str, Any] = {
        "principal": user,
        "programme": programme,
        "active": [d for d in dimensions if d.retired_at is None],
        "retired": [d for d in dimensions if d.retired_at is not None],
        "errors": errors or {},
        "saved": saved,
        "max_chars": config.MAX_LABEL_CHARS,
    }
    return Template(template_name="cases/config_dimensions.html", context=context, status_code=status_code)


@get("/programmes/{programme_id:int}/dimensions", name="cases.dimensions")
async def dimensions_page(
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    saved: FromQuery[int] = 0,
) -> Template:
    return await _dimensions_page(db, user, await _programme(db, user, programme_id), saved=bool(saved))


@post("/programmes/{programme_id:int}/dimensions", name="cases.dimensions_change")
async def dimensions_change(
    request: Request[Any, Any, Any],
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    programme = await _programme(db, user, programme_id)
    form = await request.form()
    action, label = text(form, "action", 20), text(form, "label", 400)
    try:
        if action == "add":
            await config.do_add_dimension(db, programme, label, actor=user)
        elif action in ("rename", "retire"):
            dimension = await db.scalar(
                select(CaseDimension).where(
                    CaseDimension.id == (number(form, "dimension_id") or 0),
                    CaseDimension.programme_id == programme.id,
                )
            )
            if dimension is None:
                raise NotFound()
            if action == "rename":
                await config.do_rename_dimension(db, dimension, label, actor=user)
            else:
                await config.do_retire_dimension(db, dimension, actor=user)
        else:
            raise Refused(_("Choose what to change."), field="form", status_code=400)
    except Refused as exc:
        return await _dimensions_page(
            db, user, programme, errors={exc.field: str(exc.detail)}, status_code=exc.status_code
        )
    url = request.app.route_reverse("cases.dimensions", programme_id=programme.id)
    return Redirect(f"{url}?saved=1", status_code=303)


routes = [packages_page, packages_change, dimensions_page, dimensions_change]
