"""Supervision sessions and evaluations of a contract (the programme's staff only; 404 for anyone else).

The evaluation page shows the round's survey figures and the satisfaction score they give before the
staff member submits; the score is computed again when she does (pillar/evaluation_service.py).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.principal import Principal
from backend.errors import Refused
from backend.people.models import Programme
from backend.pillar import policy
from backend.pillar.agency_service import programme_agencies
from backend.pillar.contract_forms import EvaluationForm, parse_evaluation, parse_supervision
from backend.pillar.contract_queries import contract_context
from backend.pillar.evaluation_service import active_criteria, do_record_evaluation, survey_figures
from backend.pillar.models import AgencyRole, Contract, CriterionSource, Round
from backend.pillar.supervision_service import do_log_supervision


async def _contract_page(
    db: AsyncSession, user: Principal, contract: Contract, raw: dict[str, str], errors: dict[str, str]
) -> Template:
    programme = await db.get_one(Programme, contract.programme_id)
    context: dict[str, Any] = {
        "principal": user,
        "programme": programme,
        "contract": contract,
        "supervising": await programme_agencies(db, programme.id, AgencyRole.SUPERVISING),
        "today": clock.local_today(programme).isoformat(),
        "values": raw,
        "errors": errors,
        "saved": "",
        **await contract_context(db, contract),
    }
    return Template(template_name="pillar/contract.html", context=context, status_code=400)


@post("/pillar/contracts/{contract_id:int}/supervision", name="pillar.supervision_log")
async def log_supervision(
    request: Request[Any, Any, Any],
    contract_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    contract = await policy.get_contract_for(db, user, contract_id)
    form = parse_supervision(await request.form())
    if form.draft is None:
        return await _contract_page(db, user, contract, form.raw, form.errors)
    programme = await db.get_one(Programme, contract.programme_id)
    try:
        await do_log_supervision(db, contract, form.draft, actor=user, today=clock.local_today(programme))
    except Refused as exc:
        return await _contract_page(db, user, contract, form.raw, {exc.field: str(exc.detail)})
    url = request.app.route_reverse("pillar.contract", contract_id=contract.id)
    return Redirect(url + "?saved=supervision#supervision", status_code=303)


async def _evaluation_page(
    db: AsyncSession,
    user: Principal,
    contract: Contract,
    round_: Round,
    form: EvaluationForm | None = None,
    status_code: int = 200,
) -> Template:
    programme = await db.get_one(Programme, contract.programme_id)
    criteria = await active_criteria(db, programme.id)
    figures = await survey_figures(db, contract, round_)
    today = clock.local_today(programme).isoformat()
    context: dict[str, Any] = {
        "principal": user,
        "programme": programme,
        "contract": contract,
        "round": round_,
        "criteria": criteria,
        "computed": {
            c.id: figures.score(c.max_score) for c in criteria if c.source is CriterionSource.SATISFACTION
        },
        "figures": figures,
        "evaluating": await programme_agencies(db, programme.id, AgencyRole.EVALUATING),
        "values": form.raw if form else {"evaluated_on": today, "round": round_.value},
        "errors": form.errors if form else {},
        "today": today,
    }
    return Template(template_name="pillar/evaluation_new.html", context=context, status_code=status_code)


@get("/pillar/contracts/{contract_id:int}/evaluations/new", name="pillar.evaluation_new")
async def new_evaluation(
    contract_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    round: FromQuery[str] = "mid_term",
) -> Template:
    contract = await policy.get_contract_for(db, user, contract_id)
    round_ = Round(round) if round in {r.value for r in Round} else Round.MID_TERM
    return await _evaluation_page(db, user, contract, round_)


@post("/pillar/contracts/{contract_id:int}/evaluations", name="pillar.evaluation_record")
async def record_evaluation(
    request: Request[Any, Any, Any],
    contract_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    contract = await policy.get_contract_for(db, user, contract_id)
    form = parse_evaluation(await request.form(), await active_criteria(db, contract.programme_id))
    round_ = Round(form.raw["round"]) if form.raw["round"] in {r.value for r in Round} else Round.MID_TERM
    if form.draft is None:
        return await _evaluation_page(db, user, contract, round_, form, 400)
    programme = await db.get_one(Programme, contract.programme_id)
    try:
        await do_record_evaluation(db, contract, form.draft, actor=user, today=clock.local_today(programme))
    except Refused as exc:
        form.errors[exc.field] = str(exc.detail)
        return await _evaluation_page(db, user, contract, round_, form, exc.status_code)
    url = request.app.route_reverse("pillar.contract", contract_id=contract.id)
    return Redirect(url + "?saved=evaluation#evaluations", status_code=303)


routes = [log_supervision, new_evaluation, record_evaluation]
