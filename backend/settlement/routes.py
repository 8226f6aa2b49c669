"""Settlement pages: the month of a programme (draft or closed), closing it, adjustments, and the
printable, CSV and XLSX statements per programme and per agreement. Thin handlers (DESIGN.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Stream, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth import stepup
from backend.auth.principal import Principal
from backend.clock import add_months, local_today
from backend.errors import Forbidden
from backend.i18n import gettext as _
from backend.meals import policy as meals_policy
from backend.meals.models import Agreement
from backend.people.models import Programme, User
from backend.settings import Settings
from backend.settlement import duties, policy
from backend.settlement.exports import ExportSpec, export_spec, stream_csv, stream_xlsx
from backend.settlement.forms import month_param, parse_adjustment_form
from backend.settlement.models import SettlementPeriod
from backend.settlement.service import SettlementRefused, check_adjustment, do_add_adjustment, do_close_month
from backend.settlement.statements import month_summary

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _default_month(programme: Programme) -> date:
    """The month usually being settled: the one before this month, in the programme's time zone."""
    return add_months(local_today(programme).replace(day=1), -1)


async def _closer_name(db: AsyncSession, summary_period: SettlementPeriod | None) -> str | None:
    if summary_period is None or summary_period.closed_by_id is None:
        return None
    return await db.scalar(select(User.display_name).where(User.id == summary_period.closed_by_id))


@get("/settlement", name="settlement.index")
async def settlement_index(db: NamedDependency[AsyncSession], user: NamedDependency[Principal]) -> Template:
    if not policy.is_settlement_staff(user):
        raise Forbidden()
    programmes = await policy.settlement_programmes(db, user)
    periods = {
        (p.programme_id, p.month): p
        for p in await db.scalars(
            select(SettlementPeriod).where(SettlementPeriod.programme_id.in_([p.id for p in programmes]))
        )
    }
    rows = []
    for programme in programmes:
        latest = _default_month(programme)
        months = [add_months(latest, -n) for n in range(6)]
        rows.append((programme, [(m, periods.get((programme.id, m))) for m in months]))
    return Template(template_name="settlement/index.html", context={"principal": user, "rows": rows})


