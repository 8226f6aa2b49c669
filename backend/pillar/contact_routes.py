"""A group member logs a contact with the mother from her phone: the form (enhanced by the offline
outbox, `data-outbox="contact"`) and its plain post, which works without JavaScript.

The page gives each form a fresh UUID and the photo's UUID follows from it, so a double tap on "send"
stores one contact and its photo once. The photo goes through the evidence pipeline before the
contact's write transaction opens. Who may: `Access.may_log_contact` (group members, the mother
included, and her agency's workers), else 403; staff only read; a file she may not see is a 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.principal import Principal
from backend.cases.models import Case, CaseStatus
from backend.errors import Conflict, Refused
from backend.evidence.intake import UPLOAD_OPTS, PhotoIntake
from backend.i18n import gettext as _
from backend.people.models import Programme
from backend.pillar import policy
from backend.pillar.contact_forms import DEFAULT_MINUTES, ContactForm, parse_contact_form
from backend.pillar.contact_service import MAX_MINUTES, MAX_NOTE_CHARS, MIN_MINUTES, send_contact_form
from backend.pillar.models import ContactChannel, PillarFile

LIMITS = {"min_minutes": MIN_MINUTES, "max_minutes": MAX_MINUTES, "max_note": MAX_NOTE_CHARS}


async def file_to_contact(db: AsyncSession, user: Principal, file_id: int) -> PillarFile:
    file = await policy.get_file_for(db, user, file_id)
    policy.require((await policy.access_to(db, user, file)).may_log_contact)
    if (await db.get_one(Case, file.case_id)).status is CaseStatus.CLOSED:
        raise Conflict(_("This file is closed; no more contacts can be logged in it."))
    return file


async def _form_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    user: Principal,
    file: PillarFile,
    *,
    form: ContactForm | None = None,
    status_code: int = 200,
) -> Template:
    programme = await db.get_one(Programme, file.programme_id)
    today = clock.today_in(clock.zone_of(programme)).isoformat()
    values: dict[str, Any] = (
        {**form.raw}
        if form is not None
        else {
            "contacted_on": today,
            "channel": ContactChannel.HOME.value,
            "minutes": str(DEFAULT_MINUTES),
            "note": "",
        }
    )
    keep_uuid = form is not None and form.errors
    return Template(
        template_name="pillar/contact_new.html",
        context={
            "principal": user,
            "file": file,
            "values": values,
            "today": today,
            "channels": list(ContactChannel),
            "client_uuid": str(form.client_uuid if keep_uuid and form else uuid.uuid4()),
            "errors": form.errors if form is not None else {},
            "limits": LIMITS,
            "file_url": request.app.route_reverse("pillar.file", file_id=file.id),
        },
        status_code=status_code,
    )


@get("/pillar/mothers/{file_id:int}/contacts/new", name="pillar.contact_new")
async def new_contact(
    request: Request[Any, Any, Any],
    file_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template:
    file = await file_to_contact(db, user, file_id)
    return await _form_page(request, db, user, file)


@post(
    "/pillar/mothers/{file_id:int}/contacts",
    name="pillar.contact_submit",
    include_in_schema=False,
    **UPLOAD_OPTS,
)
async def submit_contact_form(
    request: Request[Any, Any, Any],
    file_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    file = await file_to_contact(db, user, file_id)
    form = await parse_contact_form(await request.form())
    status = 400
    if not form.errors:
        try:
            await send_contact_form(
                intake,
                user=user,
                draft_of=form.draft_for(file.id),
                client_uuid=form.client_uuid,
                photo=form.raw_photo(),
            )
            return Redirect(
                request.app.route_reverse("pillar.file", file_id=file.id) + "?saved=contact#pillar-contacts",
                status_code=303,
            )
        except Refused as exc:
            form.errors[exc.field], status = str(exc.detail), exc.status_code
    return await _form_page(request, db, user, file, form=form, status_code=status)


routes = [new_contact, submit_contact_form]
