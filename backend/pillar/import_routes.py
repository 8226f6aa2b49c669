"""Pages of the pillar-mother roster import: the upload form and its template, the dry run's plan, the
commit and the result file (import_service.py). Staff of the programme import over it; a worker of a
delivering agency imports over her areas, for her agency; anyone else with a part in it gets 403."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.clock import utcnow
from backend.errors import Refused
from backend.i18n import gettext as _
from backend.people.models import Programme
from backend.people.spreadsheets import XLSX_MEDIA_TYPE, write_xlsx
from backend.pillar.import_rows import STATUS_COLUMN
from backend.pillar.import_service import (
    Plan,
    check_file,
    dimension_labels,
    do_commit_plan,
    get_plan_for,
    importer_for,
    programme_for,
    result_rows,
    template_columns,
)


async def _form_page(
    db: AsyncSession, programme: Programme, *, errors: dict[str, str] | None = None, status_code: int = 200
) -> Template:
    columns = template_columns(await dimension_labels(db, programme.id))
    return Template(
        template_name="pillar/import.html",
        context={"programme": programme, "columns": columns, "errors": errors or {}},
        status_code=status_code,
    )


def _plan_page(plan: Plan, *, status_code: int = 200) -> Template:
    return Template(
        template_name="pillar/import_plan.html",
        context={"programme": plan.programme, "plan": plan},
        status_code=status_code,
    )


@get("/pillar/{pillar_id:int}/import", name="pillar.import_page")
async def import_page(
    pillar_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    programme = await programme_for(db, user, pillar_id)
    await importer_for(db, user, programme)
    return await _form_page(db, programme)


@post("/pillar/{pillar_id:int}/import", name="pillar.import_upload", include_in_schema=False)
async def import_upload(
    pillar_id: FromPath[int],
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template:
    programme = await programme_for(db, user, pillar_id)
    importer = await importer_for(db, user, programme)
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile):
        return await _form_page(
            db, programme, errors={"file": _("Choose a file to upload.")}, status_code=400
        )
    try:
        plan = await check_file(db, programme, await upload.read(), importer=importer, now=utcnow())
    except Refused as exc:
        return await _form_page(
            db, programme, errors={exc.field: str(exc.detail)}, status_code=exc.status_code
        )
    return _plan_page(plan, status_code=422 if plan.errors else 200)


@post("/pillar/{pillar_id:int}/import/commit", name="pillar.import_commit", include_in_schema=False)
async def import_commit(
    pillar_id: FromPath[int],
    request: Request[Any, Any, Any],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template:
    programme = await programme_for(db, user, pillar_id)
    importer = await importer_for(db, user, programme)
    raw_id = str((await request.form()).get("plan_id") or "")
    if not raw_id.isdigit():
        return await _form_page(db, programme, errors={"file": _("Upload the file first.")}, status_code=400)
    stored = await get_plan_for(db, programme, int(raw_id), actor_id=user.id)
    try:
        plan = await do_commit_plan(db, stored, programme=programme, importer=importer, now=utcnow())
    except Refused as exc:
        return await _form_page(
            db, programme, errors={exc.field: str(exc.detail)}, status_code=exc.status_code
        )
    return _plan_page(plan)


def _xlsx(data: bytes, filename: str) -> Response[bytes]:
    return Response(
        data,
        media_type=XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"roster.xlsx\"; filename*=UTF-8''{quote(filename)}"
            ),
            "Cache-Control": "private, no-store",
        },
    )


@get("/pillar/{pillar_id:int}/import/template.xlsx", name="pillar.import_template")
async def import_template(
    pillar_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Response[bytes]:
    programme = await programme_for(db, user, pillar_id)
    await importer_for(db, user, programme)
    columns = template_columns(await dimension_labels(db, programme.id))
    return _xlsx(write_xlsx("顶梁柱母亲", columns, []), "顶梁柱母亲名册模板.xlsx")


@get("/pillar/{pillar_id:int}/import/result.xlsx", name="pillar.import_result")
async def import_result(
    pillar_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    plan_id: FromQuery[int | None] = None,
) -> Response[bytes]:
    """The checked file plus its status column (until the commit clears the rows)."""
    programme = await programme_for(db, user, pillar_id)
    await importer_for(db, user, programme)
    if plan_id is None:
        raise Refused(_("Upload the file first."), field="plan_id", status_code=400)
    stored = await get_plan_for(db, programme, plan_id, actor_id=user.id)
    columns = template_columns(await dimension_labels(db, programme.id))
    rows = result_rows(stored, columns)
    return _xlsx(write_xlsx("顶梁柱母亲", [*columns, STATUS_COLUMN], rows), f"导入结果-{stored.id}.xlsx")


routes = [import_page, import_upload, import_commit, import_template, import_result]
