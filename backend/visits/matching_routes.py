"""The social worker's side: a child's needs, referral and consent; suggested mothers; confirming one."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.principal import Principal
from backend.errors import Conflict, NotFound
from backend.people.models import Person, PersonKind
from backend.people.policy import get_person_for
from backend.visits import policy
from backend.visits.forms import coordinate_values, parse_child_profile_form
from backend.visits.matching_service import child_needs, do_confirm_pairing, suggest_mothers
from backend.visits.models import (
    ChildProfile,
    ConsentMethod,
    NeedArea,
    Pairing,
    PairingStatus,
    ReferralSource,
)
from backend.visits.profile_service import do_record_child_profile, needs_consent
from backend.visits.service import VisitRefused


async def _child_for(db: AsyncSession, user: Principal, person_id: int) -> Person:
    child = await get_person_for(db, user, person_id)
    if child.kind is not PersonKind.CHILD:
        raise NotFound()
    return child


def _today(child: Person) -> date:
    return clock.now_in(ZoneInfo(child.programme.time_zone)).date()


async def _match_page(
    db: AsyncSession, user: Principal, child: Person, *, error: str | None = None, status_code: int = 200
) -> Template:
    current = await db.scalar(
        select(Pairing)
        .where(Pairing.child_id == child.id, Pairing.status == PairingStatus.ACTIVE)
        .options(*policy.pairing_options())
    )
    profile = await db.get(ChildProfile, child.id)
    context: dict[str, Any] = {
        "principal": user,
        "child": child,
        "profile": profile,
        "needs": child_needs(profile),
        "current": current,
        "suggestions": [] if current is not None else await suggest_mothers(db, child),
        "may_confirm": policy.is_social_worker_for(user, child),
        "consent_needed": needs_consent(child, _today(child)),
        "error": error,
    }
    return Template(template_name="visits/match.html", context=context, status_code=status_code)


@get("/pairings/match/{child_id:int}", name="visits.match")
async def match(
    child_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    child = await _child_for(db, user, child_id)
    policy.require_matching_viewer(user, child)
    return await _match_page(db, user, child)


@post("/pairings/match/{child_id:int}", name="visits.confirm_pairing")
async def confirm_pairing(
    request: Request[Any, Any, Any],
    child_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    child = await _child_for(db, user, child_id)
    policy.require_social_worker_for(user, child)
    form = await request.form()
    raw = form.get("mother_id")
    mother_id = int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 12 else 0
    consent = form.get("guardian_consent") == "yes"
    try:
        await do_confirm_pairing(db, child, mother_id, actor=user, guardian_consent=consent)
    except VisitRefused as exc:
        return await _match_page(db, user, child, error=str(exc.detail), status_code=400)
    except Conflict as exc:
        return await _match_page(db, user, child, error=str(exc.detail), status_code=409)
    url = request.app.route_reverse("visits.match", child_id=child.id)
    return Redirect(f"{url}?paired=1", status_code=303)


async def _profile_page(
    db: AsyncSession,
    user: Principal,
    child: Person,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    profile = await db.get(ChildProfile, child.id)
    if values is None:
        values = {
            "referral_source": profile.referral_source.value if profile else "",
            "needs": set(profile.needs) if profile else set(),
            "consent_on": profile.consent_on.isoformat() if profile and profile.consent_on else "",
            "consent_method": profile.consent_method.value if profile and profile.consent_method else "",
            **coordinate_values(profile),
        }
    context: dict[str, Any] = {
        "principal": user,
        "child": child,
        "values": values,
        "errors": errors or {},
        "sources": list(ReferralSource),
        "methods": list(ConsentMethod),
        "need_areas": list(NeedArea),
        "consent_needed": needs_consent(child, _today(child)),
    }
    return Template(template_name="visits/child_profile.html", context=context, status_code=status_code)


@get("/children/{child_id:int}/profile", name="visits.child_profile")
async def child_profile(
    child_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    child = await _child_for(db, user, child_id)
    policy.require_social_worker_for(user, child)
    return await _profile_page(db, user, child)


@post("/children/{child_id:int}/profile", name="visits.child_profile_save")
async def child_profile_save(
    request: Request[Any, Any, Any],
    child_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    child = await _child_for(db, user, child_id)
    policy.require_social_worker_for(user, child)
    form = parse_child_profile_form(await request.form())
    if form.intake is not None and not form.errors:
        try:
            await do_record_child_profile(db, child, form.intake, actor=user, today=_today(child))
        except VisitRefused as exc:
            form.errors[exc.field] = str(exc.detail)
        else:
            return Redirect(request.app.route_reverse("visits.match", child_id=child.id), status_code=303)
    return await _profile_page(db, user, child, values=form.values, errors=form.errors, status_code=400)


routes = [match, confirm_pairing, child_profile, child_profile_save]
