"""The neighbour's side on the phone: the check-in page and its plain form, her history, one check-in.

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
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.principal import Principal
from backend.errors import Conflict, Forbidden
from backend.evidence.form_intake import PhotoRefused, ingest_form_photo
from backend.evidence.routes import UPLOAD_OPTS
from backend.meals import policy
from backend.meals.checkins import (
    CheckInDraft,
    CheckInRefused,
    check_rules,
    current_checkin,
    find_by_client_uuid,
    submit_checkin,
)
from backend.meals.clock import local_today
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
        return Redirect(f"/meals/checkins/{existing.id}", status_code=303)
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
    state: State,
    agreement_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    agreement = await policy.get_agreement_for(db, user, agreement_id)
    policy.require_neighbour_of(user, agreement)
    form = await parse_checkin_form(await request.form())
    slot = form.slot or agreement.slots[0]
    day = form.day or local_today(agreement.programme)
    if not form.errors:
        existing = await find_by_client_uuid(db, form.client_uuid)
        if existing is not None and existing.neighbour_id == user.id:
            return sent_redirect(existing)  # the same form again: answer as the first time
        try:
            await check_rules(db, agreement, slot, day)  # before storing a photo for nothing
            photo = await ingest_form_photo(
                state,
                settings,
                user=user,
                data=form.photo,
                client_uuid=form.photo_uuid,
                person=agreement.resident,
            )
            draft = CheckInDraft(agreement.id, slot, day, form.dishes, (photo.client_uuid,))
            result = await submit_checkin(
                state.database, user=user, draft=draft, client_uuid=form.client_uuid
            )
            return sent_redirect(result.checkin)
        except CheckInRefused as exc:
            if exc.status_code == 409:  # perhaps this very form, sent twice at once, won meanwhile
                async with state.database.transaction(read_only=True) as fresh:
                    existing = await find_by_client_uuid(fresh, form.client_uuid)
                if existing is not None and existing.neighbour_id == user.id:
                    return sent_redirect(existing)
            form.errors[exc.field] = str(exc.detail)
            status = exc.status_code
        except PhotoRefused as exc:
            form.errors["photo"], status = exc.message, exc.status
        except Conflict as exc:
            form.errors["form"], status = str(exc.detail), exc.status_code
    else:
        status = 400
    return await _page(db, user, agreement, slot=slot, day=day, form=form, status_code=status)


def sent_redirect(checkin: CheckIn) -> Redirect:
    return Redirect(
        f"/meals/history?month={checkin.day:%Y-%m}&sent={checkin.id}#checkin-{checkin.id}", status_code=303
    )


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


routes = [checkin_page, checkin_submit, history, checkin_detail]
