"""Settlement periods and the append-only ledger: a programme's month, closed once and never changed.

A month is named by its first day in every table. The money rule itself (approved meals x rate,
capped per agreement and month) lives in settlement/rules.py and nowhere else.

Closing a month writes one `meal` ledger line per agreement with approved meals in that month: the
number of meals paid and their capped amount (min(meals x rate, cap), rules.capped_total; one line
per agreement and month, a partial unique index since migration 0013). It records the audit chain's
head at closing on the period. The per-meal breakdown of a closed month is not stored: it is
recomputed from the month's check-ins, which cannot change any more, and checked against the line
(statements.py; `carelog check` checks every closed month). After closing nothing in that month
changes: the service refuses, and the database refuses as a second line (triggers of migrations
0005 and 0008 on meal_checkin, settlement_ledger_line and settlement_period, on both engines; on
PostgreSQL the ledger's is checked once per INSERT statement over all its new lines since 0011). A
correction after closing is an adjustment line dated into a later open month. Ledger lines are never
updated or deleted (triggers as for audit_event).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, CreatedAt, utcnow
from backend.people.models import str_enum


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
    # The audit chain's head when the month closed: the hash and number of the closing event itself,
    # which chains every earlier event (check-ins, reviews) into it. Printed on every statement.
    audit_head_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    audit_event_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # What closing paid out (the sum of its ledger lines), for lists; the lines are the record.
    total_fen: Mapped[int | None] = mapped_column(Integer, default=None)


class LedgerKind(enum.StrEnum):
    MEAL = "meal"
    ADJUSTMENT = "adjustment"


class LedgerLine(CreatedAt, Base):
    """One line of money for an agreement in a month: its meals of the month (written at closing) or
    an adjustment."""

    __tablename__ = "settlement_ledger_line"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'meal' AND meal_count IS NOT NULL AND meal_count > 0 AND amount_fen >= 0"
            " AND reason IS NULL) OR "
            "(kind = 'adjustment' AND meal_count IS NULL AND reason IS NOT NULL AND amount_fen <> 0)",
            name="kind_fields",
        ),
        Index(None, "programme_id", "month"),
        Index(None, "agreement_id", "month"),
        # An agreement's meals of a month are paid once: one meal line per agreement and month.
        Index(
            "uq_settlement_ledger_line_meal_agreement_id_month",
            "agreement_id",
            "month",
            unique=True,
            sqlite_where=text("kind = 'meal'"),
            postgresql_where=text("kind = 'meal'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    month: Mapped[date]  # first day of the month
    agreement_id: Mapped[int] = mapped_column(ForeignKey("meal_agreement.id", ondelete="RESTRICT"))
    kind: Mapped[LedgerKind] = mapped_column(str_enum(LedgerKind, "ledger_kind"))
    # A meal line: how many approved meals of the month it pays (None on an adjustment).
    meal_count: Mapped[int | None] = mapped_column(Integer, default=None)
    # Integer fen: a meal line's capped month amount; an adjustment may be negative.
    amount_fen: Mapped[int] = mapped_column(Integer)
    # Required for an adjustment: why the money changes (and which closed month it corrects).
    reason: Mapped[str | None] = mapped_column(String(500), default=None)
    # Who wrote the line; None when the month was closed from the command line (`carelog close-month`).
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )


class ProgrammeRate(CreatedAt, Base):
    """A meal programme's rate and monthly cap from a month on (issue 19): the rate in effect for a
    month is the row with the latest `from_month` not after it. A programme without rows pays its own
    columns (programme.rate_fen, monthly_cap_fen), which always hold the latest rules set. Rows are
    written only by people/service.do_set_programme_rules, never into a closed or past month."""

    __tablename__ = "programme_rate"
    __table_args__ = (
        UniqueConstraint("programme_id", "from_month"),
        CheckConstraint("rate_fen > 0", name="rate_positive"),
        CheckConstraint("monthly_cap_fen >= rate_fen", name="cap_at_least_rate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    from_month: Mapped[date]  # first day of the month
    rate_fen: Mapped[int] = mapped_column(Integer)
    monthly_cap_fen: Mapped[int] = mapped_column(Integer)
    # None for the row that records the rules in force before the first dated change.
    set_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )


class AdjustmentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class Adjustment(CreatedAt, Base):
    """An adjustment larger than `adjustment_review_fen` (either sign), waiting for a second staff
    member. Only its approval writes the ledger line (the ledger is append-only, so the waiting is kept
    here); a refused one never counts. Smaller adjustments go straight to the ledger, as before."""

    __tablename__ = "settlement_adjustment"
    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
        CheckConstraint(
            "(status = 'pending' AND decided_by_id IS NULL AND decided_at IS NULL) OR "
            "(status <> 'pending' AND decided_by_id IS NOT NULL AND decided_at IS NOT NULL)",
            name="decision_fields",
        ),
        CheckConstraint("decided_by_id IS NULL OR decided_by_id <> created_by_id", name="second_person"),
        Index(None, "programme_id", "month", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    month: Mapped[date]  # first day of the month it is paid in
    agreement_id: Mapped[int] = mapped_column(ForeignKey("meal_agreement.id", ondelete="RESTRICT"))
    amount_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[AdjustmentStatus] = mapped_column(
        str_enum(AdjustmentStatus, "adjustment_status"), default=AdjustmentStatus.PENDING
    )
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    # The ledger line its approval wrote.
    ledger_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("settlement_ledger_line.id", ondelete="RESTRICT"), default=None
    )


async def lock_period(
    db: AsyncSession, programme_id: int, day: date, *, for_update: bool = False
) -> SettlementPeriod:
    """The day's period row, created if missing, and locked: FOR SHARE by a write into the month,
    FOR UPDATE by closing (PostgreSQL; SQLite writers are serialised anyway). Whichever comes
    second waits for the other and then sees what it did."""
    month = month_of(day)
    query = select(SettlementPeriod).where(
        SettlementPeriod.programme_id == programme_id, SettlementPeriod.month == month
    )
    if await db.scalar(select(query.exists())) is not True:
        insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
        await db.execute(
            insert(SettlementPeriod)
            .values(programme_id=programme_id, month=month, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["programme_id", "month"])
        )
    query = query.with_for_update() if for_update else query.with_for_update(read=True)
    period = await db.scalar(query.execution_options(populate_existing=True))
    assert period is not None
    return period


async def is_month_closed(db: AsyncSession, programme_id: int, day: date) -> bool:
    closed = await db.scalar(
        select(SettlementPeriod.id).where(
            SettlementPeriod.programme_id == programme_id,
            SettlementPeriod.month == month_of(day),
            SettlementPeriod.closed_at.is_not(None),
        )
    )
    return closed is not None


class SignalLook(CreatedAt, Base):
    """A self-dealing signal of a month (settlement/duties.py) recorded as looked at by a staff member:
    one agreement whose creation, neighbour's sign-in card and approvals all came from one worker. Not
    a block (a small station may have one worker); closing waits until every signal has its row."""

    __tablename__ = "settlement_signal_look"
    __table_args__ = (UniqueConstraint("programme_id", "month", "agreement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    month: Mapped[date]
    agreement_id: Mapped[int] = mapped_column(ForeignKey("meal_agreement.id", ondelete="RESTRICT"))
    # The worker the signal named, and who looked at it.
    worker_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    looked_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))


class ContractRelease(CreatedAt, Base):
    """A stage of a pillar-mother agency contract paid out (issue 21): one line per stage, ever. Written
    only by settlement/contract_money.py, after the stage's evaluation passed, by a staff member other
    than the one who recorded that evaluation (the database checks the second person as well)."""

    __tablename__ = "settlement_contract_release"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(
            "evaluation_recorded_by_id IS NULL OR evaluation_recorded_by_id <> released_by_id",
            name="second_person",
        ),
        Index(None, "programme_id", "released_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("pillar_contract.id", ondelete="RESTRICT"), index=True
    )
    stage_id: Mapped[int] = mapped_column(
        ForeignKey("pillar_contract_stage.id", ondelete="RESTRICT"), unique=True
    )
    # The passed evaluation it rests on (None for a stage paid on signing, which has no round).
    evaluation_id: Mapped[int | None] = mapped_column(
        ForeignKey("pillar_evaluation.id", ondelete="RESTRICT"), default=None
    )
    evaluation_recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"), default=None
    )
    amount_fen: Mapped[int] = mapped_column(Integer)
    released_on: Mapped[date]  # in the programme's time zone
    released_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    note: Mapped[str] = mapped_column(String(300), default="")
