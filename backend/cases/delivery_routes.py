"""The station worker's side of service deliveries: log one (plain multipart form, enhanced by the
offline outbox), see one with its review state, and fix one sent back.

The form works without JavaScript. It is idempotent like the API: the page gives each form a fresh
UUID and each photo's UUID follows from it, so a double tap on "send" stores one delivery and its photos
once. Photos go through the evidence pipeline before the delivery's write transaction opens.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NoRouteMatchFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.principal import Principal
from backend.cases import policy
from backend.cases.delivery_forms import DEFAULT_MINUTES, DeliveryForm, parse_delivery_form
from backend.cases.delivery_service import (
    MAX_BY_CHARS,
    MAX_MINUTES,
    MAX_NOTE_CHARS,
    MAX_PEOPLE,
    MIN_MINUTES,
    MIN_PEOPLE,
    active_items,
    case_deliveries,
    delivery_options,
    fixable_delivery,
    photos_message,
    send_delivery_form,
    time_zone_of,
)
from backend.cases.models import MAX_PHOTOS, Case, CaseStatus, Delivery, DeliveryStatus
from backend.errors import Conflict, Refused
from backend.evidence.intake import UPLOAD_OPTS, PhotoIntake
from backend.i18n import gettext as _
from backend.idempotency import own_original
from backend.people.policy import get_person_for

LIMITS = {
    "min_minutes": MIN_MINUTES,
    "max_minutes": MAX_MINUTES,
    "min_people": MIN_PEOPLE,
    "max_people": MAX_PEOPLE,
    "max_photos": MAX_PHOTOS,
    "max_note": MAX_NOTE_CHARS,
    "max_by": MAX_BY_CHARS,
}


async def _form_page(
    app: Litestar,
    db: AsyncSession,
    user: Principal,
    case: Case,
    *,
    form: DeliveryForm | None = None,
    delivery: Delivery | None = None,
    status_code: int = 200,
) -> Template:
    zone = await time_zone_of(db, case.programme_id)
    items = await active_items(db, case)
    if form is not None:
        values: dict[str, Any] = {
            **form.raw,
            "at_home": form.at_home,
            "note": form.note,
            "delivered_by": form.delivered_by,
        }
    elif delivery is not None:
        values = {
            "plan_item_id": str(delivery.plan_item_id),
            "delivered_on": delivery.delivered_on.isoformat(),
            "minutes": str(delivery.minutes),
            "people_count": str(delivery.people_count),
            "delivered_by": delivery.delivered_by,
            "at_home": delivery.at_home,
            "note": delivery.note,
        }
    else:
        values = {
            "plan_item_id": str(items[0].id) if items else "",
            "delivered_on": clock.today_in(zone).isoformat(),
            "minutes": str(DEFAULT_MINUTES),
            "people_count": "1",
            "delivered_by": "",
            "at_home": True,
            "note": "",
        }
    keep_uuid = form is not None and form.errors
    return Template(
        template_name="cases/delivery_form.html",
        context={
            "principal": user,
            "case": case,
            "items": items,
            "delivery": delivery,
            "values": values,
            "today": clock.today_in(zone).isoformat(),
            "client_uuid": str(form.client_uuid if keep_uuid and form else uuid.uuid4()),
            "errors": form.errors if form is not None else {},
            "limits": LIMITS,
            "case_url": case_url(app, case.id),
        },
        status_code=status_code,
    )


async def _case_to_deliver(db: AsyncSession, user: Principal, case_id: int) -> Case:
    case = await policy.get_case_for(db, user, case_id)
    policy.require_worker_on(user, case)
    if case.status is CaseStatus.CLOSED:
        raise Conflict(_("This case is closed; no more services can be logged in it."))
    return case


def case_url(app: Litestar, case_id: int) -> str | None:
    """The case page (cases.detail), when the app has it."""
    try:
        return app.route_reverse("cases.detail", case_id=case_id)
    except NoRouteMatchFoundException:
        return None


def _sent(request: Request[Any, Any, Any], delivery: Delivery) -> Redirect:
    return Redirect(
        request.app.route_reverse("deliveries.detail", delivery_id=delivery.id) + "?sent=1", status_code=303
    )


@get("/cases/{case_id:int}/deliveries/new", name="deliveries.new")
async def new_delivery(
    request: Request[Any, Any, Any],
    case_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template:
    case = await _case_to_deliver(db, user, case_id)
    return await _form_page(request.app, db, user, case)


@post("/cases/{case_id:int}/deliveries/new", name="deliveries.submit", include_in_schema=False, **UPLOAD_OPTS)
async def submit(
    request: Request[Any, Any, Any],
    case_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    case = await _case_to_deliver(db, user, case_id)
    form = await parse_delivery_form(await request.form())
    if form.plan_item_id is not None and form.plan_item_id not in {
        i.id for i in await active_items(db, case)
    }:
        form.errors["plan_item_id"] = _("Choose a service item that is still in this case's plan.")
    status = 400
    if not form.errors:
        try:
            person = await get_person_for(db, user, case.person_id)  # with its programme, for the photos
            return _sent(request, await send_delivery_form(intake, user=user, person=person, form=form))
        except Refused as exc:
            form.errors[exc.field], status = str(exc.detail), exc.status_code
    return await _form_page(request.app, db, user, case, form=form, status_code=status)


@get("/deliveries/{delivery_id:int}", name="deliveries.detail")
async def detail(
    request: Request[Any, Any, Any],
    delivery_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    sent: FromQuery[int] = 0,
) -> Template:
    delivery = await policy.get_delivery_for(db, user, delivery_id)
    delivery = await db.get_one(Delivery, delivery.id, options=delivery_options(), populate_existing=True)
    zone = await time_zone_of(db, delivery.programme_id)
    own = delivery.submitted_by_id == user.id
    return Template(
        template_name="cases/delivery.html",
        context={
            "principal": user,
            "delivery": delivery,
            "zone": zone.key,
            "sent": bool(sent),
            "may_fix": own and delivery.superseded_at is None and delivery.status is DeliveryStatus.NEEDS_FIX,
            "current": delivery.superseded_at is None,
            "case_url": case_url(request.app, delivery.case_id),
        },
    )


async def _own_to_fix(db: AsyncSession, user: Principal, delivery_id: int) -> tuple[Delivery, Case]:
    delivery = await fixable_delivery(db, user, delivery_id)
    case = await _case_to_deliver(db, user, delivery.case_id)
    delivery = await db.get_one(Delivery, delivery.id, options=delivery_options(), populate_existing=True)
    return delivery, case


@get("/deliveries/{delivery_id:int}/fix", name="deliveries.fix_page")
async def fix_page(
    request: Request[Any, Any, Any],
    delivery_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template:
    delivery, case = await _own_to_fix(db, user, delivery_id)
    return await _form_page(request.app, db, user, case, delivery=delivery)


@post("/deliveries/{delivery_id:int}/fix", name="deliveries.fix", include_in_schema=False, **UPLOAD_OPTS)
async def fix(
    request: Request[Any, Any, Any],
    delivery_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    raw_form = await request.form()
    form = await parse_delivery_form(raw_form)
    # The same fix sent twice (a double tap, a lost answer): the version the first one made.
    sent = await own_original(intake.database, Delivery, form.client_uuid, actor=user)
    if sent is not None and sent.replaces_id == delivery_id:
        return _sent(request, sent)
    delivery, case = await _own_to_fix(db, user, delivery_id)
    keep = {str(v) for v in raw_form.getall("keep_photo", [])}
    kept = [p.client_uuid for p in delivery.photos if str(p.id) in keep]
    if len(kept) + len(form.photos) > MAX_PHOTOS:
        form.errors["photos"] = photos_message()
    status = 400
    if not form.errors:
        try:
            person = await get_person_for(db, user, case.person_id)  # with its programme, for the photos
            fixed = await send_delivery_form(
                intake, user=user, person=person, form=form, replaces=delivery, kept=kept
            )
            return _sent(request, fixed)
        except Refused as exc:
            form.errors[exc.field], status = str(exc.detail), exc.status_code
    return await _form_page(request.app, db, user, case, form=form, delivery=delivery, status_code=status)


@get("/cases/{case_id:int}/deliveries", name="deliveries.of_case")
async def of_case(
    request: HTMXRequest,
    case_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template:
    """The case's deliveries: the case page's list fetched by htmx, or a page of its own without JS."""
    case = await policy.get_case_for(db, user, case_id)
    deliveries = await case_deliveries(db, case)
    if request.htmx and not request.htmx.boosted:
        return Template(template_name="cases/_deliveries_list.html", context={"deliveries": deliveries})
    return Template(
        template_name="cases/deliveries.html",
        context={
            "principal": user,
            "case": case,
            "deliveries": deliveries,
            "case_url": case_url(request.app, case.id),
        },
    )


routes = [new_delivery, submit, detail, fix_page, fix, of_case]
