"""Importing a roster of pillar mothers from a spreadsheet (CSV or XLSX), in two phases, the way the
registry import works (people/import_service.py).

check_file() (the dry run) reads every row, decides for each create / unchanged / error (import_rows.py)
and stores the whole plan in an `ImportPlan` (its `encoding` starts with "pillar:" so neither import
takes the other's plans). do_commit_plan() decides the stored rows again against the data as it is now
and refuses (409) if any decision differs or any row has an error; otherwise it screens every new
mother through service.do_screen_mother (her person, children, case, file, profile v1 and needs, each
audited), all in one savepoint of the caller's transaction: all or nothing. A mother already filed is
never updated from a file (her file page keeps the history of every change).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.auth.principal import Principal
from backend.cases.models import Case, CaseDimension
from backend.clock import local_today
from backend.errors import Forbidden, NotFound, Refused
from backend.i18n import lazy_gettext as _l
from backend.people.import_models import ImportPlan
from backend.people.models import Area, ErasedReference, Person, PersonKind, Programme, ProgrammeKind
from backend.people.policy import area_and_below, visible_programmes
from backend.people.rights_service import reference_sha256
from backend.people.spreadsheets import read_table
from backend.pillar import policy
from backend.pillar.import_rows import (
    BASE_COLUMNS,
    Filed,
    Importer,
    Roster,
    RowPlan,
    header_map,
    plan_rows,
)
from backend.pillar.models import Agency, AgencyRole, AgencyWorker, Need, PillarFile, ProfileVersion
from backend.pillar.service import do_screen_mother

PLAN_HOURS = 24
ENCODING_PREFIX = "pillar:"
CHUNK = 500


@dataclass(slots=True)
class Plan:
    programme: Programme
    encoding: str
    warnings: list[str]
    rows: list[RowPlan]
    plan_id: int | None = None
    committed: bool = False

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def errors(self) -> list[RowPlan]:
        return [r for r in self.rows if r.action == "error"]

    def outcome(self) -> list[Any]:
        return [r.outcome() for r in self.rows]


async def programme_for(db: AsyncSession, user: Principal, programme_id: int) -> Programme:
    """A pillar-mother programme she has a part in (404 otherwise)."""
    programme = await db.scalar(
        select(Programme).where(
            Programme.id == programme_id,
            Programme.kind == ProgrammeKind.PILLAR_MOTHERS,
            visible_programmes(user),
        )
    )
    if programme is None:
        raise NotFound()
    return programme


async def importer_for(db: AsyncSession, user: Principal, programme: Programme) -> Importer:
    """Staff import over the whole programme; a worker of a delivering agency over her areas, for her
    agency; anyone else with a part in the programme may not (403)."""
    if policy.is_pillar_staff(user, programme.id):
        anchor = await db.get_one(Area, programme.area_id)
        return Importer(actor_id=user.id, remit=(anchor.path,), is_staff=True)
    remit = tuple(g.area_path for g in policy.worker_grants(user) if g.programme_id == programme.id)
    agencies = tuple(
        await db.scalars(
            select(Agency)
            .join(AgencyWorker, AgencyWorker.agency_id == Agency.id)
            .where(
                AgencyWorker.user_id == user.id,
                AgencyWorker.ended_at.is_(None),
                Agency.programme_id == programme.id,
                Agency.role == AgencyRole.DELIVERING,
                Agency.retired_at.is_(None),
            )
            .order_by(Agency.id)
        )
    )
    if not remit or not agencies:
        raise Forbidden()
    return Importer(actor_id=user.id, remit=remit, agencies=agencies)


async def dimension_labels(db: AsyncSession, programme_id: int) -> dict[str, int]:
    rows = await db.execute(
        select(CaseDimension.label, CaseDimension.id)
        .where(CaseDimension.programme_id == programme_id, CaseDimension.retired_at.is_(None))
        .order_by(CaseDimension.position, CaseDimension.id)
    )
    return {label: dimension_id for label, dimension_id in rows.all()}


def template_columns(dimensions: dict[str, int]) -> list[str]:
    return [*BASE_COLUMNS, *dimensions]


async def _areas(db: AsyncSession, programme: Programme) -> tuple[dict[str, Area], set[str]]:
    """The programme's areas by path below its area ("梧桐街道/桂园社区") and by name where unique."""
    anchor = await db.get_one(Area, programme.area_id)
    tree = sorted(
        await db.scalars(select(Area).where(area_and_below(anchor.path))), key=lambda a: len(a.path)
    )
    text: dict[int, str] = {anchor.id: ""}
    for area in tree:
        if area.id != anchor.id and area.parent_id in text:
            parent = text[area.parent_id]
            text[area.id] = f"{parent}/{area.name}" if parent else area.name
    by_path = {t: a for a in tree if (t := text.get(a.id))}
    by_name: dict[str, list[Area]] = defaultdict(list)
    for area in by_path.values():
        by_name[area.name].append(area)
    ambiguous = {name for name, found in by_name.items() if len(found) > 1 and name not in by_path}
    unique = {name: found[0] for name, found in by_name.items() if len(found) == 1}
    return {**unique, **by_path}, ambiguous


