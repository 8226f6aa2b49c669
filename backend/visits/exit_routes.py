"""The pages of a pairing's exit, one step at a time (the steps and their rules: exit_service.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Conflict, Forbidden
from backend.i18n import gettext as _
from backend.visits import policy
from backend.visits.exit_service import do_decide_exit, do_record_investigation, do_request_exit, open_exit
from backend.visits.models import ExitRequest, ExitStatus, Pairing
from backend.visits.service import VisitRefused


async def _pairing_for(db: AsyncSession, user: Principal, pairing_id: int) -> Pairing:
    pairing = await policy.get_pairing_for(db, user, pairing_id)
    if not (
        user.is_admin
        or pairing.programme_id in user.staff_programme_ids
        or policy.is_social_worker_for(user, pairing.child)
    ):
        raise Forbidden()  # the mother sees her pairing, but its exit is for the workers and staff
    return pairing


def _may_decide(user: Principal, pairing: Pairing) -> bool:
    return user.is_admin or pairing.programme_id in user.staff_programme_ids


async def _page(
    db: AsyncSession, user: Principal, pairing: Pairing, *, error: str | None = None, status_code: int = 200
) -> Template:
    history = await db.scalars(
        select(ExitRequest).where(ExitRequest.pairing_id == pairing.id).order_by(ExitRequest.id.desc())
    )
    context: dict[str, Any] = {
        "principal": user,
        "pairing": pairing,
        "child": pairing.child,
        "open": await open_exit(db, pairing),
        "history": list(history),
        "is_worker": policy.is_social_worker_for(user, pairing.child),
        "may_decide": _may_decide(user, pairing),
        "error": error,
    }
    return Template(template_name="visits/exit.html", context=context, status_code=status_code)


@get("/pairings/{pairing_id:int}/exit", name="visits.exit")
async def exit_page(
    pairing_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    return await _page(db, user, await _pairing_for(db, user, pairing_id))


async def _note_field(request: Request[Any, Any, Any]) -> str:
    value = (await request.form()).get("note")
    return value[:2000] if isinstance(value, str) else ""


@post("/pairings/{pairing_id:int}/exit", name="visits.exit_step")
async def exit_step(
    request: Request[Any, Any, Any],
    pairing_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    """One route for the next step, so the form cannot name a step out of turn."""
    pairing = await _pairing_for(db, user, pairing_id)
    form = await request.form()
    note = await _note_field(request)
    current = await open_exit(db, pairing)
    try:
        if current is None:
            if not policy.is_social_worker_for(user, pairing.child):
                raise Forbidden()
            await do_request_exit(db, pairing, note, actor=user)
        elif current.status is ExitStatus.REQUESTED:
            if not policy.is_social_worker_for(user, pairing.child):
                raise Forbidden()
            await do_record_investigation(db, current, note, actor=user)
        else:
            if not _may_decide(user, pairing):
                raise Forbidden()
            decision = form.get("decision")
            if decision not in ("approve", "reject"):
                raise VisitRefused(_("Choose to approve or to reject the exit."), field="decision")
            await do_decide_exit(db, current, pairing, approve=decision == "approve", note=note, actor=user)
    except VisitRefused as exc:
        return await _page(db, user, pairing, error=str(exc.detail), status_code=400)
    except Conflict as exc:
        return await _page(db, user, pairing, error=str(exc.detail), status_code=409)
    return Redirect(request.app.route_reverse("visits.exit", pairing_id=pairing.id), status_code=303)


routes = [exit_page, exit_step]
