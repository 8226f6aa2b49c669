"""month close duties: self-dealing signals recorded as looked at

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 14:20:00+00:00

- settlement_signal_look: a staff member looked at a month's self-dealing signal (an agreement whose
  creation, neighbour's sign-in card and approvals all came from one worker); one row per programme,
  month and agreement. Separation of duties at closing needs no column (reviewed_by_id and
  created_by_id already say who did what).
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "settlement_signal_look",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("looked_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_settlement_signal_look_programme_id_programme"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["meal_agreement.id"],
            name=op.f("fk_settlement_signal_look_agreement_id_meal_agreement"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["user_account.id"],
            name=op.f("fk_settlement_signal_look_worker_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["looked_by_id"],
            ["user_account.id"],
            name=op.f("fk_settlement_signal_look_looked_by_id_user_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_signal_look")),
        sa.UniqueConstraint(
            "programme_id",
            "month",
            "agreement_id",
            name=op.f("uq_settlement_signal_look_programme_id_month_agreement_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("settlement_signal_look")
