"""a resident's acts indexed by resident and day: measures match windows after a day

Revision ID: a3e8f1c6d924
Revises: d5f1b3c7e926
Create Date: 2026-12-03 18:55:00

"""
from alembic import op


revision = 'a3e8f1c6d924'
down_revision = 'd5f1b3c7e926'
branch_labels = None
depends_on = None


def upgrade():
    # the index by resident alone is the leading part of this one: replaced, not added to
    with op.batch_alter_table('act', schema=None) as batch_op:
        batch_op.create_index('ix_act_resident_on', ['resident_ref', 'on'], unique=False)
        batch_op.drop_index('ix_act_resident_ref')


def downgrade():
    with op.batch_alter_table('act', schema=None) as batch_op:
        batch_op.create_index('ix_act_resident_ref', ['resident_ref'], unique=False)
        batch_op.drop_index('ix_act_resident_on')
