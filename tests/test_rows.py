"""Rows a consumer writes in bulk (shared/db.py: `Row`, `write_rows`, `insert_rows`): what
they write is what the ORM would have written, a query sees them as it sees the ORM's
pending rows, and a rollback forgets them."""
from datetime import date, datetime, time, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from shared.db import add_row, find, flush, get_or_add, prefetch

WHEN = datetime(2026, 3, 1, 8, 30, tzinfo=timezone.utc)


@pytest.fixture
def evaluation(backend):
    app = backend.app("evaluation")
    with app.app_context():
        yield app


def stored(table) -> list[dict]:
    from services.evaluation.models import db
    return [dict(r) for r in db.session.execute(table.select()).mappings()]


def test_rows_are_written_as_the_orm_writes_them(evaluation):
    """Every kind of column (dates, times, aware timestamps, JSON, decimals, defaults, a
    generated key) reads back the same whether the ORM or the bulk path wrote it."""
    from services.evaluation.models import Act, FundProjectFact, Initiative, db
    values = dict(kind="session", community_id="c1", on=date(2026, 3, 1), resident_led=True,
                  hours=1.5, starts=time(9), ends=time(10, 30), worker_ids=["w1", "w2"],
                  recorded_at=WHEN)
    db.session.add(Initiative(record_id="orm", **values))
    db.session.add(FundProjectFact(project_id="orm", fund_id="f", community_id="c1",
                                   estimated_cost=Decimal("12.50")))
    db.session.add(Act(event_id="e-orm", resident_ref="r1", community_id="c1",
                       on=date(2026, 3, 1), kind="attended", rung=2, recorded_at=WHEN))
    db.session.commit()
    row = get_or_add(db.session, Initiative, record_id="bulk", version=0)
    for key, value in values.items():
        setattr(row, key, value)
    get_or_add(db.session, FundProjectFact, project_id="bulk").estimated_cost = \
        Decimal("12.50")
    fund = find(db.session, FundProjectFact, "bulk")
    fund.fund_id, fund.community_id = "f", "c1"
    add_row(db.session, Act, event_id="e-bulk", resident_ref="r1", community_id="c1",
            on=date(2026, 3, 1), kind="attended", rung=2, recorded_at=WHEN)
    db.session.commit()

    def by_key(table, key):
        return {r.pop(key): r for r in stored(table)}
    initiatives = by_key(Initiative.__table__, "record_id")
    assert initiatives["bulk"] == initiatives["orm"]
    assert initiatives["bulk"]["version"] == 0 and initiatives["bulk"]["attendees"] == 0
    funds = by_key(FundProjectFact.__table__, "project_id")
    assert funds["bulk"] == funds["orm"]
    acts = sorted(stored(Act.__table__), key=lambda r: r["id"])
    assert [a["event_id"] for a in acts] == ["e-orm", "e-bulk"]
    assert acts[1]["id"] > acts[0]["id"]
    assert {k: v for k, v in acts[1].items() if k not in ("id", "event_id")} == \
        {k: v for k, v in acts[0].items() if k not in ("id", "event_id")}


def test_a_query_sees_the_rows_as_it_sees_the_orms_pending_ones(evaluation):
    from services.evaluation.models import EventTally, NeedFact, db
    need = get_or_add(db.session, NeedFact, need_id="n1")
    need.community_id, need.channel = "c1", "walk_in"
    need.reported_on, need.recorded_at = date(2026, 3, 1), WHEN
    count = sa.select(sa.func.count()).select_from(NeedFact)
    with db.session.no_autoflush:  # as the handlers run: nothing written yet
        assert db.session.scalar(count) == 0
    assert db.session.scalar(count) == 1  # autoflush on: written before the query
    get_or_add(db.session, EventTally, type="need.reported", community_id="c1").count = 1
    with db.session.no_autoflush:
        flush(db.session)  # what a handler calls before it queries
        assert db.session.scalar(sa.select(EventTally.count)) == 1
    db.session.rollback()
    assert db.session.scalar(count) == 0
    assert find(db.session, NeedFact, "n1") is None


def test_a_loaded_row_writes_only_what_changed(evaluation):
    """Two rows loaded in one query; a change to one is an UPDATE of that column alone, so
    a column changed by a statement meanwhile (a correction's retraction) stays."""
    from services.evaluation.models import EventTally, Initiative, db
    for record_id in ("s1", "s2"):
        db.session.add(Initiative(record_id=record_id, kind="session", community_id="c1",
                                  on=date(2026, 3, 1), resident_led=False, recorded_at=WHEN))
    db.session.add(EventTally(type="need.reported", community_id="c1", count=4))
    db.session.commit()
    prefetch(db.session, Initiative, [("s1", 0), ("s2", 0), ("absent", 0)])
    prefetch(db.session, EventTally, [("need.reported", "c1")])
    with db.session.no_autoflush:
        assert find(db.session, Initiative, "absent", 0) is None
        s1 = find(db.session, Initiative, "s1", 0)
        db.session.execute(sa.update(Initiative).where(Initiative.record_id == "s1").values(
            retracted_at=WHEN))
        s1.hours = 2.0
        tally = get_or_add(db.session, EventTally, type="need.reported", community_id="c1")
        tally.count += 1
    db.session.commit()
    rows = {r["record_id"]: r for r in stored(Initiative.__table__)}
    assert rows["s1"]["hours"] == 2.0 and rows["s1"]["retracted_at"] is not None
    assert rows["s2"]["hours"] == 0 and rows["s2"]["retracted_at"] is None
    assert db.session.scalar(sa.select(EventTally.count)) == 5



def _plans(app, plus: int):
    """PostgreSQL's count of generic and custom plans of a statement run eleven times."""
    db = app.extensions["socialwork"].spec.db
    with app.app_context():
        for day in range(1, 12):
            db.session.execute(sa.text(f"SELECT :day + {plus}"), {"day": day}).scalar_one()
        plans = db.session.execute(sa.text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE :statement"), {"statement": f"SELECT $1 + {plus}%"}).one()
        db.session.rollback()
    return plans


@pytest.mark.parametrize("service", ["intake", "casework", "evaluation"])
def test_a_statement_run_again_and_again_is_planned_for_its_values_each_time(real, service):
    """psycopg prepares a statement run five times; PostgreSQL would then plan it once for
    any values. A generic plan for `community_id IN (...) AND day BETWEEN ...` guesses the
    range small and walks the date index over every community: a card's queries took 40 ms
    in place of 1, growing with the whole table."""
    plans = _plans(real.app(service), 1)
    assert plans.generic_plans == 0 and plans.custom_plans >= 5


def test_a_consumer_plans_once_what_it_runs_over_and_over(real):
    from shared.db import plan_generically
    app = real.app("evaluation")
    with app.app_context():
        plan_generically(app.extensions["socialwork"].spec.db.engine)
    assert _plans(app, 2).generic_plans > 0
