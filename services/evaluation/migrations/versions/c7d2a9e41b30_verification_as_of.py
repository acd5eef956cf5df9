"""a follow-up sample keeps the knowledge time its population was drawn as of

Revision ID: c7d2a9e41b30
Revises: e8c3b5a2723d
Create Date: 2026-12-02 08:40:00

"""
from alembic import op
import sqlalchemy as sa

import shared.db


# revision identifiers, used by Alembic.
revision = 'c7d2a9e41b30'
down_revision = 'e8c3b5a2723d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('verification_sample', schema=None) as batch_op:
        batch_op.add_column(sa.Column('as_of', shared.db.UtcDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('verification_sample', schema=None) as batch_op:
        batch_op.drop_column('as_of')
