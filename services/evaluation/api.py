"""Evaluation's HTTP API: contracts and event counts (the scorecard comes with its issue)."""
import sqlalchemy as sa
from flask_smorest import Blueprint

from shared import auth
from shared.errors import ApiError

from .contracts import award
from .models import Contract, EventTally, db
from .schemas import ContractIn, ContractOut, CountsQuery, EventCounts

blp = Blueprint("evaluation", __name__, description="Contracts and outcomes")


def buyer_communities(buyer_id: str) -> set[str]:
    contracts = db.session.scalars(sa.select(Contract).where(Contract.buyer_id == buyer_id))
    return {community for contract in contracts for community in contract.community_ids}


@blp.post("/contracts")
@blp.arguments(ContractIn)
@blp.response(201, ContractOut)
def create_contract(data):
    claims = auth.require("buyer_auditor")
    return award(data, claims.buyer_id)


@blp.get("/contracts/<contract_id>")
@blp.response(200, ContractOut)
def get_contract(contract_id):
    claims = auth.require("buyer_auditor", "ops_admin")
    query = sa.select(Contract).where(Contract.id == contract_id)
    if claims.role == "buyer_auditor":
        query = query.where(Contract.buyer_id == claims.buyer_id)
    contract = db.session.scalar(query)
    if contract is None:
        raise ApiError(404, f"Contract {contract_id} not found", f"未找到合同 {contract_id}")
    return contract


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
