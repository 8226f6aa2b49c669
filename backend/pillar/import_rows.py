"""The rows of a pillar-mother roster file, decided one by one (import_service.py loads what they are
checked against and stores the plan). Nothing here reads the database: a `Roster` holds the programme's
areas, delivering agencies, dimensions and the mothers already filed under the 编号 the file names.

A row is "create" (a new mother: her person, children, case, file, profile and needs), "unchanged" (her
编号 is filed and the row says exactly what her file says) or "error" with every reason in the user's
language. A filed mother whose row differs is an error: her file is updated on its page, where every
change keeps its history; this import never updates a file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from backend.errors import Refused
from backend.i18n import lazy_gettext as _l
from backend.people.models import Area
from backend.people.names import normalize_name
from backend.people.person_service import MAX_REFERENCE
from backend.people.spreadsheets import Table
from backend.pillar.models import Agency, Qualification
from backend.pillar.service import ChildDraft, NeedDraft, ScreeningDraft

MAX_NAME = 100
MAX_QUALIFICATION_NOTE = 300
MAX_TEXT = 500
BASE_COLUMNS = ("编号", "姓名", "出生年份", "区域", "符合条件", "说明", "家庭情况", "子女", "服务机构")
REQUIRED = ("编号", "姓名", "区域", "符合条件")
# The column the result file adds; a re-uploaded result file is read like the template.
STATUS_COLUMN = "导入结果"
QUALIFICATIONS = {
    "离异": Qualification.DIVORCED,
    "丧偶": Qualification.WIDOWED,
    "丈夫丧失劳动能力": Qualification.HUSBAND_UNABLE,
    "其他": Qualification.OTHER,
}
_CHILD = re.compile(r"^(?P<name>.*?)[\s,，、（(]*(?P<year>\d{4})?[)）]?$")
_NEED = re.compile(r"^(?P<level>\d+)(?:[\s、,，.．:：\-]+(?P<text>.*))?$")


@dataclass(frozen=True, slots=True)
class Filed:
    """A mother already filed in the programme, as her file stands now."""

    area: Area
    name: str
    birth_year: int | None
    qualification: Qualification
    qualification_note: str | None
    household_note: str
    children: tuple[tuple[str, int | None], ...]
    agency_id: int | None
    needs: dict[int, tuple[int, str]]  # dimension id → (level, words), the current need

    def digest(self) -> str:
        state = (
            self.area.id,
            self.name,
            self.birth_year,
            self.qualification.value,
            self.qualification_note,
            self.household_note,
            self.children,
            self.agency_id,
            sorted(self.needs.items()),
        )
        return hashlib.sha256(repr(state).encode()).hexdigest()[:16]


@dataclass(slots=True)
class Roster:
    areas: dict[str, Area]  # by path below the programme's area ("梧桐街道/桂园社区") and by unique name
    ambiguous: set[str]  # names that more than one area of the programme has
    agencies: dict[str, Agency]  # the programme's delivering agencies in service, by name
    dimensions: dict[str, int]  # the programme's dimensions in use, by label
    filed: dict[str, Filed]  # the mothers filed under the 编号 the file names
    others: set[str]  # 编号 of the programme's people who are not a filed mother
    erased: set[str]  # 编号 of erased people (never used again)


@dataclass(frozen=True, slots=True)
class Importer:
    """Who imports: staff over the programme's area, or an agency worker over her areas, whose mothers
    are served by her agency (`agencies`, the first one unless the row names another of hers)."""

    actor_id: int
    remit: tuple[str, ...]
    agencies: tuple[Agency, ...] = ()
    is_staff: bool = False

    def covers(self, area: Area) -> bool:
        return any(area.path.startswith(p) for p in self.remit)


@dataclass(slots=True)
class RowPlan:
    line: int
    cells: dict[str, str]
    action: str = "create"  # create | unchanged | error
    errors: list[str] = field(default_factory=list)
    before: str = ""  # the filed mother's state when checked: the commit refuses if it differs
    draft: ScreeningDraft | None = None

    @property
    def reason(self) -> str:
        return " ".join(self.errors)

    def outcome(self) -> list[object]:
        """As stored: the decision (line, action, before) the commit must find again, and the reason."""
        return [self.line, self.action, self.before, self.reason]


def _year(text: str, this_year: int) -> int | None:
    if not (text.isascii() and text.isdigit()) or not 1900 <= int(text) <= this_year:
        raise ValueError(text)
    return int(text)


def _children(text: str, this_year: int, errors: list[str]) -> list[ChildDraft]:
    children = []
    for part in re.split(r"[；;\n]", text):
        part = part.strip()
        if not part:
            continue
        match = _CHILD.match(part)
        name = normalize_name(match.group("name")) if match else ""
        year_text = match.group("year") if match else None
        try:
            year = _year(year_text, this_year) if year_text else None
        except ValueError:
            year = None
            name = ""
        if not name or len(name) > MAX_NAME or any(c.isdigit() for c in name):
            errors.append(
                str(
                    _l("子女 %(child)s: write each child as a name and a birth year, like 黄子涵 2014.")
                    % {"child": part}
                )
            )
            continue
        children.append(ChildDraft(name, year))
    return children


def _need(label: str, dimension_id: int, text: str, errors: list[str]) -> NeedDraft | None:
    match = _NEED.match(text)
    level = int(match.group("level")) if match else 0
    if not 1 <= level <= 5:
        errors.append(
            str(
                _l("%(column)s: begin with a level from 1 (serious need) to 5 (no need), like 2 只能打零工.")
                % {"column": label}
            )
        )
        return None
    words = ((match.group("text") if match else "") or "").strip()
    if len(words) > MAX_TEXT:
        errors.append(
            str(
                _l("%(column)s may have at most %(count)s characters.") % {"column": label, "count": MAX_TEXT}
            )
        )
        return None
    return NeedDraft(dimension_id, level, words)


def _agency(roster: Roster, importer: Importer, name: str, errors: list[str]) -> Agency | None:
    if importer.is_staff:
        if not name:
            return None
        agency = roster.agencies.get(name)
        if agency is None:
            errors.append(
                str(_l("服务机构 %(name)s is not a delivering agency of this programme.") % {"name": name})
            )
        return agency
    mine = {a.name: a for a in importer.agencies}
    if not name:
        if len(importer.agencies) == 1:
            return importer.agencies[0]
        errors.append(str(_l("Name your agency in 服务机构.")))
        return None
    if name not in mine:
        errors.append(str(_l("You may import only the mothers your own agency serves.")))
        return None
    return mine[name]


def _limits(cells: dict[str, str], errors: list[str]) -> None:
    for column, limit in (
        ("编号", MAX_REFERENCE),
        ("姓名", MAX_NAME),
        ("说明", MAX_QUALIFICATION_NOTE),
        ("家庭情况", MAX_TEXT),
    ):
        if len(cells.get(column, "")) > limit:
            errors.append(
                str(
                    _l("%(column)s may have at most %(count)s characters.")
                    % {"column": column, "count": limit}
                )
            )


def _draft(
    roster: Roster, importer: Importer, cells: dict[str, str], this_year: int, errors: list[str]
) -> ScreeningDraft | None:
    _limits(cells, errors)
    name = normalize_name(cells.get("姓名", ""))
    if not name:
        errors.append(str(_l("Enter the 姓名.")))
    birth_year = None
    if cells.get("出生年份"):
        try:
            birth_year = _year(cells["出生年份"], this_year)
        except ValueError:
            errors.append(str(_l("出生年份 must be a year between 1900 and this year, like 1986.")))
    area_text = "/".join(p.strip() for p in cells.get("区域", "").split("/") if p.strip())
    area = roster.areas.get(area_text)
    if not area_text:
        errors.append(str(_l("Enter the 区域, like 梧桐街道/桂园社区.")))
    elif area_text in roster.ambiguous:
        errors.append(
            str(_l("More than one area is called %(area)s: write its street too.") % {"area": area_text})
        )
    elif area is None:
        errors.append(str(_l("Unknown 区域 %(area)s in this programme.") % {"area": area_text}))
    elif not importer.covers(area):
        errors.append(str(_l("The 区域 %(area)s is outside your areas.") % {"area": area_text}))
    elif area.closed_at is not None:
        errors.append(str(_l("The 区域 is closed: nobody new can be added there.")))
    qualification = QUALIFICATIONS.get(cells.get("符合条件", ""))
    note = cells.get("说明", "").strip() or None
    if qualification is None:
        errors.append(
            str(_l("符合条件 must be one of %(choices)s.") % {"choices": "、".join(QUALIFICATIONS)})
        )
    elif qualification is Qualification.OTHER and note is None:
        errors.append(str(_l("符合条件 is 其他: say in 说明 why she qualifies.")))
    children = _children(cells.get("子女", ""), this_year, errors)
    needs = []
    for label, dimension_id in roster.dimensions.items():
        if cells.get(label):
            need = _need(label, dimension_id, cells[label], errors)
            if need is not None:
                needs.append(need)
    agency = _agency(roster, importer, cells.get("服务机构", ""), errors)
    if errors or area is None or qualification is None:
        return None
    return ScreeningDraft(
        display_name=name,
        birth_year=birth_year,
        area=area,
        qualification=qualification,
        qualification_note=note,
        household_note=cells.get("家庭情况", "").strip(),
        reference=cells["编号"],
        children=children,
        needs=needs,
        agency=agency,
    )


def _same(filed: Filed, draft: ScreeningDraft) -> bool:
    children = tuple(sorted(((c.display_name, c.birth_year) for c in draft.children), key=_child_key))
    return (
        filed.area.id == draft.area.id
        and filed.name == draft.display_name
        and filed.birth_year == draft.birth_year
        and filed.qualification is draft.qualification
        and filed.qualification_note == draft.qualification_note
        and filed.household_note == draft.household_note
        and filed.children == children
        and filed.agency_id == (draft.agency.id if draft.agency else None)
        and all(filed.needs.get(n.dimension_id) == (n.level, n.text) for n in draft.needs)
    )


def _child_key(child: tuple[str, int | None]) -> tuple[int, str]:
    return (child[1] or 0, child[0])


def plan_rows(
    roster: Roster, importer: Importer, rows: Sequence[tuple[int, dict[str, str]]], *, this_year: int
) -> list[RowPlan]:
    first_line: dict[str, int] = {}
    plans = []
    for line, cells in rows:
        plan = RowPlan(line=line, cells=cells)
        plans.append(plan)
        ref = cells.get("编号", "")
        errors = plan.errors
        if not ref:
            errors.append(str(_l("Enter the 编号.")))
        elif ref in first_line:
            errors.append(
                str(
                    _l("编号 %(ref)s is repeated: it is on line %(line)s too.")
                    % {"ref": ref, "line": first_line[ref]}
                )
            )
        else:
            first_line[ref] = line
        if ref in roster.erased:
            errors.append(
                str(
                    _l("编号 %(ref)s belonged to someone whose data was erased: it cannot be used again.")
                    % {"ref": ref}
                )
            )
        elif ref in roster.others:
            errors.append(
                str(_l("编号 %(ref)s already belongs to someone else in this programme.") % {"ref": ref})
            )
        plan.draft = _draft(roster, importer, cells, this_year, errors)
        filed = roster.filed.get(ref)
        if filed is not None and not errors:
            if not importer.covers(filed.area):
                errors.append(str(_l("编号 %(ref)s belongs to someone outside your areas.") % {"ref": ref}))
            elif plan.draft is not None and _same(filed, plan.draft):
                plan.action, plan.before = "unchanged", filed.digest()
            else:
                errors.append(
                    str(_l("编号 %(ref)s is already filed: update her file on its page.") % {"ref": ref})
                )
        if errors:
            plan.action, plan.draft = "error", None
    return plans


def header_map(table: Table, known: list[str]) -> tuple[dict[str, int], list[str]]:
    columns: dict[str, int] = {}
    warnings: list[str] = []
    for index, header in enumerate(table.headers):
        if header in known and header not in columns:
            columns[header] = index
        elif header in known:
            raise Refused(
                _l("The column %(column)s appears twice: keep one.") % {"column": header}, field="file"
            )
        elif header and header != STATUS_COLUMN:
            warnings.append(
                str(_l("The column %(column)s is not in the template and is ignored.") % {"column": header})
            )
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise Refused(
            _l("The file lacks the columns %(columns)s: start from the template.")
            % {"columns": "、".join(missing)},
            field="file",
        )
    return columns, warnings
