"""The demo's agency money: 秦岚 released the contract's advance on signing (周敏 created the contract, so
a second staff member pays it), and the supervising agency held one group session. No evaluation: the
browser test records the mid-term one, and another staff member then releases its stage."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.cases.demo import principal_of
from backend.people.models import Programme, User
from backend.pillar.models import Agency, AgencyRole, Contract, SupervisionFormat, SupervisionMode
from backend.pillar.supervision_service import SupervisionDraft, do_log_supervision
from backend.settlement.contract_money import do_release_stage


async def create_money_demo(
    db: AsyncSession, *, programme: Programme, users: dict[str, User], title: str, now: datetime
) -> None:
    contract = await db.scalar(
        select(Contract)
        .where(Contract.programme_id == programme.id, Contract.title == title)
        .options(selectinload(Contract.stages))
    )
    assert contract is not None
    zone = ZoneInfo(programme.time_zone)
    qin = await principal_of(db, users["demo-staff-qin"])
    zhou = await principal_of(db, users["demo-staff-zhou"])
    advance = next(s for s in contract.stages if s.round is None)
    await do_release_stage(db, advance, actor=qin, today=(now - timedelta(days=40)).astimezone(zone).date())
    supervisor = await db.scalar(
        select(Agency).where(Agency.programme_id == programme.id, Agency.role == AgencyRole.SUPERVISING)
    )
    assert supervisor is not None
    await do_log_supervision(
        db,
        contract,
        SupervisionDraft(
            held_on=(now - timedelta(days=20)).astimezone(zone).date(),
            supervisor_agency_id=supervisor.id,
            format=SupervisionFormat.GROUP,
            mode=SupervisionMode.IN_PERSON,
            minutes=120,
            attendees=2,
            note="个案记录规范与危机识别；两位社工参加。",
        ),
        actor=zhou,
        today=now.astimezone(zone).date(),
    )
