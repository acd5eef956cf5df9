"""the spending ledger: budget lines, expenses and their receipt files

Revision ID: b8d4f2a61c93
Revises: a3e91c5d7f20
Create Date: 2026-12-02 18:00:00

"""
from alembic import op
import sqlalchemy as sa

import shared.db


revision = 'b8d4f2a61c93'
down_revision = 'a3e91c5d7f20'
branch_labels = None
depends_on = None


def upgrade():
    when = shared.db.UtcDateTime(timezone=True)
    op.create_table(
        'ledger_budget',
        sa.Column('contract_id', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('lines', sa.JSON(), nullable=False),
        sa.Column('set_by', sa.String(length=120), nullable=False),
        sa.Column('set_at', when, nullable=False),
        sa.PrimaryKeyConstraint('contract_id', 'version'))
    op.create_table(
        'ledger_expense',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('contract_id', sa.String(length=64), nullable=False),
        sa.Column('spent_on', sa.Date(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('line', sa.String(length=32), nullable=False),
        sa.Column('payee_kind', sa.String(length=16), nullable=False),
        sa.Column('receipts', sa.JSON(), nullable=False),
        sa.Column('note', sa.String(length=64), nullable=False),
        sa.Column('recorded_by', sa.String(length=120), nullable=False),
        sa.Column('recorded_at', when, nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_ledger_expense_contract_id', 'ledger_expense', ['contract_id'])
    op.create_table(
        'ledger_receipt',
        sa.Column('contract_id', sa.String(length=64), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('media_type', sa.String(length=32), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('thumbnail_digest', sa.String(length=64), nullable=True),
        sa.Column('uploaded_by', sa.String(length=120), nullable=False),
        sa.Column('uploaded_at', when, nullable=False),
        sa.PrimaryKeyConstraint('contract_id', 'digest'))


def downgrade():
    op.drop_table('ledger_receipt')
    op.drop_index('ix_ledger_expense_contract_id', table_name='ledger_expense')
    op.drop_table('ledger_expense')
    op.drop_table('ledger_budget')
