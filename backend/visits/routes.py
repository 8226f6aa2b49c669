"""The caring mother's side on the phone: log a visit (plain multipart form), see one, correct it.

The form works without JavaScript. It is idempotent like the API: the page gives each form a fresh
UUID and each photo's UUID follows from it, so a double tap on "send" stores one visit and its photos
once. Photos go through the evidence pipeline before the visit's write transaction opens.
"""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.principal import Principal
from backend.db import utcnow
from backend.errors import Conflict, Forbidden, Refused
from backend.evidence.intake import UPLOAD_OPTS, PhotoIntake
from backend.i18n import gettext as _
from backend.visits import policy
from backend.visits.checklist_service import checklist_for
from backend.visits.forms import DEFAULT_MINUTES, VisitForm, parse_visit_form
from backend.visits.models import NeedArea, Pairing, Visit
from backend.visits.service import (
    CORRECTION_WINDOW,
    MAX_PHOTOS,
    may_correct_in_place,
    send_correction_form,
    send_visit_form,
)


async def _form_page(
    db: AsyncSession,
    user: Principal,
    pairings: list[Pairing],
    chosen: Pairing,
    *,
    form: VisitForm | None = None,
    visit: Visit | None = None,
    status_code: int = 200,
) -> Template:
    zone = ZoneInfo(chosen.child.programme.time_zone)
    items = await checklist_for(db, chosen.programme_id)
    if form is not None:
        values = {
            "visited_at": form.raw.get("visited_at", ""),
            "duration_minutes": form.raw.get("duration_minutes", ""),
            "need_areas": {a.value for a in form.need_areas},
            "checklist": set(form.checklist),
            "note": form.note,
        }
    elif visit is not None:
        values = {
            "visited_at": visit.visited_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": str(visit.duration_minutes),
            "need_areas": set(visit.need_areas),
            "checklist": set(visit.checklist),
            "note": visit.note,
        }
    else:
        values = {
            "visited_at": clock.now_in(zone).strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": str(DEFAULT_MINUTES),
            "need_areas": set(),
            "checklist": set(),
            "note": "",
        }
    keep_uuid = form is not None and form.errors
    context: dict[str, Any] = {
        "principal": user,
        "pairings": pairings,
        "chosen": chosen,
        "visit": visit,
        "items": items,
        "need_areas": list(NeedArea),
        "values": values,
        "client_uuid": str(form.client_uuid if keep_uuid and form else uuid.uuid4()),
        "errors": form.errors if form is not None else {},
        "in_place": visit is not None and may_correct_in_place(visit, now=utcnow()),
    }
    return Template(template_name="visits/log.html", context=context, status_code=status_code)


def _choose(pairings: list[Pairing], pairing_id: int | None) -> Pairing:
    for pairing in pairings:
        if pairing.id == pairing_id:
            return pairing
    if pairing_id is not None or not pairings:
        raise Forbidden()  # not her child (or no child at all): she may not log a visit for it
    return pairings[0]


@get("/visits/new", name="visits.new")
async def new_visit(
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    pairing_id: FromQuery[int | None] = None,
) -> Template:
    pairings = await policy.list_own_pairings(db, user)
    return await _form_page(db, user, pairings, _choose(pairings, pairing_id))


@post("/visits", name="visits.submit", include_in_schema=False, **UPLOAD_OPTS)
async def submit(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    pairings = await policy.list_own_pairings(db, user)
    if not pairings:
        raise Forbidden()
    raw_form = await request.form()
    chosen = _choose(pairings, None)
    # Read the pairing first: the checklist and time zone are the pairing programme's.
    raw_id = raw_form.get("pairing_id")
    if isinstance(raw_id, str) and raw_id.isdigit():
        chosen = _choose(pairings, int(raw_id))
    zone = ZoneInfo(chosen.child.programme.time_zone)
    form = await parse_visit_form(raw_form, zone=zone, items=await checklist_for(db, chosen.programme_id))
    status = 400
    if not form.errors:
        try:
            visit = await send_visit_form(intake, user=user, child=chosen.child, form=form)
            return _sent(request, visit)
        except Refused as exc:
            form.errors[exc.field], status = str(exc.detail), exc.status_code
    return await _form_page(db, user, pairings, chosen, form=form, status_code=status)


def _sent(request: Request[Any, Any, Any], visit: Visit) -> Redirect:
    return Redirect(
        request.app.route_reverse("visits.detail", visit_id=visit.id) + "?sent=1", status_code=303
    )


@get("/visits/{visit_id:int}", name="visits.detail")
async def detail(
    visit_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    sent: FromQuery[int] = 0,
) -> Template:
    visit = await policy.get_visit_for(db, user, visit_id)
    zone = visit.child.programme.time_zone
    return Template(
        template_name="visits/detail.html",
        context={
            "principal": user,
            "visit": visit,
            "zone": zone,
            "sent": bool(sent),
            "own": visit.mother_id == user.id,
            "current": visit.superseded_at is None,
            "in_place": may_correct_in_place(visit, now=utcnow()),
            "window_hours": int(CORRECTION_WINDOW.total_seconds() // 3600),
        },
    )


async def _own_visit(
    db: AsyncSession, user: Principal, visit_id: int
) -> tuple[Visit, list[Pairing], Pairing]:
    visit = await policy.get_visit_for(db, user, visit_id)
    if visit.mother_id != user.id:
        raise Forbidden()
    if visit.superseded_at is not None:
        raise Conflict(_("This visit has already been replaced by a newer version."))
    pairings = await policy.list_own_pairings(db, user)
    return visit, pairings, _choose(pairings, visit.pairing_id)


@get("/visits/{visit_id:int}/correct", name="visits.correct_page")
async def correct_page(
    visit_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    visit, pairings, chosen = await _own_visit(db, user, visit_id)
    return await _form_page(db, user, pairings, chosen, visit=visit)


@post("/visits/{visit_id:int}/correct", name="visits.correct", include_in_schema=False, **UPLOAD_OPTS)
async def correct(
    request: Request[Any, Any, Any],
    visit_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    visit, pairings, chosen = await _own_visit(db, user, visit_id)
    raw_form = await request.form()
    zone = ZoneInfo(chosen.child.programme.time_zone)
    form = await parse_visit_form(raw_form, zone=zone, items=await checklist_for(db, chosen.programme_id))
    form.pairing_id = visit.pairing_id  # a correction stays with its child
    form.errors.pop("pairing_id", None)
    keep = {str(v) for v in raw_form.getall("keep_photo", [])}
    kept = [p.client_uuid for p in visit.photos if str(p.id) in keep]
    if len(kept) + len(form.photos) > MAX_PHOTOS:
        form.errors["photos"] = _("At most %(count)s photos, please.") % {"count": MAX_PHOTOS}
    status = 400
    if not form.errors:
        try:
            corrected = await send_correction_form(
                intake, user=user, visit=visit, child=chosen.child, form=form, kept=kept
            )
            return _sent(request, corrected)
        except Refused as exc:
            form.errors[exc.field], status = str(exc.detail), exc.status_code
    return await _form_page(db, user, pairings, chosen, form=form, visit=visit, status_code=status)


routes = [new_visit, submit, detail, correct_page, correct]
