"""The micro-fund's measures for a scope: the funds of the scope's communities whose results
came out in the period (they entered the results phase then). Results are computed again
here from the events (shared/allocation.py: each resident's first ballot, vote order, skip
what no longer fits), never taken from casework's word, so any order of delivery and any
copies give the same figures."""
from decimal import Decimal

import sqlalchemy as sa

from shared import allocation
from shared.db import read_once

from .measures import Scope, of_grid, ratio, representativeness, topic_cycles, within
from .models import FundBallotFact, FundFact, FundProjectFact, ResidentFact, db

RESIDENTS_OWN = ("resident", "resident_organization")  # a project residents proposed


def funds_in(scope: Scope) -> list[FundFact]:
    """The scope's funds, read once per card (four of its measures start from them)."""
    return read_once(db.session, ("funds in", scope), lambda: db.session.scalars(
        sa.select(FundFact).where(*within(scope, FundFact.community_id, FundFact.results_on))
        .order_by(FundFact.fund_id)).all())


def _ballots(fund_ids):
    fund_ids = tuple(fund_ids)
    if not fund_ids:  # no fund, no ballot: nothing to ask
        return []
    return read_once(db.session, ("ballots", fund_ids), lambda: db.session.execute(sa.select(
        FundBallotFact.fund_id, FundBallotFact.seq, FundBallotFact.resident_ref,
        FundBallotFact.project_ids, FundBallotFact.channel).where(
        FundBallotFact.fund_id.in_(fund_ids))).all())


def first_ballots(fund: FundFact, ballots) -> dict[str, tuple]:
    """resident -> (channel, projects) of the resident's first ballot for the fund."""
    mine = [b for b in ballots if b.fund_id == fund.fund_id]
    first: dict[str, tuple] = {}
    for b in sorted(mine, key=lambda b: b.seq):
        first.setdefault(b.resident_ref, (b.channel, tuple(b.project_ids)))
    return first


def results(fund: FundFact, ballots=None) -> list[allocation.Outcome]:
    ballots = _ballots([fund.fund_id]) if ballots is None else ballots
    votes = allocation.count_votes((b.seq, b.resident_ref, b.project_ids) for b in ballots
                                   if b.fund_id == fund.fund_id)
    return allocation.allocate(Decimal(fund.amount or 0), _candidates(fund.fund_id), votes)


def _candidates(fund_id: str) -> list[allocation.Candidate]:
    """A fund's feasible, priced projects: what its results allocate among."""
    return read_once(db.session, ("candidates", fund_id), lambda: [
        allocation.Candidate(p.project_id, p.number, Decimal(p.price)) for p in
        db.session.scalars(sa.select(FundProjectFact).where(
            FundProjectFact.fund_id == fund_id, FundProjectFact.status == "feasible",
            FundProjectFact.price.is_not(None)))])


def _funded(funds) -> list[FundProjectFact]:
    ballots = _ballots([f.fund_id for f in funds])
    ids = [o.project_id for f in funds for o in results(f, ballots) if o.funded]
    if not ids:
        return []
    return db.session.scalars(sa.select(FundProjectFact).where(
        FundProjectFact.project_id.in_(ids)).order_by(FundProjectFact.project_id)).all()


def _share(part: Decimal, whole: Decimal) -> dict:
    return {"value": round(float(part / whole), 4) if whole else None,
            "numerator": str(part), "denominator": str(whole)}


def vote_share(scope: Scope) -> dict:
    """Money allocated by the residents' vote / the funds' amounts."""
    funds = funds_in(scope)
    ballots = _ballots([f.fund_id for f in funds])
    allocated = sum((o.cost for f in funds for o in results(f, ballots) if o.funded),
                    Decimal(0))
    return {**_share(allocated, sum((Decimal(f.amount or 0) for f in funds), Decimal(0))),
            "funds": len(funds)}


def _registered_in(community_id: str, scope: Scope) -> int:
    query = sa.select(sa.func.count()).select_from(ResidentFact).where(
        ResidentFact.community_id == community_id,
        sa.or_(ResidentFact.registered_on.is_(None), ResidentFact.registered_on <= scope.end))
    if scope.grid_id:
        query = query.where(ResidentFact.grid_id == scope.grid_id)
    return db.session.scalar(query)


def turnout(scope: Scope) -> dict:
    """Unique voters / registered residents, fund by fund, pooled; online and paper apart
    (a resident's channel is that of the ballot that counted, the first)."""
    funds = funds_in(scope)
    ballots = _ballots([f.fund_id for f in funds])
    grid = _grid_refs(scope)
    channels = [channel for f in funds for ref, (channel, _) in first_ballots(f, ballots).items()
                if grid is None or ref in grid]
    registered = sum(_registered_in(f.community_id, scope) for f in funds)
    return {"turnout": ratio(len(channels), registered),
            "online": ratio(channels.count("online"), registered),
            "paper": ratio(channels.count("paper"), registered)}


def _grid_refs(scope: Scope):
    if not scope.grid_id:
        return None
    return set(db.session.scalars(sa.select(ResidentFact.ref).where(
        ResidentFact.grid_id == scope.grid_id)))


def resident_proposed_share(scope: Scope) -> dict:
    """Funded projects residents or their organisations proposed / funded projects."""
    funded = _funded(funds_in(scope))
    return ratio(sum(1 for p in funded if p.proposer_kind in RESIDENTS_OWN), len(funded))


def delivery(scope: Scope) -> dict:
    """Funded projects carried out (their council decision done) / funded projects; cost
    accuracy: actual costs / reviewed prices of the funded projects with an actual cost (and
    against the proposers' estimates)."""
    funded = _funded(funds_in(scope))
    # a decision is carried out if its progress as last reported by the range's end, as
    # known by the scope's time, says done (the council's own rule, measures.topic_cycles)
    done = {cycle["decision_id"] for cycle in topic_cycles(scope) if cycle["status"] == "done"}
    costed = [p for p in funded if p.actual_cost is not None]
    actual = sum((Decimal(p.actual_cost) for p in costed), Decimal(0))
    return {"delivered": ratio(sum(1 for p in funded if p.decision_id in done), len(funded)),
            "cost_accuracy": _share(actual, sum((Decimal(p.price) for p in costed),
                                                Decimal(0))),
            "against_estimates": _share(actual, sum((Decimal(p.estimated_cost) for p in costed),
                                                    Decimal(0)))}


def voters_query(scope: Scope):
    """Unique residents who voted in the scope's funds (any ballot: each has one that
    counts)."""
    fund_ids = sa.select(FundFact.fund_id).where(
        *within(scope, FundFact.community_id, FundFact.results_on))
    return of_grid(scope, sa.select(FundBallotFact.resident_ref).where(
        FundBallotFact.fund_id.in_(fund_ids)).distinct(), FundBallotFact.resident_ref)


def voter_representativeness(scope: Scope) -> dict:
    """As the participants' representativeness, for the voters: per demographic, half the
    sum of the differences between their shares and the registered residents'."""
    return representativeness(scope, voters_query(scope))