async def _filed(
    db: AsyncSession, programme: Programme, refs: list[str]
) -> tuple[dict[str, Filed], set[str]]:
    people: dict[str, Person] = {}
    for start in range(0, len(refs), CHUNK):
        for person in await db.scalars(
            select(Person).where(
                Person.programme_id == programme.id, Person.reference.in_(refs[start : start + CHUNK])
            )
        ):
            people[person.reference or ""] = person
    files: dict[int, PillarFile] = {}
    ids = [p.id for p in people.values()]
    for start in range(0, len(ids), CHUNK):
        for file, person_id in await db.execute(
            select(PillarFile, Case.person_id)
            .join(Case, Case.id == PillarFile.case_id)
            .where(PillarFile.programme_id == programme.id, Case.person_id.in_(ids[start : start + CHUNK]))
        ):
            files[person_id] = file
    file_ids = [f.id for f in files.values()]
    profiles: dict[int, ProfileVersion] = {}
    needs: dict[int, dict[int, tuple[int, str]]] = defaultdict(dict)
    children: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    for start in range(0, len(file_ids), CHUNK):
        chunk = file_ids[start : start + CHUNK]
        for profile in await db.scalars(
            select(ProfileVersion).where(ProfileVersion.file_id.in_(chunk)).order_by(ProfileVersion.version)
        ):
            profiles[profile.file_id] = profile
        for need in await db.scalars(
            select(Need).where(Need.file_id.in_(chunk)).order_by(Need.noted_on, Need.id)
        ):
            needs[need.file_id][need.dimension_id] = (need.level, need.text)
    mother_ids = list(files)
    for start in range(0, len(mother_ids), CHUNK):
        for child in await db.scalars(
            select(Person).where(
                Person.guardian_id.in_(mother_ids[start : start + CHUNK]), Person.kind == PersonKind.CHILD
            )
        ):
            children[child.guardian_id or 0].append((child.display_name, child.birth_year))
    areas = {
        a.id: a
        for a in await db.scalars(select(Area).where(Area.id.in_({p.area_id for p in people.values()})))
    }
    filed: dict[str, Filed] = {}
    for ref, person in people.items():
        found = files.get(person.id)
        if found is None:
            continue
        profile = profiles[found.id]
        filed[ref] = Filed(
            area=areas[person.area_id],
            name=person.display_name,
            birth_year=person.birth_year,
            qualification=profile.qualification,
            qualification_note=profile.qualification_note,
            household_note=profile.household_note,
            children=tuple(sorted(children[person.id], key=lambda c: (c[1] or 0, c[0]))),
            agency_id=found.agency_id,
            needs=dict(needs[found.id]),
        )
    return filed, set(people) - set(filed)


async def _erased(db: AsyncSession, programme_id: int, refs: list[str]) -> set[str]:
    by_digest = {reference_sha256(ref): ref for ref in refs}
    digests = sorted(by_digest)
    found: set[str] = set()
    for start in range(0, len(digests), CHUNK):
        for digest in await db.scalars(
            select(ErasedReference.reference_sha256).where(
                ErasedReference.programme_id == programme_id,
                ErasedReference.reference_sha256.in_(digests[start : start + CHUNK]),
            )
        ):
            found.add(by_digest[digest])
    return found


async def _plan(
    db: AsyncSession,
    programme: Programme,
    importer: Importer,
    rows: list[tuple[int, dict[str, str]]],
    *,
    dimensions: dict[str, int],
    now: datetime,
) -> list[RowPlan]:
    refs = sorted({c["编号"] for _, c in rows if c.get("编号")})
    areas, ambiguous = await _areas(db, programme)
    agencies = await db.scalars(
        select(Agency).where(
            Agency.programme_id == programme.id,
            Agency.role == AgencyRole.DELIVERING,
            Agency.retired_at.is_(None),
        )
    )
    filed, others = await _filed(db, programme, refs)
    roster = Roster(
        areas=areas,
        ambiguous=ambiguous,
        agencies={a.name: a for a in agencies},
        dimensions=dimensions,
        filed=filed,
        others=others,
        erased=await _erased(db, programme.id, refs),
    )
    return plan_rows(roster, importer, rows, this_year=local_today(programme, now).year)


def _decisions(outcome: list[Any]) -> list[list[Any]]:
    return [list(row[:3]) for row in outcome]


