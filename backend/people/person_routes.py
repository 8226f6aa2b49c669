"""The people served, kept by social workers and staff: lists (people and users), adding, editing,
moving, ending and resuming. Everyone else gets a 403; a person outside her scope is a 404.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NoRouteMatchFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.db import utcnow
from backend.errors import Forbidden, Refused
from backend.evidence.intake import UPLOAD_OPTS, PhotoIntake
from backend.i18n import gettext as _
from backend.i18n import lazy_gettext as _l
from backend.links import strip_form_token
from backend.people import remit
from backend.people.enrol_service import NewPerson, do_add_person
from backend.people.lists import PEOPLE, USERS, ListQuery, keyset_page
from backend.people.models import Area, EndReason, Membership, Person, PersonKind, ProgrammeKind, User
from backend.people.person_forms import (
    NewPersonForm,
    PersonForm,
    parse_area_choice,
    parse_edit_form,
    parse_end_reason,
    parse_new_person_form,
)
from backend.people.person_service import (
    PersonFields,
    do_end_person,
    do_move_person,
    do_resume_person,
    do_update_person,
    possible_duplicates,
)
from backend.people.policy import get_person_for, visible_people
from backend.visits.models import ConsentMethod, NeedArea, ReferralSource
from backend.visits.profile_service import ChildIntake

PROGRAMME_FOR = {
    PersonKind.CHILD: ProgrammeKind.CARING_MOTHERS,
    PersonKind.RESIDENT: ProgrammeKind.NEIGHBOUR_MEALS,
}
END_REASONS = {
    EndReason.MOVED_AWAY: _l("Moved away"),
    EndReason.AGED_OUT: _l("Aged out"),
    EndReason.DIED: _l("Died"),
    EndReason.LEFT_SCHEME: _l("Left the scheme"),
}


def _require_keeper(user: Principal) -> None:
    if not remit.may_keep_people(user):
        raise Forbidden()


async def _areas(db: AsyncSession, user: Principal) -> list[Area]:
    seen: dict[int, Area] = {}
    for _programme, area in await remit.places_for(db, user):
        seen.setdefault(area.id, area)
    return sorted(seen.values(), key=lambda a: a.path)


@get("/people", name="people.list")
async def people_list(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    _require_keeper(user)
    query = ListQuery.from_params(request.query_params)
    page = await keyset_page(
        db,
        select(Person).where(visible_people(user)),
        PEOPLE,
        query,
        options=(selectinload(Person.area), selectinload(Person.programme)),
    )
    return Template(
        template_name="people/people.html",
        context={
            "principal": user,
            "page": page,
            "query": query,
            "areas": await _areas(db, user),
            "end_reasons": END_REASONS,
        },
    )


@get("/people/users", name="people.users")
async def users_list(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    if not remit.may_list_users(user):
        raise Forbidden()
    query = ListQuery.from_params(request.query_params)
    page = await keyset_page(db, select(User).where(remit.visible_users(user)), USERS, query)
    roles: dict[int, list[Membership]] = {}
    if page.rows:
        memberships = await db.scalars(
            select(Membership)
            .where(Membership.user_id.in_([u.id for u in page.rows]), Membership.ended_at.is_(None))
            .options(selectinload(Membership.area))
            .order_by(Membership.id)
        )
        for m in memberships:
            roles.setdefault(m.user_id, []).append(m)
    return Template(
        template_name="people/users.html",
        context={
            "principal": user,
            "page": page,
            "query": query,
            "areas": await _areas(db, user),
            "memberships": roles,
            # The user page is built beside this one; rows link to it once it exists.
            "user_page": _has_route(request, "people.user"),
        },
    )


def _has_route(request: Request[Any, Any, Any], name: str) -> bool:
    try:
        request.app.route_reverse(name, user_id=0)
    except NoRouteMatchFoundException:
        return False
    return True


# ---- adding ----


async def _new_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    user: Principal,
    form: NewPersonForm | None = None,
    *,
    raw: dict[str, str] | None = None,
    duplicates: list[Person] | None = None,
    status_code: int = 200,
) -> Template:
    raw = form.raw if form is not None else (raw or {})
    guardian_query = ListQuery.from_params(
        {"q": raw.get("guardian_q", ""), "after": raw.get("guardian_after")}, size=10
    )
    guardians = await keyset_page(
        db,
        select(Person).where(visible_people(user), Person.kind == PersonKind.GUARDIAN),
        PEOPLE,
        guardian_query,
        options=(selectinload(Person.area), selectinload(Person.programme)),
    )
    chosen = None
    if raw.get("guardian_id", "").isdigit():
        chosen = await db.scalar(
            select(Person).where(
                Person.id == int(raw["guardian_id"]), visible_people(user), Person.kind == PersonKind.GUARDIAN
            )
        )
    return Template(
        template_name="people/person_new.html" if duplicates is None else "people/person_same.html",
        context={
            "principal": user,
            "raw": raw,
            "errors": form.errors if form is not None else {},
            "places": await remit.places_for(db, user),
            "guardians": guardians,
            "guardian_query": guardian_query,
            "chosen_guardian": chosen,
            "duplicates": duplicates or [],
            "kinds": list(PersonKind),
            "referral_sources": list(ReferralSource),
            "needs": list(NeedArea),
            "consent_methods": list(ConsentMethod),
            "client_uuid": str(form.client_uuid) if form is not None else raw.get("client_uuid", ""),
            "chosen_needs": set(request.query_params.getall("needs", []))
            if form is None
            else {n.value for n in form.needs},
        },
        status_code=status_code,
    )


@get("/people/new", name="people.new")
async def person_new(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template | Redirect:
    _require_keeper(user)
    if (clean := strip_form_token(request)) is not None:
        return clean
    raw = {k: v[:600] for k, v in request.query_params.items()}
    return await _new_page(request, db, user, raw=raw)


@post("/people", name="people.create", include_in_schema=False, **UPLOAD_OPTS)
async def person_create(
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    intake: NamedDependency[PhotoIntake],
) -> Template | Redirect:
    _require_keeper(user)
    form = await parse_new_person_form(await request.form(), this_year=utcnow().year)
    places = {(p.id, a.id): p for p, a in await remit.places_for(db, user)}
    programme = places.get((form.programme_id or 0, form.area_id or 0))
    if form.programme_id is not None and programme is None:
        form.errors["place"] = _("Choose a community within your areas.")
    elif (
        programme is not None
        and form.kind in PROGRAMME_FOR
        and programme.kind is not PROGRAMME_FOR[form.kind]
    ):
        form.errors["place"] = (
            _("A child belongs to a caring-mother programme.")
            if form.kind is PersonKind.CHILD
            else _("A resident belongs to a meal programme.")
        )
    if form.errors or form.kind is None or form.programme_id is None or form.area_id is None:
        return await _new_page(request, db, user, form, status_code=400)
    if not form.confirmed:
        found = await possible_duplicates(
            db, form.programme_id, form.display_name, form.birth_year, form.area_id
        )
        if found:
            return await _new_page(request, db, user, form, duplicates=found, status_code=409)
    new = NewPerson(
        programme_id=form.programme_id,
        area_id=form.area_id,
        kind=form.kind,
        display_name=form.display_name,
        birth_year=form.birth_year,
        reference=form.reference or None,
        note=form.note or None,
        guardian_id=form.guardian_id,
        guardian_name=form.guardian_name or None,
        child=ChildIntake(form.referral_source, form.needs, form.consent_on, form.consent_method)
        if form.kind is PersonKind.CHILD and form.referral_source is not None
        else None,
        photo=form.photo,
        client_uuid=form.client_uuid,
    )
    try:
        person = await do_add_person(intake, new, user=user)
    except Refused as exc:
        form.errors[exc.field or "form"] = str(exc.detail)
        return await _new_page(request, db, user, form, status_code=exc.status_code)
    return Redirect(request.app.route_reverse("people.detail", person_id=person.id), status_code=303)


# ---- editing, moving, ending ----


async def _kept_person(db: AsyncSession, user: Principal, person_id: int) -> Person:
    # Loaded first: someone she may not see is a 404, someone she sees but does not keep a 403.
    person = await get_person_for(db, user, person_id)
    remit.require_remit(user, person)
    return person


async def _edit_page(
    db: AsyncSession,
    user: Principal,
    person: Person,
    *,
    raw: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    guardians = []
    if person.kind is PersonKind.CHILD:
        guardians = list(
            await db.scalars(
                select(Person)
                .where(
                    visible_people(user),
                    Person.kind == PersonKind.GUARDIAN,
                    Person.programme_id == person.programme_id,
                    Person.area_id == person.area_id,
                )
                .order_by(Person.display_name, Person.id)
                .limit(50)
            )
        )
        if person.guardian is not None and person.guardian not in guardians:
            guardians.insert(0, person.guardian)
    areas = [a for p, a in await remit.places_for(db, user) if p.id == person.programme_id]
    values = raw or {
        "display_name": person.display_name,
        "birth_year": str(person.birth_year or ""),
        "reference": person.reference or "",
        "note": person.note or "",
        "guardian_id": str(person.guardian_id or ""),
    }
    return Template(
        template_name="people/person_edit.html",
        context={
            "principal": user,
            "person": person,
            "raw": values,
            "errors": errors or {},
            "guardians": guardians,
            "areas": areas,
            "end_reasons": END_REASONS,
        },
        status_code=status_code,
    )


@get("/people/{person_id:int}/edit", name="people.edit")
async def person_edit(
    person_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    return await _edit_page(db, user, await _kept_person(db, user, person_id))


def _back(request: Request[Any, Any, Any], person: Person) -> Redirect:
    return Redirect(request.app.route_reverse("people.detail", person_id=person.id), status_code=303)


@post("/people/{person_id:int}/edit", name="people.update")
async def person_update(
    request: Request[Any, Any, Any],
    person_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    person = await _kept_person(db, user, person_id)
    form: PersonForm = parse_edit_form(await request.form(), this_year=utcnow().year)
    guardian = person.guardian
    if person.kind is PersonKind.CHILD and form.guardian_id != person.guardian_id:
        guardian = await db.scalar(
            select(Person).where(
                Person.id == (form.guardian_id or 0),
                visible_people(user),
                Person.kind == PersonKind.GUARDIAN,
                Person.programme_id == person.programme_id,
            )
        )
        if guardian is None:
            form.errors["guardian"] = _("Choose a guardian of this programme.")
    if form.errors:
        return await _edit_page(db, user, person, raw=form.raw, errors=form.errors, status_code=400)
    fields = PersonFields(form.display_name, form.birth_year, guardian, form.reference, form.note)
    try:
        await do_update_person(db, person, fields, actor=user)
    except Refused as exc:
        return await _edit_page(
            db,
            user,
            person,
            raw=form.raw,
            errors={exc.field or "form": str(exc.detail)},
            status_code=exc.status_code,
        )
    return _back(request, person)


@post("/people/{person_id:int}/move", name="people.move")
async def person_move(
    request: Request[Any, Any, Any],
    person_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    person = await _kept_person(db, user, person_id)
    area_id = parse_area_choice(await request.form())
    area = await db.get(Area, area_id) if area_id is not None else None
    if area is None:
        return await _edit_page(
            db, user, person, errors={"area_id": _("Choose a community.")}, status_code=400
        )
    if not remit.in_remit(user, person.programme_id, area.path):
        raise Forbidden(_("This community is outside your areas."))
    try:
        await do_move_person(db, person, area, actor=user)
    except Refused as exc:
        return await _edit_page(
            db, user, person, errors={"area_id": str(exc.detail)}, status_code=exc.status_code
        )
    return _back(request, person)


@post("/people/{person_id:int}/end", name="people.end")
async def person_end(
    request: Request[Any, Any, Any],
    person_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    person = await _kept_person(db, user, person_id)
    reason = parse_end_reason(await request.form())
    if reason is None:
        return await _edit_page(db, user, person, errors={"reason": _("Choose a reason.")}, status_code=400)
    try:
        await do_end_person(db, person, reason, actor=user)
    except Refused as exc:
        return await _edit_page(
            db, user, person, errors={"reason": str(exc.detail)}, status_code=exc.status_code
        )
    return _back(request, person)


@post("/people/{person_id:int}/resume", name="people.resume")
async def person_resume(
    request: Request[Any, Any, Any],
    person_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Redirect:
    person = await _kept_person(db, user, person_id)
    await do_resume_person(db, person, actor=user)
    return _back(request, person)


routes = [
    people_list,
    users_list,
    person_new,
    person_create,
    person_edit,
    person_update,
    person_move,
    person_end,
    person_resume,
]
