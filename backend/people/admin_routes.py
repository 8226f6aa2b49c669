"""Programmes and their area trees: the administrator creates programmes, their staff keep the rules
and the areas. Thin handlers over people/service.py; who may is people/admin_policy.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Forbidden, Refused
from backend.i18n import gettext as _
from backend.people import admin_policy as policy
from backend.people import service
from backend.people.admin_forms import (
    TIME_ZONES,
    ProgrammeForm,
    parse_area_form,
    parse_programme_form,
    parse_rules,
)
from backend.people.models import Area, AreaLevel, Programme
from backend.people.policy import area_and_below
from backend.settlement.rate_service import rate_history


@dataclass
class TreeRow:
    area: Area
    # Why it cannot close (area_in_use), shown beside its close button after a refusal.
    error: str | None = None
    children: list[TreeRow] = field(default_factory=list)


@get("/programmes", name="people.programmes")
async def programmes(db: NamedDependency[AsyncSession], user: NamedDependency[Principal]) -> Template:
    if not policy.may_see_organisation(user):
        raise Forbidden()
    return Template(
        template_name="people/programmes.html",
        context={
            "principal": user,
            "programmes": await policy.programmes_managed_by(db, user),
            "may_create": policy.may_create_programmes(user),
        },
    )


async def _new_page(
    db: AsyncSession, user: Principal, form: ProgrammeForm | None = None, *, status_code: int = 200
) -> Template:
    roots = await db.scalars(
        select(Area).where(Area.parent_id.is_(None), Area.closed_at.is_(None)).order_by(Area.name)
    )
    form = form or ProgrammeForm()
    return Template(
        template_name="people/programme_new.html",
        context={
            "principal": user,
            "form": form,
            "raw": form.raw,
            "errors": form.errors,
            "roots": list(roots),
            "kinds": policy.BUILT_KINDS,
            "levels": list(AreaLevel),
            "time_zones": TIME_ZONES,
        },
        status_code=status_code,
    )


@get("/programmes/new", name="people.programme_new")
async def programme_new(db: NamedDependency[AsyncSession], user: NamedDependency[Principal]) -> Template:
    policy.require(policy.may_create_programmes(user))
    return await _new_page(db, user)


@post("/programmes", name="people.programme_create")
async def programme_create(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template | Redirect:
    policy.require(policy.may_create_programmes(user))
    form = parse_programme_form(await request.form())
    area = None
    if form.area_id is not None:
        area = await db.scalar(select(Area).where(Area.id == form.area_id, Area.parent_id.is_(None)))
        if area is None:
            form.errors["area_id"] = _("Choose an area from the list, or type a new one.")
    if form.errors or form.kind is None:
        return await _new_page(db, user, form, status_code=422)
    step = "area"
    try:
        # One savepoint: a new area is not kept when the programme is then refused.
        async with db.begin_nested():
            if area is None:
                area = await service.do_create_area(
                    db, name=form.new_area_name, parent=None, level=form.new_area_level, actor=user
                )
            step = "programme"
            programme = await service.do_create_programme(
                db,
                name=form.name,
                kind=form.kind,
                area=area,
                actor=user,
                time_zone=form.time_zone,
                rules=form.rules,
            )
    except Refused as exc:
        renamed = {"name": "new_area_name", "level": "new_area_level"} if step == "area" else {}
        field = renamed.get(exc.field, exc.field)
        form.errors[field] = str(exc.detail)
        return await _new_page(db, user, form, status_code=exc.status_code)
    return Redirect(request.app.route_reverse("people.programme", programme_id=programme.id), status_code=303)


async def _programme_page(
    db: AsyncSession,
    user: Principal,
    programme: Programme,
    *,
    errors: dict[str, str] | None = None,
    raw: dict[str, str] | None = None,
    area_errors: dict[int, str] | None = None,
    status_code: int = 200,
) -> Template:
    areas = list(
        await db.scalars(select(Area).where(area_and_below(programme.area.path)).order_by(Area.path))
    )
    # Siblings by name under their parent, the tree order (paths sort by id, not by name).
    children: dict[int | None, list[Area]] = {}
    for area in areas:
        children.setdefault(area.parent_id if area.id != programme.area_id else None, []).append(area)

    def walk(parent: int | None) -> list[TreeRow]:
        return [
            TreeRow(area, (area_errors or {}).get(area.id), walk(area.id))
            for area in sorted(children.get(parent, []), key=lambda a: a.name)
        ]

    rows = walk(None)
    return Template(
        template_name="people/programme.html",
        context={
            "principal": user,
            "programme": programme,
            "rows": rows,
            "errors": errors or {},
            "raw": raw or {},
            "may_add_users": bool(policy.roles_to_add(user, programme)),
            # Dated rates (issue 19): what each month from then on pays.
            "rates": await rate_history(db, programme.id),
        },
        status_code=status_code,
    )


@get("/programmes/{programme_id:int}", name="people.programme")
async def programme_detail(
    programme_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    programme = await policy.get_programme_for(db, user, programme_id)
    return await _programme_page(db, user, programme)


@post("/programmes/{programme_id:int}/rules", name="people.programme_rules")
async def programme_rules(
    request: Request[Any, Any, Any],
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    programme = await policy.get_programme_for(db, user, programme_id)
    form = parse_rules(await request.form(), programme.kind)
    if not form.errors:
        try:
            await service.do_set_programme_rules(db, programme, form.rules, actor=user)
        except Refused as exc:
            form.errors[exc.field] = str(exc.detail)
    if form.errors:
        return await _programme_page(db, user, programme, errors=form.errors, raw=form.raw, status_code=422)
    return Redirect(request.app.route_reverse("people.programme", programme_id=programme.id), status_code=303)


@post("/programmes/{programme_id:int}/areas", name="people.area_add")
async def area_add(
    request: Request[Any, Any, Any],
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    programme = await policy.get_programme_for(db, user, programme_id)
    form = parse_area_form(await request.form())
    parent = await db.get(Area, form.parent_id) if form.parent_id is not None else None
    if parent is None or not parent.path.startswith(programme.area.path):
        form.errors["parent_id"] = _("Choose the area it is in.")
    if not form.errors and parent is not None:
        try:
            await service.do_create_area(db, name=form.name, parent=parent, level=form.level, actor=user)
        except Refused as exc:
            form.errors[exc.field] = str(exc.detail)
    if form.errors:
        key = f"add-{form.parent_id}"
        message = next(iter(form.errors.values()))
        return await _programme_page(db, user, programme, errors={key: message}, status_code=422)
    return Redirect(request.app.route_reverse("people.programme", programme_id=programme.id), status_code=303)


async def _area_action(
    request: Request[Any, Any, Any], db: AsyncSession, user: Principal, area_id: int, action: str
) -> Template | Redirect:
    area, programme = await policy.get_area_for(db, user, area_id)
    data = await request.form()
    try:
        if action == "rename":
            await service.do_rename_area(db, area, name=str(data.get("name") or ""), actor=user)
        elif action == "close":
            await service.do_close_area(db, area, actor=user)
        else:
            await service.do_reopen_area(db, area, actor=user)
    except Refused as exc:
        return await _programme_page(
            db, user, programme, area_errors={area.id: str(exc.detail)}, status_code=exc.status_code
        )
    return Redirect(request.app.route_reverse("people.programme", programme_id=programme.id), status_code=303)


@post("/areas/{area_id:int}/rename", name="people.area_rename")
async def area_rename(
    request: Request[Any, Any, Any],
    area_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    return await _area_action(request, db, user, area_id, "rename")


@post("/areas/{area_id:int}/close", name="people.area_close")
async def area_close(
    request: Request[Any, Any, Any],
    area_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    return await _area_action(request, db, user, area_id, "close")


@post("/areas/{area_id:int}/reopen", name="people.area_reopen")
async def area_reopen(
    request: Request[Any, Any, Any],
    area_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    return await _area_action(request, db, user, area_id, "reopen")


routes = [
    programmes,
    programme_new,
    programme_create,
    programme_detail,
    programme_rules,
    area_add,
    area_rename,
    area_close,
    area_reopen,
]
