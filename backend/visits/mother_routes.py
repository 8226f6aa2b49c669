"""The programme side of the caring-mother scheme for staff and social workers: a hub page, a mother's
profile (area, offers, skills, capacity) and a pairing's expected visit frequency.

A mother's profile is edited by the social workers of her area and by the programme's staff; she may
see that she exists but not change it (403); to anyone else she does not exist (404). A pairing's
frequency is set by the social workers of the child's area; staff and the mother see the pairing (403).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.errors import Conflict, Forbidden
from backend.i18n import gettext as _
from backend.people.lists import USERS, ListQuery, Status, keyset_page
from backend.people.models import Area, AreaLevel, Membership, Programme, ProgrammeKind, Role, User
from backend.people.policy import area_and_below, visible_programmes
from backend.visits import policy
from backend.visits.forms import coordinate_values, parse_mother_profile_form, parse_number
from backend.visits.models import MotherProfile, NeedArea, Pairing, PairingStatus
from backend.visits.profile_service import MAX_CAPACITY, MAX_SKILLS_CHARS, MotherEdit, do_edit_mother_profile
from backend.visits.service import VISIT_INTERVAL_CHOICES, VisitRefused, do_set_visit_interval


@dataclass
class ProgrammeWork:
    programme: Programme
    is_staff: bool
    mothers: list[Membership] = field(default_factory=list)
    next_after: str | None = None
    meeting_areas: list[Area] = field(default_factory=list)


async def areas_worked(db: AsyncSession, user: Principal, programme: Programme) -> list[Area]:
    """The areas of the programme the user works in, in tree order."""
    areas = await db.scalars(select(Area).where(area_and_below(programme.area.path)).order_by(Area.path))
    return [a for a in areas if policy.works_in(user, programme.id, a.path)]


async def _mothers_page(
    db: AsyncSession, user: Principal, programme: Programme, query: ListQuery
) -> tuple[list[Membership], str | None]:
    """One page of the programme's caring mothers (keyset, by name; backend/people/lists.py)."""
    theirs = (
        select(Membership.id)
        .where(
            Membership.user_id == User.id,
            Membership.programme_id == programme.id,
            Membership.user_id != user.id,
            policy.visible_mother_memberships(user),
        )
        .exists()
    )
    # Mothers are current by their membership (visible_mother_memberships keeps current ones only).
    page = await keyset_page(db, select(User).where(theirs), USERS, replace(query, status=Status.ALL))
    if not page.rows:
        return [], None
    memberships = await db.scalars(
        select(Membership)
        .where(
            Membership.user_id.in_([u.id for u in page.rows]),
            Membership.programme_id == programme.id,
            policy.visible_mother_memberships(user),
        )
        .options(selectinload(Membership.user), selectinload(Membership.area))
    )
    first: dict[int, Membership] = {}
    for m in memberships:
        first.setdefault(m.user_id, m)
    return [first[u.id] for u in page.rows if u.id in first], page.next_after


