"""Who may see and do what at evaluation. A buyer sees its contracts, an agency the
contracts it serves, the evaluator the one contract it is commissioned for, ops all of
them; what hangs on a contract (waves, samples, milestones) is reached through it. Scope
lives in the queries: a contract outside it is not found.

Jurisdiction is data (intake keeps it, its events bring it here): a buyer awards and amends
contracts only within the communities it governs and only for agencies that exist and are
active; a contract's figures and evidence are read within its period."""
from datetime import date

import sqlalchemy as sa

from shared.auth import Claims
from shared.errors import ApiError
from shared.i18n import bilingual, bilingual_pattern

from .models import (ContractableAgency, Contract, Jurisdiction, SurveyWave, VerificationSample,
                     db)

NO_AGENCY = bilingual("No such active agency (ops register agencies at intake)",
                      "没有该在册社工机构（由运维在受理服务登记）")
bilingual_pattern(r"^Before the contract period, which starts on (.*)$",
                  r"早于合同期，合同期始于 \1")
bilingual_pattern(r"^After the contract period, which ends on (.*)$",
                  r"晚于合同期，合同期止于 \1")

# the contract's evaluator reads what it evaluates: the contract, its figures and evidence
READERS = ("buyer_auditor", "agency_admin", "social_worker", "evaluator", "ops_admin")
EVALUATOR = ("evaluator",)
COMMISSIONING = ("evaluator", "buyer_auditor")  # who runs a contract's surveys
SURVEY_READERS = ("evaluator", *READERS)
REVIEW_READERS = SURVEY_READERS  # a milestone's review: the contract's readers and evaluator


def visible(claims: Claims, query):
    """Limit a query of contracts to those the caller may see."""
    if claims.role == "buyer_auditor":
        return query.where(Contract.buyer_id == claims.buyer_id)
    if claims.role in ("agency_admin", "social_worker"):
        return query.where(Contract.agency_id == claims.agency_id)
    if claims.role == "evaluator":
        return query.where(Contract.id == claims.contract_id)
    return query


def contract(claims: Claims, contract_id: str) -> Contract:
    found = db.session.scalar(visible(claims, sa.select(Contract).where(
        Contract.id == contract_id)))
    if found is None:
        raise ApiError(404, f"Contract {contract_id} not found", f"未找到合同 {contract_id}")
    return found


def sample(of: Contract, sample_id: str) -> VerificationSample:
    found = db.session.get(VerificationSample, sample_id)
    if found is None or found.contract_id != of.id:
        raise ApiError(404, f"Sample {sample_id} not found", f"未找到抽查样本 {sample_id}")
    return found


def wave(of: Contract, wave_id: str) -> SurveyWave:
    found = db.session.get(SurveyWave, wave_id)
    if found is None or found.contract_id != of.id:
        raise ApiError(404, f"Wave {wave_id} not found", f"未找到调查 {wave_id}")
    return found


def require_jurisdiction(claims: Claims, community_ids) -> None:
    """A buyer contracts only in communities it governs; 403 naming those it does not."""
    governed = db.session.get(Jurisdiction, claims.buyer_id)
    outside = [c for c in community_ids if governed is None or c not in governed.community_ids]
    if outside:
        raise ApiError(403, f"Outside the jurisdiction of buyer {claims.buyer_id}: "
                       f"{', '.join(outside)}", f"不在本购买方管辖范围内的社区：{'、'.join(outside)}",
                       code="out_of_scope")


def require_agency(agency_id: str) -> None:
    """Contracts go only to agencies that exist and are active."""
    agency = db.session.get(ContractableAgency, agency_id)
    if agency is None or not agency.active:
        raise ApiError(422, fields={"agency_id": [NO_AGENCY]})


def within_period(contract, start: date, end: date) -> tuple[date, date]:
    """A range of days within the contract's period (its figures and evidence are read
    there, never before or after it); 422 naming the day that falls outside."""
    problems = {}
    if start < contract.period_start:
        problems["from"] = [f"Before the contract period, which starts on {contract.period_start}"]
    if end > contract.period_end:
        problems["to"] = [f"After the contract period, which ends on {contract.period_end}"]
    if problems:
        raise ApiError(422, fields=problems)
    return start, end


def buyer_communities(buyer_id: str) -> set[str]:
    contracts = db.session.scalars(sa.select(Contract).where(Contract.buyer_id == buyer_id))
    return {community for contract in contracts for community in contract.community_ids}
