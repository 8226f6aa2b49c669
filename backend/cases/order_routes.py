"""The station's queue and an order's page: a worker orders on behalf of a referrer, takes an order
(it becomes a case), passes it to another station or closes it; staff see every station's queue and
which orders are overdue. Scoping goes through cases/policy.py only; the station's poster (its public
request link and QR code) is for its workers and the programme's staff."""

from __future__ import annotations

import uuid
from typing import Any

import segno
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NoRouteMatchFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.principal import Principal
from backend.cases import policy
from backend.cases.models import CaseOrder, OrderCategory, OrderSource, OrderStatus, ReferrerKind
from backend.cases.order_forms import (
    CATEGORY_LABELS,
    MAX_CONTACT,
    MAX_DESCRIPTION,
    ORDER_LABELS,
    REFERRER_LABELS,
    OrderForm,
    parse_close_form,
    parse_order_form,
    parse_pass_form,
    parse_take_form,
)
from backend.cases.order_queries import household_choices, is_overdue, list_queue, order_history
from backend.cases.order_service import (
    OrderDraft,
    do_close_order,
    do_create_order,
    do_pass_order,
    do_take_order,
    may_act_on,
)
from backend.cases.stations import get_station_for, report_choices, station_token, stations_of
from backend.errors import Forbidden, Refused
from backend.people.models import Area, Programme, Role
from backend.settings import Settings


def _require_queue(user: Principal) -> None:
    if not (policy.is_station_worker(user) or policy.is_case_staff(user)):
        raise Forbidden()


@get("/orders", name="orders.queue")
async def queue(
    db: NamedDependency[AsyncSession], user: NamedDependency[Principal], overdue: FromQuery[int] = 0
) -> Template:
    _require_queue(user)
    rows = await list_queue(db, user, now=clock.utcnow(), overdue_only=bool(overdue))
    stations = sorted(
        {(g.area_id, g.area_name) for g in policy.station_grants(user)}, key=lambda pair: pair[1]
    )
    return Template(
        template_name="cases/orders.html",
        context={
            "principal": user,
            "rows": rows,
            "labels": ORDER_LABELS,
            "overdue_only": bool(overdue),
            "may_order": policy.is_station_worker(user),
            "stations": stations,
            "zone": clock.REFERENCE_ZONE.key,
        },
    )


async def _new_page(
    db: AsyncSession, user: Principal, form: OrderForm | None = None, status_code: int = 200
) -> Template:
    choices = await report_choices(db, user, Role.SOCIAL_WORKER)
    return Template(
        template_name="cases/orders_new.html",
        context={
            "principal": user,
            "areas": [area for _, area, _ in choices],
            "categories": [(c.value, CATEGORY_LABELS[c]) for c in OrderCategory],
            "referrers": [(k.value, REFERRER_LABELS[k]) for k in ReferrerKind],
            "raw": form.raw if form else {},
            "errors": form.errors if form else {},
            "client_uuid": str(form.client_uuid if form and form.errors else uuid.uuid4()),
            "max_description": MAX_DESCRIPTION,
            "max_contact": MAX_CONTACT,
        },
        status_code=status_code,
    )


def _require_station_worker(user: Principal) -> None:
    if not policy.is_station_worker(user):
        raise Forbidden()


@get("/orders/new", name="orders.new")
async def new_order(db: NamedDependency[AsyncSession], user: NamedDependency[Principal]) -> Template:
    _require_station_worker(user)
    return await _new_page(db, user)


