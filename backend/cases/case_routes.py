"""Cases: the list, opening one directly, the case page, accepting a requested case, changing its lead.

A station's social worker sees her stations' cases (those she leads, or all of her stations'); staff see
their programmes' (filtered by station). Opening, accepting and changing the lead are the station's
workers' (403 for staff); a case the user may not see is a 404.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.cases import policy
from backend.cases.case_forms import NewCaseForm, number, parse_new_case
from backend.cases.lists import PAGE_SIZE, cursor_of, list_cases, load_case_file, station_workers
from backend.cases.models import CaseStatus
from backend.cases.service import do_accept, do_change_lead, do_open_case, open_case_of
from backend.errors import Conflict, Forbidden, Refused
from backend.i18n import gettext as _
from backend.people.models import Area, Person, PersonKind, Programme
from backend.people.person_service import do_create_person
from backend.people.policy import area_and_below


def _require_case_user(user: Principal) -> None:
    if not (policy.is_case_worker(user) or policy.is_case_staff(user)):
        raise Forbidden()


@get("/cases", name="cases.list")
async def case_list(
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    tab: FromQuery[str] = "",
    status: FromQuery[str] = "",
    station: FromQuery[str] = "",
    before: FromQuery[str] = "",
) -> Template:
    _require_case_user(user)
    worker = policy.is_case_worker(user)
    mine = worker and tab != "station"
    chosen = CaseStatus(status) if status in set(CaseStatus) else None
    area_id = int(station) if station.isdigit() and len(station) < 10 else None
    cursor = await cursor_of(db, user, int(before)) if before.isdigit() and len(before) < 10 else None
    cases = await list_cases(
        db, user, mine=mine, status=chosen, before=cursor, limit=PAGE_SIZE + 1, area_id=area_id
    )
    more = len(cases) > PAGE_SIZE
    cases = cases[:PAGE_SIZE]
    stations: list[Area] = []
    if policy.is_case_staff(user):
        stations = await _staff_stations(db, user)
    params = {"tab": "station" if worker and not mine else "", "status": chosen.value if chosen else ""}
    if area_id is not None:
        params["station"] = str(area_id)
    context: dict[str, Any] = {
        "principal": user,
        "cases": cases,
        "worker": worker,
        "mine": mine,
        "status": chosen,
        "statuses": list(CaseStatus),
        "stations": stations,
        "station_id": area_id,
        "next_before": cases[-1].id if more and cases else None,
        "params": {k: v for k, v in params.items() if v},
    }
    return Template(template_name="cases/case_list.html", context=context)


async def _staff_stations(db: AsyncSession, user: Principal) -> list[Area]:
    """The areas of the user's case programmes, for the station filter."""
    programmes = await db.scalars(
        select(Programme)
        .where(Programme.id.in_(user.staff_programme_ids), Programme.kind.in_(policy.CASE_KINDS))
        .options(selectinload(Programme.area))
    )
    found: list[Area] = []
    for programme in programmes:
        found.extend(
            await db.scalars(select(Area).where(area_and_below(programme.area.path)).order_by(Area.path))
        )
    return found


async def _new_page(
    db: AsyncSession,
    user: Principal,
    *,
    form: NewCaseForm | None = None,
    status_code: int = 200,
    existing: int | None = None,
) -> Template:
    grants = policy.station_grants(user)
    if not grants:
        raise Forbidden()
    people: list[Person] = []
    areas: list[Area] = []
    for grant in grants:
        below = select(Area.id).where(area_and_below(grant.area_path)).scalar_subquery()
        people.extend(
            await db.scalars(
                select(Person)
                .where(
                    Person.programme_id == grant.programme_id,
                    Person.area_id.in_(below),
                    Person.ended_at.is_(None),
                    Person.kind != PersonKind.GUARDIAN,
                )
                .options(selectinload(Person.area))
                .order_by(Person.display_name, Person.id)
                .limit(500)
            )
        )
        areas.extend(
            await db.scalars(
                select(Area)
                .where(area_and_below(grant.area_path), Area.closed_at.is_(None))
                .order_by(Area.path)
            )
        )
    context: dict[str, Any] = {
        "principal": user,
        "people": people,
        "areas": areas,
        "values": form.raw if form is not None else {},
        "errors": form.errors if form is not None else {},
        "existing": existing,
    }
    return Template(template_name="cases/case_new.html", context=context, status_code=status_code)


@get("/cases/new", name="cases.new")
async def new_case(db: NamedDependency[AsyncSession], user: NamedDependency[Principal]) -> Template:
    return await _new_page(db, user)


