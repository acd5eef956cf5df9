"""Evaluation's HTTP API: contracts with their indicator framework and versions, the measure
catalogue and default template, the scorecard and its milestones, trends, evidence behind
every figure, anomaly flags, follow-up verification, exports and event counts. Each view
checks the caller's role, fetches in its scope (access.py), and commits what it changed."""
from datetime import timedelta

import sqlalchemy as sa

from shared import clock
from shared import auth
from shared.api import Blueprint
from shared.errors import ApiError
from shared.localtime import end_of_day

from . import (access, anomalies, attachments, evidence, exports, measures, milestones,
               portfolio, scorecard, verification)
from .access import READERS
from .contracts import amend, award
from .framework import MEASURES, default_framework
from .models import (ClosedScorecard, Contract, ContractVersion, EventTally,
                     VerificationSample, db)
from .schemas import (AnomaliesOut, AnomaliesQuery, ClosedScorecardOut, ContractAmend,
                      ContractIn, ContractOut, ContractVersionOut, CountsQuery, EventCounts,
                      EvidenceEventOut, EvidenceExportQuery, EvidenceOut, EvidenceQuery,
                      ExportQuery, PortfolioOut, PortfolioQuery, ScorecardOut,
                      ScorecardQuery, TemplateOut, TrendsOut,
                      VerificationDrawIn, VerificationItemOut, VerificationResultIn,
                      VerificationSampleOut)

blp = Blueprint("evaluation", __name__, description="Contracts and outcomes")


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
    access.require_jurisdiction(claims, data["community_ids"])
    access.require_agency(data["agency_id"])
    contract = award(data, claims.buyer_id, claims.sub)
    db.session.commit()
    return contract


@blp.get("/contracts")
@blp.response(200, ContractOut(many=True))
def list_contracts():
    claims = auth.require(*READERS)
    return db.session.scalars(access.visible(claims, sa.select(Contract)).order_by(
        Contract.id)).all()


@blp.get("/contracts/<contract_id>")
@blp.response(200, ContractOut)
def get_contract(contract_id):
    return access.contract(auth.require(*READERS), contract_id)


@blp.patch("/contracts/<contract_id>")
@blp.arguments(ContractAmend)
@blp.response(200, ContractOut)
def amend_contract(changes, contract_id):
    """Adjust weights, targets, milestones, communities, period or budget: a new version."""
    claims = auth.require("buyer_auditor")
    contract = access.contract(claims, contract_id)
    access.require_jurisdiction(claims, changes.get("community_ids", contract.community_ids))
    if changes.get("agency_id", contract.agency_id) != contract.agency_id:
        access.require_agency(changes["agency_id"])
    contract = amend(contract, changes, claims.sub)
    db.session.commit()
    return contract


@blp.get("/contracts/<contract_id>/versions")
@blp.response(200, ContractVersionOut(many=True))
def contract_versions(contract_id):
    contract = access.contract(auth.require(*READERS), contract_id)
    return db.session.scalars(sa.select(ContractVersion).where(
        ContractVersion.contract_id == contract.id).order_by(ContractVersion.version)).all()


def scope_of(contract: Contract, args: dict) -> measures.Scope:
    """The period asked for, within the contract's (default: from the contract's start to
    today or its end)."""
    start, end = access.within_period(
        contract, args.get("date_from", contract.period_start),
        args.get("date_to", max(contract.period_start, min(clock.today(), contract.period_end))))
    as_of = args.get("as_of")
    if as_of is not None and as_of <= end_of_day(contract.period_start - timedelta(days=1)):
        raise ApiError(422, fields={"as_of": [
            f"Before the contract period, which starts on {contract.period_start}"]})
    return measures.Scope(tuple(contract.community_ids), start, end, args.get("grid_id"),
                          as_of)


def _scope_out(scope: measures.Scope) -> dict:
    return {"communities": list(scope.communities), "from": scope.start.isoformat(),
            "to": scope.end.isoformat(), "grid_id": scope.grid_id,
            "as_of": scope.as_of.isoformat() if scope.as_of else None}


