"""The criteria a pillar programme scores its agencies on (staff only): the list, adding, retiring.

A retired criterion is left out of later evaluations; earlier evaluations keep their score for it.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Refused
from backend.people.models import Programme
from backend.pillar.agency_service import get_programme_for_staff
from backend.pillar.contract_forms import CriterionForm, parse_criterion
from backend.pillar.evaluation_service import (
    active_criteria,
    do_add_criterion,
    do_retire_criterion,
    get_criterion_for_staff,
    retired_criteria,
)


async def _page(
    db: AsyncSession,
    user: Principal,
    programme: Programme,
    form: CriterionForm | None = None,
    saved: str = "",
    status_code: int = 200,
) -> Template:
    active = await active_criteria(db, programme.id)
    context: dict[str, Any] = {
        "principal": user,
        "programme": programme,
        "active": active,
        "retired": await retired_criteria(db, programme.id),
        "total": sum(c.max_score for c in active),
        "values": form.raw if form else {},
        "errors": form.errors if form else {},
        "saved": saved[:20],
    }
    return Template(template_name="pillar/criteria.html", context=context, status_code=status_code)


@get("/pillar/{pillar_id:int}/criteria", name="pillar.criteria")
async def criteria(
    pillar_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    saved: FromQuery[str] = "",
) -> Template:
    return await _page(db, user, await get_programme_for_staff(db, user, pillar_id), saved=saved)


@post("/pillar/{pillar_id:int}/criteria", name="pillar.criterion_add")
async def add_criterion(
    request: Request[Any, Any, Any],
    pillar_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    programme = await get_programme_for_staff(db, user, pillar_id)
    form = parse_criterion(await request.form())
    if form.errors or form.max_score is None:
        return await _page(db, user, programme, form, status_code=400)
    try:
        await do_add_criterion(db, programme, label=form.label, max_score=form.max_score, actor=user)
    except Refused as exc:
        form.errors[exc.field] = str(exc.detail)
        return await _page(db, user, programme, form, status_code=exc.status_code)
    url = request.app.route_reverse("pillar.criteria", pillar_id=programme.id)
    return Redirect(url + "?saved=added", status_code=303)


@post("/pillar/criteria/{criterion_id:int}/retire", name="pillar.criterion_retire")
async def retire_criterion(
    request: Request[Any, Any, Any],
    criterion_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Redirect:
    criterion = await get_criterion_for_staff(db, user, criterion_id)
    await do_retire_criterion(db, criterion, actor=user)
    url = request.app.route_reverse("pillar.criteria", pillar_id=criterion.programme_id)
    return Redirect(url + "?saved=retired", status_code=303)


routes = [criteria, add_criterion, retire_criterion]
