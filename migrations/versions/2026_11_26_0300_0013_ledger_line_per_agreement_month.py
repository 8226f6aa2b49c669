"""ledger line per agreement and month: closing writes one meal line per agreement, not per meal

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 03:00:00+00:00

Closing a month of 10,000 agreements wrote some 310,000 meal lines, and on PostgreSQL each line paid
four foreign-key checks (12.9-14.9 s measured; 2.8-3.7 s without the keys). A meal line now stands
for an agreement's whole month: `meal_count` meals paid, `amount_fen` = min(meals x rate, cap).
The per-meal breakdown of a closed month is recomputed from its check-ins, which cannot change once
the month is closed (triggers of 0005/0008), and checked against the line.

- settlement_ledger_line gains meal_count and loses checkin_id (its foreign key and unique
  constraint); a partial unique index allows one meal line per (agreement, month); kind_fields
  becomes: a meal line has meal_count > 0, amount_fen >= 0, no reason; an adjustment has no
  meal_count, a reason and amount_fen <> 0.
- Existing per-meal lines are summed into one line per (programme, month, agreement): their count
  and their sum, created by and at as the closing wrote them (all lines of a closing share both).
  Adjustments keep their ids (audit events name them); the new meal lines get new ids.
- The ledger's append-only and closed-month triggers are dropped for the conversion and created
  again from this file's copies (SQLite's table rebuilds drop them anyway).

Downgrade is a real reverse: each meal line is expanded into one line per approved current
check-in of its agreement and month, priced by the rule (the rate until the cap, the remainder for
the crossing meal, 0 after it, in day, slot, id order). If some line's check-ins no longer add up
to its count and amount (a check-in or the line was changed behind the triggers' back), the
downgrade stops before changing anything, with an error naming the line.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "settlement_ledger_line"
MEAL_INDEX = "uq_settlement_ledger_line_meal_agreement_id_month"
NEW_KIND_FIELDS = (
    "(kind = 'meal' AND meal_count IS NOT NULL AND meal_count > 0 AND amount_fen >= 0 AND reason IS NULL) OR "
    "(kind = 'adjustment' AND meal_count IS NULL AND reason IS NOT NULL AND amount_fen <> 0)"
)
OLD_KIND_FIELDS = (
    "(kind = 'meal' AND checkin_id IS NOT NULL AND amount_fen >= 0) OR "
    "(kind = 'adjustment' AND checkin_id IS NULL AND reason IS NOT NULL AND amount_fen <> 0)"
)


def _is_pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _drop_triggers() -> None:
    if _is_pg():
        op.execute(f"DROP TRIGGER settlement_ledger_line_append_only ON {TABLE}")
        op.execute(f"DROP TRIGGER settlement_ledger_line_month_open ON {TABLE}")
    else:
        for name in _SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def _create_triggers() -> None:
    for sql in _PG_TRIGGERS if _is_pg() else _SQLITE_TRIGGERS:
        op.execute(sql)


def upgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.add_column(sa.Column("meal_count", sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f("ck_settlement_ledger_line_kind_fields"), type_="check")

    # One line per (programme, month, agreement) from its per-meal lines; then the per-meal lines go.
    op.execute(
        f"INSERT INTO {TABLE} (programme_id, month, agreement_id, kind, meal_count, amount_fen,"
        " reason, created_by_id, created_at)"
        " SELECT programme_id, month, agreement_id, 'meal', COUNT(*), SUM(amount_fen), NULL,"
        " MAX(created_by_id), MAX(created_at)"
        f" FROM {TABLE} WHERE kind = 'meal' AND meal_count IS NULL"
        " GROUP BY programme_id, month, agreement_id"
        " ORDER BY programme_id, month, agreement_id"
    )
    op.execute(f"DELETE FROM {TABLE} WHERE kind = 'meal' AND meal_count IS NULL")

    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_settlement_ledger_line_checkin_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_settlement_ledger_line_checkin_id_meal_checkin"), type_="foreignkey"
        )
        batch_op.drop_column("checkin_id")
        batch_op.create_check_constraint(batch_op.f("ck_settlement_ledger_line_kind_fields"), NEW_KIND_FIELDS)
    op.create_index(
        MEAL_INDEX,
        TABLE,
        ["agreement_id", "month"],
        unique=True,
        sqlite_where=sa.text("kind = 'meal'"),
        postgresql_where=sa.text("kind = 'meal'"),
    )
    _create_triggers()


def _in_month() -> str:
    """SQL: check-in c falls in ledger line l's month."""
    if _is_pg():
        return "date_trunc('month', c.day)::date = l.month"
    return "strftime('%Y-%m-01', c.day) = l.month"


