"""A social-work station programme's figures for a month, quarter, half-year or year: a page and the
same table as CSV and XLSX (cases/figures.py counts them). For the programme's staff, and for its
station workers, who see their own stations only."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from urllib.parse import quote

import anyio.to_thread
from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.cases.figures import Figures, Row, station_figures
from backend.cases.models import GoalOutcome, OrderSource, OrderStatus
from backend.cases.periods import Period, PeriodKind, kind_label, parse_period, period_of
from backend.cases.policy import STATION_KINDS, station_grants
from backend.clock import local_today
from backend.errors import Forbidden, NotFound
from backend.i18n import gettext as _
from backend.labels import area_level_label
from backend.people.models import Programme
from backend.settlement.policy import get_programme_for, is_staff_of
from backend.spreadsheet_safety import formula_safe

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def may_see_figures(user: Principal, programme_id: int) -> bool:
    return is_staff_of(user, programme_id) or any(
        g.programme_id == programme_id for g in station_grants(user)
    )


async def _figures_for(
    db: AsyncSession, user: Principal, programme_id: int, period: str | None, on: str | None
) -> tuple[Programme, Period, Figures]:
    programme = await get_programme_for(db, user, programme_id)
    if programme.kind not in STATION_KINDS:
        raise NotFound()
    if not may_see_figures(user, programme.id):
        raise Forbidden()
    chosen = parse_period(period, on, local_today(programme))
    figures = await station_figures(db, user, programme.id, chosen.start, chosen.end)
    return programme, chosen, figures


def order_source_label(source: OrderSource) -> str:
    return {
        OrderSource.RESIDENT: _("Residents"),
        OrderSource.SCOUT: _("Hardship scouts"),
        OrderSource.REFERRER: _("Referrers"),
    }[source]


def order_status_label(status: OrderStatus) -> str:
    return {
        OrderStatus.OPEN: _("Waiting to be taken"),
        OrderStatus.TAKEN: _("Taken"),
        OrderStatus.CLOSED: _("Closed without a case"),
    }[status]


def goal_outcome_label(outcome: GoalOutcome) -> str:
    return {
        GoalOutcome.MET: _("Met"),
        GoalOutcome.PARTLY: _("Partly met"),
        GoalOutcome.NOT_MET: _("Not met"),
    }[outcome]


def _number(value: float | None) -> float | str:
    return "" if value is None else round(value, 1)


def figure_columns(figures: Figures) -> list[tuple[str, Callable[[Row], object]]]:
    """The table's columns, each a header in the user's language and how to read it off a row."""

    def by_source(s: OrderSource) -> Callable[[Row], object]:
        return lambda r: r.orders_by_source[s]

    def by_status(s: OrderStatus) -> Callable[[Row], object]:
        return lambda r: r.orders_by_status[s]

    def stat(name: str, part: str) -> Callable[[Row], object]:
        return lambda r: _number(getattr(getattr(r, name), part))

    def package(i: int, what: str) -> Callable[[Row], object]:
        return lambda r: getattr(r, what)[i]

    def goal(o: GoalOutcome) -> Callable[[Row], object]:
        return lambda r: r.goals[o]

    columns: list[tuple[str, Callable[[Row], object]]] = [(_("Orders"), lambda r: r.orders)]
    columns += [
        (_("Orders from %(who)s") % {"who": order_source_label(s)}, by_source(s)) for s in OrderSource
    ]
    columns += [
        (_("Orders now %(status)s") % {"status": order_status_label(s)}, by_status(s)) for s in OrderStatus
    ]
    columns += [
        (_("Hours to taken, median"), stat("hours_to_taken", "median")),
        (_("Hours to taken, mean"), stat("hours_to_taken", "mean")),
        (_("Days to first home visit, median"), stat("days_to_visit", "median")),
        (_("Days to first home visit, mean"), stat("days_to_visit", "mean")),
        (_("Home visits"), lambda r: r.home_visits),
        (_("Home assessments"), lambda r: r.assessments),
        (_("Deliveries at home"), lambda r: r.home_deliveries),
        (_("Cases open at the end"), lambda r: r.cases_open_at_end),
        (_("Cases opened"), lambda r: r.cases_opened),
        (_("Cases closed"), lambda r: r.cases_closed),
        (_("Deliveries"), lambda r: r.deliveries_total),
        (_("Person-times"), lambda r: r.person_times_total),
    ]
    for package_id, name in figures.packages:
        columns += [
            (_("%(package)s: deliveries") % {"package": name}, package(package_id, "deliveries")),
            (_("%(package)s: person-times") % {"package": name}, package(package_id, "person_times")),
        ]
    columns += [(_("Goals %(outcome)s") % {"outcome": goal_outcome_label(o)}, goal(o)) for o in GoalOutcome]
    return columns


def figure_table(figures: Figures) -> list[list[object]]:
    """The header row, then a row per area (tree order, each area before the areas under it), then the
    total."""
    columns = figure_columns(figures)
    header: list[object] = [_("Area"), _("Level"), _("Station")]
    table: list[list[object]] = [header + [h for h, _read in columns]]
    for row in [*figures.rows, figures.total]:
        name = row.name if row.area_id is not None else _("Total")
        level = area_level_label(row.level) if row.level is not None else ""
        station = _("yes") if row.is_station else ""
        cells: list[object] = [name, level, station]
        table.append(cells + [read(row) for _header, read in columns])
    return table


def _file_name(programme: Programme, period: Period, suffix: str) -> str:
    return f"figures-{programme.id}-{period.code}.{suffix}"


def _attachment(programme: Programme, period: Period, suffix: str) -> dict[str, str]:
    name = _file_name(programme, period, suffix)
    return {
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store",
    }


def _heading(programme: Programme, period: Period) -> list[list[object]]:
    rows: list[list[object]]
    rows = [
        [_("Programme"), programme.name],
        [_("Period"), f"{period.label} ({period.start.isoformat()} – {period.last_day.isoformat()})"],
        [_("Only approved, current service deliveries are counted.")],
        [],
    ]
    return rows


def _xlsx_bytes(title: str, rows: list[list[object]], widths: list[int]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for n, width in enumerate(widths, start=1):  # before the first row, as write-only mode needs
        sheet.column_dimensions[get_column_letter(n)].width = width
    for values in rows:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the first character (area names are data)
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@get("/programmes/{programme_id:int}/figures", name="cases.figures")
async def figures_page(
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    period: FromQuery[str | None] = None,
    on: FromQuery[str | None] = None,
) -> Template:
    programme, chosen, figures = await _figures_for(db, user, programme_id, period, on)
    return Template(
        template_name="cases/figures.html",
        context={
            "principal": user,
            "programme": programme,
            "period": chosen,
            "figures": figures,
            "presets": [(k, kind_label(k), period_of(k, chosen.start)) for k in PeriodKind],
            "all_staff": is_staff_of(user, programme.id),
            "sources": list(OrderSource),
            "statuses": list(OrderStatus),
            "outcomes": list(GoalOutcome),
            "source_label": order_source_label,
            "status_label": order_status_label,
            "outcome_label": goal_outcome_label,
        },
    )


@get("/programmes/{programme_id:int}/figures.csv", name="cases.figures_csv")
async def figures_csv(
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    period: FromQuery[str | None] = None,
    on: FromQuery[str | None] = None,
) -> Response[bytes]:
    programme, chosen, figures = await _figures_for(db, user, programme_id, period, on)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for values in [*_heading(programme, chosen), *figure_table(figures)]:
        writer.writerow([formula_safe(v) for v in values])
    return Response(
        ("\ufeff" + buffer.getvalue()).encode(),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(programme, chosen, "csv"),
    )


@get("/programmes/{programme_id:int}/figures.xlsx", name="cases.figures_xlsx")
async def figures_xlsx(
    programme_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    period: FromQuery[str | None] = None,
    on: FromQuery[str | None] = None,
) -> Response[bytes]:
    programme, chosen, figures = await _figures_for(db, user, programme_id, period, on)
    table = figure_table(figures)
    widths = [24, 10, 8] + [12] * (len(table[0]) - 3)
    # Everything is translated here: the worker thread below has no request language.
    rows = [*_heading(programme, chosen), *table]
    content = await anyio.to_thread.run_sync(_xlsx_bytes, _("Figures"), rows, widths)
    return Response(content, media_type=XLSX, headers=_attachment(programme, chosen, "xlsx"))


routes = [figures_page, figures_csv, figures_xlsx]
