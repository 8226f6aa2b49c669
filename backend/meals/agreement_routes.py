"""Agreement and menu pages: social workers create, confirm for the resident and end agreements;
the neighbour confirms hers and writes the monthly menu; staff and the worker read both."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.clock import local_today, month_days
from backend.errors import Conflict, Forbidden, Refused
from backend.evidence.intake import UPLOAD_OPTS, PhotoIntake
from backend.evidence.models import Photo
from backend.evidence.policy import visible_photos
from backend.i18n import gettext as _
from backend.links import strip_form_token
from backend.meals import policy, service
from backend.meals.forms import (
    OVERRIDE_ROWS,
    AgreementForm,
    parse_agreement_form,
    parse_confirmation_form,
    parse_end_form,
    parse_menu_form,
    parse_month,
)
from backend.meals.menus import do_save_menu, editable_months, load_menu
from backend.meals.models import DEFAULT_MONTHLY_CAP_FEN, DEFAULT_RATE_FEN, Agreement, AgreementStatus
from backend.meals.queries import agreement_checkins, neighbours_for, new_agreement_residents
from backend.people.lists import PEOPLE, ListQuery, keyset_page
from backend.people.models import Person, Programme, Role
from backend.people.policy import get_person_for


@get("/meals/agreements", name="meals.agreements")
async def agreement_list(db: NamedDependency[AsyncSession], user: NamedDependency[Principal]) -> Template:
    policy.require_meal_plan(user)
    agreements = await policy.list_agreements_for(db, user)
    return Template(
        template_name="meals/agreements.html",
        context={
            "principal": user,
            "agreements": agreements,
            "may_create": policy.may_create_agreements(user),
        },
    )


async def _new_page(
    db: AsyncSession,
    user: Principal,
    form: AgreementForm | None = None,
    *,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    """The form; `typed` is what a resident search (a GET of the same form) brought back to keep."""
    raw = form.raw if form is not None else (typed or {})
    # The picker is a search: a page of matching residents, never the whole province in a <select>.
    search = ListQuery.from_params(
        {"q": raw.get("resident_q", ""), "after": raw.get("resident_after")}, size=20
    )
    residents = await keyset_page(
        db,
        new_agreement_residents(user),
        PEOPLE,
        search,
        options=(selectinload(Person.area), selectinload(Person.programme)),
    )
    chosen = None
    if raw.get("resident_id", "").isdigit():
        chosen = await db.scalar(
            new_agreement_residents(user)
            .where(Person.id == int(raw["resident_id"]))
            .options(selectinload(Person.area))
        )
    # Today in the worker's meal programme's time zone, the usual first day.
    grant = next(iter(policy.meal_grants(user, Role.SOCIAL_WORKER)), None)
    programme = await db.get(Programme, grant.programme_id) if grant else None
    today = local_today(programme) if programme else None
    context = {
        "principal": user,
        "residents": residents,
        "resident_search": search,
        "chosen_resident": chosen,
        "neighbours": await neighbours_for(db, user),
        "form": form or AgreementForm(),
        "raw": raw,
        "starts_on": raw.get("starts_on") or (today.isoformat() if today else ""),
        "errors": form.errors if form is not None else {},
        "client_uuid": str(form.client_uuid if form is not None else uuid.uuid4()),
        # The programme's rules, the most an agreement may carry (meals/service.do_create_agreement).
        "programme_rate_fen": (programme.rate_fen if programme else None) or DEFAULT_RATE_FEN,
        "programme_cap_fen": (programme.monthly_cap_fen if programme else None) or DEFAULT_MONTHLY_CAP_FEN,
    }
    return Template(template_name="meals/agreement_new.html", context=context, status_code=status_code)


@get("/meals/agreements/new", name="meals.agreement_new")
async def agreement_new(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template | Redirect:
    if not policy.may_create_agreements(user):
        raise Forbidden()
    if (clean := strip_form_token(request)) is not None:
        return clean
    typed = {k: v[:600] for k, v in request.query_params.items()}
    return await _new_page(db, user, typed=typed)


@post("/meals/agreements", name="meals.agreement_create", include_in_schema=False, **UPLOAD_OPTS)
async def agreement_create(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    if not policy.may_create_agreements(user):
        raise Forbidden()
    form = await parse_agreement_form(await request.form())
    resident = await get_person_for(db, user, form.resident_id) if form.resident_id is not None else None
    if (
        resident is not None
        and await db.scalar(new_agreement_residents(user).where(Person.id == resident.id)) is None
    ):
        form.errors["resident_id"] = _("This resident cannot have a new meal agreement here.")
    if resident is not None and form.neighbour_id is not None:
        found = await neighbours_for(db, user, programme_id=resident.programme_id, user_id=form.neighbour_id)
        if not found:
            form.errors["neighbour_id"] = _("Choose a neighbour of this programme in your areas.")
    if form.photo and form.signatory is None:
        form.errors["signatory"] = _("Choose who signed the paper in the photo.")
    if form.errors or resident is None:
        return await _new_page(db, user, form, status_code=400)
    try:
        agreement = await service.create_agreement_from_form(intake, user=user, form=form, resident=resident)
    except Refused as exc:
        form.errors[exc.field] = str(exc.detail)
        return await _new_page(db, user, form, status_code=exc.status_code)
    return Redirect(request.app.route_reverse("meals.agreement", agreement_id=agreement.id), status_code=303)


async def _detail_page(
    db: AsyncSession,
    user: Principal,
    agreement: Agreement,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    paper = None
    if agreement.resident_confirmation_photo_id is not None:
        paper = await db.scalar(
            select(Photo).where(Photo.id == agreement.resident_confirmation_photo_id, visible_photos(user))
        )
    is_worker = _is_worker_of(user, agreement)
    return Template(
        template_name="meals/agreement.html",
        context={
            "principal": user,
            "agreement": agreement,
            "checkins": await agreement_checkins(db, user, agreement.id),
            "paper_photo": paper,
            "is_worker": is_worker,
            "is_neighbour": agreement.neighbour_id == user.id,
            "active": agreement.status is AgreementStatus.ACTIVE,
            "today": local_today(agreement.programme),
            "errors": errors or {},
            "client_uuid": str(uuid.uuid4()),
        },
        status_code=status_code,
    )


def _is_worker_of(user: Principal, agreement: Agreement) -> bool:
    try:
        policy.require_social_worker_of(user, agreement)
    except Forbidden:
        return False
    return True


@get("/meals/agreements/{agreement_id:int}", name="meals.agreement")
async def agreement_detail(
    agreement_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    agreement = await policy.get_agreement_for(db, user, agreement_id)
    return await _detail_page(db, user, agreement)


@post("/meals/agreements/{agreement_id:int}/confirm", name="meals.agreement_confirm")
async def agreement_confirm(
    request: Request[Any, Any, Any],
    agreement_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Redirect:
    agreement = await policy.get_agreement_for(db, user, agreement_id)
    policy.require_neighbour_of(user, agreement)
    await service.do_confirm_as_neighbour(db, agreement, actor=user)
    return Redirect(request.app.route_reverse("home"), status_code=303)


@post(
    "/meals/agreements/{agreement_id:int}/resident-confirmation",
    name="meals.resident_confirmation",
    include_in_schema=False,
    **UPLOAD_OPTS,
)
async def resident_confirmation(
    request: Request[Any, Any, Any],
    agreement_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    agreement = await policy.get_agreement_for(db, user, agreement_id)
    policy.require_social_worker_of(user, agreement)
    form = await parse_confirmation_form(await request.form())
    if form.errors:
        return await _detail_page(db, user, agreement, errors=form.errors, status_code=400)
    try:
        await service.confirm_for_resident(intake, user=user, agreement=agreement, form=form)
    except Refused as exc:
        return await _detail_page(
            db, user, agreement, errors={exc.field: str(exc.detail)}, status_code=exc.status_code
        )
    return Redirect(request.app.route_reverse("meals.agreement", agreement_id=agreement.id), status_code=303)


@post("/meals/agreements/{agreement_id:int}/end", name="meals.agreement_end")
async def agreement_end(
    request: Request[Any, Any, Any],
    agreement_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    agreement = await policy.get_agreement_for(db, user, agreement_id)
    policy.require_social_worker_of(user, agreement)
    ends_on, errors = parse_end_form(await request.form())
    if ends_on is None:
        return await _detail_page(db, user, agreement, errors=errors, status_code=400)
    try:
        await service.do_end_agreement(db, agreement, ends_on=ends_on, actor=user)
    except Conflict as exc:
        return await _detail_page(db, user, agreement, errors={"ends_on": str(exc.detail)}, status_code=409)
    return Redirect(request.app.route_reverse("meals.agreement", agreement_id=agreement.id), status_code=303)


async def _menu_page(
    db: AsyncSession,
    user: Principal,
    agreement: Agreement,
    month: date,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    saved: bool = False,
    raw: dict[str, str] | None = None,
) -> Template:
    months = editable_months(agreement)
    menu = await load_menu(db, agreement.id, month)
    rows = {
        slot: [
            (d.isoformat(), "、".join(dishes)) for (s, d), dishes in sorted(menu.days.items()) if s is slot
        ]
        for slot in agreement.slots
    }
    weekday_values = {
        f"{slot.value}-w{weekday}": "、".join(dishes) for (slot, weekday), dishes in menu.weekdays.items()
    }
    if raw is not None:  # a refused form comes back as it was typed
        weekday_values = {k: v for k, v in raw.items() if "-w" in k}
        rows = {
            slot: [
                (raw.get(f"{slot.value}-d{n}-day", ""), raw.get(f"{slot.value}-d{n}-dishes", ""))
                for n in range(40)
                if raw.get(f"{slot.value}-d{n}-day") or raw.get(f"{slot.value}-d{n}-dishes")
            ]
            for slot in agreement.slots
        }
    editable = (
        agreement.neighbour_id == user.id and agreement.status is AgreementStatus.ACTIVE and month in months
    )
    return Template(
        template_name="meals/menu.html",
        context={
            "principal": user,
            "agreement": agreement,
            "month": month,
            "months": months,
            "menu": menu,
            "overrides": sorted(menu.days.items(), key=lambda item: (item[0][1], item[0][0])),
            "weekday_values": weekday_values,
            # The form's per-day rows: the month's overrides, then a few blank ones for new days.
            "override_rows": {slot: rows[slot] + [("", "")] * OVERRIDE_ROWS for slot in agreement.slots},
            "days": month_days(month),
            "editable": editable,
            "saved": saved,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@get("/meals/agreements/{agreement_id:int}/menu", name="meals.menu")
async def menu_page(
    agreement_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    month: FromQuery[str | None] = None,
    saved: FromQuery[int | None] = None,
) -> Template:
    agreement = await policy.get_agreement_for(db, user, agreement_id)
    chosen = parse_month(month) or local_today(agreement.programme).replace(day=1)
    return await _menu_page(db, user, agreement, chosen, saved=saved == 1)


@post("/meals/agreements/{agreement_id:int}/menu", name="meals.menu_save")
async def menu_save(
    request: Request[Any, Any, Any],
    agreement_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    agreement = await policy.get_agreement_for(db, user, agreement_id)
    policy.require_neighbour_of(user, agreement)
    data = await request.form()
    form = parse_menu_form(data, agreement.slots)
    month = form.month or local_today(agreement.programme).replace(day=1)
    if month not in editable_months(agreement) or agreement.status is not AgreementStatus.ACTIVE:
        form.errors["month"] = _("Only this month's and next month's menus can be written.")
    if form.errors:
        raw = {k: v[:600] for k, v in data.items() if isinstance(v, str)}
        return await _menu_page(db, user, agreement, month, errors=form.errors, status_code=400, raw=raw)
    await do_save_menu(db, agreement, month=month, weekdays=form.weekdays, days=form.days, actor=user)
    url = request.app.route_reverse("meals.menu", agreement_id=agreement.id)
    return Redirect(f"{url}?month={month:%Y-%m}&saved=1", status_code=303)


routes = [
    agreement_list,
    agreement_new,
    agreement_create,
    agreement_detail,
    agreement_confirm,
    resident_confirmation,
    agreement_end,
    menu_page,
    menu_save,
]