def _card(contract: Contract, scope: measures.Scope) -> dict:
    return {"contract_id": contract.id, "contract_version": contract.version,
            "scope": _scope_out(scope), "targets": contract.targets,
            **scorecard.contract_card(contract, scope)}


@blp.get("/contracts/<contract_id>/scorecard")
@blp.arguments(ScorecardQuery, location="query")
@blp.response(200, ScorecardOut)
def contract_scorecard(args, contract_id):
    """The contract's scorecard for a period and optionally one grid, with outputs against
    targets and payment recommendations."""
    contract = access.contract(auth.require(*READERS), contract_id)
    return _card(contract, scope_of(contract, args))


@blp.get("/portfolio")
@blp.arguments(PortfolioQuery, location="query")
@blp.response(200, PortfolioOut)
def contract_portfolio(args):
    """Every contract the caller may see (a buyer: its own) with its total, dimensions and
    monthly trend over its period, as known at `as_of`; sorted and paged."""
    return portfolio.portfolio(auth.require(*READERS), args)


@blp.get("/contracts/<contract_id>/scorecard/export")
@blp.arguments(ExportQuery, location="query")
@blp.doc(responses={"200": {"description": "the scorecard as a CSV or Excel file"}})
def export_scorecard(args, contract_id):
    contract = access.contract(auth.require(*READERS), contract_id)
    scope = scope_of(contract, args)
    header, rows = exports.scorecard_table(_card(contract, scope))
    return exports.download(args["format"], f"scorecard-{contract.id}-{scope.end}",
                            exports.heading(contract, scope), header, rows)


@blp.get("/contracts/<contract_id>/trends")
@blp.arguments(ScorecardQuery, location="query")
@blp.response(200, TrendsOut)
def contract_trends(args, contract_id):
    """Month by month: the participation ladder, dependency ratio and breadth; and cohort
    retention (residents by the month they first took part, active again later)."""
    contract = access.contract(auth.require(*READERS), contract_id)
    scope = scope_of(contract, args)
    return {"contract_id": contract.id, "scope": _scope_out(scope),
            "months": measures.trend(scope), "cohorts": measures.cohort_retention(scope)}


@blp.get("/contracts/<contract_id>/evidence")
@blp.arguments(EvidenceQuery, location="query")
@blp.response(200, EvidenceOut)
def contract_evidence(args, contract_id):
    """The records behind a figure (an indicator's measure or an output), each with the ids
    of its events; page with limit and offset."""
    contract = access.contract(auth.require(*READERS), contract_id)
    scope = scope_of(contract, args)
    rows = evidence.records(args["measure"], scope, contract)
    page = rows[args["offset"]:args["offset"] + args["limit"]]
    return {"contract_id": contract.id, "measure": args["measure"], "scope": _scope_out(scope),
            "total": len(rows), "records": exports.jsonable(page)}


@blp.get("/contracts/<contract_id>/evidence/export")
@blp.arguments(EvidenceExportQuery, location="query")
@blp.doc(responses={"200": {"description": "the drill-down as a CSV or Excel file"}})
def export_evidence(args, contract_id):
    contract = access.contract(auth.require(*READERS), contract_id)
    scope = scope_of(contract, args)
    header, rows = exports.records_table(evidence.records(args["measure"], scope, contract))
    meta = [*exports.heading(contract, scope), ("指标 / measure", args["measure"])]
    return exports.download(args["format"], f"evidence-{contract.id}-{args['measure']}-"
                            f"{scope.end}", meta, header, rows)


@blp.get("/contracts/<contract_id>/events/<event_id>")
@blp.response(200, EvidenceEventOut)
def contract_event(contract_id, event_id):
    """One event behind a figure, as received, with a link to the record it reports."""
    return evidence.event_for(access.contract(auth.require(*READERS), contract_id), event_id)


