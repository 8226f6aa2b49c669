"""The neighbour fixes a check-in a reviewer sent back: a new version of the same meal, linked to it.

The form is the check-in form with the dishes filled in; a new photo is optional (without one, the
photos already sent are kept). Both versions are kept; the new one waits for review.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, Forbidden
from backend.evidence.form_intake import PhotoRefused, ingest_form_photo
from backend.evidence.routes import UPLOAD_OPTS
from backend.i18n import gettext as _
from backend.meals import policy
from backend.meals.checkin_routes import sent_redirect
from backend.meals.checkins import CheckInDraft, CheckInRefused, find_by_client_uuid, submit_checkin
from backend.meals.clock import local_today
from backend.meals.forms import CheckInForm, parse_checkin_form
from backend.meals.models import CheckIn, CheckInStatus
from backend.settings import Settings


def _require_fixable(user: Principal, checkin: CheckIn) -> None:
    if checkin.neighbour_id != user.id:
        raise Forbidden()
    if checkin.superseded_at is not None:
        raise Conflict(_("This check-in has already been sent again."))
    if checkin.status is not CheckInStatus.NEEDS_FIX:
        raise Conflict(_("Only a check-in sent back for a fix can be sent again."))


async def _page(
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
    checkin = await policy.get_checkin_for(db, user, checkin_id)
    _require_fixable(user, checkin)
    return await _page(db, user, checkin)


@post("/meals/checkins/{checkin_id:int}/fix", name="meals.fix_submit", include_in_schema=False, **UPLOAD_OPTS)
async def fix_submit(
    request: Request[Any, Any, Any],
    state: State,
    checkin_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    checkin = await policy.get_checkin_for(db, user, checkin_id)
    form = await parse_checkin_form(await request.form(), photo_required=False)
    # The meal and its day are those of the check-in being fixed, whatever the form says.
    form.errors.pop("slot", None)
    form.errors.pop("day", None)
    existing = await find_by_client_uuid(db, form.client_uuid)
    if existing is not None and existing.neighbour_id == user.id and existing.replaces_id == checkin.id:
        return sent_redirect(existing)  # the same fix sent twice: answer as the first time
    _require_fixable(user, checkin)
    status = 400
    if not form.errors:
        try:
            photo_uuids = tuple(p.client_uuid for p in checkin.photos)
            if form.photo:
                photo = await ingest_form_photo(
                    state,
                    settings,
                    user=user,
                    data=form.photo,
                    client_uuid=form.photo_uuid,
                    # Through the agreement, which loads the resident with her programme: a lazy load
                    # of checkin.resident cannot run in async code (it answered 500).
                    person=(await policy.get_agreement_for(db, user, checkin.agreement_id)).resident,
                )
                photo_uuids = (photo.client_uuid,)
            draft = CheckInDraft(
                checkin.agreement_id,
                checkin.slot,
                checkin.day,
                form.dishes,
                photo_uuids,
                replaces_id=checkin.id,
            )
            result = await submit_checkin(
                state.database, user=user, draft=draft, client_uuid=form.client_uuid
            )
            return sent_redirect(result.checkin)
        except CheckInRefused as exc:
            form.errors[exc.field], status = str(exc.detail), exc.status_code
        except PhotoRefused as exc:
            form.errors["photo"], status = exc.message, exc.status
        except Conflict as exc:
            form.errors["form"], status = str(exc.detail), exc.status_code
    return await _page(db, user, checkin, form=form, status_code=status)


routes = [fix_page, fix_submit]
