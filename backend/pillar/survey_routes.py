"""The satisfaction survey: a pillar mother answers on her phone (`/pillar/survey`, the next round she has
not answered); staff or her agency's worker record her paper answers
(`/pillar/mothers/{file_id}/survey`)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.clock import local_today
from backend.errors import Refused
from backend.people.models import Programme
from backend.pillar import policy
from backend.pillar.models import PillarFile
from backend.pillar.survey_forms import QUESTION_TEXT, SCALE, SurveyForm, parse_survey, round_label
from backend.pillar.survey_service import ROUNDS, answers_of, do_answer_survey, next_round, own_file


async def _context(
    db: AsyncSession, user: Principal, file: PillarFile, form: SurveyForm | None
) -> dict[str, Any]:
    programme = await db.get_one(Programme, file.programme_id)
    answered = await answers_of(db, file.id)
    keep_uuid = form is not None and form.errors
    return {
        "principal": user,
        "file": file,
        "answered": answered,
        "rounds": ROUNDS,
        "next_round": next_round(answered),
        "questions": QUESTION_TEXT,
        "scale": SCALE,
        "round_label": round_label,
        "values": form.raw if form is not None else {},
        "errors": form.errors if form is not None else {},
        "client_uuid": str(form.client_uuid if keep_uuid and form else uuid.uuid4()),
        "today": local_today(programme).isoformat(),
    }


async def _survey(
    db: AsyncSession,
    user: Principal,
    form: SurveyForm | None = None,
    status_code: int = 200,
    saved: bool = False,
) -> Template:
    file = await own_file(db, user)
    context = await _context(db, user, file, form) | {"saved": saved}
    return Template(template_name="pillar/survey.html", context=context, status_code=status_code)


@get("/pillar/survey", name="pillar.survey")
async def survey_page(
    db: NamedDependency[AsyncSession], user: NamedDependency[Principal], saved: FromQuery[str | None] = None
) -> Template:
    return await _survey(db, user, saved=bool(saved))


@post("/pillar/survey", name="pillar.survey_answer")
async def survey_answer(
    request: Request[Any, Any, Any], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template | Redirect:
    file = await own_file(db, user)
    programme = await db.get_one(Programme, file.programme_id)
    form = parse_survey(await request.form(), today=local_today(programme))
    status = 400
    if form.draft is not None:
        try:
            await do_answer_survey(db, file, form.draft, client_uuid=form.client_uuid, actor=user)
            return Redirect(f"{request.app.route_reverse('pillar.survey')}?saved=1", status_code=303)
        except Refused as exc:
            form.errors[exc.field], status = str(exc.detail), exc.status_code
    return await _survey(db, user, form, status)


async def _paper_file(db: AsyncSession, user: Principal, file_id: int) -> PillarFile:
    file = await policy.get_file_for(db, user, file_id)
    policy.require((await policy.access_to(db, user, file)).may_record_paper_survey)
    return file


async def _paper(
    db: AsyncSession,
    user: Principal,
    file: PillarFile,
    form: SurveyForm | None = None,
    status_code: int = 200,
    saved: bool = False,
) -> Template:
    context = await _context(db, user, file, form) | {"saved": saved}
    return Template(template_name="pillar/survey_paper.html", context=context, status_code=status_code)


@get("/pillar/mothers/{file_id:int}/survey", name="pillar.survey_paper")
async def paper_page(
    file_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    saved: FromQuery[str | None] = None,
) -> Template:
    file = await _paper_file(db, user, file_id)
    return await _paper(db, user, file, saved=bool(saved))


@post("/pillar/mothers/{file_id:int}/survey", name="pillar.survey_paper_record")
async def paper_record(
    request: Request[Any, Any, Any],
    file_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    file = await _paper_file(db, user, file_id)
    programme = await db.get_one(Programme, file.programme_id)
    form = parse_survey(await request.form(), today=local_today(programme), on_paper=True)
    status = 400
    if form.draft is not None:
        try:
            await do_answer_survey(db, file, form.draft, client_uuid=form.client_uuid, actor=user)
            url = request.app.route_reverse("pillar.survey_paper", file_id=file.id)
            return Redirect(f"{url}?saved=1", status_code=303)
        except Refused as exc:
            form.errors[exc.field], status = str(exc.detail), exc.status_code
    return await _paper(db, user, file, form, status)


routes = [survey_page, survey_answer, paper_page, paper_record]
