"""Staff keep the programme's visit checklist: add, reword and retire suggestions (plain forms).

A visit stores the words of the items it was sent with, so rewording or retiring an item never
changes a visit already sent. Social workers and mothers of the programme see the list only inside
the visit form; this page is the staff's (403 for other members, 404 for anyone else).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Forbidden, NotFound
from backend.i18n import gettext as _
from backend.people.models import Programme
from backend.visits import policy
from backend.visits.checklist_service import (
    MAX_LABEL_CHARS,
    do_add_checklist_item,
    do_retire_checklist_item,
    do_reword_checklist_item,
)
from backend.visits.models import ChecklistItem, NeedArea
from backend.visits.service import VisitRefused


async def _programme(db: AsyncSession, user: Principal, programme_id: int) -> Programme:
    programme = await policy.get_mothers_programme_for(db, user, programme_id)
    if not policy.is_staff_of(user, programme.id):
        raise Forbidden()
    return programme


async def _item(db: AsyncSession, user: Principal, item_id: int) -> tuple[ChecklistItem, Programme]:
    item = await db.get(ChecklistItem, item_id)
    if item is None:
        raise NotFound()
    return item, await _programme(db, user, item.programme_id)


async def _page(
    db: AsyncSession,
    user: Principal,
    programme: Programme,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    saved: bool = False,
) -> Template:
    items = list(
        await db.scalars(
            select(ChecklistItem)
            .where(ChecklistItem.programme_id == programme.id)
            .order_by(ChecklistItem.position, ChecklistItem.id)
        )
    )
    context: dict[str, Any] = {
        "principal": user,
        "programme": programme,
        "active": [i for i in items if i.retired_at is None],
        "retired": [i for i in items if i.retired_at is not None],
        "need_areas": list(NeedArea),
        "errors": errors or {},
        "values": values or {"label": "", "need_area": ""},
        "max_chars": MAX_LABEL_CHARS,
        "saved": saved,
    }
    return Template(template_name="visits/checklist.html", context=context, status_code=status_code)


def _checklist_url(request: Request[Any, Any, Any], programme: Programme) -> str:
    return request.app.route_reverse("visits.checklist", programme_id=programme.id)


async def _fields(request: Request[Any, Any, Any]) -> tuple[str, NeedArea | None]:
    form = await request.form()
    label, area = form.get("label"), form.get("need_area")
    need_area = NeedArea(area) if isinstance(area, str) and area in set(NeedArea) else None
    return (label[:400] if isinstance(label, str) else ""), need_area


@get("/programmes/{programme_id:int}/checklist", name="visits.checklist")
async def checklist_page(
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    saved: FromQuery[int] = 0,
) -> Template:
    return await _page(db, user, await _programme(db, user, programme_id), saved=bool(saved))


@post("/programmes/{programme_id:int}/checklist", name="visits.checklist_add")
async def checklist_add(
    request: Request[Any, Any, Any],
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    programme = await _programme(db, user, programme_id)
    label, need_area = await _fields(request)
    values = {"label": label, "need_area": need_area.value if need_area else ""}
    try:
        if need_area is None:
            raise VisitRefused(
                _("Choose the need area of this suggestion."), field="need_area", status_code=400
            )
        await do_add_checklist_item(db, programme, need_area=need_area, label=label, actor=user)
    except VisitRefused as exc:
        status = 400 if exc.status_code == 422 else exc.status_code
        return await _page(
            db, user, programme, errors={exc.field: str(exc.detail)}, values=values, status_code=status
        )
    return Redirect(f"{_checklist_url(request, programme)}?saved=1", status_code=303)


@post("/checklist/{item_id:int}", name="visits.checklist_reword")
async def checklist_reword(
    request: Request[Any, Any, Any],
    item_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    item, programme = await _item(db, user, item_id)
    label, need_area = await _fields(request)
    try:
        await do_reword_checklist_item(
            db, item, need_area=need_area or item.need_area, label=label, actor=user
        )
    except VisitRefused as exc:
        status = 400 if exc.status_code == 422 else exc.status_code
        return await _page(
            db, user, programme, errors={f"item-{item.id}": str(exc.detail)}, status_code=status
        )
    return Redirect(f"{_checklist_url(request, programme)}?saved=1#item-{item.id}", status_code=303)


@post("/checklist/{item_id:int}/retire", name="visits.checklist_retire")
async def checklist_retire(
    request: Request[Any, Any, Any],
    item_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    item, programme = await _item(db, user, item_id)
    try:
        await do_retire_checklist_item(db, item, actor=user)
    except VisitRefused as exc:
        return await _page(db, user, programme, errors={f"item-{item.id}": str(exc.detail)}, status_code=409)
    return Redirect(f"{_checklist_url(request, programme)}?saved=1", status_code=303)


routes = [checklist_page, checklist_add, checklist_reword, checklist_retire]
