"""settlement ledger: append-only money lines, the audit head at closing, and no race at closing

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 21:30:00+00:00

- settlement_ledger_line: one line per paid meal (written when the month closes) or per adjustment.
  Never updated or deleted (triggers, as for audit_event), and never inserted into a closed month.
- settlement_period gains the audit chain's head (hash and event number) at closing and the total
  paid; a closed period row can be neither changed nor deleted (no reopening).
- PostgreSQL race: a check-in committed at the instant the month closed could slip past the trigger
  of 0005 (both transactions read the period as open). Closing now locks the period row FOR UPDATE
  and the triggers read it FOR SHARE, creating it first if it is missing, so one of the two waits for
  the other and then sees its result. SQLite writers are already serialised (BEGIN IMMEDIATE).
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "settlement_ledger_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("meal", "adjustment", name="ledger_kind", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'meal' AND checkin_id IS NOT NULL AND amount_fen >= 0) OR "
            "(kind = 'adjustment' AND checkin_id IS NULL AND reason IS NOT NULL AND amount_fen <> 0)",
            name=op.f("ck_settlement_ledger_line_kind_fields"),
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"], ["meal_agreement.id"],
            name=op.f("fk_settlement_ledger_line_agreement_id_meal_agreement"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["meal_checkin.id"],
            name=op.f("fk_settlement_ledger_line_checkin_id_meal_checkin"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"],
            name=op.f("fk_settlement_ledger_line_created_by_id_user_account"), ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"],
            name=op.f("fk_settlement_ledger_line_programme_id_programme"), ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_ledger_line")),
        sa.UniqueConstraint("checkin_id", name=op.f("uq_settlement_ledger_line_checkin_id")),
    )
    with op.batch_alter_table("settlement_ledger_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_settlement_ledger_line_agreement_id_month"), ["agreement_id", "month"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_settlement_ledger_line_programme_id_month"), ["programme_id", "month"], unique=False
        )

    with op.batch_alter_table("settlement_period", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audit_head_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("audit_event_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("total_fen", sa.Integer(), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        for sql in _PG_UP:
            op.execute(sql)
    else:
        for sql in _SQLITE_UP:
            op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for sql in _PG_DOWN:
            op.execute(sql)
    else:
        for name in _SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER {name}")
    # Plain DROP COLUMN, not a batch copy: on SQLite, renaming the copy back would trip over the
    # meal_checkin triggers of 0005, which name settlement_period.
    for column in ("total_fen", "audit_event_id", "audit_head_hash"):
        op.execute(f"ALTER TABLE settlement_period DROP COLUMN {column}")

    with op.batch_alter_table("settlement_ledger_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_ledger_line_programme_id_month"))
        batch_op.drop_index(batch_op.f("ix_settlement_ledger_line_agreement_id_month"))

    op.drop_table("settlement_ledger_line")


# PostgreSQL. carelog_month_closed() makes sure the period row exists and reads it FOR SHARE: a
# closing transaction holds it FOR UPDATE, so a write into the month waits for the closing to
# commit and then sees the month closed; a closing that comes second waits for the write and then
# sees it (its next statements run on a fresh snapshot under READ COMMITTED).
_PG_UP = [
    """
    CREATE FUNCTION carelog_month_closed(p_programme integer, p_day date) RETURNS boolean
    LANGUAGE plpgsql AS $$
    DECLARE
        m date := date_trunc('month', p_day)::date;
        closed timestamptz;
    BEGIN
        -- Insert only when missing: ON CONFLICT would still use up a sequence number every time.
        IF NOT EXISTS (SELECT 1 FROM settlement_period p WHERE p.programme_id = p_programme AND p.month = m) THEN
            INSERT INTO settlement_period (programme_id, month, created_at)
            VALUES (p_programme, m, now())
            ON CONFLICT (programme_id, month) DO NOTHING;
        END IF;
        SELECT p.closed_at INTO closed FROM settlement_period p
        WHERE p.programme_id = p_programme AND p.month = m
        FOR SHARE;
        RETURN closed IS NOT NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION carelog_meal_checkin_month_open() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND carelog_month_closed(OLD.programme_id, OLD.day) THEN
            RAISE EXCEPTION 'meal_checkin: the month of % is closed', OLD.day USING ERRCODE = 'check_violation';
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND carelog_month_closed(NEW.programme_id, NEW.day) THEN
            RAISE EXCEPTION 'meal_checkin: the month of % is closed', NEW.day USING ERRCODE = 'check_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE FUNCTION carelog_ledger_month_open() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF carelog_month_closed(NEW.programme_id, NEW.month) THEN
            RAISE EXCEPTION 'settlement_ledger_line: the month % is closed', NEW.month
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER settlement_ledger_line_month_open BEFORE INSERT ON settlement_ledger_line "
    "FOR EACH ROW EXECUTE FUNCTION carelog_ledger_month_open()",
    "CREATE TRIGGER settlement_ledger_line_append_only BEFORE UPDATE OR DELETE ON settlement_ledger_line "
    "FOR EACH ROW EXECUTE FUNCTION carelog_append_only()",
    """
    CREATE FUNCTION carelog_period_stays_closed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.closed_at IS NOT NULL THEN
            RAISE EXCEPTION 'settlement_period: the month % is closed', OLD.month
                USING ERRCODE = 'check_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER settlement_period_stays_closed BEFORE UPDATE OR DELETE ON settlement_period "
    "FOR EACH ROW EXECUTE FUNCTION carelog_period_stays_closed()",
]

_PG_DOWN = [
    "DROP TRIGGER settlement_period_stays_closed ON settlement_period",
    "DROP FUNCTION carelog_period_stays_closed()",
    "DROP TRIGGER settlement_ledger_line_append_only ON settlement_ledger_line",
    "DROP TRIGGER settlement_ledger_line_month_open ON settlement_ledger_line",
    "DROP FUNCTION carelog_ledger_month_open()",
    # The check-in trigger function as revision 0005 wrote it.
    """
    CREATE OR REPLACE FUNCTION carelog_meal_checkin_month_open() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
            SELECT 1 FROM settlement_period p
            WHERE p.programme_id = OLD.programme_id
              AND p.month = date_trunc('month', OLD.day)::date
              AND p.closed_at IS NOT NULL
        ) THEN
            RAISE EXCEPTION 'meal_checkin: the month of % is closed', OLD.day USING ERRCODE = 'check_violation';
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (
            SELECT 1 FROM settlement_period p
            WHERE p.programme_id = NEW.programme_id
              AND p.month = date_trunc('month', NEW.day)::date
              AND p.closed_at IS NOT NULL
        ) THEN
            RAISE EXCEPTION 'meal_checkin: the month of % is closed', NEW.day USING ERRCODE = 'check_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END $$
    """,
    "DROP FUNCTION carelog_month_closed(integer, date)",
]

# SQLite. A later batch migration that recreates one of these tables drops its triggers: keep them
# the way 0007 does (read from sqlite_master before the copy, create again after it).
_SQLITE_LEDGER_CLOSED = (
    "EXISTS (SELECT 1 FROM settlement_period p WHERE p.programme_id = NEW.programme_id "
    "AND p.month = NEW.month AND p.closed_at IS NOT NULL)"
)
_SQLITE_UP = [
    "CREATE TRIGGER settlement_ledger_line_closed_month BEFORE INSERT ON settlement_ledger_line "
    f"WHEN {_SQLITE_LEDGER_CLOSED} "
    "BEGIN SELECT RAISE(ABORT, 'settlement_ledger_line: the month is closed'); END",
    "CREATE TRIGGER settlement_ledger_line_no_update BEFORE UPDATE ON settlement_ledger_line "
    "BEGIN SELECT RAISE(ABORT, 'settlement_ledger_line is append-only'); END",
    "CREATE TRIGGER settlement_ledger_line_no_delete BEFORE DELETE ON settlement_ledger_line "
    "BEGIN SELECT RAISE(ABORT, 'settlement_ledger_line is append-only'); END",
    "CREATE TRIGGER settlement_period_closed_no_update BEFORE UPDATE ON settlement_period "
    "WHEN OLD.closed_at IS NOT NULL "
    "BEGIN SELECT RAISE(ABORT, 'settlement_period: the month is closed'); END",
    "CREATE TRIGGER settlement_period_closed_no_delete BEFORE DELETE ON settlement_period "
    "WHEN OLD.closed_at IS NOT NULL "
    "BEGIN SELECT RAISE(ABORT, 'settlement_period: the month is closed'); END",
]
_SQLITE_TRIGGER_NAMES = (
    "settlement_period_closed_no_delete",
    "settlement_period_closed_no_update",
    "settlement_ledger_line_no_delete",
    "settlement_ledger_line_no_update",
    "settlement_ledger_line_closed_month",
)