def _refuse_unless_expandable() -> None:
    """Stop before changing anything (SQLite runs DDL outside the transaction) if some meal line's
    check-ins no longer add up to it: its per-meal lines could not be rebuilt."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT l.id, l.agreement_id, l.month, l.meal_count, l.amount_fen, COUNT(c.id),"
            " a.rate_fen, a.monthly_cap_fen"
            " FROM settlement_ledger_line l JOIN meal_agreement a ON a.id = l.agreement_id"
            " LEFT JOIN meal_checkin c ON c.agreement_id = l.agreement_id AND c.status = 'approved'"
            f" AND c.superseded_at IS NULL AND {_in_month()}"
            " WHERE l.kind = 'meal'"
            " GROUP BY l.id, l.agreement_id, l.month, l.meal_count, l.amount_fen, a.rate_fen, a.monthly_cap_fen"
            " ORDER BY l.id"
        )
    )
    for line_id, agreement_id, month, meals, fen, found, rate, cap in rows:
        if (meals, fen) != (found, min(found * rate, cap)):
            raise RuntimeError(
                f"cannot downgrade below 0013: ledger line {line_id} (agreement {agreement_id}, month {month})"
                f" paid {meals} meals, {fen} fen, but its check-ins now give {found} meals,"
                f" {min(found * rate, cap)} fen, so its per-meal lines cannot be rebuilt; nothing was changed"
                " (`carelog check` lists every such month)"
            )


def downgrade() -> None:
    _refuse_unless_expandable()
    _drop_triggers()
    op.drop_index(MEAL_INDEX, table_name=TABLE)
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_settlement_ledger_line_kind_fields"), type_="check")
        batch_op.add_column(sa.Column("checkin_id", sa.Integer(), nullable=True))

    # One line per approved current meal of each meal line's agreement and month, priced by the rule:
    # the rate while the cap allows, the remainder for the meal that crosses it, then 0.
    numbered = (
        "SELECT l.id AS line_id, l.programme_id, l.month, l.agreement_id, l.created_by_id, l.created_at,"
        " c.id AS checkin_id, a.rate_fen AS rate, a.monthly_cap_fen AS cap,"
        " ROW_NUMBER() OVER (PARTITION BY l.id ORDER BY c.day,"
        " CASE WHEN c.slot = 'lunch' THEN 0 ELSE 1 END, c.id) AS n"
        f" FROM {TABLE} l"
        " JOIN meal_agreement a ON a.id = l.agreement_id"
        " JOIN meal_checkin c ON c.agreement_id = l.agreement_id"
        f" WHERE l.kind = 'meal' AND l.meal_count IS NOT NULL AND {_in_month()}"
        " AND c.status = 'approved' AND c.superseded_at IS NULL"
    )
    op.execute(
        f"INSERT INTO {TABLE} (programme_id, month, agreement_id, kind, checkin_id, amount_fen,"
        " reason, created_by_id, created_at)"
        " SELECT programme_id, month, agreement_id, 'meal', checkin_id,"
        " CASE WHEN cap - (n - 1) * rate >= rate THEN rate"
        " WHEN cap - (n - 1) * rate > 0 THEN cap - (n - 1) * rate ELSE 0 END,"
        " NULL, created_by_id, created_at"
        f" FROM ({numbered}) m ORDER BY line_id, n"
    )
    op.execute(f"DELETE FROM {TABLE} WHERE kind = 'meal' AND meal_count IS NOT NULL")

    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_column("meal_count")
        batch_op.create_foreign_key(
            batch_op.f("fk_settlement_ledger_line_checkin_id_meal_checkin"),
            "meal_checkin",
            ["checkin_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_unique_constraint(batch_op.f("uq_settlement_ledger_line_checkin_id"), ["checkin_id"])
        batch_op.create_check_constraint(batch_op.f("ck_settlement_ledger_line_kind_fields"), OLD_KIND_FIELDS)
    _create_triggers()


# The ledger's triggers as 0008 (append-only) and 0011 (closed month, once per statement, on
# PostgreSQL) wrote them; their functions are unchanged and stay.
_PG_TRIGGERS = [
    f"CREATE TRIGGER settlement_ledger_line_month_open AFTER INSERT ON {TABLE} "
    "REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION carelog_ledger_months_open()",
    f"CREATE TRIGGER settlement_ledger_line_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION carelog_append_only()",
]
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER settlement_ledger_line_closed_month BEFORE INSERT ON {TABLE} "
    "WHEN EXISTS (SELECT 1 FROM settlement_period p WHERE p.programme_id = NEW.programme_id "
    "AND p.month = NEW.month AND p.closed_at IS NOT NULL) "
    "BEGIN SELECT RAISE(ABORT, 'settlement_ledger_line: the month is closed'); END",
    f"CREATE TRIGGER settlement_ledger_line_no_update BEFORE UPDATE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'settlement_ledger_line is append-only'); END",
    f"CREATE TRIGGER settlement_ledger_line_no_delete BEFORE DELETE ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'settlement_ledger_line is append-only'); END",
]
_SQLITE_TRIGGER_NAMES = (
    "settlement_ledger_line_closed_month",
    "settlement_ledger_line_no_update",
    "settlement_ledger_line_no_delete",
)
