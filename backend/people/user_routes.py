"""Users and their memberships: staff add workers and staff, social workers add the caring mothers and
neighbours of their areas; adding someone leads straight to her sign-in card. Who may:
people/admin_policy.py; every write: people/service.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.policy import issuable_users
from backend.auth.principal import Principal
from backend.errors import Forbidden, NotFound, Refused
from backend.i18n import gettext as _
from backend.people import admin_policy as policy
from backend.people import service
from backend.people.admin_forms import UserForm, parse_membership_form, parse_user_form
from backend.people.models import Area, Membership, Programme, Role, User
from backend.people.names import normalize_name
from backend.people.policy import area_and_below


async def _addable_programmes(db: AsyncSession, user: Principal) -> list[Programme]:
    query = select(Programme).options(selectinload(Programme.area)).order_by(Programme.name)
    if not user.is_admin:
        ids = {g.programme_id for g in user.grants if g.role in (Role.STAFF, Role.SOCIAL_WORKER)}
        query = query.where(Programme.id.in_(ids))
    return [p for p in await db.scalars(query) if policy.roles_to_add(user, p)]


async def _areas_for(db: AsyncSession, user: Principal, programme: Programme) -> list[Area]:
    if policy.is_staff_of(user, programme.id):
        paths = [programme.area.path]
    else:
        paths = [g.area_path for g in user.grants_for(Role.SOCIAL_WORKER) if g.programme_id == programme.id]
    if not paths:
        return []
    rows = await db.scalars(
        select(Area)
        .where(or_(*(area_and_below(p) for p in paths)), Area.closed_at.is_(None))
        .order_by(Area.path)
    )
    return list(rows)


async def _new_page(
    db: AsyncSession,
    user: Principal,
    programme: Programme,
    form: UserForm | None = None,
    *,
    matches: list[User] | None = None,
    status_code: int = 200,
) -> Template:
    form = form or UserForm()
    return Template(
        template_name="people/user_new.html",
        context={
            "principal": user,
            "programme": programme,
            "programmes": await _addable_programmes(db, user),
            "areas": await _areas_for(db, user, programme),
            "roles": policy.roles_to_add(user, programme),
            "form": form,
            "raw": form.raw,
            "errors": form.errors,
            "matches": matches or [],
        },
        status_code=status_code,
    )


async def _programme_to_add_in(db: AsyncSession, user: Principal, programme_id: int | None) -> Programme:
    programmes = await _addable_programmes(db, user)
    if not policy.may_add_users(user) or not programmes:
        raise Forbidden()
    chosen = next((p for p in programmes if p.id == programme_id), None)
    if programme_id is not None and chosen is None:
        raise NotFound()
    return chosen or programmes[0]


@get("/users/new", name="people.user_new")
async def user_new(
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    programme_id: FromQuery[int | None] = None,
) -> Template:
    programme = await _programme_to_add_in(db, user, programme_id)
    return await _new_page(db, user, programme)


async def _same_name(db: AsyncSession, programme: Programme, name: str) -> list[User]:
    """Active users of the programme with this name: perhaps the same person, who then gets one more role."""
    rows = await db.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            User.display_name == normalize_name(name),
            User.is_active.is_(True),
            Membership.programme_id == programme.id,
            Membership.ended_at.is_(None),
        )
        .options(selectinload(User.memberships).selectinload(Membership.area))
        .distinct()
    )
    return list(rows)


@post("/users", name="people.user_create")
async def user_create(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template | Redirect:
    data = await request.form()
    form = parse_user_form(data)
    programme = await _programme_to_add_in(db, user, form.programme_id)
    area = next((a for a in await _areas_for(db, user, programme) if a.id == form.area_id), None)
    if area is None:
        form.errors["area_id"] = _("Choose an area of this programme.")
    if (
        form.role is not None
        and area is not None
        and not policy.may_add_role(user, programme, area, form.role)
    ):
        form.errors["role"] = _("You cannot give this role here.")
    if form.errors or area is None or form.role is None:
        return await _new_page(db, user, programme, form, status_code=422)
    if not form.confirmed_new and (matches := await _same_name(db, programme, form.display_name)):
        return await _new_page(db, user, programme, form, matches=matches)
    try:
        async with db.begin_nested():  # the user, her membership and her number, or nothing
            created = await service.do_create_user(
                db, handle=await service.new_handle(db, form.role), display_name=form.display_name, actor=user
            )
            await service.do_add_membership(
                db, user=created, programme=programme, area=area, role=form.role, actor=user
            )
            if form.reference:
                await service.do_set_user_reference(db, created, programme, form.reference, actor=user)
    except Refused as exc:
        form.errors[exc.field] = str(exc.detail)
        return await _new_page(db, user, programme, form, status_code=exc.status_code)
    if await db.scalar(select(User.id).where(User.id == created.id, issuable_users(user))) is not None:
        # Straight to her card: a 307 repeats this POST (with its CSRF token) at the card route, which
        # issues the code under its own policy; nothing of this form is read there.
        return Redirect(request.app.route_reverse("cards.issue", user_id=created.id), status_code=307)
    return Redirect(request.app.route_reverse("people.user", user_id=created.id), status_code=303)


async def _user_page(
    db: AsyncSession,
    user: Principal,
    target: User,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    memberships = sorted(target.memberships, key=lambda m: (m.ended_at is not None, m.id))
    programmes = [p for p in await _addable_programmes(db, user)]
    areas = {p.id: await _areas_for(db, user, p) for p in programmes}
    issuable = await db.scalar(select(User.id).where(User.id == target.id, issuable_users(user)))
    return Template(
        template_name="people/user.html",
        context={
            "principal": user,
            "person": target,
            "memberships": memberships,
            "covered": {m.id for m in memberships if policy.covers(user, m)},
            "may_change": policy.may_change_account(user, target),
            "may_set_active": policy.may_set_active(user, target) and target.id != user.id,
            "may_issue": issuable is not None,
            "programmes": programmes,
            "areas": areas,
            "roles": {p.id: policy.roles_to_add(user, p) for p in programmes},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@get("/users/{user_id:int}", name="people.user")
async def user_detail(
    user_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    return await _user_page(db, user, await policy.get_user_for(db, user, user_id))


def _back(request: Request[Any, Any, Any], target: User) -> Redirect:
    return Redirect(request.app.route_reverse("people.user", user_id=target.id), status_code=303)


@post("/users/{user_id:int}/name", name="people.user_rename")
async def user_rename(
    request: Request[Any, Any, Any],
    user_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    target = await policy.get_user_for(db, user, user_id)
    policy.require(policy.may_change_account(user, target))
    try:
        name = str((await request.form()).get("display_name") or "")
        await service.do_rename_user(db, target, display_name=name, actor=user)
    except Refused as exc:
        return await _user_page(db, user, target, errors={exc.field: str(exc.detail)}, status_code=422)
    return _back(request, target)


@post("/users/{user_id:int}/memberships", name="people.membership_add")
async def membership_add(
    request: Request[Any, Any, Any],
    user_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    target = await policy.get_user_for(db, user, user_id)
    form = parse_membership_form(await request.form())
    programme = next((p for p in await _addable_programmes(db, user) if p.id == form.programme_id), None)
    area = None
    if programme is not None:
        area = next((a for a in await _areas_for(db, user, programme) if a.id == form.area_id), None)
    if programme is None or area is None:
        form.errors["area_id"] = _("Choose an area of this programme.")
    elif form.role is not None and not policy.may_add_role(user, programme, area, form.role):
        form.errors["role"] = _("You cannot give this role here.")
    if form.errors or programme is None or area is None or form.role is None:
        return await _user_page(db, user, target, errors=form.errors, status_code=422)
    try:
        await service.do_add_membership(
            db, user=target, programme=programme, area=area, role=form.role, actor=user
        )
    except Refused as exc:
        return await _user_page(
            db, user, target, errors={exc.field: str(exc.detail)}, status_code=exc.status_code
        )
    return _back(request, target)


@post("/users/{user_id:int}/memberships/end", name="people.membership_end")
async def membership_end(
    request: Request[Any, Any, Any],
    user_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    target = await policy.get_user_for(db, user, user_id)
    raw = str((await request.form()).get("membership_id") or "")
    membership = next((m for m in target.memberships if str(m.id) == raw), None)
    if membership is None:
        return await _user_page(
            db, user, target, errors={"membership": _("Choose the membership to end.")}, status_code=422
        )
    policy.require(policy.covers(user, membership))
    try:
        await service.do_end_membership(db, membership, actor=user)
    except Refused as exc:
        return await _user_page(
            db, user, target, errors={"membership": str(exc.detail)}, status_code=exc.status_code
        )
    return _back(request, target)


@post("/users/{user_id:int}/active", name="people.user_active")
async def user_active(
    request: Request[Any, Any, Any],
    user_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    target = await policy.get_user_for(db, user, user_id)
    policy.require(policy.may_set_active(user, target))
    active = str((await request.form()).get("active") or "")
    if active not in ("yes", "no"):
        return await _user_page(db, user, target, errors={"active": _("Choose what to do.")}, status_code=400)
    try:
        await service.do_set_active(db, target, active=active == "yes", actor=user)
    except Refused as exc:
        return await _user_page(
            db, user, target, errors={"active": str(exc.detail)}, status_code=exc.status_code
        )
    return _back(request, target)


routes = [user_new, user_create, user_detail, user_rename, membership_add, membership_end, user_active]
