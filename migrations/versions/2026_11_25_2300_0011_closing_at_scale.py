"""closing at scale: one closed-month check per ledger INSERT statement, pending check-ins by month

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 23:00:00+00:00

Measured with bench/scale.py on PostgreSQL (10,000 agreements, 1,000,000 check-ins; closing a month
writes 310,000 meal lines in one INSERT ... SELECT):
- The closed-month trigger of 0008 ran once per ledger line (a plpgsql call and a period look-up FOR
  SHARE each time), a third of the INSERT's time. PostgreSQL now checks once per statement, AFTER
  INSERT over the statement's new rows (a transition table): every distinct (programme, month) among
  them is looked up and locked FOR SHARE, as before, and a closed one aborts the whole statement with
  the same error. SQLite keeps its row trigger (there it costs little).
- Closing refuses while a check-in of the month is pending: that count read every check-in of the
  month (a bitmap scan of 310,000 rows, 0.3 s). This partial index holds only pending current ones.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'pending' AND superseded_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_meal_checkin_pending_programme_day",
        "meal_checkin",
        ["programme_id", "day"],
        unique=False,
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )
    if op.get_bind().dialect.name == "postgresql":
        for sql in _PG_UP:
            op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for sql in _PG_DOWN:
            op.execute(sql)
    op.drop_index("ix_meal_checkin_pending_programme_day", table_name="meal_checkin")


# carelog_month_closed() (0008) creates the period row if missing and reads it FOR SHARE, so a write
# racing a closing still waits for it and then sees the month closed. Running after the rows are in
# (rather than before each) changes nothing for that: the statement's rows are invisible to others
# until it commits, and it cannot commit past a closed month.
_PG_UP = [
    "DROP TRIGGER settlement_ledger_line_month_open ON settlement_ledger_line",
    "DROP FUNCTION carelog_ledger_month_open()",
    """
    CREATE FUNCTION carelog_ledger_months_open() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        line record;
    BEGIN
        FOR line IN
            SELECT DISTINCT n.programme_id, n.month FROM new_lines n ORDER BY n.programme_id, n.month
        LOOP
            IF carelog_month_closed(line.programme_id, line.month) THEN
                RAISE EXCEPTION 'settlement_ledger_line: the month % is closed', line.month
                    USING ERRCODE = 'check_violation';
            END IF;
        END LOOP;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER settlement_ledger_line_month_open AFTER INSERT ON settlement_ledger_line "
    "REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION carelog_ledger_months_open()",
]

# The row trigger as revision 0008 wrote it.
_PG_DOWN = [
    "DROP TRIGGER settlement_ledger_line_month_open ON settlement_ledger_line",
    "DROP FUNCTION carelog_ledger_months_open()",
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
]
