"""an evaluator signs in to the pages: a page user may name its one contract

Revision ID: d5f1b3c7e926
Revises: c2a7e5b9d814
Create Date: 2026-12-02 18:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd5f1b3c7e926'
down_revision = 'c2a7e5b9d814'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('web_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contract_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('web_user', schema=None) as batch_op:
        batch_op.drop_column('contract_id')
