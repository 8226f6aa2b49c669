"""A pillar programme's agency contracts: the list, a new one, a contract's page and releasing a stage.

All of it is the programme's staff's: another member of the programme gets 403 on the programme's
pages, a contract or a stage is a 404 for everyone but its staff (policy.get_contract_for). The money
itself moves only in settlement/contract_money.py.
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

from backend import clock
from backend.auth.principal import Principal
from backend.errors import Conflict, NotFound, Refused
from backend.i18n import gettext as _
from backend.people.models import Programme
from backend.pillar import policy
from backend.pillar.agency_service import do_create_contract, get_programme_for_staff, programme_agencies
from backend.pillar.contract_forms import MAX_STAGES, ContractForm, parse_contract
from backend.pillar.contract_queries import contract_context
from backend.pillar.models import Agency, AgencyRole, Contract, Round
from backend.settlement.contract_money import do_release_stage, released_totals


@get("/pillar/{pillar_id:int}/contracts", name="pillar.contracts")
async def contracts(
    pillar_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    programme = await get_programme_for_staff(db, user, pillar_id)
    found = list(
        await db.scalars(
            select(Contract)
            .where(Contract.programme_id == programme.id)
            .options(selectinload(Contract.agency), selectinload(Contract.stages))
            .order_by(Contract.starts_on.desc(), Contract.id.desc())
        )
    )
    context: dict[str, Any] = {
        "principal": user,
        "programme": programme,
        "contracts": found,
        "released": await released_totals(db, [c.id for c in found]),
    }
    return Template(template_name="pillar/contracts.html", context=context)


async def _new_page(
    db: AsyncSession,
    user: Principal,
    programme: Programme,
    form: ContractForm | None = None,
    status: int = 200,
) -> Template:
    context: dict[str, Any] = {
        "principal": user,
        "programme": programme,
        "agencies": await programme_agencies(db, programme.id, AgencyRole.DELIVERING),
        "rounds": list(Round),
        "stage_count": MAX_STAGES,
        "values": form.raw if form else {"pass_mark_pct": "60"},
        "errors": form.errors if form else {},
    }
    return Template(template_name="pillar/contract_new.html", context=context, status_code=status)


@get("/pillar/{pillar_id:int}/contracts/new", name="pillar.contract_new")
async def new_contract(
    pillar_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    return await _new_page(db, user, await get_programme_for_staff(db, user, pillar_id))


@post("/pillar/{pillar_id:int}/contracts", name="pillar.contract_create")
async def create_contract(
    request: Request[Any, Any, Any],
    pillar_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    programme = await get_programme_for_staff(db, user, pillar_id)
    form = parse_contract(await request.form())
    agency = await db.get(Agency, form.agency_id) if form.agency_id is not None else None
    if agency is None:
        form.errors["agency_id"] = _("Choose a delivering agency of this programme.")
    if form.errors or agency is None:
        return await _new_page(db, user, programme, form, 400)
    assert form.budget_fen and form.starts_on and form.ends_on and form.pass_mark_pct
    try:
        contract = await do_create_contract(
            db,
            programme,
            agency=agency,
            title=form.title,
            budget_fen=form.budget_fen,
            starts_on=form.starts_on,
            ends_on=form.ends_on,
            stages=form.stages,
            pass_mark_pct=form.pass_mark_pct,
            actor=user,
        )
    except Refused as exc:
        form.errors[exc.field] = str(exc.detail)
        return await _new_page(db, user, programme, form, exc.status_code)
    url = request.app.route_reverse("pillar.contract", contract_id=contract.id)
    return Redirect(url + "?saved=created", status_code=303)


async def _contract_page(
    db: AsyncSession,
    user: Principal,
    contract: Contract,
    *,
    saved: str = "",
    release_error: str = "",
    status_code: int = 200,
) -> Template:
    programme = await db.get_one(Programme, contract.programme_id)
    context: dict[str, Any] = {
        "principal": user,
        "programme": programme,
        "contract": contract,
        "supervising": await programme_agencies(db, programme.id, AgencyRole.SUPERVISING),
        "today": clock.local_today(programme).isoformat(),
        "values": {},
        "errors": {},
        "saved": saved[:20],
        "release_error": release_error,
        **await contract_context(db, contract, user.id),
    }
    return Template(template_name="pillar/contract.html", context=context, status_code=status_code)


@get("/pillar/contracts/{contract_id:int}", name="pillar.contract")
async def contract_page(
    contract_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    saved: FromQuery[str] = "",
) -> Template:
    contract = await policy.get_contract_for(db, user, contract_id)
    return await _contract_page(db, user, contract, saved=saved)


@post("/pillar/contracts/{contract_id:int}/stages/{stage_id:int}/release", name="pillar.stage_release")
async def release_stage(
    request: Request[Any, Any, Any],
    contract_id: FromPath[int],
    stage_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Redirect | Template:
    contract = await policy.get_contract_for(db, user, contract_id)
    stage = next((s for s in contract.stages if s.id == stage_id), None)
    if stage is None:
        raise NotFound()
    programme = await db.get_one(Programme, contract.programme_id)
    try:
        await do_release_stage(db, stage, actor=user, today=clock.local_today(programme))
    except Conflict as refusal:
        # The page again, the reason beside the stages (nothing was written: the insert is a savepoint).
        return await _contract_page(db, user, contract, release_error=str(refusal.detail), status_code=409)
    url = request.app.route_reverse("pillar.contract", contract_id=contract.id)
    return Redirect(url + "?saved=released", status_code=303)


routes = [contracts, new_contract, create_contract, contract_page, release_stage]
