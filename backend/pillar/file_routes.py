"""A pillar mother's file: the mothers list, screening a mother in, the file page, keeping it up to
date (a need, the profile, a child) and its history.

Who sees a file is policy.get_file_for (404 otherwise); who keeps it is Access.may_keep_file (staff,
the agency's workers, the group's cadre; 403 for the volunteers and the mother). Screening is for the
programme's staff and its agency workers (file_queries.screening_remit). Bad input re-shows the form
with field errors (400) and stores nothing; a closed case answers 409 (the service refuses).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.clock import local_today
from backend.errors import NotFound, Refused
from backend.i18n import gettext as _
from backend.people.models import Programme
from backend.pillar import file_queries as q
from backend.pillar import policy
from backend.pillar.file_forms import (
    MAX_CHILDREN,
    ScreeningForm,
    parse_child,
    parse_need,
    parse_profile,
    parse_screening,
)
from backend.pillar.file_page import file_page_context
from backend.pillar.models import PillarFile, Qualification
from backend.pillar.service import (
    ScreeningDraft,
    do_add_child,
    do_note_need,
    do_screen_mother,
    do_update_profile,
)


@get("/pillar/mothers", name="pillar.mothers")
async def mothers(db: NamedDependency[AsyncSession], user: NamedDependency[Principal]) -> Template | Redirect:
    if not policy.is_pillar_user(user):
        raise NotFound()
    if q.is_only_mother(user):
        own = await q.own_file_id(db, user)
        if own is None:
            raise NotFound()
        return Redirect(f"/pillar/mothers/{own}", status_code=303)
    programmes = await q.screening_programmes(db, user)
    context = {"principal": user, "rows": await q.list_files(db, user), "screen_programmes": programmes}
    return Template(template_name="pillar/mothers.html", context=context)


async def _new_page(
    db: AsyncSession,
    user: Principal,
    remit: q.ScreeningRemit,
    *,
    form: ScreeningForm | None = None,
    status_code: int = 200,
) -> Template:
    values = form.raw if form is not None else {"agency_id": str(remit.preselected_agency_id or "")}
    context: dict[str, Any] = {
        "principal": user,
        "programme": remit.programme,
        "areas": remit.areas,
        "agencies": remit.agencies,
        "agency_required": remit.worker,
        "dimensions": await q.dimensions_of(db, remit.programme.id),
        "qualifications": list(Qualification),
        "child_rows": range(1, MAX_CHILDREN + 1),
        "values": values,
        "errors": form.errors if form is not None else {},
    }
    return Template(template_name="pillar/file_new.html", context=context, status_code=status_code)


@get("/pillar/{pillar_id:int}/mothers/new", name="pillar.file_new")
async def new_mother(
    pillar_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    return await _new_page(db, user, await q.screening_remit(db, user, pillar_id))


def _draft(form: ScreeningForm, remit: q.ScreeningRemit, today: Any) -> ScreeningDraft | None:
    """The draft, or None with the area and agency errors added (both must be in her remit)."""
    area = next((a for a in remit.areas if a.id == form.area_id), None)
    if area is None and "area_id" not in form.errors:
        form.errors["area_id"] = _("Choose the community where she lives.")
    agency = next((a for a in remit.agencies if a.id == form.agency_id), None)
    if agency is None and (form.agency_id is not None or remit.worker):
        form.errors["agency_id"] = _("Choose the agency that serves her.")
    if form.errors or area is None or form.profile.qualification is None:
        return None
    return ScreeningDraft(
        display_name=form.display_name,
        birth_year=form.birth_year,
        area=area,
        qualification=form.profile.qualification,
        qualification_note=form.profile.qualification_note or None,
        household_note=form.profile.household_note,
        reference=form.reference,
        noted_on=today,
        children=form.children,
        needs=form.needs,
        agency=agency,
    )


@post("/pillar/{pillar_id:int}/mothers", name="pillar.file_create")
async def create_mother(
    request: Request[Any, Any, Any],
    pillar_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    remit = await q.screening_remit(db, user, pillar_id)
    today = local_today(remit.programme)
    dimensions = await q.dimensions_of(db, remit.programme.id)
    form = parse_screening(await request.form(), dimensions, this_year=today.year)
    draft = _draft(form, remit, today)
    if draft is None:
        return await _new_page(db, user, remit, form=form, status_code=400)
    try:
        async with db.begin_nested():  # the mother, her children, case, file and needs, or nothing
            file = await do_screen_mother(
                db,
                programme=remit.programme,
                draft=draft,
                actor=user,
                lead_worker_id=user.id if remit.worker else None,
            )
    except Refused as exc:
        form.errors[exc.field if exc.field in form.raw else "display_name"] = str(exc.detail)
        return await _new_page(db, user, remit, form=form, status_code=400)
    return Redirect(f"/pillar/mothers/{file.id}?saved=opened", status_code=303)


@get("/pillar/mothers/{file_id:int}", name="pillar.file")
async def file_page(
    file_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    saved: FromQuery[str] = "",
) -> Template:
    file = await policy.get_file_for(db, user, file_id)
    context = await file_page_context(db, user, file, await policy.access_to(db, user, file))
    context["saved"] = saved[:20]
    return Template(template_name="pillar/file.html", context=context)


async def _kept_file(db: AsyncSession, user: Principal, file_id: int) -> tuple[PillarFile, Programme]:
    """A file she may keep: 404 if she cannot see it, 403 if she sees it but may not keep it."""
    file = await policy.get_file_for(db, user, file_id)
    access = await policy.access_to(db, user, file)
    policy.require(access.may_keep_file)
    return file, await db.get_one(Programme, file.programme_id)


async def _refused_page(
    db: AsyncSession,
    user: Principal,
    file: PillarFile,
    which: str,
    raw: dict[str, str],
    errors: dict[str, str],
) -> Template:
    context = await file_page_context(db, user, file, await policy.access_to(db, user, file))
    context.update({"form_which": which, "form_values": raw, "form_errors": errors})
    return Template(template_name="pillar/file.html", context=context, status_code=400)


def _back(file: PillarFile, saved: str) -> Redirect:
    return Redirect(f"/pillar/mothers/{file.id}?saved={saved}", status_code=303)


@post("/pillar/mothers/{file_id:int}/needs", name="pillar.file_need")
async def note_need(
    request: Request[Any, Any, Any],
    file_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    file, programme = await _kept_file(db, user, file_id)
    form = parse_need(await request.form(), today=local_today(programme))
    which = f"need-{form.raw.get('dimension_id', '')}"
    if form.need is None or form.noted_on is None:
        return await _refused_page(db, user, file, which, form.raw, form.errors)
    try:
        await do_note_need(db, file, form.need, noted_on=form.noted_on, actor=user)
    except Refused as exc:
        return await _refused_page(db, user, file, which, form.raw, {exc.field: str(exc.detail)})
    return _back(file, "need")


@post("/pillar/mothers/{file_id:int}/profile", name="pillar.file_profile")
async def update_profile(
    request: Request[Any, Any, Any],
    file_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    file, _programme = await _kept_file(db, user, file_id)
    form = parse_profile(await request.form())
    if form.errors or form.qualification is None:
        return await _refused_page(db, user, file, "profile", form.raw, form.errors)
    await do_update_profile(
        db,
        file,
        qualification=form.qualification,
        qualification_note=form.qualification_note or None,
        household_note=form.household_note,
        actor=user,
    )
    return _back(file, "profile")


@post("/pillar/mothers/{file_id:int}/children", name="pillar.file_child")
async def add_child(
    request: Request[Any, Any, Any],
    file_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    file, programme = await _kept_file(db, user, file_id)
    form = parse_child(await request.form(), this_year=local_today(programme).year)
    if form.child is None:
        return await _refused_page(db, user, file, "child", form.raw, form.errors)
    try:
        async with db.begin_nested():
            await do_add_child(db, file, form.child, actor=user)
    except Refused as exc:
        return await _refused_page(db, user, file, "child", form.raw, {"child_name": str(exc.detail)})
    return _back(file, "child")


@get("/pillar/mothers/{file_id:int}/history", name="pillar.file_history")
async def file_history(
    file_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    file = await policy.get_file_for(db, user, file_id)
    programme = await db.get_one(Programme, file.programme_id)
    needs = await q.need_history(db, file.id)
    dimensions = await q.dimensions_of(db, file.programme_id)
    context: dict[str, Any] = {
        "principal": user,
        "file": file,
        "programme": programme,
        "profiles": await q.profile_history(db, file.id),
        "needs_by_dimension": [(d, [n for n in needs if n.dimension_id == d.id]) for d in dimensions],
    }
    return Template(template_name="pillar/file_history.html", context=context)


routes = [mothers, new_mother, create_mother, file_page, note_need, update_profile, add_child, file_history]
