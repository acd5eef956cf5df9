"""Contracts as records: the buyer awards and amends them; every version of the terms is
kept whole, and each publishes contract.awarded or contract.amended (casework learns from
them who serves whom, and when)."""
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from shared import outbox
from shared.errors import ApiError
from shared.fields import MAX_SPAN_DAYS, SPAN_TOO_LONG

from .exports import jsonable
from .framework import default_framework, framework_problems, milestone_problems
from .models import Contract, ContractVersion, db, event_store

TERMS = ("agency_id", "community_ids", "period_start", "period_end", "budget", "milestones",
         "targets", "framework", "evidence_required", "late_entry_days")
LATE_ENTRY_DAYS = 15  # the default allowance: a milestone counts what was recorded by its
# due date plus this many days


def terms(contract: Contract) -> dict:
    return {key: jsonable(getattr(contract, key)) for key in TERMS}


def as_agreed(contract: Contract, version: int):
    """The contract as its terms stood in `version`: what a milestone closed then was scored
    on, so later figures are compared under the same weights, targets and communities."""
    if version == contract.version:
        return contract
    agreed = db.session.get(ContractVersion, (contract.id, version)).terms
    return SimpleNamespace(**{
        "late_entry_days": LATE_ENTRY_DAYS, **agreed, "id": contract.id,
        "buyer_id": contract.buyer_id, "version": version,
        "period_start": date.fromisoformat(agreed["period_start"]),
        "period_end": date.fromisoformat(agreed["period_end"]),
        "budget": Decimal(agreed["budget"])})


def _check(contract: Contract) -> None:
    problems = {**framework_problems(contract.framework),
                **milestone_problems(contract.milestones, contract.period_start,
                                     contract.period_end)}
    if contract.period_end < contract.period_start:
        problems["period_end"] = ["period_end must not be before period_start"]
    if (contract.period_end - contract.period_start).days > MAX_SPAN_DAYS:
        problems["period_end"] = [SPAN_TOO_LONG]
    if problems:
        raise ApiError(422, fields=problems)


def _event_data(contract: Contract) -> dict:
    return {"contract_id": contract.id, "buyer_id": contract.buyer_id,
            "agency_id": contract.agency_id, "community_ids": list(contract.community_ids),
            "period_start": contract.period_start.isoformat(),
            "period_end": contract.period_end.isoformat(), "budget": str(contract.budget)}


def _record_version(contract: Contract, reason: str, by: str) -> None:
    db.session.add(ContractVersion(contract_id=contract.id, version=contract.version,
                                   terms=terms(contract), reason=reason, changed_by=by))


def award(data: dict, buyer_id: str, by: str) -> Contract:
    if db.session.get(Contract, data["id"]) is not None:
        raise ApiError(409, f"Contract {data['id']} exists", f"合同 {data['id']} 已存在")
    data = {**data, "framework": data.get("framework") or default_framework(),
            "milestones": jsonable(data["milestones"]), "targets": data["targets"],
            "evidence_required": sorted(set(data.get("evidence_required") or []))}
    contract = Contract(**{"late_entry_days": LATE_ENTRY_DAYS, **data}, buyer_id=buyer_id,
                        version=1)
    _check(contract)
    db.session.add(contract)
    db.session.flush()
    _record_version(contract, "awarded", by)
    outbox.append(event_store, "contract.awarded", f"contract/{contract.id}",
                  _event_data(contract))
    return contract


def amend(contract: Contract, changes: dict, by: str) -> Contract:
    """A new version of the terms; the old one stays as it was."""
    reason = changes.pop("reason")
    for key, value in changes.items():
        setattr(contract, key, jsonable(value) if key == "milestones" else value)
    _check(contract)
    contract.version += 1
    _record_version(contract, reason, by)
    outbox.append(event_store, "contract.amended", f"contract/{contract.id}",
                  {**_event_data(contract), "version": contract.version})
    return contract
