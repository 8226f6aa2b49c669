"""A home assessment of a case, from the worker's phone: a plain multipart form that works without JS.

Photos go through the evidence pipeline before the assessment's write transaction opens (UPLOAD_OPTS),
as the visit form's do.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.cases import policy
from backend.cases.assessment_service import send_assessment_form
from backend.cases.case_forms import AssessmentForm, parse_assessment
from backend.cases.lists import active_dimensions
from backend.cases.models import MAX_PHOTOS, Case
from backend.cases.service import refuse_if_closed
from backend.clock import local_today
from backend.errors import Refused
from backend.evidence.intake import UPLOAD_OPTS, PhotoIntake
from backend.people.models import Programme


async def _page(
    db: AsyncSession,
    user: Principal,
    case: Case,
    *,
    form: AssessmentForm | None = None,
    status_code: int = 200,
) -> Template:
    programme = await db.get_one(Programme, case.programme_id)
    dimensions = await active_dimensions(db, case.programme_id)
    values = form.raw if form is not None else {"assessed_on": local_today(programme).isoformat(), "note": ""}
    keep_uuid = form is not None and form.errors
    context: dict[str, Any] = {
        "principal": user,
        "case": case,
        "dimensions": dimensions,
        "values": values,
        "errors": form.errors if form is not None else {},
        "client_uuid": str(form.client_uuid if keep_uuid and form else uuid.uuid4()),
        "today": local_today(programme).isoformat(),
        "max_photos": MAX_PHOTOS,
    }
    return Template(template_name="cases/assessment_new.html", context=context, status_code=status_code)


@get("/cases/{case_id:int}/assessments/new", name="cases.assessment_new")
async def assessment_page(
    case_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    case = await policy.get_case_for(db, user, case_id)
    policy.require_worker_on(user, case)
    refuse_if_closed(case)
    return await _page(db, user, case)


@post(
    "/cases/{case_id:int}/assessments/new",
    name="cases.assessment_create",
    include_in_schema=False,
    **UPLOAD_OPTS,
)
async def assessment_create(
    request: Request[Any, Any, Any],
    case_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    case = await policy.get_case_for(db, user, case_id)
    policy.require_worker_on(user, case)
    refuse_if_closed(case)
    form = await parse_assessment(await request.form(), await active_dimensions(db, case.programme_id))
    status = 400
    if not form.errors:
        try:
            await send_assessment_form(intake, user=user, case_id=case.id, form=form)
            url = request.app.route_reverse("cases.detail", case_id=case.id)
            return Redirect(f"{url}?saved=assessment#assessments", status_code=303)
        except Refused as exc:
            form.errors[exc.field], status = str(exc.detail), exc.status_code
    return await _page(db, user, case, form=form, status_code=status)


routes = [assessment_page, assessment_create]
