"""Awarding contracts: the record and contract.awarded commit together."""
from shared import outbox
from shared.errors import ApiError

from .models import Contract, db, events


def award(data: dict, buyer_id: str) -> Contract:
    if db.session.get(Contract, data["id"]) is not None:
        raise ApiError(409, f"Contract {data['id']} exists", f"合同 {data['id']} 已存在")
    contract = Contract(**data, buyer_id=buyer_id, version=1)
    db.session.add(contract)
    outbox.append(events, "contract.awarded", f"contract/{contract.id}", {
        "contract_id": contract.id, "buyer_id": buyer_id, "agency_id": contract.agency_id,
        "community_ids": list(contract.community_ids),
        "period_start": contract.period_start.isoformat(),
        "period_end": contract.period_end.isoformat(), "budget": str(contract.budget)})
    db.session.commit()
    return contract
