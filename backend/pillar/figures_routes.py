"""A pillar-mother programme's figures for a month, quarter, half-year, year or any range of days, over
the whole programme or one of its areas: a page (a small table per block, readable on a phone) and the
same figures as CSV and XLSX (pillar/figures.py counts them). For the programme's staff only: anyone
else with a role in the programme gets 403, everyone else 404."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote, urlencode

import anyio.to_thread
from litestar import get
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.cases.periods import Period, PeriodKind, kind_label, parse_period, period_of
from backend.clock import local_today
from backend.errors import Forbidden
from backend.i18n import gettext as _
from backend.labels import area_level_label
from backend.people.models import Area, Programme, ProgrammeKind
from backend.pillar.figures import PillarFigures, pillar_figures, programme_areas
from backend.pillar.models import ContactChannel
from backend.pillar.policy import is_pillar_staff
from backend.pillar.survey_forms import round_label
from backend.settlement.policy import get_programme_for
from backend.spreadsheet_safety import formula_safe

CUSTOM = "custom"
MAX_CUSTOM_DAYS = 366 * 5

Value = int | Decimal | str
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Span4 = tuple[str | None, str | None, str | None, str | None]


@dataclass(frozen=True)
class Span:
    """The period shown: a preset (`preset` set) or a custom range; `end` is the first day after it."""

    start: date
    end: date
    preset: Period | None

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        if self.preset is not None:
            return self.preset.label
        return _("%(start)s to %(last)s") % {
            "start": self.start.isoformat(),
            "last": self.last_day.isoformat(),
        }

    @property
    def code(self) -> str:
        return self.preset.code if self.preset else f"{self.start.isoformat()}_{self.last_day.isoformat()}"

    def query(self, area_id: int | None) -> str:
        params: dict[str, str | int] = (
            {"period": self.preset.kind.value, "on": self.start.isoformat()}
            if self.preset
            else {"period": CUSTOM, "start": self.start.isoformat(), "last": self.last_day.isoformat()}
        )
        if area_id is not None:
            params["area"] = area_id
        return urlencode(params)


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip()) if len((raw or "").strip()) == 10 else None
    except ValueError:
        return None


def parse_span(period: str | None, on: str | None, start: str | None, last: str | None, today: date) -> Span:
    if (period or "").strip() != CUSTOM:
        chosen = parse_period(period, on, today)
        return Span(chosen.start, chosen.end, chosen)
    first, final = _day(start), _day(last)
    if first is None or final is None or not date(2000, 1, 1) <= first <= final <= date(2100, 12, 31):
        raise ClientException(
            detail=_("Choose the first and the last day of the range, the first not after the last.")
        )
    if (final - first).days >= MAX_CUSTOM_DAYS:
        raise ClientException(detail=_("Choose a range of at most five years."))
    return Span(first, final + timedelta(days=1), None)


def measure_label(measure: str) -> str:
    return {
        "training": _("Trainings"),
        "job": _("Jobs found"),
        "counselling": _("Counselling sessions"),
        "lecture": _("Lectures"),
        "home_help": _("Home help"),
        "material_aid": _("Material aid"),
    }.get(measure, _("Other services"))


def channel_label(channel: ContactChannel) -> str:
    return {
        ContactChannel.HOME: _("At home"),
        ContactChannel.PHONE: _("By phone"),
        ContactChannel.ONLINE: _("Online"),
    }[channel]


def _x100(value: int | None) -> Value:
    return "" if value is None else (Decimal(value) / 100).quantize(Decimal("0.01"))


def _yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))  # exact: whole fen over 100, no float


@dataclass(frozen=True)
class Block:
    key: str
    title: str
    rows: list[tuple[str, Value]]
    # What the page shows after a row's value (the exports carry the bare number): " / 5" for a mean.
    units: dict[str, str] = field(default_factory=dict)


def figure_blocks(figures: PillarFigures) -> list[Block]:
    services: list[tuple[str, Value]] = []
    for measure, (count, people) in figures.services.items():
        services += [
            (measure_label(measure), count),
            (_("%(what)s: person-times") % {"what": measure_label(measure)}, people),
        ]
    contacts: list[tuple[str, Value]] = [(_("Contacts"), figures.contacts)]
    contacts += [(channel_label(c), n) for c, n in figures.contacts_by_channel.items()]
    contacts += [
        (_("Contact minutes"), figures.contact_minutes),
        (_("Files with a support group"), figures.files_with_group),
        (_("Contacts per group, mean"), _x100(figures.contacts_per_group_x100)),
        (_("Groups overdue for contact at the period's end"), figures.groups_overdue),
    ]
    goals: list[tuple[str, Value]] = []
    for g in figures.goals:
        goals += [(_("%(dimension)s: goals set") % {"dimension": g.dimension}, g.set)]
        goals += [(_("%(dimension)s: goals met") % {"dimension": g.dimension}, g.met)]
    survey: list[tuple[str, Value]] = []
    for r, s in figures.surveys.items():
        name = round_label(r)
        survey += [
            (_("%(round)s round: answers") % {"round": name}, s.answers),
            (_("%(round)s round: of them on paper") % {"round": name}, s.on_paper),
            (_("%(round)s round: mean satisfaction (out of 5)") % {"round": name}, _x100(s.mean_x100)),
        ]
    money: list[tuple[str, Value]] = [
        (_("Budget of the contracts running in the period (yuan)"), _yuan(figures.budget_fen)),
        (_("Released in the period (yuan)"), _yuan(figures.released_fen)),
    ]
    money += [(f"{r.contract} · {r.stage}", _yuan(r.amount_fen)) for r in figures.releases]
    money += [(_("Supervision sessions"), figures.supervisions)]
    money += [
        (_("%(round)s evaluations") % {"round": round_label(r)}, n) for r, n in figures.evaluations.items()
    ]
    return [
        Block(
            "families",
            _("Families"),
            [(_("Families served"), figures.families_served), (_("New files"), figures.new_files)],
        ),
        Block("services", _("Services delivered"), services),
        Block("contacts", _("Support groups' contacts"), contacts),
        Block("goals", _("Goals per dimension"), goals),
        Block("survey", _("Satisfaction"), survey, {label: " / 5" for label, _v in survey[2::3]}),
        Block("money", _("Money, supervision and evaluation (whole programme)"), money),
    ]


async def _figures_for(
    db: AsyncSession, user: Principal, pillar_id: int, span: Span4, area_id: int | None
) -> tuple[Programme, Span, Area | None, list[Area], PillarFigures]:
    programme = await get_programme_for(db, user, pillar_id, kind=ProgrammeKind.PILLAR_MOTHERS)
    if not is_pillar_staff(user, programme.id):
        raise Forbidden()
    chosen = parse_span(*span, today=local_today(programme))
    areas = await programme_areas(db, programme)
    area = None
    if area_id is not None:
        area = next((a for a in areas if a.id == area_id), None)
        if area is None:
            raise ClientException(detail=_("Choose one of the programme's areas."))
    figures = await pillar_figures(db, programme, chosen.start, chosen.end, area)
    return programme, chosen, area, areas, figures


def _table(programme: Programme, span: Span, area: Area | None, figures: PillarFigures) -> list[list[object]]:
    rows: list[list[object]] = [
        [_("Programme"), programme.name],
        [_("Period"), f"{span.label} ({span.start.isoformat()} – {span.last_day.isoformat()})"],
        [_("Area"), area.name if area is not None else _("Whole programme")],
        [_("Only approved, current service deliveries are counted.")],
        [],
        [_("Block"), _("Figure"), _("Value")],
    ]
    for block in figure_blocks(figures):
        rows += [[block.title, label, value] for label, value in block.rows]
    return rows


def _xlsx_bytes(title: str, rows: list[list[object]], widths: list[int]) -> bytes:
    """As cases/figures_routes.py writes its sheet: text cells are always text, never formulas."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for n, width in enumerate(widths, start=1):  # before the first row, as write-only mode needs
        sheet.column_dimensions[get_column_letter(n)].width = width
    for values in rows:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _attachment(programme: Programme, span: Span, suffix: str) -> dict[str, str]:
    name = f"pillar-figures-{programme.id}-{span.code}.{suffix}"
    return {
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store",
    }


