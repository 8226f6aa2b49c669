"""CSV and XLSX statements, streamed: a batch of agreements is read, written and sent at a time.

Both list one row per approved meal of the month (0 fen past the cap), in the same order as the
printed statement. The CSV adds the month's adjustments as rows of their own kind and ends with a
total row carrying the audit chain's head at closing; the XLSX puts meals, adjustments and the
summary on three sheets (openpyxl write-only, so memory stays flat; the file is assembled in a
temporary file and then sent in chunks). A closed month's meals are computed again from its check-ins
(the ledger holds one line per agreement); where that disagrees with the ledger, the CSV carries a
row of kind "ledger mismatch" for the agreement and the XLSX summary a line, with both figures, and
the totals are the ledger's (what was paid). Labels are translated before streaming starts, because the
request's language is not guaranteed to be set while the body is being sent.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import anyio.to_thread
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from backend.db import Database
from backend.i18n import gettext as _
from backend.labels import fen_to_yuan, local_time
from backend.meals.labels import slot_label
from backend.meals.models import MealSlot
from backend.people.models import Programme
from backend.settlement.statements import AgreementStatement, iter_statements, period_of
from backend.spreadsheet_safety import formula_safe as _csv_safe

CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """What to export, and every label already in the user's language."""

    programme_id: int
    programme_name: str
    time_zone: str
    month: date
    only: Sequence[int] | None
    headers: tuple[str, ...]
    slots: dict[MealSlot, str]
    kinds: dict[str, str]
    summary: dict[str, str]
    # With %(paid_meals)s, %(paid_yuan)s, %(meals)s, %(yuan)s: a closed agreement's ledger disagreeing.
    mismatch_note: str


def export_spec(programme: Programme, month: date, only: Sequence[int] | None = None) -> ExportSpec:
    return ExportSpec(
        programme_id=programme.id,
        programme_name=programme.name,
        time_zone=programme.time_zone,
        month=month,
        only=only,
        headers=(
            _("Kind"),
            _("Agreement"),
            _("Neighbour"),
            _("Resident"),
            _("Date"),
            _("Meal"),
            _("Entry id"),
            _("Photo SHA-256"),
            _("Reviewed by"),
            _("Reviewed at"),
            _("Amount (fen)"),
            _("Amount (yuan)"),
            _("Reason"),
            _("Audit head at closing"),
        ),
        slots={slot: slot_label(slot) for slot in MealSlot},
        kinds={
            "meal": _("meal"),
            "adjustment": _("adjustment"),
            # Held adjustments (issue 19): listed with their status, counted in no total.
            "adjustment_pending": _("adjustment pending approval (not counted)"),
            "adjustment_refused": _("adjustment refused (not counted)"),
            "total": _("total"),
            "mismatch": _("ledger mismatch"),
        },
        summary={
            "programme": _("Programme"),
            "month": _("Month"),
            "status": _("Status"),
            "draft": _("Draft: not closed, amounts may still change"),
            "closed": _("Closed"),
            "meals": _("Approved meals"),
            "meals_fen": _("Meals (fen)"),
            "adjustments_fen": _("Adjustments (fen)"),
            "total_fen": _("Total (fen)"),
            "total_yuan": _("Total (yuan)"),
            "head": _("Audit head at closing"),
        },
        mismatch_note=_(
            "The ledger paid %(paid_meals)s meals, %(paid_yuan)s yuan, but the check-ins now give "
            "%(meals)s meals, %(yuan)s yuan: they were changed after closing. The amounts paid are the "
            "ledger's."
        ),
    )


def mismatch_text(spec: ExportSpec, statement: AgreementStatement) -> str:
    paid_meals, paid_fen = statement.ledger or (0, 0)
    return spec.mismatch_note % {
        "paid_meals": paid_meals,
        "paid_yuan": fen_to_yuan(paid_fen),
        "meals": len(statement.meals),
        "yuan": fen_to_yuan(statement.recomputed_fen),
    }


def _mismatch_rows(spec: ExportSpec, statement: AgreementStatement) -> list[list[object]]:
    if not statement.ledger_mismatch:
        return []
    a = statement.agreement
    paid_fen = statement.meals_fen
    return [
        [
            spec.kinds["mismatch"],
            a.id,
            a.neighbour.display_name,
            a.resident.display_name,
            "",
            "",
            "",
            "",
            "",
            "",
            paid_fen,
            fen_to_yuan(paid_fen),
            mismatch_text(spec, statement),
            "",
        ]
    ]


