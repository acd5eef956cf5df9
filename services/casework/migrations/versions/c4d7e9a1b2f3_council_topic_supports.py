"""council topic supports

Revision ID: c4d7e9a1b2f3
Revises: a3e1f0c2d4b5
Create Date: 2026-12-03 09:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c4d7e9a1b2f3'
down_revision = 'a3e1f0c2d4b5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('council_topic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supports', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('qualified_on', sa.Date(), nullable=True))
    op.create_table(
        'council_topic_support',
        sa.Column('topic_id', sa.String(length=36), nullable=False),
        sa.Column('resident_ref', sa.String(length=64), nullable=False),
        sa.Column('on', sa.Date(), nullable=False),
        sa.Column('event_id', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['topic_id'], ['council_topic.id'],
                                name=op.f('fk_council_topic_support_topic_id_council_topic')),
        sa.PrimaryKeyConstraint('topic_id', 'resident_ref',
                                name=op.f('pk_council_topic_support')))


def downgrade():
    op.drop_table('council_topic_support')
    with op.batch_alter_table('council_topic', schema=None) as batch_op:
        batch_op.drop_column('qualified_on')
        batch_op.drop_column('supports')
