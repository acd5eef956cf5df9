"""Who may see and do what at evaluation. A buyer sees its contracts, an agency the
contracts it serves, the evaluator the one contract it is commissioned for, ops all of
them; what hangs on a contract (waves, samples, milestones) is reached through it. Scope
lives in the queries: a contract outside it is not found."""
import sqlalchemy as sa

from shared.auth import Claims
from shared.errors import ApiError

from .models import Contract, SurveyWave, VerificationSample, db

READERS = ("buyer_auditor", "agency_admin", "social_worker", "ops_admin")
EVALUATOR = ("evaluator",)
COMMISSIONING = ("evaluator", "buyer_auditor")  # who runs a contract's surveys
SURVEY_READERS = ("evaluator", *READERS)


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


def buyer_communities(buyer_id: str) -> set[str]:
    contracts = db.session.scalars(sa.select(Contract).where(Contract.buyer_id == buyer_id))
    return {community for contract in contracts for community in contract.community_ids}