@blp.get("/contracts/<contract_id>/anomalies")
@blp.arguments(AnomaliesQuery, location="query")
@blp.response(200, AnomaliesOut)
def contract_anomalies(args, contract_id):
    """Records an auditor should check: overlapping sign-ins, impossible worker hours,
    attendance beyond the registered, broken sources, late-entry bursts, the same file on two
    records, photos taken far from their record's day, records the contract says need
    evidence without any; a page of them
    (limit, offset), with the count of each check."""
    contract = access.contract(auth.require(*READERS), contract_id)
    scope = scope_of(contract, args)
    found = anomalies.flags(scope, tuple(contract.evidence_required or ()))
    offset, limit = args.get("offset", 0), args.get("limit", 200)
    return {"contract_id": contract.id, "scope": _scope_out(scope), "counts": found["counts"],
            "total": len(found["flags"]), "offset": offset,
            "flags": exports.jsonable(found["flags"][offset:offset + limit])}


@blp.post("/contracts/<contract_id>/verifications")
@blp.arguments(VerificationDrawIn)
@blp.response(201, VerificationSampleOut)
def draw_verification(data, contract_id):
    """Draw a random sample of sessions or participating residents to verify (回访)."""
    claims = auth.require("buyer_auditor")
    contract = access.contract(claims, contract_id)
    scope = scope_of(contract, data)
    sample = verification.draw(contract, data["kind"], data["size"], scope.start, scope.end,
                               data.get("seed"), claims.sub, scope.as_of)
    db.session.commit()
    return sample


@blp.get("/contracts/<contract_id>/verifications")
@blp.response(200, VerificationSampleOut(many=True))
def list_verifications(contract_id):
    contract = access.contract(auth.require(*READERS), contract_id)
    return db.session.scalars(sa.select(VerificationSample).where(
        VerificationSample.contract_id == contract.id).order_by(
        VerificationSample.drawn_at)).all()


@blp.get("/contracts/<contract_id>/verifications/<sample_id>")
@blp.response(200, VerificationSampleOut)
def get_verification(contract_id, sample_id):
    """A sample, each item with its record's evidence files (what the auditor takes along)."""
    sample = access.sample(access.contract(auth.require(*READERS), contract_id), sample_id)
    found = attachments.files_of(item.record_id for item in sample.items)
    for item in sample.items:
        item.files = found.get(item.record_id, [])
    return sample


@blp.post("/contracts/<contract_id>/verifications/<sample_id>/items/<int:position>")
@blp.arguments(VerificationResultIn)
@blp.response(200, VerificationItemOut)
def verify_item(data, contract_id, sample_id, position):
    """Record what the follow-up visit or call found for one sampled record."""
    claims = auth.require("buyer_auditor")
    sample = access.sample(access.contract(claims, contract_id), sample_id)
    item = verification.record_result(sample, position, data, claims.sub)
    db.session.commit()
    return item


@blp.post("/contracts/<contract_id>/milestones/<milestone_id>/close")
@blp.response(201, ClosedScorecardOut)
def close_milestone(contract_id, milestone_id):
    """Close a milestone: keep its scorecard as it stands and publish it."""
    claims = auth.require("buyer_auditor")
    contract = access.contract(claims, contract_id)
    closed = milestones.close(contract, milestone_id, claims.sub)
    db.session.commit()
    closed.post_close_changes = milestones.post_close_changes(contract, closed)
    return closed


@blp.get("/contracts/<contract_id>/milestones/<milestone_id>")
@blp.response(200, ClosedScorecardOut)
def closed_milestone(contract_id, milestone_id):
    """The scorecard a milestone was closed on, exactly, and what has changed since."""
    contract = access.contract(auth.require(*READERS), contract_id)
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
        query = query.where(EventTally.community_id.in_(access.buyer_communities(claims.buyer_id)))
    by_type = {t: int(n) for t, n in db.session.execute(query)}
    return {"total": sum(by_type.values()), "by_type": by_type}