@post("/orders", name="orders.create")
async def create_order(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template | Redirect:
    _require_station_worker(user)
    choices = {a.id: (p, a, s) for p, a, s in await report_choices(db, user, Role.SOCIAL_WORKER)}
    form = parse_order_form(await request.form(), allowed_area_ids=set(choices), with_referrer=True)
    if form.errors:
        return await _new_page(db, user, form, status_code=400)
    assert form.category is not None and form.area_id is not None  # parse_order_form
    programme_id, area, station = choices[form.area_id]
    draft = OrderDraft(
        programme_id=programme_id,
        station=station,
        household_area=area,
        source=OrderSource.REFERRER,
        category=form.category,
        description=form.description,
        contact=form.contact,
        client_uuid=form.client_uuid,
        referrer_kind=form.referrer_kind,
        referrer_name=form.referrer_name,
        reported_by_id=user.id,
    )
    try:
        order, _created = await do_create_order(db, draft, actor=user)
    except Refused as exc:
        form.errors[exc.field] = str(exc.detail)
        return await _new_page(db, user, form, status_code=exc.status_code)
    return Redirect(request.app.route_reverse("orders.detail", order_id=order.id), status_code=303)


async def _detail_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    user: Principal,
    order: CaseOrder,
    *,
    errors: dict[str, str] | None = None,
    raw: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    programme = await db.get_one(Programme, order.programme_id)
    acting = may_act_on(user, order) and order.status is OrderStatus.OPEN
    others = [s for s in await stations_of(db, order.programme_id) if s.id != order.station_area_id]
    history = await order_history(db, order)
    case_url = _case_url(request, history.case_id, order.id) if history.case_id else None
    return Template(
        template_name="cases/orders_detail.html",
        context={
            "principal": user,
            "order": order,
            "history": history,
            "case_url": case_url,
            "overdue": await is_overdue(db, order, now=clock.utcnow()),
            "acting": acting,
            "people": await household_choices(db, order) if acting else [],
            "stations": others,
            "labels": ORDER_LABELS,
            "zone": programme.time_zone,
            "errors": errors or {},
            "raw": raw or {},
        },
        status_code=status_code,
    )


@get("/orders/{order_id:int}", name="orders.detail")
async def detail(
    request: Request[Any, Any, Any],
    order_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template:
    order = await policy.get_order_for(db, user, order_id)
    return await _detail_page(request, db, user, order)


async def _refused_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    user: Principal,
    order_id: int,
    exc: Refused | None,
    errors: dict[str, str],
    raw: dict[str, str],
) -> Template:
    """The order's page again with the form's errors; whatever the handler wrote is undone first."""
    await db.rollback()
    order = await policy.get_order_for(db, user, order_id)
    if exc is not None:
        errors[exc.field] = str(exc.detail)
    status = exc.status_code if exc is not None else 400
    return await _detail_page(request, db, user, order, errors=errors, raw=raw, status_code=status)


def _case_url(request: Request[Any, Any, Any], case_id: int, order_id: int) -> str:
    try:
        return request.app.route_reverse("cases.detail", case_id=case_id)
    except NoRouteMatchFoundException:  # the case pages are not mounted: the order's page says it
        return request.app.route_reverse("orders.detail", order_id=order_id)


@post("/orders/{order_id:int}/take", name="orders.take")
async def take(
    request: Request[Any, Any, Any],
    order_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    order = await policy.get_order_for(db, user, order_id)
    raw_form = await request.form()
    form = parse_take_form(raw_form)
    raw = {"person_id": str(raw_form.get("person_id", ""))[:20], "new_name": form.new_name}
    if form.errors:
        if not may_act_on(user, order):
            raise Forbidden()
        return await _refused_page(request, db, user, order_id, None, form.errors, raw)
    try:
        case = await do_take_order(db, order, person_id=form.person_id, new_name=form.new_name, actor=user)
    except Refused as exc:
        return await _refused_page(request, db, user, order_id, exc, {}, raw)
    return Redirect(_case_url(request, case.id, order.id), status_code=303)


@post("/orders/{order_id:int}/pass", name="orders.pass_on")
async def pass_on(
    request: Request[Any, Any, Any],
    order_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    order = await policy.get_order_for(db, user, order_id)
    form = parse_pass_form(await request.form())
    raw = {"reason": form.reason, "to_area_id": str(form.to_area_id or "")}
    if form.errors:
        if not may_act_on(user, order):
            raise Forbidden()
        return await _refused_page(request, db, user, order_id, None, form.errors, raw)
    assert form.to_area_id is not None
    try:
        await do_pass_order(db, order, to_area_id=form.to_area_id, reason=form.reason, actor=user)
    except Refused as exc:
        return await _refused_page(request, db, user, order_id, exc, {}, raw)
    return Redirect(request.app.route_reverse("orders.queue") + "?passed=1", status_code=303)


@post("/orders/{order_id:int}/close", name="orders.close")
async def close(
    request: Request[Any, Any, Any],
    order_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    order = await policy.get_order_for(db, user, order_id)
    form = parse_close_form(await request.form())
    if form.errors:
        if not may_act_on(user, order):
            raise Forbidden()
        return await _refused_page(request, db, user, order_id, None, form.errors, {"note": form.note})
    await do_close_order(db, order, note=form.note, actor=user)
    return Redirect(request.app.route_reverse("orders.detail", order_id=order.id), status_code=303)


def _qr_svg(url: str) -> Markup:
    # segno writes plain SVG paths (no script, no external references): safe to inline.
    return Markup(segno.make(url, error="m").svg_inline(scale=6, omitsize=True))  # noqa: S704


@get("/stations/{area_id:int}/poster", name="orders.poster")
async def poster(
    area_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    settings: NamedDependency[Settings],
) -> Template:
    programmes = await get_station_for(db, user, area_id)
    area = await db.get_one(Area, area_id)
    posters = []
    for programme in programmes:
        path = f"/request/{station_token(settings.secret_key, programme.id, area.id)}"
        url = settings.public_origin.rstrip("/") + path
        posters.append({"programme": programme, "url": url, "qr": _qr_svg(url)})
    return Template(
        template_name="cases/orders_poster.html",
        context={"principal": user, "station": area, "posters": posters},
    )


routes = [queue, new_order, create_order, detail, take, pass_on, close, poster]