async def _month_page(
    db: AsyncSession,
    user: Principal,
    programme: Programme,
    month: date,
    *,
    errors: dict[str, str] | None = None,
    raw: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    summary = await month_summary(db, programme, month)
    this_month = local_today(programme).replace(day=1)
    may_close = not summary.closed and month < this_month
    # Before closing: who may not close (she did part of the month's work) and the month's signals.
    duty_reason = (await duties.duties_of(db, programme.id, month, user.id)).reason() if may_close else None
    signals = await duties.month_signals(db, programme.id, month) if not summary.closed else []
    return Template(
        template_name="settlement/month.html",
        context={
            "duty_reason": duty_reason,
            "signals": signals,
            "unlooked": duties.unlooked(signals),
            "principal": user,
            "programme": programme,
            "summary": summary,
            "closed_by": await _closer_name(db, summary.period),
            "previous": add_months(month, -1),
            "following": add_months(month, 1) if add_months(month, 1) <= this_month else None,
            "may_close": may_close,
            "open_months": [this_month, add_months(this_month, 1)] if summary.closed else [month],
            "errors": errors or {},
            "raw": raw or {},
        },
        status_code=status_code,
    )


@get("/settlement/{meal_programme_id:int}", name="settlement.month")
async def settlement_month(
    meal_programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    month: FromQuery[str | None] = None,
) -> Template:
    programme = await policy.get_settlement_programme_for(db, user, meal_programme_id)
    return await _month_page(db, user, programme, month_param(month, _default_month(programme)))


def _month_url(request: Request[Any, Any, Any], programme_id: int, month: date) -> str:
    url = request.app.route_reverse("settlement.month", meal_programme_id=programme_id)
    return f"{url}?month={month.strftime('%Y-%m')}"


async def _after_rollback(db: AsyncSession, programme_id: int) -> Programme:
    """Undo a refused write (nothing of it may stay) and load the programme again for the page."""
    await db.rollback()
    return await db.get_one(Programme, programme_id)


@post("/settlement/{meal_programme_id:int}/close", name="settlement.close")
async def settlement_close(
    request: Request[Any, Any, Any],
    meal_programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Response[Any]:
    programme = await policy.get_settlement_programme_for(db, user, meal_programme_id)
    form = await request.form()
    month = month_param(str(form.get("month") or ""), _default_month(programme))
    # Money needs a fresh proof of the person (auth/stepup.py); she comes back to this month's page.
    step_up = stepup.require_recent_proof(request, user, back_to=_month_url(request, programme.id, month))
    if step_up is not None:
        return step_up
    if form.get("confirm") != "yes":
        errors = {
            "confirm": _("Tick the box to confirm that the statement is right; closing cannot be undone.")
        }
        return await _month_page(db, user, programme, month, errors=errors, status_code=400)
    try:
        await do_close_month(db, programme, month, actor=user)
    except SettlementRefused as exc:
        programme = await _after_rollback(db, programme.id)
        return await _month_page(
            db, user, programme, month, errors={"close": str(exc.detail)}, status_code=409
        )
    return Redirect(_month_url(request, programme.id, month), status_code=303)


@post("/settlement/{meal_programme_id:int}/signals/looked", name="settlement.signal_looked")
async def settlement_signal_looked(
    request: Request[Any, Any, Any],
    meal_programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
) -> Template | Redirect:
    """A staff member records that she looked at one self-dealing signal of the month (duties.py)."""
    programme = await policy.get_settlement_programme_for(db, user, meal_programme_id)
    form = await request.form()
    month = month_param(str(form.get("month") or ""), _default_month(programme))
    raw_id = str(form.get("agreement_id") or "")
    try:
        if not raw_id.isdigit():
            raise duties.SignalNotFound()
        await duties.do_mark_signal_looked_at(db, programme, month, int(raw_id), actor=user)
    except duties.SignalNotFound:
        errors = {"signals": _("This signal is not one of this month's. Reload the page and try again.")}
        return await _month_page(db, user, programme, month, errors=errors, status_code=400)
    return Redirect(_month_url(request, programme.id, month) + "#signals", status_code=303)


@post("/settlement/{meal_programme_id:int}/adjustments", name="settlement.adjustment")
async def settlement_adjustment(
    request: Request[Any, Any, Any],
    meal_programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    settings: NamedDependency[Settings],
) -> Template | Redirect:
    programme = await policy.get_settlement_programme_for(db, user, meal_programme_id)
    form = parse_adjustment_form(await request.form())
    shown = form.month or _default_month(programme)
    form.errors.update(check_adjustment(form.amount_fen, form.reason))
    agreement = None
    if form.agreement_id is not None:
        agreement = await db.scalar(
            select(Agreement)
            .where(
                Agreement.id == form.agreement_id,
                Agreement.programme_id == programme.id,
                meals_policy.visible_agreements(user),
            )
            .options(selectinload(Agreement.programme))
        )
        if agreement is None:
            form.errors["agreement_id"] = _("Choose the agreement the correction is for.")
    if form.errors or agreement is None or form.month is None or form.amount_fen is None:
        return await _month_page(
            db, user, programme, shown, errors=form.errors, raw=form.raw, status_code=400
        )
    try:
        # Over the threshold it is held for a second staff member (adjustment_routes.py decides it).
        await do_add_adjustment(
            db,
            agreement,
            form.month,
            amount_fen=form.amount_fen,
            reason=form.reason,
            actor=user,
            review_fen=settings.adjustment_review_fen,
        )
    except SettlementRefused as exc:
        programme = await _after_rollback(db, programme.id)
        errors = {"month": str(exc.detail)}
        return await _month_page(db, user, programme, shown, errors=errors, raw=form.raw, status_code=409)
    return Redirect(_month_url(request, programme.id, form.month), status_code=303)


async def _statement_page(
    db: AsyncSession, user: Principal, programme: Programme, month: date, only: list[int] | None
) -> Template:
    summary = await month_summary(db, programme, month, only=only)
    return Template(
        template_name="settlement/statement.html",
        context={
            "principal": user,
            "programme": programme,
            "summary": summary,
            "closed_by": await _closer_name(db, summary.period),
            "single": only is not None,
        },
    )


def _download(state: State, spec: ExportSpec, stem: str, kind: str) -> Stream:
    """A streamed CSV or XLSX. Names are ids and the month only: no person's name ever reaches a URL
    or a file name."""
    name = f"{stem}-{spec.month:%Y-%m}.{kind}"
    if kind == "csv":
        media_type, content = "text/csv; charset=utf-8", stream_csv(state.database, spec)
    else:
        media_type, content = XLSX, stream_xlsx(state.database, spec)
    return Stream(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _neighbour_agreements(
    db: AsyncSession, programme: Programme, neighbour: int | None
) -> list[int] | None:
    """With `?neighbour=<user id>`, the statement of one neighbour: her agreements in the programme
    (none, for an unknown id: an empty statement, nothing revealed)."""
    if neighbour is None:
        return None
    return list(
        await db.scalars(
            select(Agreement.id).where(
                Agreement.programme_id == programme.id, Agreement.neighbour_id == neighbour
            )
        )
    )


@get("/settlement/{meal_programme_id:int}/statement", name="settlement.statement")
async def programme_statement(
    meal_programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    month: FromQuery[str | None] = None,
    neighbour: FromQuery[int | None] = None,
) -> Template:
    programme = await policy.get_settlement_programme_for(db, user, meal_programme_id)
    only = await _neighbour_agreements(db, programme, neighbour)
    return await _statement_page(db, user, programme, month_param(month, _default_month(programme)), only)


async def _programme_export(
    db: AsyncSession,
    user: Principal,
    state: State,
    programme_id: int,
    month: str | None,
    neighbour: int | None,
    kind: str,
) -> Stream:
    programme = await policy.get_settlement_programme_for(db, user, programme_id)
    only = await _neighbour_agreements(db, programme, neighbour)
    spec = export_spec(programme, month_param(month, _default_month(programme)), only)
    stem = f"settlement-{programme.id}" + (f"-neighbour-{neighbour}" if neighbour is not None else "")
    return _download(state, spec, stem, kind)


@get("/settlement/{meal_programme_id:int}/statement.csv", name="settlement.statement_csv")
async def programme_statement_csv(
    meal_programme_id: FromPath[int],
    state: State,
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    month: FromQuery[str | None] = None,
    neighbour: FromQuery[int | None] = None,
) -> Stream:
    return await _programme_export(db, user, state, meal_programme_id, month, neighbour, "csv")


@get("/settlement/{meal_programme_id:int}/statement.xlsx", name="settlement.statement_xlsx")
async def programme_statement_xlsx(
    meal_programme_id: FromPath[int],
    state: State,
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    month: FromQuery[str | None] = None,
    neighbour: FromQuery[int | None] = None,
) -> Stream:
    return await _programme_export(db, user, state, meal_programme_id, month, neighbour, "xlsx")


async def _agreement_and_month(
    db: AsyncSession, user: Principal, agreement_id: int, month: str | None
) -> tuple[Agreement, date]:
    agreement = await policy.get_statement_agreement_for(db, user, agreement_id)
    return agreement, month_param(month, _default_month(agreement.programme))


@get("/settlement/agreements/{agreement_id:int}/statement", name="settlement.agreement_statement")
async def agreement_statement(
    agreement_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    month: FromQuery[str | None] = None,
) -> Template:
    agreement, chosen = await _agreement_and_month(db, user, agreement_id, month)
    return await _statement_page(db, user, agreement.programme, chosen, [agreement.id])


async def _agreement_export(
    db: AsyncSession, user: Principal, state: State, agreement_id: int, month: str | None, kind: str
) -> Stream:
    agreement, chosen = await _agreement_and_month(db, user, agreement_id, month)
    spec = export_spec(agreement.programme, chosen, [agreement.id])
    return _download(state, spec, f"statement-{agreement.id}", kind)


@get("/settlement/agreements/{agreement_id:int}/statement.csv", name="settlement.agreement_csv")
async def agreement_statement_csv(
    agreement_id: FromPath[int],
    state: State,
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    month: FromQuery[str | None] = None,
) -> Stream:
    return await _agreement_export(db, user, state, agreement_id, month, "csv")


@get("/settlement/agreements/{agreement_id:int}/statement.xlsx", name="settlement.agreement_xlsx")
async def agreement_statement_xlsx(
    agreement_id: FromPath[int],
    state: State,
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    month: FromQuery[str | None] = None,
) -> Stream:
    return await _agreement_export(db, user, state, agreement_id, month, "xlsx")


routes = [
    settlement_index,
    settlement_month,
    settlement_close,
    settlement_signal_looked,
    settlement_adjustment,
    programme_statement,
    programme_statement_csv,
    programme_statement_xlsx,
    agreement_statement,
    agreement_statement_csv,
    agreement_statement_xlsx,
]
