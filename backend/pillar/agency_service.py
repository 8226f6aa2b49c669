"""The programme's agencies and each delivering agency's contract (written by staff; every write audited).

A contract's budget is split into stages whose amounts add up to it exactly (integer fen); a stage tied
to an evaluation round is paid only after that round passed (settlement/contract_money.py). A worker
is placed with a delivering agency: she then serves (and sees) that agency's mothers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend import audit
from backend.audit import Actor
from backend.auth.principal import Principal
from backend.db import utcnow
from backend.errors import Conflict, Forbidden, NotFound, Refused
from backend.i18n import gettext as _
from backend.people.models import Membership, Programme, ProgrammeKind, Role, User
from backend.pillar.models import Agency, AgencyRole, AgencyWorker, Contract, ContractStage, Round
from backend.pillar.policy import is_pillar_staff

MAX_BUDGET_FEN = 10_000_000_000  # 100 million yuan: a typo guard, far above any one contract


async def get_programme_for_staff(db: AsyncSession, user: Principal, pillar_id: int) -> Programme:
    """A pillar programme whose staff the user is. Another member of it gets 403 (she knows it exists);
    anyone else, or any other kind of programme, 404."""
    programme = await db.get(Programme, pillar_id)
    if programme is None or programme.kind is not ProgrammeKind.PILLAR_MOTHERS:
        raise NotFound()
    if not is_pillar_staff(user, programme.id):
        if any(g.programme_id == programme.id for g in user.grants):
            raise Forbidden()
        raise NotFound()
    return programme


async def get_agency_for_staff(db: AsyncSession, user: Principal, agency_id: int) -> Agency:
    agency = await db.get(Agency, agency_id)
    if agency is None or not is_pillar_staff(user, agency.programme_id):
        raise NotFound()
    return agency


async def programme_agencies(
    db: AsyncSession, programme_id: int, role: AgencyRole | None = None
) -> list[Agency]:
    query = select(Agency).where(Agency.programme_id == programme_id, Agency.retired_at.is_(None))
    if role is not None:
        query = query.where(Agency.role == role)
    return list(await db.scalars(query.order_by(Agency.role, Agency.name, Agency.id)))


async def programme_social_workers(db: AsyncSession, programme_id: int) -> list[User]:
    """The programme's current social workers: who may be placed with a delivering agency."""
    query = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.programme_id == programme_id,
            Membership.role == Role.SOCIAL_WORKER,
            Membership.ended_at.is_(None),
            User.is_active.is_(True),
        )
        .distinct()
        .order_by(User.display_name, User.id)
    )
    return list(await db.scalars(query))


@dataclass(frozen=True)
class StageDraft:
    label: str
    amount_fen: int
    round: Round | None


async def do_add_agency(
    db: AsyncSession, programme: Programme, *, name: str, role: AgencyRole, actor: Actor
) -> Agency:
    if programme.kind is not ProgrammeKind.PILLAR_MOTHERS:
        raise Conflict(_("This is not a pillar-mother programme."))
    name = name.strip()
    if not name:
        raise Refused(_("Give the agency's name."), field="name", status_code=400)
    taken = await db.scalar(select(Agency.id).where(Agency.programme_id == programme.id, Agency.name == name))
    if taken is not None:
        raise Refused(_("The programme already has an agency of that name."), field="name", status_code=409)
    agency = Agency(
        programme_id=programme.id, name=name, role=role, created_by_id=actor.id if actor else None
    )
    db.add(agency)
    await db.flush()
    await audit.record(
        db, actor=actor, action="pillar.agency_added", subject=agency, change={"role": role.value}
    )
    return agency


