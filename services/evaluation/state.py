"""The state of what evaluation's figures are computed from, as one comparable value: what
a remembered figure (a card, the anomaly flags) is keyed by, so none is ever stale."""
import sqlalchemy as sa

from .models import (Act, EventTally, LedgerBudget, LedgerExpense, SurveyResponse, SurveyWave,
                     VerificationItem, db)


def projections_state() -> tuple:
    """Which database, and in it: events applied (and the newest act), follow-up results
    recorded, survey waves and responses, budget versions and expenses (the ledger prices
    outcomes). Each only grows."""
    count = sa.func.count
    return (db.engine.url.render_as_string(), *db.session.execute(sa.select(
        sa.select(sa.func.coalesce(sa.func.sum(EventTally.count), 0)).scalar_subquery(),
        sa.select(sa.func.max(Act.id)).scalar_subquery(),
        sa.select(count(VerificationItem.result)).scalar_subquery(),
        sa.select(count()).select_from(SurveyWave).scalar_subquery(),
        sa.select(count(SurveyWave.closed_at)).scalar_subquery(),
        sa.select(count()).select_from(SurveyResponse).scalar_subquery(),
        sa.select(count()).select_from(LedgerBudget).scalar_subquery(),
        sa.select(count()).select_from(LedgerExpense).scalar_subquery())).one())
