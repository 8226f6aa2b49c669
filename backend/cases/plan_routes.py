"""A case's plan page (add or retire a goal, add or end a service item) and its closing page.

The plan page has one POST route: the form's `action` says which change (each form on the page sends
its own), so every change is a plain form without JS. Staff read the plan; only the station's social
workers change it (403); a closed case changes no more (409).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.cases import policy
from backend.cases.case_forms import parse_close, parse_goal, parse_item, text
from backend.cases.lists import active_dimensions, active_packages, load_goals, load_items, station_workers
from backend.cases.models import Case, CloseReason, DelivererKind, Frequency, GoalOutcome
from backend.cases.plan_service import do_add_goal, do_add_item, do_close_case, do_end_item, do_retire_goal
from backend.cases.service import refuse_if_closed
from backend.errors import Refused
from backend.i18n import gettext as _


async def _plan_page(
    db: AsyncSession,
    user: Principal,
    case: Case,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Template:
    goals = await load_goals(db, case.id)
    context: dict[str, Any] = {
        "principal": user,
        "case": case,
        "goals": goals,
        "items": await load_items(db, case.id),
        "dimensions": await active_dimensions(db, case.programme_id),
        "packages": await active_packages(db, case.programme_id),
        "workers": await station_workers(db, case.programme_id, case.area),
        "deliverer_kinds": list(DelivererKind),
        "frequencies": list(Frequency),
        "may_change": policy.works_on(user, case) and case.closed_at is None,
        "errors": errors or {},
        "values": values or {},
        "saved": saved,
    }
    return Template(template_name="cases/plan.html", context=context, status_code=status_code)


@get("/cases/{case_id:int}/plan", name="cases.plan")
async def plan_page(
    case_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    saved: FromQuery[int] = 0,
) -> Template:
    case = await policy.get_case_for(db, user, case_id)
    return await _plan_page(db, user, case, saved=bool(saved))


@post("/cases/{case_id:int}/plan", name="cases.plan_change")
async def plan_change(
    request: Request[Any, Any, Any],
    case_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    case = await policy.get_case_for(db, user, case_id)
    policy.require_worker_on(user, case)
    refuse_if_closed(case)
    form = await request.form()
    action = text(form, "action", 20)
    values = {
        k: text(form, k, 300)
        for k in (
            "dimension_id",
            "goal_text",
            "service_item_id",
            "deliverer_kind",
            "deliverer_user_id",
            "deliverer_name",
            "frequency",
            "goal_id",
        )
    }
    try:
        if action == "add_goal":
            goal, errors = parse_goal(form)
            if errors:
                return await _plan_page(db, user, case, errors=errors, values=values, status_code=400)
            await do_add_goal(db, case, goal, actor=user)
        elif action == "retire_goal":
            await do_retire_goal(db, case, _number(text(form, "goal_id", 12)), actor=user)
        elif action == "add_item":
            item, errors = parse_item(form)
            if errors:
                return await _plan_page(db, user, case, errors=errors, values=values, status_code=400)
            await do_add_item(db, case, item, actor=user)
        elif action == "end_item":
            await do_end_item(db, case, _number(text(form, "item_id", 12)), actor=user)
        else:
            raise Refused(_("Choose what to change in the plan."), field="form", status_code=400)
    except Refused as exc:
        return await _plan_page(
            db, user, case, errors={exc.field: str(exc.detail)}, values=values, status_code=exc.status_code
        )
    url = request.app.route_reverse("cases.plan", case_id=case.id)
    return Redirect(f"{url}?saved=1", status_code=303)


def _number(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


async def _close_page(
    db: AsyncSession,
    user: Principal,
    case: Case,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    goals = [g for g in await load_goals(db, case.id) if g.retired_at is None]
    context: dict[str, Any] = {
        "principal": user,
        "case": case,
        "goals": goals,
        "outcomes": list(GoalOutcome),
        "reasons": list(CloseReason),
        "errors": errors or {},
        "values": values or {},
    }
    return Template(template_name="cases/case_close.html", context=context, status_code=status_code)


@get("/cases/{case_id:int}/close", name="cases.close_page")
async def close_page(
    case_id: FromPath[int], db: NamedDependency[AsyncSession], user: NamedDependency[Principal]
) -> Template:
    case = await policy.get_case_for(db, user, case_id)
    policy.require_worker_on(user, case)
    refuse_if_closed(case)
    return await _close_page(db, user, case)


@post("/cases/{case_id:int}/close", name="cases.close")
async def close(
    request: Request[Any, Any, Any],
    case_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    case = await policy.get_case_for(db, user, case_id)
    policy.require_worker_on(user, case)
    refuse_if_closed(case)
    goals = [g for g in await load_goals(db, case.id) if g.retired_at is None]
    form, errors = parse_close(await request.form(), [g.id for g in goals])
    if errors:
        return await _close_page(db, user, case, errors=errors, values=form.raw, status_code=400)
    try:
        await do_close_case(db, case, form, actor=user)
    except Refused as exc:
        return await _close_page(
            db, user, case, errors={exc.field: str(exc.detail)}, values=form.raw, status_code=exc.status_code
        )
    return Redirect(
        request.app.route_reverse("cases.detail", case_id=case.id) + "?saved=closed", status_code=303
    )


routes = [plan_page, plan_change, close_page, close]
