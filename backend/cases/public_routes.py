"""The public request page of a station (no account; reached from the station's QR poster).

Every POST is counted per client address and in total before anything is stored, and refused past the
limit with a 429 in the visitor's language (auth/ratelimit.py keeps the counters, keyed hashes of the
addresses, purged by `carelog purge`). A re-sent form (the same hidden UUID) is one row. The thank-you
page says what happens next and shows nothing of any order.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import TooManyRequestsException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import ratelimit
from backend.cases.models import OrderCategory, OrderSource
from backend.cases.order_forms import (
    CATEGORY_LABELS,
    MAX_CONTACT,
    MAX_DESCRIPTION,
    OrderForm,
    parse_order_form,
)
from backend.cases.order_service import OrderDraft, do_create_order
from backend.cases.stations import PublicStation, areas_under, station_by_token
from backend.errors import Refused
from backend.i18n import lazy_gettext
from backend.settings import Settings

# A family at the poster sends one or two; a community centre's shared Wi-Fi a few dozen in an hour.
REQUEST_PER_CLIENT = ratelimit.Limit("request", 20, timedelta(minutes=15))
# All addresses together: bounds what any number of addresses can store (about 3,000 rows an hour).
REQUEST_ALL_CLIENTS = ratelimit.Limit("request-all", 800, timedelta(minutes=15))


class RequestsLimited(TooManyRequestsException):
    def __init__(self, limit: ratelimit.Limit) -> None:
        super().__init__(
            detail=str(
                lazy_gettext(
                    "Too many requests have been sent from here just now. Nothing was saved. "
                    "Please wait a quarter of an hour and try again, or call the station."
                )
            ),
            headers={"Retry-After": str(ratelimit.retry_after(limit))},
        )


async def take_request_slot(db: AsyncSession, client_key: str) -> None:
    total = ratelimit.bucket_key(REQUEST_ALL_CLIENTS)
    if await ratelimit.is_blocked(db, REQUEST_PER_CLIENT, client_key):
        raise RequestsLimited(REQUEST_PER_CLIENT)
    if await ratelimit.is_blocked(db, REQUEST_ALL_CLIENTS, total):
        raise RequestsLimited(REQUEST_ALL_CLIENTS)
    await ratelimit.record_failure(db, REQUEST_PER_CLIENT, client_key)
    await ratelimit.record_failure(db, REQUEST_ALL_CLIENTS, total)


async def _page(
    db: AsyncSession, found: PublicStation, code: str, form: OrderForm | None = None, status_code: int = 200
) -> Template:
    return Template(
        template_name="cases/public_request.html",
        context={
            "code": code,
            "station": found.station,
            "areas": await areas_under(db, found.station),
            "categories": [(c.value, CATEGORY_LABELS[c]) for c in OrderCategory],
            "raw": form.raw if form else {},
            "errors": form.errors if form else {},
            "client_uuid": str(form.client_uuid if form and form.errors else uuid.uuid4()),
            "max_description": MAX_DESCRIPTION,
            "max_contact": MAX_CONTACT,
        },
        status_code=status_code,
    )


@get("/request/{code:str}", name="request.form")
async def request_form(
    code: FromPath[str], db: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
) -> Template:
    found = await station_by_token(db, settings.secret_key, code)
    return await _page(db, found, code)


@post("/request/{code:str}", name="request.send")
async def request_send(
    request: Request[Any, Any, Any],
    code: FromPath[str],
    db: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    found = await station_by_token(db, settings.secret_key, code)
    await take_request_slot(db, ratelimit.client_bucket(REQUEST_PER_CLIENT, request.scope, settings))
    areas = {a.id: a for a in await areas_under(db, found.station)}
    form = parse_order_form(await request.form(), allowed_area_ids=set(areas))
    if form.errors:
        return await _page(db, found, code, form, status_code=400)
    assert form.area_id is not None and form.category is not None  # parse_order_form
    draft = OrderDraft(
        programme_id=found.programme.id,
        station=found.station,
        household_area=areas[form.area_id],
        source=OrderSource.RESIDENT,
        category=form.category,
        description=form.description,
        contact=form.contact,
        client_uuid=form.client_uuid,
    )
    try:
        await do_create_order(db, draft, actor=None)
    except Refused as exc:
        form.errors[exc.field] = str(exc.detail)
        return await _page(db, found, code, form, status_code=exc.status_code)
    return Redirect(request.app.route_reverse("request.thanks", code=code), status_code=303)


@get("/request/{code:str}/thanks", name="request.thanks")
async def request_thanks(
    code: FromPath[str], db: NamedDependency[AsyncSession], settings: NamedDependency[Settings]
) -> Template:
    found = await station_by_token(db, settings.secret_key, code)
    return Template(
        template_name="cases/public_thanks.html", context={"code": code, "station": found.station}
    )


routes = [request_form, request_send, request_thanks]
