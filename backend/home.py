"""The home page: each role sees its own real data, loaded through the scoping helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend import clock
from backend.auth.models import Passkey
from backend.auth.notice_service import notice_due
from backend.auth.principal import Principal
from backend.meals.models import Agreement, AgreementStatus
from backend.meals.queries import TodayMeals, today_for_neighbour
from backend.people.models import Area, Membership, Person, Programme, Role
from backend.people.policy import area_and_below, list_people_for, visible_people, visible_programmes
from backend.pillar.contact_queries import PillarHome, load_pillar_home
from backend.settings import Settings
from backend.verification.returned import Returned, returned_to
from backend.visits.home import MotherHome, WorkerHome, load_mother_home, load_worker_home
from backend.visits.models import Pairing, PairingStatus


@dataclass
class ProgrammeSummary:
    programme: Programme
    people: int
    areas: list[Area] = field(default_factory=list)


@dataclass(frozen=True)
class FirstStep:
    """Something a new district must do before Carelog is of use: "programme", "areas", "staff" or
    "social_worker" (for `programme`)."""

    what: str
    programme: Programme | None = None


@dataclass
class HomeData:
    programmes: list[ProgrammeSummary] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    pairings: list[Pairing] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)
    meals_today: TodayMeals | None = None
    visits_home: MotherHome | None = None
    visits_worker: WorkerHome | None = None
    # Entries a reviewer sent back to this user for a fix.
    returned: list[Returned] = field(default_factory=list)
    # Signed in with a card and no passkey yet: the page offers to add one.
    offer_passkey: bool = False
    # A district set up without the demo: what to create first (empty once it has them).
    first_steps: list[FirstStep] = field(default_factory=list)
    # A pillar mother's group member or agency worker: overdue groups, her groups, her mothers, her plan.
    pillar: PillarHome | None = None


async def load_home(db: AsyncSession, user: Principal) -> HomeData:
    data = HomeData()
    data.offer_passkey = (
        await db.scalar(
            select(Passkey.id).where(Passkey.user_id == user.id, Passkey.revoked_at.is_(None)).limit(1)
        )
    ) is None
    if user.is_admin or user.has_role(Role.STAFF):
        programmes = (
            await db.scalars(
                select(Programme)
                .where(visible_programmes(user))
                .where(
                    Programme.id.in_(user.staff_programme_ids)
                    if not user.is_admin
                    else Programme.id.is_not(None)
                )
                .options(selectinload(Programme.area))
                .order_by(Programme.id)
            )
        ).all()
        for programme in programmes:
            count = await db.scalar(
                select(func.count(Person.id)).where(Person.programme_id == programme.id, visible_people(user))
            )
            areas = (
                await db.scalars(select(Area).where(area_and_below(programme.area.path)).order_by(Area.path))
            ).all()
            data.programmes.append(ProgrammeSummary(programme, count or 0, list(areas)))
        data.first_steps = await first_steps(db, user, data.programmes)
    if user.has_role(Role.SOCIAL_WORKER):
        data.people = await list_people_for(db, user)
        data.visits_worker = await load_worker_home(db, user)
    if user.has_role(Role.CARING_MOTHER):
        data.pairings = list(
            (
                await db.scalars(
                    select(Pairing)
                    .where(Pairing.mother_id == user.id, Pairing.status == PairingStatus.ACTIVE)
                    .options(selectinload(Pairing.child).selectinload(Person.area))
                    .order_by(Pairing.started_at)
                )
            ).all()
        )
        data.visits_home = await load_mother_home(db, user)
    if user.has_role(Role.NEIGHBOUR):
        data.agreements = list(
            (
                await db.scalars(
                    select(Agreement)
                    .where(Agreement.neighbour_id == user.id, Agreement.status == AgreementStatus.ACTIVE)
                    .options(selectinload(Agreement.resident).selectinload(Person.area))
                    .order_by(Agreement.id)
                )
            ).all()
        )
        data.meals_today = await today_for_neighbour(db, user)
    if any(user.has_role(r) for r in (Role.NEIGHBOUR, Role.CARING_MOTHER, Role.SOCIAL_WORKER)):
        # A station's social worker sends service deliveries: hers sent back for a fix are listed too.
        data.returned = await returned_to(db, user)
    data.pillar = await load_pillar_home(db, user, clock.utcnow())
    return data


async def first_steps(
    db: AsyncSession, user: Principal, summaries: list[ProgrammeSummary]
) -> list[FirstStep]:
    if not summaries:
        return [FirstStep("programme")] if user.is_admin else []
    steps: list[FirstStep] = []
    for summary in summaries:
        programme = summary.programme
        if len(summary.areas) <= 1:
            steps.append(FirstStep("areas", programme))
        roles = set(
            await db.scalars(
                select(Membership.role)
                .where(Membership.programme_id == programme.id, Membership.ended_at.is_(None))
                .distinct()
            )
        )
        if user.is_admin and Role.STAFF not in roles:
            steps.append(FirstStep("staff", programme))
        if Role.SOCIAL_WORKER not in roles:
            steps.append(FirstStep("social_worker", programme))
    return steps


# Set on this phone by "Not now": the passkey suggestion stays hidden here (another phone still shows it).
PASSKEY_OFFER_COOKIE = "passkey_offer"
PASSKEY_OFFER_HIDDEN_DAYS = 180


def _wants_page(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page (not a script asking for JSON), which may be sent to the notice."""
    return request.accept.best_match(["text/html", "application/json"], default="text/html") == "text/html"


@get("/", name="home")
async def home(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal | None],
) -> Template | Redirect:
    if principal is None:
        return Redirect(request.app.route_reverse("auth.signin_form"), status_code=303)
    if await notice_due(db, principal.id) and _wants_page(request):  # first sign-in: the notice first
        return Redirect(request.app.route_reverse("privacy"), status_code=303)
    data = await load_home(db, principal)
    if request.cookies.get(PASSKEY_OFFER_COOKIE) == "hidden":
        data.offer_passkey = False
    return Template(
        template_name="home/index.html", context={"principal": principal, "home": data, "Role": Role}
    )


@post("/home/passkey-offer/dismiss", name="home.dismiss_passkey_offer")
async def dismiss_passkey_offer(
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal | None],
    settings: NamedDependency[Settings],
) -> Redirect:
    target = "home" if principal is not None else "auth.signin_form"
    response = Redirect(request.app.route_reverse(target), status_code=303)
    response.set_cookie(
        key=PASSKEY_OFFER_COOKIE,
        value="hidden",
        max_age=PASSKEY_OFFER_HIDDEN_DAYS * 24 * 3600,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )
    return response


routes = [home, dismiss_passkey_offer]
