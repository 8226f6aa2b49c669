"""meals: three-party agreements, monthly menus, check-ins with photos and flags; closed months

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 20:00:00+00:00

Agreements made before this revision have no recorded confirmations, so they do not take effect
(no check-ins) until the neighbour confirms and a social worker records the resident's confirmation:
nothing is invented on their behalf. A check-in into a month whose settlement period is closed is
refused by a trigger on both engines, as a second line behind the service.
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('settlement_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('closed_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user_account.id'], name=op.f('fk_settlement_period_closed_by_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_settlement_period_programme_id_programme'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_period')),
    sa.UniqueConstraint('programme_id', 'month', name=op.f('uq_settlement_period_programme_id_month'))
    )
    op.create_table('meal_checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sa.Uuid(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('neighbour_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('slot', sa.Enum('lunch', 'dinner', name='meal_slot', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('dishes', sa.JSON(), nullable=False),
    sa.Column('planned_dishes', sa.JSON(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'needs_fix', 'rejected', name='checkin_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('superseded_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['meal_agreement.id'], name=op.f('fk_meal_checkin_agreement_id_meal_agreement'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['neighbour_id'], ['user_account.id'], name=op.f('fk_meal_checkin_neighbour_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_meal_checkin_programme_id_programme'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['replaces_id'], ['meal_checkin.id'], name=op.f('fk_meal_checkin_replaces_id_meal_checkin'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['resident_id'], ['person.id'], name=op.f('fk_meal_checkin_resident_id_person'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meal_checkin')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_meal_checkin_client_uuid')),
    sa.UniqueConstraint('replaces_id', name=op.f('uq_meal_checkin_replaces_id'))
    )
    with op.batch_alter_table('meal_checkin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meal_checkin_neighbour_id_day'), ['neighbour_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_meal_checkin_programme_id_day'), ['programme_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_meal_checkin_resident_id_day'), ['resident_id', 'day'], unique=False)
        batch_op.create_index('uq_meal_checkin_current_slot', ['agreement_id', 'slot', 'day'], unique=True, sqlite_where=sa.text('superseded_at IS NULL'), postgresql_where=sa.text('superseded_at IS NULL'))

    op.create_table('meal_menu_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('slot', sa.Enum('lunch', 'dinner', name='meal_slot', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('dishes', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint('(weekday IS NULL) <> (day IS NULL)', name=op.f('ck_meal_menu_entry_weekday_or_day')),
    sa.CheckConstraint('weekday IS NULL OR (weekday >= 0 AND weekday <= 6)', name=op.f('ck_meal_menu_entry_weekday_range')),
    sa.ForeignKeyConstraint(['agreement_id'], ['meal_agreement.id'], name=op.f('fk_meal_menu_entry_agreement_id_meal_agreement'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_meal_menu_entry_created_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meal_menu_entry'))
    )
    with op.batch_alter_table('meal_menu_entry', schema=None) as batch_op:
        batch_op.create_index('uq_meal_menu_entry_day', ['agreement_id', 'slot', 'day'], unique=True, sqlite_where=sa.text('day IS NOT NULL'), postgresql_where=sa.text('day IS NOT NULL'))
        batch_op.create_index('uq_meal_menu_entry_weekday', ['agreement_id', 'month', 'slot', 'weekday'], unique=True, sqlite_where=sa.text('weekday IS NOT NULL'), postgresql_where=sa.text('weekday IS NOT NULL'))

    op.create_table('meal_checkin_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.Enum('late', 'photo_reused', 'capture_time_missing', 'capture_time_far', 'dishes_off_plan', 'over_cap', 'photo_on_other_agreement', 'same_household_day', name='checkin_flag_code', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['checkin_id'], ['meal_checkin.id'], name=op.f('fk_meal_checkin_flag_checkin_id_meal_checkin'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meal_checkin_flag')),
    sa.UniqueConstraint('checkin_id', 'code', name=op.f('uq_meal_checkin_flag_checkin_id_code'))
    )
    with op.batch_alter_table('meal_checkin_flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meal_checkin_flag_code'), ['code'], unique=False)

    op.create_table('meal_checkin_photo',
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['checkin_id'], ['meal_checkin.id'], name=op.f('fk_meal_checkin_photo_checkin_id_meal_checkin'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['photo_id'], ['photo.id'], name=op.f('fk_meal_checkin_photo_photo_id_photo'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('checkin_id', 'photo_id', name=op.f('pk_meal_checkin_photo')),
    sa.UniqueConstraint('checkin_id', 'position', name=op.f('uq_meal_checkin_photo_checkin_id_position'))
    )
    with op.batch_alter_table('meal_checkin_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meal_checkin_photo_photo_id'), ['photo_id'], unique=False)

    with op.batch_alter_table('meal_agreement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('serves_lunch', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('serves_dinner', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('neighbour_confirmed_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resident_confirmed_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resident_signatory', sa.Enum('resident', 'guardian', name='agreement_signatory', native_enum=False, create_constraint=True, length=32), nullable=True))
        batch_op.add_column(sa.Column('resident_confirmed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resident_confirmation_photo_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ended_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ended_by_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_meal_agreement_social_worker_id'), ['social_worker_id'], unique=False)
        batch_op.create_index('uq_meal_agreement_active_resident', ['resident_id'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.create_foreign_key(batch_op.f('fk_meal_agreement_resident_confirmed_by_id_user_account'), 'user_account', ['resident_confirmed_by_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_foreign_key(batch_op.f('fk_meal_agreement_ended_by_id_user_account'), 'user_account', ['ended_by_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_foreign_key(batch_op.f('fk_meal_agreement_created_by_id_user_account'), 'user_account', ['created_by_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_foreign_key(batch_op.f('fk_meal_agreement_resident_confirmation_photo_id_photo'), 'photo', ['resident_confirmation_photo_id'], ['id'], ondelete='RESTRICT')
    # Agreements ended before this revision never recorded when: their creation time stands in.
    op.execute("UPDATE meal_agreement SET ended_at = created_at WHERE status <> 'active' AND ended_at IS NULL")
    with op.batch_alter_table('meal_agreement', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_meal_agreement_serves_a_meal'), 'serves_lunch OR serves_dinner')
        batch_op.create_check_constraint(
            op.f('ck_meal_agreement_signatory_with_confirmation'),
            '(resident_confirmed_at IS NULL) = (resident_signatory IS NULL)',
        )
        batch_op.create_check_constraint(
            op.f('ck_meal_agreement_ended_has_time'), "status = 'active' OR ended_at IS NOT NULL"
        )
    _create_closed_month_triggers()



def downgrade() -> None:
    _drop_closed_month_triggers()
    with op.batch_alter_table('meal_agreement', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_meal_agreement_ended_has_time'), type_='check')
        batch_op.drop_constraint(op.f('ck_meal_agreement_signatory_with_confirmation'), type_='check')
        batch_op.drop_constraint(op.f('ck_meal_agreement_serves_a_meal'), type_='check')
        batch_op.drop_constraint(op.f('ck_meal_agreement_agreement_signatory'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_meal_agreement_resident_confirmation_photo_id_photo'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_meal_agreement_created_by_id_user_account'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_meal_agreement_ended_by_id_user_account'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_meal_agreement_resident_confirmed_by_id_user_account'), type_='foreignkey')
        batch_op.drop_index('uq_meal_agreement_active_resident', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_meal_agreement_social_worker_id'))
        batch_op.drop_column('ended_by_id')
        batch_op.drop_column('ended_at')
        batch_op.drop_column('resident_confirmation_photo_id')
        batch_op.drop_column('resident_confirmed_by_id')
        batch_op.drop_column('resident_signatory')
        batch_op.drop_column('resident_confirmed_at')
        batch_op.drop_column('neighbour_confirmed_at')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('serves_dinner')
        batch_op.drop_column('serves_lunch')

    with op.batch_alter_table('meal_checkin_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meal_checkin_photo_photo_id'))

    op.drop_table('meal_checkin_photo')
    with op.batch_alter_table('meal_checkin_flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meal_checkin_flag_code'))

    op.drop_table('meal_checkin_flag')
    with op.batch_alter_table('meal_menu_entry', schema=None) as batch_op:
        batch_op.drop_index('uq_meal_menu_entry_weekday', sqlite_where=sa.text('weekday IS NOT NULL'), postgresql_where=sa.text('weekday IS NOT NULL'))
        batch_op.drop_index('uq_meal_menu_entry_day', sqlite_where=sa.text('day IS NOT NULL'), postgresql_where=sa.text('day IS NOT NULL'))

    op.drop_table('meal_menu_entry')
    with op.batch_alter_table('meal_checkin', schema=None) as batch_op:
        batch_op.drop_index('uq_meal_checkin_current_slot', sqlite_where=sa.text('superseded_at IS NULL'), postgresql_where=sa.text('superseded_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_meal_checkin_resident_id_day'))
        batch_op.drop_index(batch_op.f('ix_meal_checkin_programme_id_day'))
        batch_op.drop_index(batch_op.f('ix_meal_checkin_neighbour_id_day'))

    op.drop_table('meal_checkin')
    op.drop_table('settlement_period')


# A closed month never changes: no check-in may be inserted into it, moved into or out of it, changed
# or deleted. The month of a day is its first day, as settlement_period.month stores it.
# On SQLite a later batch migration that recreates meal_checkin drops these triggers: recreate them there.
_PG_FUNCTION = """
CREATE FUNCTION carelog_meal_checkin_month_open() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""


def _sqlite_closed(row: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM settlement_period p "
        f"WHERE p.programme_id = {row}.programme_id AND p.month = date({row}.day, 'start of month') "
        "AND p.closed_at IS NOT NULL)"
    )


_SQLITE_TRIGGERS = {
    "meal_checkin_closed_month_insert": ("INSERT", _sqlite_closed("NEW")),
    "meal_checkin_closed_month_update": ("UPDATE", f"{_sqlite_closed('OLD')} OR {_sqlite_closed('NEW')}"),
    "meal_checkin_closed_month_delete": ("DELETE", _sqlite_closed("OLD")),
}


def _create_closed_month_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER meal_checkin_closed_month BEFORE INSERT OR UPDATE OR DELETE ON meal_checkin "
            "FOR EACH ROW EXECUTE FUNCTION carelog_meal_checkin_month_open()"
        )
        return
    for name, (verb, condition) in _SQLITE_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {verb} ON meal_checkin WHEN {condition} "
            "BEGIN SELECT RAISE(ABORT, 'meal_checkin: the month is closed'); END"
        )


def _drop_closed_month_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER meal_checkin_closed_month ON meal_checkin")
        op.execute("DROP FUNCTION carelog_meal_checkin_month_open()")
        return
    for name in _SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
