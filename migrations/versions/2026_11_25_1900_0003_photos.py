"""photos: evidence photos with their hashes, sizes, capture time and reuse flag

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:00:00+00:00
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sa.Uuid(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('subject_person_id', sa.Integer(), nullable=True),
    sa.Column('programme_id', sa.Integer(), nullable=True),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('received_sha256', sa.String(length=64), nullable=False),
    sa.Column('received_bytes', sa.Integer(), nullable=False),
    sa.Column('received_format', sa.String(length=8), nullable=False),
    sa.Column('received_width', sa.Integer(), nullable=False),
    sa.Column('received_height', sa.Integer(), nullable=False),
    sa.Column('original_kept', sa.Boolean(), nullable=False),
    sa.Column('display_sha256', sa.String(length=64), nullable=False),
    sa.Column('display_bytes', sa.Integer(), nullable=False),
    sa.Column('display_width', sa.Integer(), nullable=False),
    sa.Column('display_height', sa.Integer(), nullable=False),
    sa.Column('thumb_sha256', sa.String(length=64), nullable=False),
    sa.Column('thumb_bytes', sa.Integer(), nullable=False),
    sa.Column('thumb_width', sa.Integer(), nullable=False),
    sa.Column('thumb_height', sa.Integer(), nullable=False),
    sa.Column('phash', sa.BigInteger(), nullable=False),
    sa.Column('captured_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('capture_source', sa.Enum('exif', 'client', 'none', name='capture_source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('reuse_of_id', sa.Integer(), nullable=True),
    sa.Column('reuse_distance', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint('received_bytes > 0', name=op.f('ck_photo_received_not_empty')),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_photo_area_id_area'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_photo_programme_id_programme'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reuse_of_id'], ['photo.id'], name=op.f('fk_photo_reuse_of_id_photo'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subject_person_id'], ['person.id'], name=op.f('fk_photo_subject_person_id_person'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_photo_uploaded_by_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photo')),
    sa.UniqueConstraint('uploaded_by_id', 'client_uuid', name=op.f('uq_photo_uploaded_by_id_client_uuid'))
    )
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_area_id_created_at'), ['area_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_client_uuid'), ['client_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_received_sha256'), ['received_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_subject_person_id'), ['subject_person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_uploaded_by_id_created_at'), ['uploaded_by_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_uploaded_by_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_photo_subject_person_id'))
        batch_op.drop_index(batch_op.f('ix_photo_received_sha256'))
        batch_op.drop_index(batch_op.f('ix_photo_client_uuid'))
        batch_op.drop_index(batch_op.f('ix_photo_area_id_created_at'))

    op.drop_table('photo')
