"""Evaluation's HTTP API: contracts with their indicator framework and versions, the measure
catalogue and default template, event counts (the scorecard comes with its issue)."""
from datetime import date

import sqlalchemy as sa
from flask_smorest import Blueprint

from shared import auth
from shared.errors import ApiError

from . import measures, milestones, scorecard
from .contracts import amend, award
from .framework import MEASURES, default_framework
from .models import ClosedScorecard, Contract, ContractVersion, EventTally, db
from .schemas import (ClosedScorecardOut, ContractAmend, ContractIn, ContractOut,
                      ContractVersionOut, CountsQuery, EventCounts, ScorecardOut,
                      ScorecardQuery, TemplateOut)

blp = Blueprint("evaluation", __name__, description="Contracts and outcomes")
READERS = ("buyer_auditor", "agency_admin", "social_worker", "ops_admin")


def _visible(query):
    """A buyer sees its contracts, an agency the contracts it serves, ops all of them."""
    claims = auth.require(*READERS)
    if claims.role == "buyer_auditor":
        return query.where(Contract.buyer_id == claims.buyer_id)
    if claims.role in ("agency_admin", "social_worker"):
        return query.where(Contract.agency_id == claims.agency_id)
    return query


def _contract(contract_id: str) -> Contract:
    contract = db.session.scalar(_visible(sa.select(Contract).where(Contract.id == contract_id)))
    if contract is None:
        raise ApiError(404, f"Contract {contract_id} not found", f"未找到合同 {contract_id}")
    return contract


def buyer_communities(buyer_id: str) -> set[str]:
    contracts = db.session.scalars(sa.select(Contract).where(Contract.buyer_id == buyer_id))
    return {community for contract in contracts for community in contract.community_ids}


@blp.get("/templates/default")
@blp.response(200, TemplateOut)
def default_template():
    """The default indicator framework (four empowerment dimensions) and every measure."""
    auth.require(*READERS)
    return {"framework": default_framework(),
            "measures": [{"key": k, "name_zh": zh, "name_en": en, "unit": unit,
                          "higher_is_better": higher}
                         for k, (zh, en, unit, higher) in MEASURES.items()]}


@blp.post("/contracts")
@blp.arguments(ContractIn)
@blp.response(201, ContractOut)
def create_contract(data):
    claims = auth.require("buyer_auditor")
    return award(data, claims.buyer_id, claims.sub)


@blp.get("/contracts")
@blp.response(200, ContractOut(many=True))
def list_contracts():
    return db.session.scalars(_visible(sa.select(Contract)).order_by(Contract.id)).all()


@blp.get("/contracts/<contract_id>")
@blp.response(200, ContractOut)
def get_contract(contract_id):
    return _contract(contract_id)


@blp.patch("/contracts/<contract_id>")
@blp.arguments(ContractAmend)
@blp.response(200, ContractOut)
def amend_contract(changes, contract_id):
    """Adjust weights, targets, milestones, communities, period or budget: a new version."""
    claims = auth.require("buyer_auditor")
    return amend(_contract(contract_id), changes, claims.sub)


@blp.get("/contracts/<contract_id>/versions")
@blp.response(200, ContractVersionOut(many=True))
def contract_versions(contract_id):
    contract = _contract(contract_id)
    return db.session.scalars(sa.select(ContractVersion).where(
        ContractVersion.contract_id == contract.id).order_by(ContractVersion.version)).all()


@blp.get("/contracts/<contract_id>/scorecard")
@blp.arguments(ScorecardQuery, location="query")
@blp.response(200, ScorecardOut)
def contract_scorecard(args, contract_id):
    """The contract's scorecard for a period (default: from its start to today or its end)
    and optionally one grid, with outputs against targets and payment recommendations."""
    contract = _contract(contract_id)
    start = args.get("date_from", contract.period_start)
    end = args.get("date_to", min(date.today(), contract.period_end))
    scope = measures.Scope(tuple(contract.community_ids), start, end, args.get("grid_id"))
    return {"contract_id": contract.id, "contract_version": contract.version,
            "scope": {"communities": list(scope.communities), "from": start.isoformat(),
                      "to": end.isoformat(), "grid_id": scope.grid_id},
            "targets": contract.targets, "ladder": measures.ladder(scope),
            **scorecard.contract_card(contract, scope)}


@blp.post("/contracts/<contract_id>/milestones/<milestone_id>/close")
@blp.response(201, ClosedScorecardOut)
def close_milestone(contract_id, milestone_id):
    """Close a milestone: keep its scorecard as it stands and publish it."""
    claims = auth.require("buyer_auditor")
    contract = _contract(contract_id)
    closed = milestones.close(contract, milestone_id, claims.sub)
    closed.post_close_changes = milestones.post_close_changes(contract, closed)
    return closed


@blp.get("/contracts/<contract_id>/milestones/<milestone_id>")
@blp.response(200, ClosedScorecardOut)
def closed_milestone(contract_id, milestone_id):
    """The scorecard a milestone was closed on, exactly, and what has changed since."""
    contract = _contract(contract_id)
    closed = db.session.get(ClosedScorecard, (contract.id, milestone_id))
    if closed is None:
        raise ApiError(404, f"Milestone {milestone_id} is not closed", "该付款节点尚未结算")
    closed.post_close_changes = milestones.post_close_changes(contract, closed)
    return closed


@blp.get("/event-counts")
@blp.arguments(CountsQuery, location="query")
@blp.response(200, EventCounts)
def event_counts(args):
    """How many events of each type evaluation has received (each counted once)."""
    claims = auth.require("buyer_auditor", "ops_admin")
    query = sa.select(EventTally.type, sa.func.sum(EventTally.count)).group_by(EventTally.type)
    if args.get("community_id"):
        query = query.where(EventTally.community_id == args["community_id"])
    if claims.role == "buyer_auditor":  # only the communities of the buyer's contracts
        query = query.where(EventTally.community_id.in_(buyer_communities(claims.buyer_id)))
    by_type = {t: int(n) for t, n in db.session.execute(query)}
    return {"total": sum(by_type.values()), "by_type": by_type}
