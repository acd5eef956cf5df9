"""The micro-fund's HTTP API: the agency sets a community's fund with its residents'
committee and records each step; buyers read the funds of their contracts. Every view
checks the role, fetches the fund in the caller's scope (access.py), calls fund.py and
commits."""
import sqlalchemy as sa

from shared import auth
from shared.api import Blueprint

from . import access, fund
from .access import READERS, acting_worker
from .api import committed
from .fund_schemas import (BallotIn, BallotOut, DeliveryIn, FundIn, FundOut, ObjectionIn,
                           ObjectionOut, PhaseIn, ProjectIn, ProjectOut, ResultsOut, ReviewIn,
                           SupportIn, SupportOut)
from .models import Fund, FundBallot, FundObjection, db
from .schemas import ListQuery

blp = Blueprint("fund", __name__, description="The community micro-fund (民生微实事)")


def _with_totals(record: Fund) -> Fund:
    record.totals = fund.totals(record)
    return record


def _own(fund_id: str) -> tuple:
    claims = acting_worker()
    return claims, access.fetch(claims, Fund, fund_id)


@blp.post("/funds")
@blp.arguments(FundIn)
@blp.response(201, FundOut)
def create_fund(data):
    return committed(_with_totals(fund.set_fund(data, acting_worker())))


@blp.get("/funds")
@blp.arguments(ListQuery, location="query")
@blp.response(200, FundOut(many=True))
def list_funds(args):
    query = access.readable(auth.require(*READERS), Fund, sa.select(Fund))
    if "community_id" in args:
        query = query.where(Fund.community_id == args["community_id"])
    funds = db.session.scalars(query.order_by(Fund.year.desc(), Fund.community_id)).all()
    return [_with_totals(f) for f in funds]


@blp.get("/funds/<fund_id>")
@blp.response(200, FundOut)
def get_fund(fund_id):
    return _with_totals(access.fetch(auth.require(*READERS), Fund, fund_id))


@blp.post("/funds/<fund_id>/phase")
@blp.arguments(PhaseIn)
@blp.response(200, FundOut)
def change_phase(data, fund_id):
    claims, record = _own(fund_id)
    return committed(_with_totals(fund.advance(record, data, claims)))


@blp.post("/funds/<fund_id>/projects")
@blp.arguments(ProjectIn)
@blp.response(201, ProjectOut)
def propose_project(data, fund_id):
    _, record = _own(fund_id)
    return committed(fund.propose(record, data))


@blp.get("/funds/<fund_id>/projects")
@blp.response(200, ProjectOut(many=True))
def list_projects(fund_id):
    return fund.projects_of(access.fetch(auth.require(*READERS), Fund, fund_id))


@blp.post("/funds/<fund_id>/projects/<project_id>/supports")
@blp.arguments(SupportIn)
@blp.response(201, SupportOut)
def support_project(data, fund_id, project_id):
    _, record = _own(fund_id)
    return committed(fund.support(record, fund.project_of(record, project_id), data))


@blp.post("/funds/<fund_id>/projects/<project_id>/review")
@blp.arguments(ReviewIn)
@blp.response(200, ProjectOut)
def review_project(data, fund_id, project_id):
    _, record = _own(fund_id)
    return committed(fund.review(record, fund.project_of(record, project_id), data))


@blp.post("/funds/<fund_id>/objections")
@blp.arguments(ObjectionIn)
@blp.response(201, ObjectionOut)
def record_objection(data, fund_id):
    claims, record = _own(fund_id)
    return committed(fund.object_to(record, data, claims.sub))


@blp.get("/funds/<fund_id>/objections")
@blp.response(200, ObjectionOut(many=True))
def list_objections(fund_id):
    record = access.fetch(auth.require(*READERS), Fund, fund_id)
    return db.session.scalars(sa.select(FundObjection).where(
        FundObjection.fund_id == record.id).order_by(FundObjection.on, FundObjection.id)).all()


@blp.post("/funds/<fund_id>/ballots")
@blp.arguments(BallotIn)
@blp.response(201, BallotOut)
def cast_ballot(data, fund_id):
    claims, record = _own(fund_id)
    return committed(fund.cast(record, data, claims.sub))


@blp.get("/funds/<fund_id>/ballots")
@blp.response(200, BallotOut(many=True))
def list_ballots(fund_id):
    claims = auth.require(*access.AGENCY)  # who voted is the agency's, not the buyer's
    record = access.fetch(claims, Fund, fund_id)
    return db.session.scalars(sa.select(FundBallot).where(FundBallot.fund_id == record.id)
                              .order_by(FundBallot.cast_on, FundBallot.id)).all()


@blp.get("/funds/<fund_id>/results")
@blp.response(200, ResultsOut)
def results(fund_id):
    return fund.public_results(access.fetch(auth.require(*READERS), Fund, fund_id))


@blp.post("/funds/<fund_id>/projects/<project_id>/delivery")
@blp.arguments(DeliveryIn)
@blp.response(200, ProjectOut)
def deliver_project(data, fund_id, project_id):
    _, record = _own(fund_id)
    return committed(fund.deliver(record, fund.project_of(record, project_id), data))