async def _person_and_station(
    db: AsyncSession, user: Principal, form: NewCaseForm
) -> tuple[Person | None, Area, Programme]:
    """The person (or None for a new one) and the station: the worker's grant area holding them."""
    if form.person_id is not None:
        person = await db.scalar(
            select(Person).where(Person.id == form.person_id).options(selectinload(Person.area))
        )
        area = person.area if person is not None else None
        programme_id = person.programme_id if person is not None else None
    else:
        person, area = None, await db.get(Area, form.area_id or 0)
        programme_id = None
    usable = area is not None and area.closed_at is None and (person is None or person.ended_at is None)
    for grant in policy.station_grants(user):
        if not usable or area is None or not area.path.startswith(grant.area_path):
            continue
        if programme_id is None or programme_id == grant.programme_id:
            station = await db.get_one(Area, grant.area_id)
            return person, station, await db.get_one(Programme, grant.programme_id)
    field = "person_id" if form.person_id is not None else "area_id"
    raise Refused(_("Choose a person or an area of your station."), field=field, status_code=400)


@post("/cases/new", name="cases.create")
async def create_case(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template | Redirect:
    if not policy.is_station_worker(user):
        raise Forbidden()
    form = parse_new_case(await request.form())
    if form.errors:
        return await _new_page(db, user, form=form, status_code=400)
    try:
        person, station, programme = await _person_and_station(db, user, form)
        if person is not None and (case := await open_case_of(db, person.id)) is not None:
            form.errors["person_id"] = _("This person already has an open case: case %(id)s.") % {
                "id": case.id
            }
            return await _new_page(db, user, form=form, status_code=409, existing=case.id)
        if person is None:
            area = await db.get_one(Area, form.area_id or 0)
            person = await do_create_person(
                db,
                programme=programme,
                area=area,
                kind=PersonKind.RESIDENT,
                display_name=form.display_name,
                birth_year=form.birth_year,
                actor=user,
            )
        case = await do_open_case(
            db, programme=programme, area=station, person=person, lead_worker_id=user.id, actor=user
        )
    except Refused as exc:
        form.errors[exc.field] = str(exc.detail)
        return await _new_page(
            db, user, form=form, status_code=400 if exc.status_code == 422 else exc.status_code
        )
    return Redirect(
        request.app.route_reverse("cases.detail", case_id=case.id) + "?saved=opened", status_code=303
    )


@get("/cases/{case_id:int}", name="cases.detail")
async def case_detail(
    case_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    saved: FromQuery[str] = "",
) -> Template:
    case = await policy.get_case_for(db, user, case_id)
    works = policy.works_on(user, case)
    context: dict[str, Any] = {
        "principal": user,
        "case": case,
        "file": await load_case_file(db, case),
        "programme": await db.get_one(Programme, case.programme_id),
        "works_on": works,
        "open": case.closed_at is None,
        "workers": await station_workers(db, case.programme_id, case.area) if works else [],
        "saved": saved[:20],
    }
    return Template(template_name="cases/case_detail.html", context=context)


@post("/cases/{case_id:int}/accept", name="cases.accept")
async def accept(
    request: Request[Any, Any, Any],
    case_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Redirect:
    case = await policy.get_case_for(db, user, case_id)
    policy.require_worker_on(user, case)
    if case.status is CaseStatus.CLOSED:
        raise Conflict(_("This case is closed; nothing in it can change."))
    if case.status is not CaseStatus.REQUESTED and case.lead_worker_id == user.id:
        pass  # a re-sent accept by the worker who accepted it: nothing to do
    else:
        await do_accept(db, case, actor=user)
    return Redirect(
        request.app.route_reverse("cases.detail", case_id=case.id) + "?saved=accepted", status_code=303
    )


@post("/cases/{case_id:int}/lead", name="cases.lead")
async def change_lead(
    request: Request[Any, Any, Any],
    case_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Redirect:
    case = await policy.get_case_for(db, user, case_id)
    policy.require_worker_on(user, case)
    if case.status is CaseStatus.CLOSED:
        raise Conflict(_("This case is closed; nothing in it can change."))
    lead_id = number(await request.form(), "lead_worker_id")
    workers = {u.id: u for u in await station_workers(db, case.programme_id, case.area)}
    if lead_id not in workers:
        raise Refused(_("Choose a social worker of this station."), field="lead_worker_id", status_code=400)
    await do_change_lead(db, case, workers[lead_id], actor=user)
    return Redirect(
        request.app.route_reverse("cases.detail", case_id=case.id) + "?saved=lead", status_code=303
    )


routes = [case_list, new_case, create_case, case_detail, accept, change_lead]
