"""a need's council topic

Revision ID: 932d69bd3785
Revises: fb617c5999c0
Create Date: 2026-12-02 17:31:10.122337

"""
from alembic import op
import sqlalchemy as sa

import shared.db  # noqa: F401  (column types of the platform)


# revision identifiers, used by Alembic.
revision = '932d69bd3785'
down_revision = 'fb617c5999c0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('need', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('need', schema=None) as batch_op:
        batch_op.drop_column('topic_id')
