"""cases indexed by need: traceability looks up each need's first case

Revision ID: b6d2e9a4c1f7
Revises: a3e8f1c6d924
Create Date: 2026-12-04 19:30:00

"""
from alembic import op


revision = 'b6d2e9a4c1f7'
down_revision = 'a3e8f1c6d924'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_fact', schema=None) as batch_op:
        batch_op.create_index('ix_case_fact_need_id', ['need_id'], unique=False)


def downgrade():
    with op.batch_alter_table('case_fact', schema=None) as batch_op:
        batch_op.drop_index('ix_case_fact_need_id')
