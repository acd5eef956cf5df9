"""Evaluation's HTTP API: contracts and event counts (the scorecard comes with its issue)."""
import sqlalchemy as sa
from flask_smorest import Blueprint

from shared import auth
from shared.errors import ApiError

from .contracts import award
from .models import Contract, db, events
from .schemas import ContractIn, ContractOut, EventCounts

blp = Blueprint("evaluation", __name__, description="Contracts and outcomes")


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
@blp.response(200, EventCounts)
def event_counts():
    """How many events of each type evaluation has received (each counted once)."""
    auth.require("buyer_auditor", "ops_admin")
    Inbox = events.Inbox
    rows = db.session.execute(sa.select(Inbox.type, sa.func.count()).group_by(Inbox.type))
    by_type = {t: n for t, n in rows}
    return {"total": sum(by_type.values()), "by_type": by_type}
