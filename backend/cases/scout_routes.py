"""A hardship scout's pages: report a need from the phone (with an optional photo) and see her reports'
status, nothing more (not what a worker added, not who took it, nothing of anyone else's report).

The report form is idempotent like the visit form: a hidden UUID names the report, and its photo's UUID
follows from it, so a double tap stores one report and one photo. The photo is received before the
write transaction opens (evidence/intake.py); it is about nobody (no person yet), and the station's
workers see it through the order (evidence/policy.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.cases import policy
from backend.cases.models import OrderCategory, OrderSource
from backend.cases.order_forms import (
    CATEGORY_LABELS,
    MAX_CONTACT,
    MAX_DESCRIPTION,
    ORDER_LABELS,
    OrderForm,
    parse_order_form,
)
from backend.cases.order_queries import scout_reports
from backend.cases.order_service import OrderDraft, do_create_order, find_order_by_uuid
from backend.cases.stations import report_choices
from backend.errors import Forbidden, Refused
from backend.evidence.intake import UPLOAD_OPTS, PhotoIntake
from backend.people.models import Area, Role


def _require_scout(user: Principal) -> None:
    if not policy.is_scout(user):
        raise Forbidden()


@get("/scout", name="scout.reports")
async def reports(
    db: NamedDependency[AsyncSession], user: NamedDependency[Principal], sent: FromQuery[int] = 0
) -> Template:
    _require_scout(user)
    return Template(
        template_name="cases/scout_reports.html",
        context={
            "principal": user,
            "reports": await scout_reports(db, user),
            "labels": ORDER_LABELS,
            "sent": bool(sent),
        },
    )


async def _form_page(
    db: AsyncSession, user: Principal, form: OrderForm | None = None, status_code: int = 200
) -> Template:
    choices = await report_choices(db, user, Role.HARDSHIP_SCOUT)
    return Template(
        template_name="cases/scout_report.html",
        context={
            "principal": user,
            "areas": [area for _, area, _ in choices],
            "categories": [(c.value, CATEGORY_LABELS[c]) for c in OrderCategory],
            "raw": form.raw if form else {},
            "errors": form.errors if form else {},
            "client_uuid": str(form.client_uuid if form and form.errors else uuid.uuid4()),
            "max_description": MAX_DESCRIPTION,
            "max_contact": MAX_CONTACT,
        },
        status_code=status_code,
    )


@get("/scout/report", name="scout.report_form")
async def report_form(db: NamedDependency[AsyncSession], user: NamedDependency[Principal]) -> Template:
    _require_scout(user)
    return await _form_page(db, user)


async def _photo(raw_form: Any) -> bytes | None:
    upload = raw_form.get("photo")
    if not isinstance(upload, UploadFile):
        return None
    data = await upload.read()
    await upload.close()
    return data or None


@post("/scout/report", name="scout.report", include_in_schema=False, **UPLOAD_OPTS)
async def report(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    _require_scout(user)
    raw_form = await request.form()
    choices = {
        area.id: (programme_id, area, station)
        for programme_id, area, station in await report_choices(db, user, Role.HARDSHIP_SCOUT)
    }
    form = parse_order_form(raw_form, allowed_area_ids=set(choices))
    photo = await _photo(raw_form)
    if form.errors:
        return await _form_page(db, user, form, status_code=400)
    assert form.area_id is not None and form.category is not None  # parse_order_form
    programme_id, area, station = choices[form.area_id]
    done = Redirect(request.app.route_reverse("scout.reports") + "?sent=1", status_code=303)
    async with intake.database.transaction(read_only=True) as read:
        sent = await find_order_by_uuid(read, form.client_uuid)
    if sent is not None and _draft(programme_id, station, area, form, user, None).same_as(sent):
        return done  # sent twice (a double tap, a lost answer): the first stands
    # Anything else under a UUID already used (other words, another sender's) is refused below with a
    # 409 by do_create_order, before a photo is kept for it.
    try:
        photo_id = None
        if photo is not None and sent is None:
            received = await intake.receive(
                photo, actor=user, client_uuid=uuid.uuid5(form.client_uuid, "photo"), person=None
            )
            photo_id = received.entry.id
        async with intake.database.transaction() as write:
            await do_create_order(
                write,
                _draft(programme_id, station, area, form, user, photo_id),
                actor=user,
            )
    except Refused as exc:
        form.errors[exc.field] = str(exc.detail)
        return await _form_page(db, user, form, status_code=exc.status_code)
    return done


def _draft(
    programme_id: int, station: Area, area: Area, form: OrderForm, user: Principal, photo_id: int | None
) -> OrderDraft:
    assert form.category is not None
    return OrderDraft(
        programme_id=programme_id,
        station=station,
        household_area=area,
        source=OrderSource.SCOUT,
        category=form.category,
        description=form.description,
        contact=form.contact,
        client_uuid=form.client_uuid,
        reported_by_id=user.id,
        photo_id=photo_id,
    )


routes = [reports, report_form, report]
