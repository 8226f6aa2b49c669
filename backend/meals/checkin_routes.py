"""The neighbour's side on the phone: the check-in page and its plain form, her history, one check-in,
and the fix of a check-in a reviewer sent back (a new version of the same meal, linked to it).

The form works without JavaScript: a multipart POST with the camera photo, the ticked dishes and any
typed ones. It is idempotent like the API: the page gives each form a fresh UUID, so a double tap on
"send" (or a resend after a lost answer) stores one check-in and one photo.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.principal import Principal
from backend.clock import local_today
from backend.errors import Forbidden, Refused
from backend.evidence.intake import UPLOAD_OPTS, PhotoIntake
from backend.meals import policy
from backend.meals.checkin_service import (
    CheckInRefused,
    check_rules,
    current_checkin,
    require_fixable,
    send_checkin_form,
    send_fix_form,
)
from backend.meals.forms import CheckInForm, parse_checkin_form, parse_day, parse_month, parse_slot
from backend.meals.menus import planned_dishes
from backend.meals.models import Agreement, CheckIn, MealSlot
from backend.meals.queries import history_for_neighbour
from backend.people.models import Role
from backend.settings import Settings


async def _page(
    db: AsyncSession,
    user: Principal,
    agreement: Agreement,
    *,
    slot: MealSlot,
    day: date,
    form: CheckInForm | None = None,
    status_code: int = 200,
) -> Template:
    today = local_today(agreement.programme)
    planned = await planned_dishes(db, agreement, slot, day)
    chosen = list(form.dishes) if form is not None else planned
    context: dict[str, Any] = {
        "principal": user,
        "agreement": agreement,
        "slot": slot,
        "day": day,
        "today": today,
        # Dishes shown as chips: the menu's, then any the neighbour typed before an error.
        "chips": list(dict.fromkeys([*planned, *chosen])),
        "chosen": set(chosen),
        "client_uuid": str(form.client_uuid if form is not None and form.errors else uuid.uuid4()),
        "errors": form.errors if form is not None else {},
        "fix_of": None,
    }
    return Template(template_name="meals/checkin.html", context=context, status_code=status_code)


@get("/meals/agreements/{agreement_id:int}/checkin", name="meals.checkin_page")
async def checkin_page(
    request: Request[Any, Any, Any],
    agreement_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    slot: FromQuery[str | None] = None,
    day: FromQuery[str | None] = None,
) -> Template | Redirect:
    agreement = await policy.get_agreement_for(db, user, agreement_id)
    policy.require_neighbour_of(user, agreement)
    chosen_slot = parse_slot(slot or "") or agreement.slots[0]
    chosen_day = parse_day((day or "")[:10]) or local_today(agreement.programme)
    existing = await current_checkin(db, agreement.id, chosen_slot, chosen_day)
    if existing is not None:
        return Redirect(
            request.app.route_reverse("meals.checkin_detail", checkin_id=existing.id), status_code=303
        )
    form = None
    try:  # say so before she takes the photo, not after
        await check_rules(db, agreement, chosen_slot, chosen_day)
    except CheckInRefused as exc:
        form = CheckInForm(dishes=tuple(await planned_dishes(db, agreement, chosen_slot, chosen_day)))
        form.errors[exc.field] = str(exc.detail)
    return await _page(db, user, agreement, slot=chosen_slot, day=chosen_day, form=form)


@post(
    "/meals/agreements/{agreement_id:int}/checkins",
    name="meals.checkin_submit",
    include_in_schema=False,
    **UPLOAD_OPTS,
)
async def checkin_submit(
    request: Request[Any, Any, Any],
    agreement_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    agreement = await policy.get_agreement_for(db, user, agreement_id)
    policy.require_neighbour_of(user, agreement)
    form = await parse_checkin_form(await request.form())
    status = 400
    if not form.errors:
        try:
            checkin = await send_checkin_form(intake, user=user, agreement=agreement, form=form)
            return sent_redirect(request, checkin)
        except Refused as exc:
            form.errors[exc.field], status = str(exc.detail), exc.status_code
    slot = form.slot or agreement.slots[0]
    day = form.day or local_today(agreement.programme)
    return await _page(db, user, agreement, slot=slot, day=day, form=form, status_code=status)


def sent_redirect(request: Request[Any, Any, Any], checkin: CheckIn) -> Redirect:
    url = request.app.route_reverse("meals.history")
    return Redirect(
        f"{url}?month={checkin.day:%Y-%m}&sent={checkin.id}#checkin-{checkin.id}", status_code=303
    )


async def _fix_page(
    db: AsyncSession,
    user: Principal,
    checkin: CheckIn,
    *,
    form: CheckInForm | None = None,
    status_code: int = 200,
) -> Template:
    agreement = await policy.get_agreement_for(db, user, checkin.agreement_id)
    dishes = list(form.dishes) if form is not None else list(checkin.dishes)
    context: dict[str, Any] = {
        "principal": user,
        "agreement": agreement,
        "slot": checkin.slot,
        "day": checkin.day,
        "today": local_today(agreement.programme),
        "chips": list(dict.fromkeys([*checkin.planned_dishes, *dishes])),
        "chosen": set(dishes),
        "client_uuid": str(form.client_uuid if form is not None and form.errors else uuid.uuid4()),
        "errors": form.errors if form is not None else {},
        "fix_of": checkin,
    }
    return Template(template_name="meals/checkin.html", context=context, status_code=status_code)


@get("/meals/checkins/{checkin_id:int}/fix", name="meals.fix_page")
async def fix_page(
    checkin_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    """The check-in form with the dishes filled in; a new photo is optional (without one, the photos
    already sent are kept). Both versions are kept; the new one waits for review."""
    checkin = await policy.get_checkin_for(db, user, checkin_id)
    require_fixable(user, checkin)
    return await _fix_page(db, user, checkin)


@post("/meals/checkins/{checkin_id:int}/fix", name="meals.fix_submit", include_in_schema=False, **UPLOAD_OPTS)
async def fix_submit(
    request: Request[Any, Any, Any],
    checkin_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    checkin = await policy.get_checkin_for(db, user, checkin_id)
    # Through the agreement, which loads the resident with her programme: a lazy load of
    # checkin.resident cannot run in async code (it answered 500).
    agreement = await policy.get_agreement_for(db, user, checkin.agreement_id)
    form = await parse_checkin_form(await request.form(), photo_required=False)
    # The meal and its day are those of the check-in being fixed, whatever the form says.
    form.errors.pop("slot", None)
    form.errors.pop("day", None)
    status = 400
    if not form.errors:
        try:
            fixed = await send_fix_form(intake, user=user, checkin=checkin, agreement=agreement, form=form)
            return sent_redirect(request, fixed)
        except Refused as exc:
            form.errors[exc.field], status = str(exc.detail), exc.status_code
    else:
        require_fixable(user, checkin)
    return await _fix_page(db, user, checkin, form=form, status_code=status)


@get("/meals/history", name="meals.history")
async def history(
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    settings: NamedDependency[Settings],
    month: FromQuery[str | None] = None,
    sent: FromQuery[int | None] = None,
) -> Template:
    if not user.has_role(Role.NEIGHBOUR):
        raise Forbidden()
    chosen = parse_month(month)
    if chosen is None:
        # This month in her programme's time zone (the app's default zone if she has no agreement).
        agreements = await policy.list_agreements_for(db, user, limit=1)
        zone = ZoneInfo(agreements[0].programme.time_zone if agreements else settings.time_zone)
        chosen = clock.now_in(zone).date().replace(day=1)
    data = await history_for_neighbour(db, user, chosen)
    return Template(
        template_name="meals/history.html",
        context={
            "principal": user,
            "history": data,
            "sent": sent if any(c.id == sent for c in data.checkins) else None,
        },
    )


@get("/meals/checkins/{checkin_id:int}", name="meals.checkin_detail")
async def checkin_detail(
    checkin_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    checkin = await policy.get_checkin_for(db, user, checkin_id)
    agreement = await policy.get_agreement_for(db, user, checkin.agreement_id)
    return Template(
        template_name="meals/checkin_detail.html",
        context={
            "principal": user,
            "checkin": checkin,
            "agreement": agreement,
            # Flags are for the reviewers; the neighbour is told only that hers came late.
            "show_flags": agreement.neighbour_id != user.id,
        },
    )


routes = [checkin_page, checkin_submit, history, checkin_detail, fix_page, fix_submit]