@get("/pillar/{pillar_id:int}/figures", name="pillar.figures")
async def figures_page(
    pillar_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    period: FromQuery[str | None] = None,
    on: FromQuery[str | None] = None,
    start: FromQuery[str | None] = None,
    last: FromQuery[str | None] = None,
    area: FromQuery[int | None] = None,
) -> Template:
    programme, span, chosen_area, areas, figures = await _figures_for(
        db, user, pillar_id, (period, on, start, last), area
    )
    anchor = span.preset.start if span.preset else span.start
    context = {
        "principal": user,
        "programme": programme,
        "span": span,
        "area": chosen_area,
        "areas": areas,
        "blocks": figure_blocks(figures),
        "presets": [(k, kind_label(k), period_of(k, anchor)) for k in PeriodKind],
        "query": span.query(chosen_area.id if chosen_area else None),
        "area_level_label": area_level_label,
    }
    return Template(template_name="pillar/figures.html", context=context)


@get("/pillar/{pillar_id:int}/figures.csv", name="pillar.figures_csv")
async def figures_csv(
    pillar_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    period: FromQuery[str | None] = None,
    on: FromQuery[str | None] = None,
    start: FromQuery[str | None] = None,
    last: FromQuery[str | None] = None,
    area: FromQuery[int | None] = None,
) -> Response[bytes]:
    programme, span, chosen_area, _areas, figures = await _figures_for(
        db, user, pillar_id, (period, on, start, last), area
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for values in _table(programme, span, chosen_area, figures):
        writer.writerow([formula_safe(v) for v in values])
    return Response(
        ("\ufeff" + buffer.getvalue()).encode(),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(programme, span, "csv"),
    )


@get("/pillar/{pillar_id:int}/figures.xlsx", name="pillar.figures_xlsx")
async def figures_xlsx(
    pillar_id: FromPath[int],
    db: NamedDependency[AsyncSession],
    user: NamedDependency[Principal],
    period: FromQuery[str | None] = None,
    on: FromQuery[str | None] = None,
    start: FromQuery[str | None] = None,
    last: FromQuery[str | None] = None,
    area: FromQuery[int | None] = None,
) -> Response[bytes]:
    programme, span, chosen_area, _areas, figures = await _figures_for(
        db, user, pillar_id, (period, on, start, last), area
    )
    # Everything is translated here: the worker thread below has no request language.
    rows = _table(programme, span, chosen_area, figures)
    content = await anyio.to_thread.run_sync(_xlsx_bytes, _("Figures"), rows, [28, 48, 16])
    return Response(content, media_type=XLSX, headers=_attachment(programme, span, "xlsx"))


routes = [figures_page, figures_csv, figures_xlsx]
