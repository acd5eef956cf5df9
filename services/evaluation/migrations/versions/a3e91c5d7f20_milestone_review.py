"""the expert review of each milestone: scoring sheets, items, decisions and their notes

Revision ID: a3e91c5d7f20
Revises: c7d2a9e41b30
Create Date: 2026-12-02 17:30:00

"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = 'a3e91c5d7f20'
down_revision = 'c7d2a9e41b30'
branch_labels = None
depends_on = None


def upgrade():
    when = shared.db.UtcDateTime(timezone=True)
    op.create_table(
        'evaluation_sheet',
        sa.Column('contract_id', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('items', sa.JSON(), nullable=False),
        sa.Column('bands', sa.JSON(), nullable=False),
        sa.Column('defined_by', sa.String(length=120), nullable=False),
        sa.Column('defined_at', when, nullable=False),
        sa.PrimaryKeyConstraint('contract_id', 'version'))
    op.create_table(
        'review_item',
        sa.Column('contract_id', sa.String(length=64), nullable=False),
        sa.Column('milestone_id', sa.String(length=64), nullable=False),
        sa.Column('item_key', sa.String(length=64), nullable=False),
        sa.Column('sheet_version', sa.Integer(), nullable=False),
        sa.Column('self_points', sa.Numeric(precision=7, scale=2), nullable=True),
        sa.Column('self_note', sa.String(length=64), nullable=True),
        sa.Column('self_at', when, nullable=True),
        sa.Column('points', sa.Numeric(precision=7, scale=2), nullable=True),
        sa.Column('note', sa.String(length=64), nullable=True),
        sa.Column('record_ids', sa.JSON(), nullable=False),
        sa.Column('file_digests', sa.JSON(), nullable=False),
        sa.Column('scored_at', when, nullable=True),
        sa.Column('answer_note', sa.String(length=64), nullable=True),
        sa.Column('answered_at', when, nullable=True),
        sa.PrimaryKeyConstraint('contract_id', 'milestone_id', 'item_key'))
    op.create_table(
        'review_decision',
        sa.Column('contract_id', sa.String(length=64), nullable=False),
        sa.Column('milestone_id', sa.String(length=64), nullable=False),
        sa.Column('sheet_version', sa.Integer(), nullable=False),
        sa.Column('total', sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column('grade', sa.String(length=32), nullable=False),
        sa.Column('recommended', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('reason_note', sa.String(length=64), nullable=True),
        sa.Column('decided_at', when, nullable=False),
        sa.Column('holds', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('contract_id', 'milestone_id'))
    op.create_table(
        'review_note',
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('written_by', sa.String(length=120), nullable=False),
        sa.Column('written_at', when, nullable=False),
        sa.PrimaryKeyConstraint('digest'))


def downgrade():
    for table in ('review_note', 'review_decision', 'review_item', 'evaluation_sheet'):
        op.drop_table(table)
