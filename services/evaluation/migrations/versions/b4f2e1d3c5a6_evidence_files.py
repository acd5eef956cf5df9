"""evidence files: their facts, and the contract term naming records that need them

Revision ID: b4f2e1d3c5a6
Revises: 4d1d4b379591
Create Date: 2026-12-02 02:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b4f2e1d3c5a6'
down_revision = '4d1d4b379591'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'evidence_file_fact',
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('record_type', sa.String(length=24), nullable=False),
        sa.Column('casework_id', sa.String(length=64), nullable=False),
        sa.Column('record_kind', sa.String(length=16), nullable=False),
        sa.Column('record_id', sa.String(length=64), nullable=False),
        sa.Column('community_id', sa.String(length=64), nullable=False),
        sa.Column('record_on', sa.Date(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('media_type', sa.String(length=32), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('captured_at', sa.DateTime(), nullable=True),
        sa.Column('hidden', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('event_id'))
    for column in ('record_id', 'community_id', 'record_on', 'digest'):
        op.create_index(f'ix_evidence_file_fact_{column}', 'evidence_file_fact', [column])
    with op.batch_alter_table('contract') as batch:
        batch.add_column(sa.Column('evidence_required', sa.JSON(), nullable=False,
                                   server_default='[]'))


def downgrade():
    with op.batch_alter_table('contract') as batch:
        batch.drop_column('evidence_required')
    for column in ('record_id', 'community_id', 'record_on', 'digest'):
        op.drop_index(f'ix_evidence_file_fact_{column}', table_name='evidence_file_fact')
    op.drop_table('evidence_file_fact')