def _meal_rows(spec: ExportSpec, statement: AgreementStatement) -> list[list[object]]:
    a = statement.agreement
    return [
        [
            spec.kinds["meal"],
            a.id,
            a.neighbour.display_name,
            a.resident.display_name,
            meal.day.isoformat(),
            spec.slots[meal.slot],
            meal.checkin_id,
            " ".join(meal.photo_sha256),
            meal.reviewer or "",
            local_time(meal.reviewed_at, spec.time_zone) if meal.reviewed_at else "",
            meal.amount_fen,
            fen_to_yuan(meal.amount_fen),
            "",
            "",
        ]
        for meal in statement.meals
    ]


def _adjustment_rows(spec: ExportSpec, statement: AgreementStatement) -> list[list[object]]:
    a = statement.agreement
    return [
        [
            spec.kinds["adjustment"],
            a.id,
            a.neighbour.display_name,
            a.resident.display_name,
            local_time(line.created_at, spec.time_zone, "%Y-%m-%d"),
            "",
            "",
            "",
            "",
            "",
            line.amount_fen,
            fen_to_yuan(line.amount_fen),
            line.reason or "",
            "",
        ]
        for line in statement.adjustments
    ] + [
        [
            spec.kinds[f"adjustment_{held.status.value}"],
            a.id,
            a.neighbour.display_name,
            a.resident.display_name,
            local_time(held.created_at, spec.time_zone, "%Y-%m-%d"),
            "",
            "",
            "",
            "",
            "",
            held.amount_fen,
            fen_to_yuan(held.amount_fen),
            held.reason,
            "",
        ]
        for held in statement.held
    ]


def _mismatch_label(spec: ExportSpec, agreement_id: int) -> str:
    return f"{spec.kinds['mismatch']}: {spec.headers[1]} {agreement_id}"


async def _closed_head(database: Database, spec: ExportSpec) -> tuple[bool, str]:
    async with database.transaction(read_only=True) as db:
        period = await period_of(db, spec.programme_id, spec.month)
    closed = period is not None and period.closed_at is not None
    return closed, (period.audit_head_hash or "") if period is not None and closed else ""


