"""event signatures, chain heads and parked messages

Revision ID: 17dbdf5807d9
Revises: 7c5699296a7c
Create Date: 2026-12-01 22:22:38.261105

"""
from shared.migrations_events import back_to_unsigned, signatures_and_chain_heads


# revision identifiers, used by Alembic.
revision = '17dbdf5807d9'
down_revision = '7c5699296a7c'
branch_labels = None
depends_on = None


def upgrade():
    signatures_and_chain_heads("/evaluation")


def downgrade():
    back_to_unsigned("/evaluation")
