"""evidence files

Revision ID: a3e1f0c2d4b5
Revises: da95f428220e
Create Date: 2026-12-02 02:20:00

"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = 'a3e1f0c2d4b5'
down_revision = 'da95f428220e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'evidence_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('record_type', sa.String(length=24), nullable=False),
        sa.Column('record_id', sa.String(length=36), nullable=False),
        sa.Column('agency_id', sa.String(length=64), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('media_type', sa.String(length=32), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('captured_at', sa.DateTime(), nullable=True),
        sa.Column('thumbnail_digest', sa.String(length=64), nullable=True),
        sa.Column('uploaded_by', sa.String(length=120), nullable=False),
        sa.Column('uploaded_at', shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column('hidden_reason', sa.String(length=500), nullable=True),
        sa.Column('hidden_by', sa.String(length=120), nullable=True),
        sa.Column('hidden_at', shared.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column('event_id', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('record_type', 'record_id', 'digest'))
    op.create_index('ix_evidence_file_record', 'evidence_file', ['record_type', 'record_id'])
    op.create_index('ix_evidence_file_digest', 'evidence_file', ['digest'])


def downgrade():
    op.drop_index('ix_evidence_file_digest', table_name='evidence_file')
    op.drop_index('ix_evidence_file_record', table_name='evidence_file')
    op.drop_table('evidence_file')
