"""Monthly reports per programme, as a page and as CSV: for the programme's staff and social workers,
each seeing the figures of what she may see (reports/queries.py)."""

from __future__ import annotations

import csv
import io
from datetime import date

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.clock import add_months, local_today
from backend.errors import Forbidden
from backend.i18n import gettext as _
from backend.labels import fen_to_yuan, programme_kind_label
from backend.meals.labels import checkin_status_label
from backend.meals.models import CheckInStatus
from backend.people.models import Programme, Role
from backend.people.policy import visible_programmes
from backend.reports.queries import MonthReport, month_report
from backend.settlement.forms import month_param
from backend.settlement.policy import get_programme_for, is_staff_of
from backend.spreadsheet_safety import formula_safe
from backend.visits.labels import need_area_label, visit_status_label
from backend.visits.models import VisitStatus


def may_report(user: Principal, programme_id: int) -> bool:
    return is_staff_of(user, programme_id) or any(
        g.programme_id == programme_id for g in user.grants_for(Role.SOCIAL_WORKER)
    )


def _reporter(user: Principal) -> bool:
    return user.is_admin or bool(user.roles & {Role.STAFF, Role.SOCIAL_WORKER})


def _default_month(programme: Programme) -> date:
    return add_months(local_today(programme).replace(day=1), -1)


async def _report_for(db: AsyncSession, user: Principal, programme_id: int, month: str | None) -> MonthReport:
    programme = await get_programme_for(db, user, programme_id)
    if not may_report(user, programme.id):
        raise Forbidden()
    return await month_report(db, user, programme, month_param(month, _default_month(programme)))


@get("/reports", name="reports.index")
async def reports_index(db: NamedDependency[AsyncSession], user: NamedDependency[Principal]) -> Template:
    if not _reporter(user):
        raise Forbidden()
    programmes = [
        p
        for p in await db.scalars(select(Programme).where(visible_programmes(user)).order_by(Programme.id))
        if may_report(user, p.id)
    ]
    return Template(template_name="reports/index.html", context={"principal": user, "programmes": programmes})


@get("/reports/{programme_id:int}", name="reports.month")
async def report_month(
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    month: FromQuery[str | None] = None,
) -> Template:
    report = await _report_for(db, user, programme_id, month)
    this_month = local_today(report.programme).replace(day=1)
    following = add_months(report.month, 1)
    return Template(
        template_name="reports/month.html",
        context={
            "principal": user,
            "report": report,
            "previous": add_months(report.month, -1),
            "following": following if following <= this_month else None,
            "meal_statuses": list(CheckInStatus),
            "visit_statuses": list(VisitStatus),
        },
    )


def report_rows(report: MonthReport) -> list[list[object]]:
    """The report as (section, item, value) rows, labels in the user's language."""
    meals, visits = _("Meals"), _("Visits")
    rows: list[list[object]] = [
        [_("Programme"), programme_kind_label(report.programme.kind), report.programme.name],
        [_("Month"), "", report.month.strftime("%Y-%m")],
        [meals, _("Checked in"), report.meals_checked_in],
    ]
    rows += [[meals, checkin_status_label(s), report.meals[s]] for s in CheckInStatus]
    rows += [
        [meals, _("Residents served"), report.meal_people],
        [
            meals,
            _("Amount paid (yuan)") if report.closed else _("Amount so far, not closed (yuan)"),
            fen_to_yuan(report.amount_fen),
        ],
        [visits, _("Logged"), report.visits_logged],
    ]
    rows += [[visits, visit_status_label(s), report.visits[s]] for s in VisitStatus]
    for area, counts in report.need_areas.items():
        rows += [
            [_("Visits by need area"), f"{need_area_label(area)} · {visit_status_label(s)}", counts[s]]
            for s in VisitStatus
        ]
    rows += [
        [visits, _("Minutes of approved visits"), report.visit_minutes],
        [visits, _("Children visited"), report.visit_people],
        [_("Total"), _("Person-times served"), report.person_times],
        [_("Total"), _("People served"), report.people_served],
    ]
    return rows


@get("/reports/{programme_id:int}/report.csv", name="reports.csv")
async def report_csv(
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    month: FromQuery[str | None] = None,
) -> Response[bytes]:
    report = await _report_for(db, user, programme_id, month)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_("Section"), _("Item"), _("Value")])
    writer.writerows([[formula_safe(v) for v in row] for row in report_rows(report)])
    name = f"report-{report.programme.id}-{report.month.strftime('%Y-%m')}.csv"
    return Response(
        ("\ufeff" + buffer.getvalue()).encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


routes = [reports_index, report_month, report_csv]
