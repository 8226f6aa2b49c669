"""The "1 + 3 + 1" group of a mother's file: add a member, end a member's place, set the contact interval.

Who may: staff, her agency's workers and the group's cadre (`Access.may_keep_file`), else 403; a file
she may not see is a 404. A refusal re-shows the group's forms on a page of their own with the error
beside its field (400/409), nothing stored; a success goes back to the file page.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.principal import Principal
from backend.errors import NotFound, Refused
from backend.i18n import gettext as _
from backend.people.models import Programme, User
from backend.pillar import policy
from backend.pillar.contact_forms import parse_interval, parse_member_form
from backend.pillar.contact_queries import group_context
from backend.pillar.group_service import do_add_group_member, do_end_group_member, do_set_contact_interval
from backend.pillar.models import GroupMember, PillarFile


async def file_to_keep(db: AsyncSession, user: Principal, file_id: int) -> tuple[PillarFile, policy.Access]:
    file = await policy.get_file_for(db, user, file_id)
    access = await policy.access_to(db, user, file)
    policy.require(access.may_keep_file)
    return file, access


async def _group_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    user: Principal,
    file_id: int,
    errors: dict[str, str],
    status_code: int,
) -> Template:
    file = await policy.get_file_for(db, user, file_id)
    access = await policy.access_to(db, user, file)
    programme = await db.get_one(Programme, file.programme_id)
    context = await group_context(db, user, file, access, clock.today_in(clock.zone_of(programme)))
    context.update(
        principal=user,
        file=file,
        group_errors=errors,
        file_url=request.app.route_reverse("pillar.file", file_id=file.id),
    )
    return Template(template_name="pillar/group_form.html", context=context, status_code=status_code)


def _saved(request: Request[Any, Any, Any], file_id: int) -> Redirect:
    return Redirect(
        request.app.route_reverse("pillar.file", file_id=file_id) + "?saved=group#pillar-group",
        status_code=303,
    )


def _error(exc: ClientException) -> tuple[dict[str, str], int]:
    return {getattr(exc, "field", "form"): str(exc.detail)}, exc.status_code


@post("/pillar/mothers/{file_id:int}/members", name="pillar.member_add")
async def add_member(
    request: Request[Any, Any, Any],
    file_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    file, _access = await file_to_keep(db, user, file_id)
    form = parse_member_form(await request.form())
    if form.errors:
        return await _group_page(request, db, user, file_id, form.errors, 400)
    assert form.user_id is not None and form.place is not None
    member_user = await db.get(User, form.user_id)
    try:
        if member_user is None or not member_user.is_active:
            raise Refused(_("She needs that role in this programme first."), field="user_id", status_code=400)
        await do_add_group_member(db, file, member_user, form.place, actor=user)
    except ClientException as exc:
        return await _group_page(request, db, user, file_id, *_error(exc))
    return _saved(request, file.id)


@post("/pillar/mothers/{file_id:int}/members/{member_id:int}/end", name="pillar.member_end")
async def end_member(
    request: Request[Any, Any, Any],
    file_id: FromPath[int],
    member_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    file, _access = await file_to_keep(db, user, file_id)
    member = await db.get(GroupMember, member_id)
    if member is None or member.file_id != file.id:
        raise NotFound()
    await do_end_group_member(db, file, member, actor=user)
    return _saved(request, file.id)


@post("/pillar/mothers/{file_id:int}/interval", name="pillar.interval")
async def set_interval(
    request: Request[Any, Any, Any],
    file_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    file, _access = await file_to_keep(db, user, file_id)
    days, errors = parse_interval(await request.form())
    if days is None:
        return await _group_page(request, db, user, file_id, errors, 400)
    try:
        await do_set_contact_interval(db, file, days, actor=user)
    except ClientException as exc:
        return await _group_page(request, db, user, file_id, *_error(exc))
    return _saved(request, file.id)


routes = [add_member, end_member, set_interval]
