"""Spreadsheet import of a programme's registry, in two phases.

check_file() (the dry run) reads every row, decides for each one will-create / will-update (naming the
changed fields) / unchanged / error (with the reason in the user's language) and stores that plan.
do_commit_plan() checks the stored rows again against the data as it is now, refuses if any decision
differs (someone changed the registry in between) or any row has an error, and otherwise applies the
plan through the registry's own do_* functions, in the caller's one transaction: all or nothing. Rows
are matched by 编号 within the programme, so importing the same file again changes nothing.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.db import utcnow
from backend.errors import Forbidden, NotFound, Refused
from backend.i18n import lazy_gettext as _l
from backend.people.import_models import ImportPlan
from backend.people.models import Area, ErasedReference, Membership, PersonKind, Programme, Role
from backend.people.person_service import (
    MAX_NOTE,
    MAX_REFERENCE,
    NewPerson,
    PersonFields,
    do_create_people,
    do_move_person,
    do_update_person,
)
from backend.people.registry_table import (
    COLUMNS,
    PERSON_TYPES,
    REQUIRED,
    SOURCES,
    TYPE_ALLOWED,
    USER_TYPES,
    Registry,
    load_registry,
)
from backend.people.rights_service import reference_sha256
from backend.people.service import (
    do_add_membership,
    do_create_user,
    do_end_membership,
    do_rename_user,
    do_set_user_reference,
    new_handle,
)
from backend.people.spreadsheets import Table, read_table
from backend.visits.models import ChildProfile, NeedArea

MAX_NAME = 100
PLAN_HOURS = 24
SOURCE_LATER = _l(
    "来源 is recorded with the child's profile, which needs the child's needs and consent: "
    "record it on the child's page."
)


@dataclass(frozen=True, slots=True)
class Importer:
    """Who imports: her id (None for the operator's command line), the area paths she may import into,
    and whether she may import social workers (staff only)."""

    actor: Actor | None
    remit: tuple[str, ...]
    may_import_social_workers: bool

    def covers(self, area: Area) -> bool:
        return any(area.path.startswith(p) for p in self.remit)


@dataclass(slots=True)
class RowPlan:
    line: int
    cells: dict[str, str]
    action: str = "unchanged"  # create | update | unchanged | error
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warning: str | None = None
    # What the matched record held when this row was checked: the commit refuses if it differs.
    before: str = ""

    @property
    def reason(self) -> str:
        return "; ".join(self.errors)


@dataclass(slots=True)
class Plan:
    programme: Programme
    encoding: str
    warnings: list[str]
    rows: list[RowPlan]
    plan_id: int | None = None

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def errors(self) -> list[RowPlan]:
        return [r for r in self.rows if r.action == "error"]

    def outcome(self) -> list[Any]:
        return [[r.line, r.action, r.changes, r.before] for r in self.rows]


def _header_map(table: Table) -> tuple[dict[str, int], list[str]]:
    columns: dict[str, int] = {}
    warnings: list[str] = []
    for index, header in enumerate(table.headers):
        if header in COLUMNS and header not in columns:
            columns[header] = index
        elif header in COLUMNS:
            raise Refused(
                _l("The column %(column)s appears twice: keep one.") % {"column": header}, field="file"
            )
        elif header:
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


def _cells(columns: dict[str, int], values: Sequence[str]) -> dict[str, str]:
    return {c: (values[i] if i < len(values) else "") for c, i in columns.items()}


def _text_errors(cells: dict[str, str]) -> list[str]:
    errors = []
    limits = (("编号", MAX_REFERENCE), ("姓名", MAX_NAME), ("备注", MAX_NOTE))
    for column, limit in limits:
        if len(cells.get(column, "")) > limit:
            errors.append(
                str(
                    _l("%(column)s may have at most %(count)s characters.")
                    % {"column": column, "count": limit}
                )
            )
    return errors


def _birth_year(text: str, this_year: int) -> tuple[int | None, str | None]:
    if not text:
        return None, None
    if not (text.isascii() and text.isdigit()) or not 1900 <= int(text) <= this_year:
        return None, str(_l("出生年份 must be a year between 1900 and this year, like 2015."))
    return int(text), None


def plan_rows(
    registry: Registry, importer: Importer, rows: Sequence[tuple[int, dict[str, str]]]
) -> list[RowPlan]:
    """Decide every row; reads nothing from the database (the registry was loaded once)."""
    this_year = utcnow().year
    kind_of = registry.programme.kind
    guardians_in_file = {c.get("编号", "") for _, c in rows if c.get("类型") == "监护人"}
    first_line: dict[str, int] = {}
    plans = []
    for line, cells in rows:
        plan = RowPlan(line=line, cells=cells)
        plans.append(plan)
        ref, type_label, name = cells.get("编号", ""), cells.get("类型", ""), cells.get("姓名", "")
        errors = plan.errors
        errors.extend(_text_errors(cells))
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
        if not name:
            errors.append(str(_l("Enter the 姓名.")))
        if type_label not in PERSON_TYPES and type_label not in USER_TYPES:
            errors.append(
                str(
                    _l("Unknown 类型 %(type)s: use one of %(types)s.")
                    % {"type": type_label or "—", "types": "、".join([*PERSON_TYPES, *USER_TYPES])}
                )
            )
        elif kind_of not in TYPE_ALLOWED[type_label]:
            errors.append(str(_l("This programme has no %(type)s.") % {"type": type_label}))
        elif type_label == "社工" and not importer.may_import_social_workers:
            errors.append(str(_l("Only staff may import social workers.")))
        year, year_error = _birth_year(cells.get("出生年份", ""), this_year)
        if year_error:
            errors.append(year_error)
        area_text = "/".join(p.strip() for p in cells.get("区域", "").split("/") if p.strip())
        area = registry.areas.get(area_text)
        if not area_text:
            errors.append(str(_l("Enter the 区域, like 梧桐街道/桂园社区.")))
        elif area is None:
            errors.append(str(_l("Unknown 区域 %(area)s in this programme.") % {"area": area_text}))
        elif not importer.covers(area):
            errors.append(str(_l("The 区域 %(area)s is outside your areas.") % {"area": area_text}))
        guardian_ref, source = cells.get("监护人编号", ""), cells.get("来源", "")
        is_child = type_label == "儿童"
        if is_child and not guardian_ref:
            errors.append(str(_l("A child needs a guardian: give the guardian's 编号 in 监护人编号.")))
        elif is_child and guardian_ref not in guardians_in_file and guardian_ref not in registry.guardians:
            errors.append(
                str(
                    _l("监护人编号 %(ref)s names no guardian in this file or in the programme.")
                    % {"ref": guardian_ref}
                )
            )
        elif guardian_ref and not is_child:
            errors.append(str(_l("Only a child has a 监护人编号.")))
        if source and not is_child:
            errors.append(str(_l("Only a child has a 来源.")))
        elif source and source not in SOURCES:
            errors.append(
                str(
                    _l("Unknown 来源 %(source)s: use one of %(sources)s.")
                    % {"source": source, "sources": "、".join(SOURCES)}
                )
            )
        if type_label in USER_TYPES and cells.get("出生年份"):
            errors.append(
                str(
                    _l("出生年份 is kept for the people served only: leave it empty for %(type)s.")
                    % {"type": type_label}
                )
            )
        if type_label in USER_TYPES and cells.get("备注"):
            errors.append(
                str(
                    _l("备注 is kept for the people served only: leave it empty for %(type)s.")
                    % {"type": type_label}
                )
            )
        if errors or area is None:
            plan.action = "error"
            continue
        if type_label in PERSON_TYPES:
            _match_person(registry, importer, plan, area, year)
        else:
            _match_user(registry, importer, plan, area)
        if plan.errors:
            plan.action = "error"
    return plans


def _digest(*values: object) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def _match_person(
    registry: Registry, importer: Importer, plan: RowPlan, area: Area, year: int | None
) -> None:
    cells = plan.cells
    ref, kind = cells["编号"], PERSON_TYPES[cells["类型"]]
    if ref in registry.users:
        plan.errors.append(str(_l("编号 %(ref)s already belongs to someone of another 类型.") % {"ref": ref}))
        return
    person = registry.people.get(ref)
    source = cells.get("来源", "")
    if person is None:
        if area.closed_at is not None:
            plan.errors.append(str(_l("The 区域 is closed: nobody new can be added there.")))
        plan.action = "create"
        if source:
            plan.warning = str(SOURCE_LATER)
        return
    if person.kind is not kind:
        plan.errors.append(str(_l("编号 %(ref)s already belongs to someone of another 类型.") % {"ref": ref}))
        return
    current_area = registry.area_by_id[person.area_id]
    if not importer.covers(current_area):
        plan.errors.append(str(_l("编号 %(ref)s belongs to someone outside your areas.") % {"ref": ref}))
        return
    plan.before = _digest(
        person.display_name,
        person.birth_year,
        person.area_id,
        person.guardian_id,
        person.note,
        registry.sources.get(person.id),
    )
    changes = []
    if registry.normalized(cells["姓名"]) != person.display_name:
        changes.append("姓名")
    if year != person.birth_year:
        changes.append("出生年份")
    if area.id != person.area_id:
        changes.append("区域")
        if area.closed_at is not None:
            plan.errors.append(str(_l("The 区域 is closed: nobody new can be added there.")))
    guardian_ref = cells.get("监护人编号", "")
    if kind is PersonKind.CHILD and guardian_ref != registry.reference_of(person.guardian_id):
        changes.append("监护人编号")
    if (cells.get("备注") or None) != person.note:
        changes.append("备注")
    profile_source = registry.sources.get(person.id)
    if source and profile_source is not None and SOURCES[source] is not profile_source:
        changes.append("来源")
        if importer.actor is None:
            plan.errors.append(str(_l("A change of 来源 must be made by a user: give --by.")))
    elif source and profile_source is None:
        plan.warning = str(SOURCE_LATER)
    plan.changes, plan.action = changes, ("update" if changes else "unchanged")


def _match_user(registry: Registry, importer: Importer, plan: RowPlan, area: Area) -> None:
    cells = plan.cells
    ref, role = cells["编号"], USER_TYPES[cells["类型"]]
    if ref in registry.people:
        plan.errors.append(str(_l("编号 %(ref)s already belongs to someone of another 类型.") % {"ref": ref}))
        return
    user = registry.users.get(ref)
    if user is None:
        if area.closed_at is not None:
            plan.errors.append(str(_l("The 区域 is closed: nobody new can be added there.")))
        plan.action = "create"
        return
    memberships = registry.memberships.get(user.id, [])
    if any(m.role is not role for m in memberships):
        plan.errors.append(str(_l("编号 %(ref)s already belongs to someone of another 类型.") % {"ref": ref}))
        return
    if any(not importer.covers(registry.area_by_id[m.area_id]) for m in memberships):
        plan.errors.append(str(_l("编号 %(ref)s belongs to someone outside your areas.") % {"ref": ref}))
        return
    plan.before = _digest(user.display_name, *[(m.id, m.area_id) for m in memberships])
    changes = []
    if registry.normalized(cells["姓名"]) != user.display_name:
        changes.append("姓名")
    if [m.area_id for m in memberships] != [area.id]:
        changes.append("区域")
        if area.closed_at is not None and area.id not in {m.area_id for m in memberships}:
            plan.errors.append(str(_l("The 区域 is closed: nobody new can be added there.")))
    plan.changes, plan.action = changes, ("update" if changes else "unchanged")


async def _plan(
    db: AsyncSession, programme: Programme, importer: Importer, rows: list[tuple[int, dict[str, str]]]
) -> list[RowPlan]:
    registry = await load_registry(db, programme)
    plans = plan_rows(registry, importer, rows)
    await _refuse_erased(db, programme.id, plans)
    return plans


async def _refuse_erased(db: AsyncSession, programme_id: int, plans: Sequence[RowPlan]) -> None:
    """A 编号 whose person or user was erased is tombstoned (people/erasure.py): such a row is an error,
    so an import can never bring her back."""
    by_digest: dict[str, list[RowPlan]] = defaultdict(list)
    for plan in plans:
        if plan.cells.get("编号"):
            by_digest[reference_sha256(plan.cells["编号"])].append(plan)
    digests = sorted(by_digest)
    for start in range(0, len(digests), 500):
        erased = await db.scalars(
            select(ErasedReference.reference_sha256).where(
                ErasedReference.programme_id == programme_id,
                ErasedReference.reference_sha256.in_(digests[start : start + 500]),
            )
        )
        for digest in erased:
            for plan in by_digest[digest]:
                plan.errors.append(
                    str(
                        _l("编号 %(ref)s belonged to someone whose data was erased: it cannot be used again.")
                        % {"ref": plan.cells["编号"]}
                    )
                )
                plan.action = "error"


async def check_file(
    db: AsyncSession, programme: Programme, data: bytes, *, importer: Importer, store: bool = True
) -> Plan:
    """The dry run: read and check the whole file; store the plan when it has no error row."""
    table = read_table(data)
    columns, warnings = _header_map(table)
    rows = [(line, _cells(columns, values)) for line, values in table.rows]
    if not rows:
        raise Refused(_l("This file has no rows below the headers."), field="file")
    plan = Plan(programme, table.encoding, warnings, await _plan(db, programme, importer, rows))
    if store and not plan.errors:
        await db.execute(
            delete(ImportPlan).where(ImportPlan.created_at < utcnow() - timedelta(hours=PLAN_HOURS))
        )
        stored = ImportPlan(
            programme_id=programme.id,
            created_by_id=importer.actor.id if importer.actor else None,
            encoding=table.encoding,
            file_sha256=hashlib.sha256(data).hexdigest(),
            rows=[[line, cells] for line, cells in rows],
            outcome=plan.outcome(),
        )
        db.add(stored)
        await db.flush()
        await audit.record(
            db,
            actor=importer.actor,
            action="registry.import_checked",
            subject=stored,
            change={"programme_id": programme.id, "rows": len(rows), **_counts(plan)},
        )
        plan.plan_id = stored.id
    return plan


def _counts(plan: Plan) -> dict[str, int]:
    return {
        "created": plan.count("create"),
        "updated": plan.count("update"),
        "unchanged": plan.count("unchanged"),
    }


async def get_plan_for(db: AsyncSession, plan_id: int, *, actor: Actor | None) -> ImportPlan:
    query = select(ImportPlan).where(ImportPlan.id == plan_id)
    query = query.where(
        ImportPlan.created_by_id.is_(None) if actor is None else ImportPlan.created_by_id == actor.id
    )
    stored = await db.scalar(query)
    if stored is None:
        raise NotFound()
    return stored


async def do_commit_plan(db: AsyncSession, stored: ImportPlan, *, importer: Importer) -> Plan:
    """Apply the stored plan in the caller's transaction, or refuse (409) and write nothing."""
    if stored.committed_at is not None:
        raise Refused(_l("This file has already been imported."), field="file", status_code=409)
    if stored.created_at < utcnow() - timedelta(hours=PLAN_HOURS):
        raise Refused(
            _l("This check is more than a day old: upload the file again."), field="file", status_code=409
        )
    programme = await db.get_one(Programme, stored.programme_id)
    rows = [(int(line), dict(cells)) for line, cells in stored.rows]
    registry = await load_registry(db, programme)
    plan = Plan(programme, stored.encoding, [], plan_rows(registry, importer, rows), stored.id)
    await _refuse_erased(db, programme.id, plan.rows)
    if plan.errors or plan.outcome() != stored.outcome:
        raise Refused(
            _l("The registry changed since this file was checked: upload it again to see the new plan."),
            field="file",
            status_code=409,
        )
    await _apply(db, registry, plan, importer)
    stored.committed_at = utcnow()
    stored.rows = []
    await audit.record(
        db,
        actor=importer.actor,
        action="registry.imported",
        subject=stored,
        change={"programme_id": programme.id, "rows": len(plan.rows), **_counts(plan)},
    )
    return plan


def _order(row: RowPlan) -> int:
    # Guardians first, so the children who name them find them.
    return {"监护人": 0, "儿童": 2}.get(row.cells["类型"], 1)


async def _apply(db: AsyncSession, registry: Registry, plan: Plan, importer: Importer) -> None:
    programme, actor = plan.programme, importer.actor
    rows = sorted((r for r in plan.rows if r.action != "unchanged"), key=_order)
    for order in sorted({_order(r) for r in rows}):
        group = [r for r in rows if _order(r) == order]
        # The people created, in one batch per group (guardians before the children who name them).
        await _create_people(db, registry, programme, [r for r in group if _is_new_person(r)], actor)
        for row in group:
            if _is_new_person(row):
                continue
            cells = row.cells
            area = registry.areas[cells["区域"]]
            type_label, ref = cells["类型"], cells["编号"]
            if type_label in PERSON_TYPES:
                await _apply_person(db, registry, programme, row, area, actor)
            else:
                await _apply_user(db, registry, programme, row, area, actor, USER_TYPES[type_label], ref)


def _is_new_person(row: RowPlan) -> bool:
    return row.action == "create" and row.cells["类型"] in PERSON_TYPES


async def _create_people(
    db: AsyncSession, registry: Registry, programme: Programme, rows: list[RowPlan], actor: Actor | None
) -> None:
    batch = []
    for row in rows:
        cells = row.cells
        kind = PERSON_TYPES[cells["类型"]]
        guardian = registry.people.get(cells.get("监护人编号", "")) if kind is PersonKind.CHILD else None
        year = int(cells["出生年份"]) if cells.get("出生年份") else None
        fields = PersonFields(cells["姓名"], year, guardian, cells["编号"], cells.get("备注") or None)
        batch.append(NewPerson(registry.areas[cells["区域"]], kind, fields))
    people = await do_create_people(db, batch, programme=programme, actor=actor)
    for person in people:
        registry.people[person.reference or ""] = person


async def _apply_person(
    db: AsyncSession, registry: Registry, programme: Programme, row: RowPlan, area: Area, actor: Actor | None
) -> None:
    cells = row.cells
    kind = PERSON_TYPES[cells["类型"]]
    guardian = registry.people.get(cells.get("监护人编号", "")) if kind is PersonKind.CHILD else None
    year = int(cells["出生年份"]) if cells.get("出生年份") else None
    person = registry.people[cells["编号"]]
    fields = PersonFields(cells["姓名"], year, guardian, cells["编号"], cells.get("备注") or None)
    await do_update_person(db, person, fields, actor=actor)  # type: ignore[arg-type]
    if "区域" in row.changes:
        await do_move_person(db, person, area, actor=actor)  # type: ignore[arg-type]
    if "来源" in row.changes and actor is not None:
        from backend.clock import local_today
        from backend.visits.profile_service import ChildIntake, do_record_child_profile

        profile = await db.get_one(ChildProfile, person.id)
        intake = ChildIntake(
            referral_source=SOURCES[cells["来源"]],
            needs=tuple(_needs(profile)),
            consent_on=profile.consent_on,
            consent_method=profile.consent_method,
            coordinates=(profile.latitude, profile.longitude)
            if profile.latitude is not None and profile.longitude is not None
            else None,
        )
        await do_record_child_profile(db, person, intake, actor=actor, today=local_today(programme))


def _needs(profile: ChildProfile) -> list[NeedArea]:
    return [NeedArea(v) for v in profile.needs]


async def _apply_user(
    db: AsyncSession,
    registry: Registry,
    programme: Programme,
    row: RowPlan,
    area: Area,
    actor: Actor | None,
    role: Role,
    ref: str,
) -> None:
    cells = row.cells
    if row.action == "create":
        user = await do_create_user(
            db, handle=await new_handle(db, role), display_name=cells["姓名"], actor=actor
        )
        await do_add_membership(db, user=user, programme=programme, area=area, role=role, actor=actor)
        await do_set_user_reference(db, user, programme, ref, actor=actor)
        return
    user = registry.users[ref]
    if "姓名" in row.changes:
        await do_rename_user(db, user, display_name=cells["姓名"], actor=actor)  # type: ignore[arg-type]
    if "区域" in row.changes:
        memberships = registry.memberships.get(user.id, [])
        if area.id not in {m.area_id for m in memberships}:
            await do_add_membership(db, user=user, programme=programme, area=area, role=role, actor=actor)
        for membership in memberships:
            if membership.area_id != area.id:
                await do_end_membership(db, membership, actor=actor)  # type: ignore[arg-type]


async def importer_for(
    db: AsyncSession, user_id: int | None, programme: Programme, *, is_admin: bool = False
) -> Importer:
    """The importer a user is in this programme: staff (or an administrator) over the programme's area,
    a social worker over her areas; anyone else may not import here (403)."""
    if user_id is None or is_admin:
        anchor = await db.get_one(Area, programme.area_id)
        return Importer(
            actor=_ActorId(user_id) if user_id else None, remit=(anchor.path,), may_import_social_workers=True
        )
    rows = (
        await db.execute(
            select(Membership.role, Area.path)
            .join(Area, Area.id == Membership.area_id)
            .where(
                Membership.user_id == user_id,
                Membership.programme_id == programme.id,
                Membership.ended_at.is_(None),
                Membership.role.in_((Role.STAFF, Role.SOCIAL_WORKER)),
            )
        )
    ).all()
    paths: dict[Role, list[str]] = defaultdict(list)
    for role, path in rows:
        paths[role].append(path)
    if paths.get(Role.STAFF):
        anchor = await db.get_one(Area, programme.area_id)
        return Importer(actor=_ActorId(user_id), remit=(anchor.path,), may_import_social_workers=True)
    if paths.get(Role.SOCIAL_WORKER):
        return Importer(
            actor=_ActorId(user_id), remit=tuple(paths[Role.SOCIAL_WORKER]), may_import_social_workers=False
        )
    raise Forbidden()


@dataclass(frozen=True, slots=True)
class _ActorId:
    id: int
