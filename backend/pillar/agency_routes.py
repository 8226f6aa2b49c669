"""A pillar programme's agencies and the social workers placed with its delivering agencies (staff only).

Another member of the programme gets 403 on its page, anyone else 404; an agency or a placement is a
404 for everyone but the programme's staff. Ending a placement ends the worker's access to the agency's
mothers' files (pillar/policy.py reads only active placements).
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
from backend.errors import NotFound, Refused
from backend.i18n import gettext as _
from backend.people.models import Programme, User
from backend.pillar.agency_service import (
    do_add_agency,
    do_end_worker,
    do_place_worker,
    get_agency_for_staff,
    get_programme_for_staff,
    programme_agencies,
    programme_social_workers,
)
from backend.pillar.contract_forms import AgencyForm, parse_agency, raw_fields, whole
from backend.pillar.models import AgencyWorker


async def _page(
    db: AsyncSession,
    user: Principal,
    programme: Programme,
    *,
    form: AgencyForm | None = None,
    errors: dict[str, str] | None = None,
    saved: str = "",
    status_code: int = 200,
) -> Template:
    agencies = await programme_agencies(db, programme.id)
    placements = await db.scalars(
        select(AgencyWorker)
        .where(AgencyWorker.agency_id.in_([a.id for a in agencies]))
        .options(selectinload(AgencyWorker.user))
        .order_by(AgencyWorker.ended_at.is_not(None), AgencyWorker.started_at, AgencyWorker.id)
    )
    workers: dict[int, list[AgencyWorker]] = {}
    for row in placements:
        workers.setdefault(row.agency_id, []).append(row)
    context: dict[str, Any] = {
        "principal": user,
        "programme": programme,
        "agencies": agencies,
        "workers": workers,
        "social_workers": await programme_social_workers(db, programme.id),
        "values": form.raw if form else {},
        "errors": (form.errors if form else {}) | (errors or {}),
        "saved": saved[:20],
    }
    return Template(template_name="pillar/agencies.html", context=context, status_code=status_code)


@get("/pillar/{pillar_id:int}/agencies", name="pillar.agencies")
async def agencies(
    pillar_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    saved: FromQuery[str] = "",
) -> Template:
    programme = await get_programme_for_staff(db, user, pillar_id)
    return await _page(db, user, programme, saved=saved)


@post("/pillar/{pillar_id:int}/agencies", name="pillar.agency_add")
async def add_agency(
    request: Request[Any, Any, Any],
    pillar_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    programme = await get_programme_for_staff(db, user, pillar_id)
    form = parse_agency(await request.form())
    if form.role is None or form.errors:
        return await _page(db, user, programme, form=form, status_code=400)
    try:
        await do_add_agency(db, programme, name=form.name, role=form.role, actor=user)
    except Refused as exc:
        form.errors[exc.field] = str(exc.detail)
        return await _page(db, user, programme, form=form, status_code=exc.status_code)
    url = request.app.route_reverse("pillar.agencies", pillar_id=programme.id)
    return Redirect(url + "?saved=agency", status_code=303)


@post("/pillar/agencies/{agency_id:int}/workers", name="pillar.worker_place")
async def place_worker(
    request: Request[Any, Any, Any],
    agency_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    agency = await get_agency_for_staff(db, user, agency_id)
    programme = await db.get_one(Programme, agency.programme_id)
    user_id = whole(raw_fields(await request.form(), "user_id")["user_id"])
    eligible = {u.id for u in await programme_social_workers(db, programme.id)}
    if user_id not in eligible:
        errors = {f"worker-{agency.id}": _("Choose a social worker of this programme.")}
        return await _page(db, user, programme, errors=errors, status_code=400)
    try:
        await do_place_worker(db, agency, await db.get_one(User, user_id), actor=user)
    except Refused as exc:
        return await _page(
            db, user, programme, errors={f"worker-{agency.id}": str(exc.detail)}, status_code=400
        )
    url = request.app.route_reverse("pillar.agencies", pillar_id=programme.id)
    return Redirect(url + "?saved=worker", status_code=303)


@post("/pillar/agencies/{agency_id:int}/workers/{worker_id:int}/end", name="pillar.worker_end")
async def end_worker(
    request: Request[Any, Any, Any],
    agency_id: FromPath[int],
    worker_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Redirect:
    agency = await get_agency_for_staff(db, user, agency_id)
    row = await db.scalar(
        select(AgencyWorker)
        .where(AgencyWorker.id == worker_id, AgencyWorker.agency_id == agency.id)
        .options(selectinload(AgencyWorker.agency))
    )
    if row is None:
        raise NotFound()
    await do_end_worker(db, row, actor=user)
    url = request.app.route_reverse("pillar.agencies", pillar_id=agency.programme_id)
    return Redirect(url + "?saved=ended", status_code=303)


routes = [agencies, add_agency, place_worker, end_worker]
