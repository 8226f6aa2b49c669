"""Settlement periods: a programme's month, which is closed once and then never changes.

Only the minimum that other domains need today: whether a month is closed. Closing a month, and the
money itself, belong to this domain's service (not written yet). Meal check-ins into a closed month
are refused by the meals service and, as a second line, by a database trigger (migration 0005).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, CreatedAt


def month_of(day: date) -> date:
    """The first day of the day's month: how a month is named in every table."""
    return day.replace(day=1)


class SettlementPeriod(CreatedAt, Base):
    __tablename__ = "settlement_period"
    __table_args__ = (UniqueConstraint("programme_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    # Always the first day of the month (see month_of).
    month: Mapped[date]
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )


async def is_month_closed(db: AsyncSession, programme_id: int, day: date) -> bool:
    closed = await db.scalar(
        select(SettlementPeriod.id).where(
            SettlementPeriod.programme_id == programme_id,
            SettlementPeriod.month == month_of(day),
            SettlementPeriod.closed_at.is_not(None),
        )
    )
    return closed is not None
