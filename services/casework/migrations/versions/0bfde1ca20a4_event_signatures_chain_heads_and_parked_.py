"""event signatures, chain heads and parked messages

Revision ID: 0bfde1ca20a4
Revises: 811ee551f553
Create Date: 2026-12-01 22:22:35.443527

"""
from shared.migrations_events import back_to_unsigned, signatures_and_chain_heads


# revision identifiers, used by Alembic.
revision = '0bfde1ca20a4'
down_revision = '811ee551f553'
branch_labels = None
depends_on = None


def upgrade():
    signatures_and_chain_heads("/casework")


def downgrade():
    back_to_unsigned("/casework")