@get("/caring-mothers", name="visits.hub")
async def hub(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    if not policy.uses_caring_mothers_work(user):
        raise Forbidden()
    programmes = await db.scalars(
        select(Programme)
        .where(Programme.kind == ProgrammeKind.CARING_MOTHERS, visible_programmes(user))
        .options(selectinload(Programme.area))
        .order_by(Programme.id)
    )
    search = ListQuery.from_params(request.query_params)
    work = []
    for programme in programmes:
        if not (
            policy.is_staff_of(user, programme.id)
            or any(g.programme_id == programme.id for g in user.grants_for(Role.SOCIAL_WORKER))
        ):
            continue
        query = replace(search, after=request.query_params.get(f"after{programme.id}"))
        mothers, next_after = await _mothers_page(db, user, programme, query)
        areas = await areas_worked(db, user, programme)
        work.append(
            ProgrammeWork(
                programme=programme,
                is_staff=policy.is_staff_of(user, programme.id),
                mothers=mothers,
                next_after=next_after,
                meeting_areas=[a for a in areas if a.level in (AreaLevel.STREET, AreaLevel.DISTRICT)],
            )
        )
    return Template(
        template_name="visits/hub.html",
        context={"principal": user, "work": work, "query": search, "areas": await _hub_areas(db, user, work)},
    )


async def _hub_areas(db: AsyncSession, user: Principal, work: list[ProgrammeWork]) -> list[Area]:
    seen: dict[int, Area] = {}
    for item in work:
        for area in await areas_worked(db, user, item.programme):
            seen.setdefault(area.id, area)
    return sorted(seen.values(), key=lambda a: a.path)


# ---- a caring mother's profile ----


async def _editable_membership(
    db: AsyncSession, user: Principal, mother_id: int, programme_id: int | None
) -> Membership:
    memberships = await policy.mother_memberships_for(db, user, mother_id)
    for membership in memberships:
        if programme_id in (None, membership.programme_id) and policy.works_in(
            user, membership.programme_id, membership.area.path
        ):
            return membership
    raise Forbidden()  # she may see herself, but her profile is kept by her social worker and staff


async def _profile_page(
    db: AsyncSession,
    user: Principal,
    membership: Membership,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    saved: bool = False,
) -> Template:
    programme = membership.programme
    profile = await db.scalar(
        select(MotherProfile).where(
            MotherProfile.user_id == membership.user_id, MotherProfile.programme_id == programme.id
        )
    )
    if values is None:
        values = {
            "area_id": membership.area_id,
            "offers": set(profile.offers) if profile else set(),
            "skills": profile.skills if profile else "",
            "capacity": str(profile.capacity if profile else 1),
            **coordinate_values(profile),
        }
    context: dict[str, Any] = {
        "principal": user,
        "membership": membership,
        "mother": membership.user,
        "programme": programme,
        "areas": await areas_worked(db, user, programme),
        "need_areas": list(NeedArea),
        "values": values,
        "errors": errors or {},
        "load": await _load(db, membership),
        "max_skills": MAX_SKILLS_CHARS,
        "max_capacity": MAX_CAPACITY,
        "saved": saved,
    }
    return Template(template_name="visits/mother_profile.html", context=context, status_code=status_code)


async def _load(db: AsyncSession, membership: Membership) -> int:
    return int(
        await db.scalar(
            select(func.count(Pairing.id)).where(
                Pairing.mother_id == membership.user_id,
                Pairing.programme_id == membership.programme_id,
                Pairing.status == PairingStatus.ACTIVE,
            )
        )
        or 0
    )


@get("/mothers/{mother_id:int}/profile", name="visits.mother_profile")
async def mother_profile(
    mother_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    programme_id: FromQuery[int | None] = None,
    saved: FromQuery[int] = 0,
) -> Template:
    membership = await _editable_membership(db, user, mother_id, programme_id)
    return await _profile_page(db, user, membership, saved=bool(saved))


@post("/mothers/{mother_id:int}/profile", name="visits.mother_profile_save")
async def mother_profile_save(
    request: Request[Any, Any, Any],
    mother_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    form = parse_mother_profile_form(await request.form())
    membership = await _editable_membership(db, user, mother_id, form.programme_id)
    areas = {a.id: a for a in await areas_worked(db, user, membership.programme)}
    area = areas.get(form.area_id or 0)
    if area is None:
        form.errors["area_id"] = _("Choose one of your areas.")
    if area is not None and form.capacity is not None and not form.errors:
        edit = MotherEdit(
            area=area,
            offers=form.offers,
            skills=form.values["skills"],
            capacity=form.capacity,
            coordinates=form.coordinates,
        )
        try:
            await do_edit_mother_profile(db, membership, edit, actor=user, load=await _load(db, membership))
        except VisitRefused as exc:
            form.errors[exc.field] = str(exc.detail)
        else:
            url = request.app.route_reverse("visits.mother_profile", mother_id=mother_id)
            return Redirect(f"{url}?saved=1", status_code=303)
    return await _profile_page(db, user, membership, values=form.values, errors=form.errors, status_code=400)


# ---- a pairing's expected visit frequency ----


async def _pairing(db: AsyncSession, user: Principal, pairing_id: int) -> Pairing:
    pairing = await policy.get_pairing_for(db, user, pairing_id)
    policy.require_social_worker_for(user, pairing.child)
    return pairing


def _frequency_page(
    user: Principal, pairing: Pairing, *, error: str | None = None, status_code: int = 200
) -> Template:
    context: dict[str, Any] = {
        "principal": user,
        "pairing": pairing,
        "child": pairing.child,
        "choices": VISIT_INTERVAL_CHOICES,
        "error": error,
    }
    return Template(template_name="visits/frequency.html", context=context, status_code=status_code)


@get("/pairings/{pairing_id:int}/frequency", name="visits.frequency")
async def frequency(
    pairing_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    return _frequency_page(user, await _pairing(db, user, pairing_id))


@post("/pairings/{pairing_id:int}/frequency", name="visits.frequency_save")
async def frequency_save(
    request: Request[Any, Any, Any],
    pairing_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    pairing = await _pairing(db, user, pairing_id)
    days = parse_number((await request.form()).get("days"), 3) or 0
    try:
        await do_set_visit_interval(db, pairing, days, actor=user)
    except VisitRefused as exc:
        return _frequency_page(user, pairing, error=str(exc.detail), status_code=400)
    except Conflict as exc:
        return _frequency_page(user, pairing, error=str(exc.detail), status_code=409)
    url = request.app.route_reverse("visits.match", child_id=pairing.child_id)
    return Redirect(f"{url}?frequency=1", status_code=303)


routes = [hub, mother_profile, mother_profile_save, frequency, frequency_save]
