"""What the meal pages read: a neighbour's day, her history and running amounts, an agreement's meals.

Everything is loaded through the visibility conditions in policy.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.auth.principal import Principal
from backend.clock import add_months, local_today
from backend.meals import policy
from backend.meals.menus import planned_dishes
from backend.meals.models import Agreement, AgreementStatus, CheckIn, MealSlot
from backend.people.models import Area, Membership, Person, PersonKind, Role, User
from backend.people.policy import area_and_below
from backend.settlement.statements import meal_totals


@dataclass
class SlotToday:
    agreement: Agreement
    slot: MealSlot
    day: date
    checkin: CheckIn | None
    planned: list[str]


@dataclass
class TodayMeals:
    slots: list[SlotToday] = field(default_factory=list)
    # Agreements waiting for this neighbour's own confirmation.
    to_confirm: list[Agreement] = field(default_factory=list)
    # Confirmed by her, waiting for the social worker to record the resident's confirmation.
    waiting: list[Agreement] = field(default_factory=list)


async def today_for_neighbour(db: AsyncSession, user: Principal) -> TodayMeals:
    """Today's meals (in each programme's own time zone) of the neighbour's current agreements."""
    today = TodayMeals()
    agreements = (
        await db.scalars(
            select(Agreement)
            .where(Agreement.neighbour_id == user.id, Agreement.status == AgreementStatus.ACTIVE)
            .options(selectinload(Agreement.resident), selectinload(Agreement.programme))
            .order_by(Agreement.id)
        )
    ).all()
    for agreement in agreements:
        if agreement.neighbour_confirmed_at is None:
            today.to_confirm.append(agreement)
            continue
        if agreement.resident_confirmed_at is None:
            today.waiting.append(agreement)
            continue
        day = local_today(agreement.programme)
        if not agreement.covers(day):
            continue
        done = {
            c.slot: c
            for c in await db.scalars(
                select(CheckIn).where(
                    CheckIn.agreement_id == agreement.id, CheckIn.day == day, CheckIn.superseded_at.is_(None)
                )
            )
        }
        for slot in agreement.slots:
            planned = [] if slot in done else await planned_dishes(db, agreement, slot, day)
            today.slots.append(SlotToday(agreement, slot, day, done.get(slot), planned))
    return today


@dataclass
class MonthAmount:
    agreement: Agreement
    approved_meals: int
    amount_fen: int  # min(approved meals x rate, cap)


@dataclass
class History:
    month: date
    previous: date
    following: date | None
    checkins: list[CheckIn]
    amounts: list[MonthAmount]

    @property
    def total_fen(self) -> int:
        return sum(a.amount_fen for a in self.amounts)

    @property
    def lines(self) -> list[tuple[CheckIn, list[CheckIn]]]:
        """One line per meal: its latest version, and the versions it replaced (newest first) folded
        under it, so a fixed meal is not listed twice."""
        lines: dict[tuple[int, date, str], tuple[CheckIn, list[CheckIn]]] = {}
        for checkin in self.checkins:  # newest version of each meal first (ordered by id descending)
            key = (checkin.agreement_id, checkin.day, checkin.slot.value)
            if key in lines:
                lines[key][1].append(checkin)
            else:
                lines[key] = (checkin, [])
        return list(lines.values())


async def month_amounts(
    db: AsyncSession, agreement_ids: list[int], month: date
) -> dict[int, tuple[int, int]]:
    """{agreement id: (approved meals, capped amount in fen)} for the month: settlement's own rule."""
    return await meal_totals(db, agreement_ids, month)


async def history_for_neighbour(db: AsyncSession, user: Principal, month: date) -> History:
    checkins = list(
        (
            await db.scalars(
                select(CheckIn)
                .where(
                    CheckIn.neighbour_id == user.id,
                    CheckIn.day >= month,
                    CheckIn.day < add_months(month, 1),
                    policy.visible_checkins(user),
                )
                .options(*policy.checkin_options())
                .order_by(CheckIn.day.desc(), CheckIn.slot, CheckIn.id.desc())
            )
        ).all()
    )
    agreements = list(
        (
            await db.scalars(
                select(Agreement)
                .where(
                    Agreement.neighbour_id == user.id,
                    Agreement.starts_on < add_months(month, 1),
                    (Agreement.ends_on.is_(None)) | (Agreement.ends_on >= month),
                )
                .options(selectinload(Agreement.resident), selectinload(Agreement.programme))
                .order_by(Agreement.id)
            )
        ).all()
    )
    sums = await month_amounts(db, [a.id for a in agreements], month)
    amounts = [MonthAmount(a, *sums.get(a.id, (0, 0))) for a in agreements]
    this_month = local_today(agreements[0].programme).replace(day=1) if agreements else month
    following = add_months(month, 1)
    return History(
        month=month,
        previous=add_months(month, -1),
        following=following if following <= this_month else None,
        checkins=checkins,
        amounts=amounts,
    )


async def agreement_checkins(
    db: AsyncSession, user: Principal, agreement_id: int, *, limit: int = 62
) -> list[CheckIn]:
    rows = await db.scalars(
        select(CheckIn)
        .where(CheckIn.agreement_id == agreement_id, policy.visible_checkins(user))
        .options(*policy.checkin_options())
        .order_by(CheckIn.day.desc(), CheckIn.slot, CheckIn.id.desc())
        .limit(limit)
    )
    return list(rows)


def new_agreement_residents(user: Principal) -> Select[Person]:
    """Current (not ended) residents in the worker's meal programmes and areas with no current
    agreement: what the picker offers (by pages, backend/people/lists.py) and the form accepts."""
    current = select(Agreement.resident_id).where(Agreement.status == AgreementStatus.ACTIVE)
    return select(Person).where(
        policy.residents_for_new_agreement(user),
        Person.kind == PersonKind.RESIDENT,
        Person.ended_at.is_(None),
        Person.id.not_in(current),
    )


async def neighbours_for(
    db: AsyncSession, user: Principal, *, programme_id: int | None = None, user_id: int | None = None
) -> list[tuple[User, Membership]]:
    """Neighbours with a current membership in the worker's meal programmes and areas (one row each)."""
    conditions = [
        and_(
            Membership.programme_id == grant.programme_id,
            Membership.area_id.in_(select(Area.id).where(area_and_below(grant.area_path)).scalar_subquery()),
        )
        for grant in user.grants_for(Role.SOCIAL_WORKER)
    ]
    if not conditions:
        return []
    rows = await db.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.role == Role.NEIGHBOUR,
            Membership.ended_at.is_(None),
            User.is_active.is_(True),
            or_(*conditions),
            Membership.programme_id == programme_id if programme_id is not None else true(),
            User.id == user_id if user_id is not None else true(),
        )
        .options(selectinload(Membership.area))
        .order_by(User.display_name, User.id)
    )
    found: dict[int, tuple[User, Membership]] = {}
    for neighbour, membership in rows:
        found.setdefault(neighbour.id, (neighbour, membership))
    return list(found.values())
