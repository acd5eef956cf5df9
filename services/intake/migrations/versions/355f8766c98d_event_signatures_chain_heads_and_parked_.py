"""event signatures, chain heads and parked messages

Revision ID: 355f8766c98d
Revises: 665cbf04e212
Create Date: 2026-12-01 22:22:32.887534

"""
from shared.migrations_events import back_to_unsigned, signatures_and_chain_heads


# revision identifiers, used by Alembic.
revision = '355f8766c98d'
down_revision = '665cbf04e212'
branch_labels = None
depends_on = None


def upgrade():
    signatures_and_chain_heads("/intake")


def downgrade():
    back_to_unsigned("/intake")
