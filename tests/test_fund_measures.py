"""The micro-fund's measures at evaluation, on the fund of tests/test_fund.py's story as
casework published it, worked out by hand; and the same figures from the same events
applied in another order, with copies."""
import random
from datetime import date

import pytest
import sqlalchemy as sa

from services.evaluation import fund_measures, measures
from services.evaluation.scorecard import compute
from services.evaluation.framework import default_framework
from shared.vocabulary import CO_DECIDER, LEADER
from tests.conftest import Backend
from tests.streams import FORGED, apply_events, forge
from tests.test_casework import RESIDENTS as R, World
from tests.test_fund import delivered_story

YEAR = measures.Scope(("c1",), date(2026, 1, 1), date(2026, 12, 31))


def older_men() -> list:
    """Two more residents of c1 who do not vote: men of 60-69."""
    return [forge("resident.registered", {
        "resident_ref": ref, "community_id": "c1", "grid_id": "c1-g1", "household_ref": None,
        "household_type": "nuclear", "age_band": "60-69", "gender": "male", "flags": [],
        "registered_on": "2026-01-05"}) for ref in ("r-c1-9", "r-c1-10")]


def story_events(backend) -> tuple[list, dict]:
    """Intake's log (residents, needs) and casework's, as published, for the story."""
    world = World(backend)
    _, p, _ = delivered_story(world)
    extra = older_men()
    intake = [e for (source, _), e in sorted(FORGED.items(), key=lambda kv: kv[0][1])
              if source == "/intake"]
    assert all(e in intake for e in extra)
    return intake + world.events(), p


def figures(app) -> dict:
    with app.app_context():
        return {"vote_share": fund_measures.vote_share(YEAR),
                "turnout": fund_measures.turnout(YEAR),
                "resident_proposed": fund_measures.resident_proposed_share(YEAR),
                "delivery": fund_measures.delivery(YEAR),
                "voters": fund_measures.voter_representativeness(YEAR),
                "rungs": measures.highest_rungs(YEAR),
                "acts": sorted(measures.db.session.execute(sa.select(
                    measures.Act.resident_ref, measures.Act.kind)).all()),
                "card": compute(default_framework(), YEAR)}


def test_the_fund_measures_on_the_story_worked_out_by_hand(backend):
    events, p = story_events(backend)
    evaluation = backend.app("evaluation")
    assert set(apply_events(evaluation, *events)) == {"applied"}
    f = figures(evaluation)
    # funded P1 5,000 + P3 3,000 + P6 1,500 of the 10,000: 0.95
    assert f["vote_share"] == {"value": 0.95, "numerator": "9500.00",
                               "denominator": "10000.00", "funds": 1}
    # 4 voters (r1, r2 online; r3, r4 on paper: their second ballots refused) of the 10
    # registered in c1 (the 8 of the story and the two older men)
    assert f["turnout"]["turnout"] == {"value": 0.4, "numerator": 4, "denominator": 10}
    assert f["turnout"]["online"]["numerator"] == f["turnout"]["paper"]["numerator"] == 2
    # P1 (a resident's) and P3 (an organisation's) of the 3 funded; P6 is the agency's
    assert f["resident_proposed"] == {"value": 0.6667, "numerator": 2, "denominator": 3}
    # P1 done of the 3; P1 5,200 + P3 2,800 against prices 5,000 + 3,000 (estimates
    # 5,200 + 3,000)
    assert f["delivery"]["delivered"] == {"value": 0.3333, "numerator": 1, "denominator": 3}
    assert f["delivery"]["cost_accuracy"]["value"] == 1.0
    assert f["delivery"]["against_estimates"]["value"] == round(8000 / 8200, 4)
    # voters are 4 women of 35-59; the registered 8 of them and 2 men of 60-69: each of
    # gender and age half of |1 - 0.8| + |0 - 0.2| = 0.2; household and grid the same: 0
    assert f["voters"]["gap"] == {"age_band": 0.2, "gender": 0.2, "household_type": 0.0,
                                  "grid_id": 0.0}
    # the ladder: supporting and voting co-decide, proposing a funded project contributes,
    # leading its delivery leads
    assert f["rungs"][R[7]] == CO_DECIDER  # r8 only supported
    assert f["rungs"][R[0]] == LEADER  # r1 led P1's delivery
    acts = f["acts"]
    assert (R[0], "proposed") in acts and (R[1], "proposed") not in acts  # P4 declined
    assert (R[2], "proposed") not in acts  # P5 short of supports
    assert acts.count((R[6], "supported")) == 6 and acts.count((R[0], "voted")) == 1
    card = {i["measure"]: i for d in f["card"]["dimensions"] for i in d["indicators"]}
    assert card["fund_vote_share"]["value"] == 0.95
    assert card["fund_voter_representativeness_gap"]["value"] == 0.1
    assert card["fund_turnout"]["value"] == 0.4


def test_another_order_with_copies_gives_the_same_figures(backend, tmp_path):
    events, _ = story_events(backend)
    in_order = backend.app("evaluation")
    apply_events(in_order, *events)
    shuffled = events + random.Random(7).sample(events, 25)
    random.Random(23).shuffle(shuffled)
    other = Backend(backend.kind, tmp_path, vhost=backend.vhost)
    try:
        replayed = other.app("evaluation")
        outcomes = apply_events(replayed, *shuffled)
        assert outcomes.count("duplicate") >= 1
        assert figures(replayed) == figures(in_order)
    finally:
        other.drop()


@pytest.mark.parametrize("short_type, change", [
    ("fund.ballot_cast", {"channel": "postal"}),
    ("fund.ballot_cast", {"project_ids": []}),
    ("fund.set", {"amount": "-1.00"}),
    ("fund.project_reviewed", {"status": "maybe"}),
])
def test_a_malformed_fund_event_is_refused(short_type, change):
    from shared.events import SchemaViolation, check_data
    good = {
        "fund.ballot_cast": {"ballot_id": "b1", "fund_id": "f1", "community_id": "c1",
                             "resident_ref": "r1", "channel": "paper", "project_ids": ["p1"],
                             "cast_on": "2026-03-29"},
        "fund.set": {"fund_id": "f1", "agency_id": "a1", "community_id": "c1", "year": 2026,
                     "amount": "10.00", "proposers": ["resident"], "min_supports": 0,
                     "voting_rule": "approval", "notice_days": 7,
                     "phases": {"proposing": "2026-03-01"}},
        "fund.project_reviewed": {"project_id": "p1", "fund_id": "f1", "community_id": "c1",
                                  "status": "feasible", "price": "10.00",
                                  "on": "2026-03-16"},
    }[short_type]
    check_data(short_type, good)
    with pytest.raises(SchemaViolation):
        check_data(short_type, {**good, **change})
