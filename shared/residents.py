"""A resident as intake's events describe them, the way a consumer keeps them: a pseudonymous
reference and coarse demographics, never personal data. Both casework and evaluation keep
such a row; the events may arrive in any order, and the newest by intake's sequence wins."""
import sqlalchemy as sa

DEMOGRAPHICS = ("community_id", "grid_id", "age_band", "gender", "household_type", "flags")


class ResidentDemographics:
    """The columns of a consumer's resident row (a declarative mixin)."""

    ref = sa.Column(sa.String(64), primary_key=True)
    community_id = sa.Column(sa.String(64), nullable=False, index=True)
    grid_id = sa.Column(sa.String(64), nullable=False)
    age_band = sa.Column(sa.String(8), nullable=False)
    gender = sa.Column(sa.String(8), nullable=False)
    household_type = sa.Column(sa.String(16), nullable=False)
    flags = sa.Column(sa.JSON, nullable=False)
    source_seq = sa.Column(sa.BigInteger, nullable=False)  # intake's sequence of the version


def take_demographics(row: ResidentDemographics, event) -> bool:
    """Copy a resident.registered or resident.updated onto the row, unless the row already
    holds a later version; returns whether it did."""
    if row.source_seq is not None and row.source_seq > event.sequence:
        return False
    for key in DEMOGRAPHICS:
        setattr(row, key, event.data[key])
    row.source_seq = event.sequence
    return True