def _csv_text(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([[_csv_safe(v) for v in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


async def stream_csv(database: Database, spec: ExportSpec) -> AsyncIterator[bytes]:
    closed, head = await _closed_head(database, spec)
    # The BOM lets spreadsheet programs read the Chinese text as UTF-8.
    yield "\ufeff".encode() + _csv_text([list(spec.headers)])
    total = 0
    async with database.transaction(read_only=True, long_reads=True) as db:
        async for statement in iter_statements(
            db, spec.programme_id, spec.month, closed=closed, only=spec.only
        ):
            total += statement.total_fen
            rows = _meal_rows(spec, statement) + _mismatch_rows(spec, statement)
            yield _csv_text(rows + _adjustment_rows(spec, statement))
    yield _csv_text(
        [[spec.kinds["total"], "", "", "", "", "", "", "", "", "", total, fen_to_yuan(total), "", head]]
    )


# Spreadsheet cells are typed, so sums and filters work in Excel and WPS: amounts are numbers (fen as
# whole numbers, yuan as exact decimals shown with two places), days and times are real dates, text is
# text even when it starts with =, +, - or @ (a name or reason is never run as a formula).
YUAN_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
# Column widths in characters (a CJK character counts as about two): agreement, neighbour, resident,
# date, meal, entry id, photo hash, reviewer, reviewed at, fen, yuan.
MEAL_WIDTHS = (10, 12, 12, 12, 8, 10, 24, 12, 17, 12, 12)
ADJUSTMENT_WIDTHS = (10, 12, 12, 12, 12, 12, 40)
SUMMARY_WIDTHS = (24, 40)


def _cell(sheet: WriteOnlyWorksheet, value: object) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the first character
    elif isinstance(value, Decimal):
        cell.number_format = YUAN_FORMAT
    elif isinstance(value, datetime):
        cell.number_format = TIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    return cell


def _append(sheet: WriteOnlyWorksheet, values: Sequence[object]) -> None:
    sheet.append([_cell(sheet, v) for v in values])


def _widths(sheet: WriteOnlyWorksheet, widths: Sequence[int]) -> None:
    for n, width in enumerate(widths, start=1):  # set before the first row, as write-only mode needs
        sheet.column_dimensions[get_column_letter(n)].width = width


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100  # exact: a Decimal of whole fen over 100, no float in between


def _local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)  # spreadsheets have no time zones


def _meal_cells(spec: ExportSpec, statement: AgreementStatement) -> list[list[object]]:
    a = statement.agreement
    return [
        [
            a.id,
            a.neighbour.display_name,
            a.resident.display_name,
            meal.day,
            spec.slots[meal.slot],
            meal.checkin_id,
            " ".join(meal.photo_sha256),
            meal.reviewer or "",
            _local(meal.reviewed_at, spec.time_zone) if meal.reviewed_at else "",
            meal.amount_fen,
            _yuan(meal.amount_fen),
        ]
        for meal in statement.meals
    ]


def _adjustment_cells(spec: ExportSpec, statement: AgreementStatement) -> list[list[object]]:
    a = statement.agreement
    return [
        [
            a.id,
            a.neighbour.display_name,
            a.resident.display_name,
            _local(line.created_at, spec.time_zone).date(),
            line.amount_fen,
            _yuan(line.amount_fen),
            line.reason or "",
        ]
        for line in statement.adjustments
    ] + [
        [
            a.id,
            a.neighbour.display_name,
            a.resident.display_name,
            _local(held.created_at, spec.time_zone).date(),
            held.amount_fen,
            _yuan(held.amount_fen),
            f"{spec.kinds[f'adjustment_{held.status.value}']}: {held.reason}",
        ]
        for held in statement.held
    ]


async def stream_xlsx(database: Database, spec: ExportSpec) -> AsyncIterator[bytes]:
    closed, head = await _closed_head(database, spec)
    workbook = Workbook(write_only=True)
    meals_sheet = workbook.create_sheet(_("Meals"))
    _widths(meals_sheet, MEAL_WIDTHS)
    meals_sheet.freeze_panes = "A2"
    _append(meals_sheet, spec.headers[1:12])
    adjustments: list[list[object]] = []
    mismatches: list[list[object]] = []
    meals = meals_fen = adjustments_fen = 0
    async with database.transaction(read_only=True, long_reads=True) as db:
        async for statement in iter_statements(
            db, spec.programme_id, spec.month, closed=closed, only=spec.only
        ):
            for row in _meal_cells(spec, statement):
                _append(meals_sheet, row)
            adjustments.extend(_adjustment_cells(spec, statement))
            if statement.ledger_mismatch:
                mismatches.append(
                    [_mismatch_label(spec, statement.agreement.id), mismatch_text(spec, statement)]
                )
            meals += len(statement.meals)
            meals_fen += statement.meals_fen
            adjustments_fen += statement.adjustments_fen
    adjustment_sheet = workbook.create_sheet(_("Adjustments"))
    _widths(adjustment_sheet, ADJUSTMENT_WIDTHS)
    _append(adjustment_sheet, [spec.headers[i] for i in (1, 2, 3, 4, 10, 11, 12)])
    for row in adjustments:
        _append(adjustment_sheet, row)
    s = spec.summary
    summary = workbook.create_sheet(_("Summary"))
    _widths(summary, SUMMARY_WIDTHS)
    total = meals_fen + adjustments_fen
    rows: list[list[object]] = [
        [s["programme"], spec.programme_name],
        [s["month"], spec.month.strftime("%Y-%m")],
        [s["status"], s["closed"] if closed else s["draft"]],
        [s["meals"], meals],
        [s["meals_fen"], meals_fen],
        [s["adjustments_fen"], adjustments_fen],
        [s["total_fen"], total],
        [s["total_yuan"], _yuan(total)],
        [s["head"], head],
        *mismatches,
    ]
    for line in rows:
        _append(summary, line)
    with tempfile.TemporaryFile() as file:
        await anyio.to_thread.run_sync(workbook.save, file)
        file.seek(0)
        while chunk := await anyio.to_thread.run_sync(file.read, CHUNK):
            yield chunk
