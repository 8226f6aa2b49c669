"""People's data rights, for staff: export (a page with a button, then the ZIP) and erasure (a dry run
page, then the confirmed erase) of a person served or of a user. Who may: people/rights_service.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit, clock
from backend.auth.principal import Principal
from backend.errors import Refused
from backend.people import erasure, export
from backend.people.models import Person, User
from backend.people.rights_service import (
    ErasurePlan,
    erasure_plan_for_person,
    erasure_plan_for_user,
    get_person_for_rights,
    get_user_for_rights,
)


def _zip_response(spool: Any, stem: str) -> Stream:
    # Ids only in the file name: no person's name reaches a header or a log.
    return Stream(
        export.stream_file(spool),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{stem}.zip"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _export_page(user: Principal, subject: Person | User, kind: str) -> Template:
    return Template(
        template_name="people/rights_export.html",
        context={"principal": user, "subject": subject, "kind": kind},
    )


def _erase_page(
    user: Principal, subject: Person | User, kind: str, plan: ErasurePlan, error: str | None, status: int
) -> Template:
    return Template(
        template_name="people/rights_erase.html",
        context={"principal": user, "subject": subject, "kind": kind, "plan": plan, "error": error},
        status_code=status,
    )


@get("/people/{person_id:int}/export", name="rights.person_export")
async def person_export_page(
    person_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    return _export_page(user, await get_person_for_rights(db, user, person_id), "person")


@post("/people/{person_id:int}/export", name="rights.person_export_zip", status_code=200)
async def person_export_zip(
    state: State,
    person_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Stream:
    person = await get_person_for_rights(db, user, person_id)
    doc, photos = await export.person_document(db, person)
    await audit.record(
        db, actor=user, action="person.exported", subject=person, change={"photos": len(photos)}
    )
    spool = await export.build_zip(state.photo_store, "person.json", doc, photos)
    return _zip_response(spool, f"carelog-person-{person.id}")


@get("/users/{user_id:int}/export", name="rights.user_export")
async def user_export_page(
    user_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    return _export_page(user, await get_user_for_rights(db, user, user_id), "user")


@post("/users/{user_id:int}/export", name="rights.user_export_zip", status_code=200)
async def user_export_zip(
    state: State, user_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Stream:
    target = await get_user_for_rights(db, user, user_id)
    doc = await export.user_document(db, target)
    await audit.record(db, actor=user, action="user.exported", subject=target)
    spool = await export.build_zip(state.photo_store, "user.json", doc, [])
    return _zip_response(spool, f"carelog-user-{target.id}")


@get("/people/{person_id:int}/erase", name="rights.person_erase")
async def person_erase_page(
    person_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    person = await get_person_for_rights(db, user, person_id)
    return _erase_page(user, person, "person", await erasure_plan_for_person(db, person), None, 200)


@post("/people/{person_id:int}/erase", name="rights.person_erase_do")
async def person_erase(
    request: Request[Any, Any, Any],
    state: State,
    person_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    person = await get_person_for_rights(db, user, person_id)
    confirm = str((await request.form()).get("confirm") or "")
    plan = await erasure_plan_for_person(db, person)
    try:
        keys = await erasure.do_erase_person(db, person, confirm=confirm, actor=user, now=clock.utcnow())
    except Refused as exc:
        return _erase_page(user, person, "person", plan, exc.detail, exc.status_code)
    # The files go after the commit (the response's background task runs once it is sent).
    task = BackgroundTask(
        erasure.delete_after_commit, state.database, state.photo_store, plan.photo_ids, keys
    )
    return Redirect(
        request.app.route_reverse("people.detail", person_id=person.id), status_code=303, background=task
    )


@get("/users/{user_id:int}/erase", name="rights.user_erase")
async def user_erase_page(
    user_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    target = await get_user_for_rights(db, user, user_id)
    return _erase_page(user, target, "user", await erasure_plan_for_user(db, user.id, target), None, 200)


@post("/users/{user_id:int}/erase", name="rights.user_erase_do")
async def user_erase(
    request: Request[Any, Any, Any],
    user_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    target = await get_user_for_rights(db, user, user_id)
    confirm = str((await request.form()).get("confirm") or "")
    plan = await erasure_plan_for_user(db, user.id, target)
    try:
        await erasure.do_erase_user(db, target, confirm=confirm, actor=user, now=clock.utcnow())
    except Refused as exc:
        return _erase_page(user, target, "user", plan, exc.detail, exc.status_code)
    return Redirect(request.app.route_reverse("people.user", user_id=target.id), status_code=303)


routes = [
    person_export_page,
    person_export_zip,
    user_export_page,
    user_export_zip,
    person_erase_page,
    person_erase,
    user_erase_page,
    user_erase,
]
