"""Deciding an adjustment held for a second staff member: approve or refuse, from the month page.

One form per pending adjustment on the month page (no JavaScript needed): the adjustment's id and the
decision travel in the body, the programme in the path (loaded for the user first: 404 / 403). Money
needs a fresh proof of the person (auth/stepup.py), asked before anything is read from the form.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import stepup
from backend.auth.principal import Principal
from backend.i18n import gettext as _
from backend.settlement import policy
from backend.settlement.adjustment_service import AdjustmentRefused, do_decide_adjustment, get_adjustment_for

DECISIONS = {"approve": True, "refuse": False}


def _month_url(request: Request[Any, Any, Any], programme_id: int, month: str) -> str:
    url = request.app.route_reverse("settlement.month", meal_programme_id=programme_id)
    return f"{url}?month={month}" if month else url


@post("/settlement/{meal_programme_id:int}/adjustments/decide", name="settlement.adjustment_decide")
async def decide_adjustment(
    request: Request[Any, Any, Any],
    meal_programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Response[Any]:
    programme = await policy.get_settlement_programme_for(db, user, meal_programme_id)
    form = await request.form()
    month = str(form.get("month") or "")[:7]
    back = _month_url(request, programme.id, month)
    if (step_up := stepup.require_recent_proof(request, user, back_to=back)) is not None:
        return step_up
    raw_id, decision = str(form.get("adjustment_id") or ""), str(form.get("decision") or "")
    if not raw_id.isdigit() or len(raw_id) > 12 or decision not in DECISIONS:
        return _refused(user, back, _("Choose an adjustment and approve or refuse it."), 400)
    adjustment = await get_adjustment_for(db, programme.id, int(raw_id))
    try:
        await do_decide_adjustment(db, adjustment, approve=DECISIONS[decision], actor=user)
    except AdjustmentRefused as exc:
        await db.rollback()
        return _refused(user, back, str(exc.detail), 409)
    return Redirect(back, status_code=303)


def _refused(user: Principal, back: str, message: str, status_code: int) -> Template:
    return Template(
        template_name="settlement/adjustment_refused.html",
        context={"principal": user, "message": message, "back": back},
        status_code=status_code,
    )


routes = [decide_adjustment]
