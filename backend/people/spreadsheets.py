"""Reading an uploaded registry (XLSX or CSV) into rows of text cells, and writing one as XLSX.

Cells are text first: long ID and phone numbers must stay exact, so nothing here converts a cell to a
float. A CSV's encoding is detected in a fixed order (a byte-order mark, then strict UTF-8, then strict
GB18030, which Chinese spreadsheet programs write) and named to the user; a file that none of them
reads is refused, never decoded with replacement characters.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from backend.errors import Refused
from backend.i18n import lazy_gettext as _l
from backend.spreadsheet_safety import undo_formula_safe

MAX_ROWS = 20_000
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(slots=True)
class Table:
    """The header row and the data rows of the first sheet, each row with its line number (the
    header is line 1). Rows with no text in any cell are left out."""

    encoding: str
    headers: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def _refused(message: object) -> Refused:
    return Refused(message, field="file", status_code=422)


def cell_text(value: object) -> str:
    """A cell as the text a person typed, never through a float that loses digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # openpyxl reads whole numbers as int; a float here had a point or an exponent in the file.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def decode_csv(data: bytes) -> tuple[str, str]:
    """(text, encoding name shown to the user)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8 (BOM)"
        except UnicodeDecodeError:
            raise _refused(_l("This file says it is UTF-8 but is not: save it again as CSV.")) from None
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GB18030"
    except UnicodeDecodeError:
        raise _refused(
            _l("This file is neither UTF-8 nor GB18030 text: save it as XLSX or as CSV (UTF-8).")
        ) from None


def _collect(encoding: str, rows: Iterable[Sequence[str]]) -> Table:
    table: Table | None = None
    for line, cells in enumerate(rows, start=1):
        texts = [c.strip() for c in cells]
        if table is None:
            table = Table(encoding=encoding, headers=texts)
            continue
        if not any(texts):
            continue
        if len(table.rows) >= MAX_ROWS:
            raise _refused(
                _l("This file has more than %(count)s rows: split it into smaller files.")
                % {"count": f"{MAX_ROWS:,}"}
            )
        table.rows.append((line, texts))
    if table is None or not any(table.headers):
        raise _refused(_l("This file is empty: start from the template."))
    return table


def read_csv(data: bytes) -> Table:
    text, encoding = decode_csv(data)
    if "\x00" in text:
        raise _refused(_l("This file is not a spreadsheet: choose an XLSX or CSV file."))
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        table = _collect(encoding, ([undo_formula_safe(c) for c in row] for row in reader))
    except csv.Error:
        raise _refused(_l("This CSV file could not be read: save it again from the template.")) from None
    return table


def read_xlsx(data: bytes) -> Table:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise _refused(_l("This XLSX file could not be read: save it again from the template.")) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise _refused(_l("This file is empty: start from the template."))
        # A formula cell comes back as its text (=...), which is kept as text like any other.
        rows = ([cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True))
        return _collect("XLSX", rows)
    finally:
        book.close()


def read_table(data: bytes) -> Table:
    """XLSX by its content (a ZIP), anything else as CSV text; the file's name is not trusted."""
    if not data:
        raise _refused(_l("Choose a file to upload."))
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(data)
    return read_csv(data)


def write_xlsx(title: str, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """One sheet of text cells: typed as strings, so a cell starting with = is never a formula."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    for n, width in enumerate((14, 10, 14, 10, 28, 14, 16, 30), start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width

    def text_row(values: Sequence[str]) -> list[WriteOnlyCell]:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cells.append(cell)
        return cells

    sheet.append(text_row(headers))
    for row in rows:
        sheet.append(text_row(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
