"""resident sign-in codes and invitations

Revision ID: fb617c5999c0
Revises: a09d98b71cdb
Create Date: 2026-12-02 17:19:58.139937

"""
from alembic import op
import sqlalchemy as sa

import shared.db  # noqa: F401  (column types of the platform)


# revision identifiers, used by Alembic.
revision = 'fb617c5999c0'
down_revision = 'a09d98b71cdb'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'resident_code',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('phone_hash', sa.String(length=64), nullable=False),
        sa.Column('client_hash', sa.String(length=64), nullable=False),
        sa.Column('resident_id', sa.String(length=36), nullable=True),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('used_at', shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['resident_id'], ['resident.id'],
                                name=op.f('fk_resident_code_resident_id_resident')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_code')))
    with op.batch_alter_table('resident_code', schema=None) as batch_op:
        for column in ('client_hash', 'created_at', 'phone_hash'):
            batch_op.create_index(batch_op.f(f'ix_resident_code_{column}'), [column],
                                  unique=False)

    op.create_table(
        'resident_invitation',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('resident_id', sa.String(length=36), nullable=False),
        sa.Column('issued_by', sa.String(length=120), nullable=False),
        sa.Column('created_at', shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column('used_at', shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['resident_id'], ['resident.id'],
                                name=op.f('fk_resident_invitation_resident_id_resident')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_invitation')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_resident_invitation_token_hash')))
    with op.batch_alter_table('resident_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resident_invitation_resident_id'),
                              ['resident_id'], unique=False)


def downgrade():
    with op.batch_alter_table('resident_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resident_invitation_resident_id'))
    op.drop_table('resident_invitation')
    with op.batch_alter_table('resident_code', schema=None) as batch_op:
        for column in ('phone_hash', 'created_at', 'client_hash'):
            batch_op.drop_index(batch_op.f(f'ix_resident_code_{column}'))
    op.drop_table('resident_code')