def _counts(plan: Plan) -> dict[str, int]:
    return {k: plan.count(k) for k in ("create", "unchanged", "error")}


async def check_file(
    db: AsyncSession, programme: Programme, data: bytes, *, importer: Importer, now: datetime
) -> Plan:
    """The dry run: read and decide the whole file and store its plan (error rows included: the plan
    page and the result file show every row's reason; such a plan cannot be committed)."""
    table = read_table(data)
    dimensions = await dimension_labels(db, programme.id)
    columns, warnings = header_map(table, template_columns(dimensions))
    rows = [
        (line, {c: (values[i] if i < len(values) else "") for c, i in columns.items()})
        for line, values in table.rows
    ]
    if not rows:
        raise Refused(_l("This file has no rows below the headers."), field="file")
    decided = await _plan(db, programme, importer, rows, dimensions=dimensions, now=now)
    plan = Plan(programme, table.encoding, warnings, decided)
    await db.execute(delete(ImportPlan).where(ImportPlan.created_at < now - timedelta(hours=PLAN_HOURS)))
    stored = ImportPlan(
        programme_id=programme.id,
        created_by_id=importer.actor_id,
        encoding=ENCODING_PREFIX + table.encoding,
        file_sha256=hashlib.sha256(data).hexdigest(),
        rows=[[line, cells] for line, cells in rows],
        outcome=plan.outcome(),
    )
    db.add(stored)
    await db.flush()
    await audit.record(
        db,
        actor=_Actor(importer.actor_id),
        action="pillar.import_checked",
        subject=stored,
        change={"programme_id": programme.id, "rows": len(rows), **_counts(plan)},
    )
    plan.plan_id = stored.id
    return plan


async def get_plan_for(db: AsyncSession, programme: Programme, plan_id: int, *, actor_id: int) -> ImportPlan:
    """Her own plan for this programme's roster (404 for anyone else's, or a registry plan)."""
    stored = await db.scalar(
        select(ImportPlan).where(
            ImportPlan.id == plan_id,
            ImportPlan.programme_id == programme.id,
            ImportPlan.created_by_id == actor_id,
            ImportPlan.encoding.startswith(ENCODING_PREFIX),
        )
    )
    if stored is None:
        raise NotFound()
    return stored


async def do_commit_plan(
    db: AsyncSession, stored: ImportPlan, *, programme: Programme, importer: Importer, now: datetime
) -> Plan:
    """Screen every mother the stored plan creates, or refuse (409) and write nothing."""
    if stored.committed_at is not None:
        raise Refused(_l("This file has already been imported."), field="file", status_code=409)
    if stored.created_at < now - timedelta(hours=PLAN_HOURS):
        raise Refused(
            _l("This check is more than a day old: upload the file again."), field="file", status_code=409
        )
    rows = [(int(line), dict(cells)) for line, cells in stored.rows]
    dimensions = await dimension_labels(db, programme.id)
    decided = await _plan(db, programme, importer, rows, dimensions=dimensions, now=now)
    plan = Plan(programme, stored.encoding.removeprefix(ENCODING_PREFIX), [], decided, stored.id)
    if plan.errors or _decisions(plan.outcome()) != _decisions(stored.outcome):
        raise Refused(
            _l("The data changed since this file was checked, or it has rows with errors: upload it again."),
            field="file",
            status_code=409,
        )
    actor = _Actor(importer.actor_id)
    try:
        async with db.begin_nested():
            for row in plan.rows:
                if row.action == "create" and row.draft is not None:
                    await do_screen_mother(
                        db,
                        programme=programme,
                        draft=row.draft,
                        actor=actor,
                        lead_worker_id=None if importer.is_staff else importer.actor_id,
                        now=now,
                    )
    except Refused:
        raise Refused(
            _l("The data changed since this file was checked, or it has rows with errors: upload it again."),
            field="file",
            status_code=409,
        ) from None
    stored.committed_at = now
    stored.rows = []  # the names are not kept once they are in the files
    await audit.record(
        db,
        actor=actor,
        action="pillar.imported",
        subject=stored,
        change={"programme_id": programme.id, "rows": len(plan.rows), **_counts(plan)},
    )
    plan.committed = True
    return plan


def result_rows(stored: ImportPlan, columns: list[str]) -> list[list[str]]:
    """The file as checked plus the status column: the result file, which can be uploaded again."""
    outcome = {int(row[0]): (row[1], row[3]) for row in stored.outcome}
    labels = {"create": str(_l("To add")), "unchanged": str(_l("Unchanged"))}
    out = []
    for line, cells in stored.rows:
        action, reason = outcome.get(int(line), ("error", ""))
        status = reason if action == "error" else labels.get(action, action)
        out.append([*(cells.get(c, "") for c in columns), status])
    return out


@dataclass(frozen=True, slots=True)
class _Actor:
    id: int
