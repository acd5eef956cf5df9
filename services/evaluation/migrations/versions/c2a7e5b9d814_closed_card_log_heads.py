"""a closed scorecard keeps the head of each source's log it was computed from

Revision ID: c2a7e5b9d814
Revises: b8d4f2a61c93
Create Date: 2026-12-02 18:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c2a7e5b9d814'
down_revision = 'b8d4f2a61c93'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('closed_scorecard', schema=None) as batch_op:
        batch_op.add_column(sa.Column('log_heads', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('closed_scorecard', schema=None) as batch_op:
        batch_op.drop_column('log_heads')
