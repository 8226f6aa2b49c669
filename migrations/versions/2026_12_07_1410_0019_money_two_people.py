"""money two people: rates from a month, adjustments approved by a second staff member

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 14:10:00+00:00

- programme_rate: a meal programme's rate and monthly cap from a month on; settlement pays each month
  at the rate in effect for it (the latest row not after the month), at most the agreement's own.
- settlement_adjustment: an adjustment over the review threshold, pending until a second staff member
  approves (its approval writes the ledger line) or refuses it. The creator can never be the decider
  (a check constraint as well as the service).
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "programme_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("from_month", sa.Date(), nullable=False),
        sa.Column("rate_fen", sa.Integer(), nullable=False),
        sa.Column("monthly_cap_fen", sa.Integer(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        _created_at(),
        sa.CheckConstraint("rate_fen > 0", name=op.f("ck_programme_rate_rate_positive")),
        sa.CheckConstraint("monthly_cap_fen >= rate_fen", name=op.f("ck_programme_rate_cap_at_least_rate")),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_programme_rate_programme_id_programme"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"],
            ["user_account.id"],
            name=op.f("fk_programme_rate_set_by_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_rate")),
        sa.UniqueConstraint(
            "programme_id", "from_month", name=op.f("uq_programme_rate_programme_id_from_month")
        ),
    )
    op.create_table(
        "settlement_adjustment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "refused",
                name="adjustment_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("ledger_line_id", sa.Integer(), nullable=True),
        _created_at(),
        sa.CheckConstraint("amount_fen <> 0", name=op.f("ck_settlement_adjustment_amount_not_zero")),
        sa.CheckConstraint(
            "(status = 'pending' AND decided_by_id IS NULL AND decided_at IS NULL) OR "
            "(status <> 'pending' AND decided_by_id IS NOT NULL AND decided_at IS NOT NULL)",
            name=op.f("ck_settlement_adjustment_decision_fields"),
        ),
        sa.CheckConstraint(
            "decided_by_id IS NULL OR decided_by_id <> created_by_id",
            name=op.f("ck_settlement_adjustment_second_person"),
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["meal_agreement.id"],
            name=op.f("fk_settlement_adjustment_agreement_id_meal_agreement"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_settlement_adjustment_created_by_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_settlement_adjustment_decided_by_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["ledger_line_id"],
            ["settlement_ledger_line.id"],
            name=op.f("fk_settlement_adjustment_ledger_line_id_settlement_ledger_line"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_settlement_adjustment_programme_id_programme"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_adjustment")),
    )
    with op.batch_alter_table("settlement_adjustment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_settlement_adjustment_programme_id_month_status"),
            ["programme_id", "month", "status"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("settlement_adjustment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_adjustment_programme_id_month_status"))
    op.drop_table("settlement_adjustment")
    op.drop_table("programme_rate")
