"""Pages of the spreadsheet import: upload (the dry run), the plan, the commit; the template and the
registry's export. Staff and social workers of a programme import into it (import_service.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.errors import Forbidden, NotFound, Refused
from backend.i18n import gettext as _
from backend.people.import_service import Plan, check_file, do_commit_plan, get_plan_for, importer_for
from backend.people.models import Programme, Role
from backend.people.policy import visible_programmes
from backend.people.registry_table import COLUMNS, export_rows, load_registry
from backend.people.spreadsheets import XLSX_MEDIA_TYPE, write_xlsx


def _may_import(user: Principal, programme_id: int) -> bool:
    return user.is_admin or any(
        g.programme_id == programme_id and g.role in (Role.STAFF, Role.SOCIAL_WORKER) for g in user.grants
    )


async def _programmes(db: AsyncSession, user: Principal) -> list[Programme]:
    rows = await db.scalars(select(Programme).where(visible_programmes(user)).order_by(Programme.id))
    programmes = [p for p in rows if _may_import(user, p.id)]
    if not programmes:
        raise Forbidden()
    return programmes


async def _programme_for(db: AsyncSession, user: Principal, programme_id: int) -> Programme:
    programme = await db.scalar(
        select(Programme).where(Programme.id == programme_id, visible_programmes(user))
    )
    if programme is None:
        raise NotFound()
    if not _may_import(user, programme.id):
        raise Forbidden()
    return programme


def _page(
    programmes: list[Programme],
    *,
    chosen: int | None,
    plan: Plan | None = None,
    errors: dict[str, str] | None = None,
    committed: bool = False,
    status_code: int = 200,
) -> Template:
    return Template(
        template_name="people/import.html",
        context={
            "programmes": programmes,
            "chosen": chosen,
            "plan": plan,
            "errors": errors or {},
            "committed": committed,
            "columns": COLUMNS,
        },
        status_code=status_code,
    )


@get("/people/import", name="people.import_page")
async def import_page(
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    programme: FromQuery[int | None] = None,
) -> Template:
    programmes = await _programmes(db, user)
    chosen = programme if programme in {p.id for p in programmes} else programmes[0].id
    return _page(programmes, chosen=chosen)


@post("/people/import", name="people.import_upload", include_in_schema=False)
async def import_upload(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    programmes = await _programmes(db, user)
    form = await request.form()
    raw_id = str(form.get("programme_id") or "")
    programme = next((p for p in programmes if raw_id.isdigit() and p.id == int(raw_id)), None)
    if programme is None:
        return _page(
            programmes, chosen=None, errors={"programme_id": _("Choose a programme.")}, status_code=400
        )
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return _page(
            programmes, chosen=programme.id, errors={"file": _("Choose a file to upload.")}, status_code=400
        )
    data = await upload.read()
    importer = await importer_for(db, user.id, programme, is_admin=user.is_admin)
    try:
        plan = await check_file(db, programme, data, importer=importer)
    except Refused as exc:
        return _page(
            programmes, chosen=programme.id, errors={exc.field: str(exc.detail)}, status_code=exc.status_code
        )
    return _page(programmes, chosen=programme.id, plan=plan, status_code=422 if plan.errors else 200)


@post("/people/import/commit", name="people.import_commit", include_in_schema=False)
async def import_commit(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    programmes = await _programmes(db, user)
    form = await request.form()
    raw_id = str(form.get("plan_id") or "")
    if not raw_id.isdigit():
        return _page(programmes, chosen=None, errors={"file": _("Upload the file first.")}, status_code=400)
    stored = await get_plan_for(db, int(raw_id), actor=user)
    programme = await _programme_for(db, user, stored.programme_id)
    importer = await importer_for(db, user.id, programme, is_admin=user.is_admin)
    try:
        plan = await do_commit_plan(db, stored, importer=importer)
    except Refused as exc:
        return _page(
            programmes, chosen=programme.id, errors={exc.field: str(exc.detail)}, status_code=exc.status_code
        )
    return _page(programmes, chosen=programme.id, plan=plan, committed=True)


def _xlsx(data: bytes, filename: str) -> Response[bytes]:
    return Response(
        data,
        media_type=XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"registry.xlsx\"; filename*=UTF-8''{quote(filename)}"
            ),
            "Cache-Control": "private, no-store",
        },
    )


@get("/people/import/template", name="people.import_template")
async def import_template(
    db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Response[bytes]:
    await _programmes(db, user)
    return _xlsx(write_xlsx("名册", COLUMNS, []), "名册模板.xlsx")


@get("/programmes/{programme_id:int}/registry.xlsx", name="people.export")
async def registry_export(
    programme_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Response[bytes]:
    programme = await _programme_for(db, user, programme_id)
    importer = await importer_for(db, user.id, programme, is_admin=user.is_admin)
    rows = export_rows(await load_registry(db, programme), importer.remit)
    return _xlsx(write_xlsx("名册", COLUMNS, rows), f"名册-{programme.id}.xlsx")


routes = [import_page, import_upload, import_commit, import_template, registry_export]