async def do_place_worker(
    db: AsyncSession, agency: Agency, user: User, *, actor: Actor, now: datetime | None = None
) -> AgencyWorker:
    """Place a social worker of the programme with a delivering agency."""
    now = now or utcnow()
    if agency.role is not AgencyRole.DELIVERING:
        raise Conflict(_("Only a delivering agency has workers on the mothers' files."))
    member = await db.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id,
            Membership.programme_id == agency.programme_id,
            Membership.role == Role.SOCIAL_WORKER,
            Membership.ended_at.is_(None),
        )
    )
    if member is None:
        raise Refused(
            _("She needs the social-worker role in this programme first."), field="user_id", status_code=400
        )
    current = await db.scalar(
        select(AgencyWorker).where(
            AgencyWorker.agency_id == agency.id,
            AgencyWorker.user_id == user.id,
            AgencyWorker.ended_at.is_(None),
        )
    )
    if current is not None:
        return current
    row = AgencyWorker(agency_id=agency.id, user_id=user.id, started_at=now)
    db.add(row)
    await db.flush()
    await audit.record(
        db, actor=actor, action="pillar.worker_placed", subject=agency, change={"user": user.id}
    )
    return row


async def do_end_worker(
    db: AsyncSession, row: AgencyWorker, *, actor: Actor, now: datetime | None = None
) -> AgencyWorker:
    if row.ended_at is None:
        row.ended_at = now or utcnow()
        await db.flush()
        await audit.record(
            db, actor=actor, action="pillar.worker_ended", subject=row.agency, change={"user": row.user_id}
        )
    return row


async def do_create_contract(
    db: AsyncSession,
    programme: Programme,
    *,
    agency: Agency,
    title: str,
    budget_fen: int,
    starts_on: date,
    ends_on: date,
    stages: list[StageDraft],
    actor: Actor,
    pass_mark_pct: int = 60,
) -> Contract:
    if agency.programme_id != programme.id or agency.role is not AgencyRole.DELIVERING:
        raise Refused(_("Choose a delivering agency of this programme."), field="agency_id", status_code=400)
    title = title.strip()
    if not title:
        raise Refused(_("Give the contract a title."), field="title", status_code=400)
    if not 0 < budget_fen <= MAX_BUDGET_FEN:
        raise Refused(_("Give the budget in yuan, more than zero."), field="budget", status_code=400)
    if ends_on < starts_on:
        raise Refused(_("The contract cannot end before it starts."), field="ends_on", status_code=400)
    if not 1 <= pass_mark_pct <= 100:
        raise Refused(
            _("Give the pass mark as a percentage from 1 to 100."), field="pass_mark_pct", status_code=400
        )
    if not stages or any(s.amount_fen <= 0 or not s.label.strip() for s in stages):
        raise Refused(_("Give each stage a name and an amount above zero."), field="stages", status_code=400)
    if sum(s.amount_fen for s in stages) != budget_fen:
        raise Refused(_("The stages must add up to the budget exactly."), field="stages", status_code=400)
    rounds = [s.round for s in stages if s.round is not None]
    if len(rounds) != len(set(rounds)):
        raise Refused(_("Each evaluation round can release one stage."), field="stages", status_code=400)
    contract = Contract(
        programme_id=programme.id,
        agency_id=agency.id,
        title=title,
        budget_fen=budget_fen,
        starts_on=starts_on,
        ends_on=ends_on,
        pass_mark_pct=pass_mark_pct,
        created_by_id=actor.id if actor else None,
    )
    db.add(contract)
    try:
        await db.flush()
    except IntegrityError as error:
        raise Refused(
            _("The programme already has a contract of that title."), field="title", status_code=409
        ) from error
    for position, stage in enumerate(stages):
        db.add(
            ContractStage(
                contract_id=contract.id,
                programme_id=programme.id,
                position=position,
                label=stage.label.strip(),
                amount_fen=stage.amount_fen,
                round=stage.round,
            )
        )
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="pillar.contract_created",
        subject=contract,
        change={
            "agency": agency.id,
            "budget_fen": budget_fen,
            "stages": [[s.amount_fen, s.round.value if s.round else None] for s in stages],
        },
    )
    return contract
