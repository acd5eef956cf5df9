"""Casework's resident door (/resident/...): a resident, signed in at intake, acting for
themselves through the same domain code as the workers' pages: the community's micro-funds
(propose a project, support others', vote online), a council topic of their own and supports
for others' topics, their own participation and their community's public results. The
caller is known only by the pseudonymous reference in their resident token (shared/auth.py)
and acts only in the one community it names; the door takes no other token
(docs/RESIDENTS.md)."""
import dataclasses
from datetime import date

import sqlalchemy as sa
from marshmallow import Schema, fields, validate

from shared import auth, clock
from shared.api import Blueprint
from shared.errors import ApiError
from shared.vocabulary import FUND_CATEGORIES

from . import council, fund, participation, qr_signin
from .api import committed
from .fund_schemas import BallotOut, FundOut, ProjectOut, ResultsOut, SupportOut, money
from .models import (CouncilDecision, CouncilTopic, CouncilTopicSupport, DecisionProgress, Fund,
                     FundBallot, FundSupport, ServedCommunity, db)
from .schemas import TopicOut

blp = Blueprint("residents", __name__, url_prefix="/resident",
                description="The residents' own door: their token only")
ID = validate.Length(1, 64)


def resident() -> tuple[auth.Claims, str]:
    """The resident and their one community."""
    claims = auth.require("resident")
    return claims, claims.community_ids[0]


def _fund(fund_id: str) -> tuple[auth.Claims, Fund]:
    """A fund of the resident's own community; any other is not found."""
    claims, community = resident()
    record = db.session.get(Fund, fund_id)
    if record is None or record.community_id != community:
        raise ApiError(404, f"fund {fund_id} not found", f"未找到微实事资金 {fund_id}")
    return claims, record


# -- schemas: what a resident sends, what they are shown (no other resident named) ---------

class ResidentProjectIn(Schema):
    title = fields.Str(required=True, validate=validate.Length(1, 200))
    description = fields.Str(required=True, validate=validate.Length(1, 5000))
    category = fields.Str(required=True, validate=validate.OneOf(FUND_CATEGORIES))
    location = fields.Str(required=True, validate=validate.Length(1, 200))
    estimated_cost = money()
    beneficiaries = fields.Int(required=True, validate=validate.Range(1, 1000000))


class ResidentBallotIn(Schema):
    project_ids = fields.List(fields.Str(validate=ID), required=True,
                              validate=validate.Length(1, 200))


class ResidentTopicIn(Schema):
    title = fields.Str(required=True, validate=validate.Length(1, 200))
    description = fields.Str(required=True, validate=validate.Length(1, 5000))
    need_ids = fields.List(fields.Str(validate=ID), load_default=list,
                           validate=validate.Length(0, 20))


class PublicProjectOut(ProjectOut):
    """A project as residents see it: without whom it names (its proposer, its leaders)."""
    class Meta:
        exclude = ("proposer_ref", "leader_refs", "organization_id")


class ResidentFundOut(Schema):
    fund = fields.Nested(FundOut)
    projects = fields.List(fields.Nested(PublicProjectOut))
    mine = fields.List(fields.Str(), metadata={"description": "projects I proposed"})
    supported = fields.List(fields.Str(), metadata={"description": "projects I support"})
    ballot = fields.Nested(BallotOut, allow_none=True)
    results = fields.Nested(ResultsOut, allow_none=True)


class OpenTopicOut(Schema):
    """A topic of my community as residents see it: its supports, never who proposed or
    supported it."""
    id = fields.Str()
    title = fields.Str()
    description = fields.Str()
    proposed_on = fields.Date()
    status = fields.Str()
    supports = fields.Int()
    threshold = fields.Int(metadata={"description": "supports that make it due for the agenda"})
    threshold_reached = fields.Bool()
    supported = fields.Bool(metadata={"description": "I support it"})
    mine = fields.Bool(metadata={"description": "I proposed it (I cannot support it)"})


class ScanIn(Schema):
    record_type = fields.Str(required=True, validate=validate.OneOf(tuple(qr_signin.RECORDS)))
    record_id = fields.Str(required=True, validate=ID)
    code = fields.Str(required=True, validate=validate.Length(1, 64))


class ScanOut(Schema):
    record_type = fields.Str()
    record_id = fields.Str()
    topic = fields.Str()
    date = fields.Date()
    signed_in = fields.Bool(metadata={"description": "false: I was on the list already"})


class ActOut(Schema):
    on = fields.Date()
    kind = fields.Str()
    rung = fields.Int()
    record = fields.Str()
    title = fields.Str()


class ParticipationOut(Schema):
    rung = fields.Int(metadata={"description": "highest rung: 0 none yet, 1 served … 5 leader"})
    rung_name = fields.Str(allow_none=True)
    acts = fields.List(fields.Nested(ActOut))


class DecisionResultOut(Schema):
    topic_title = fields.Str()
    proposer_kind = fields.Str()
    outcome = fields.Str()
    decision_mode = fields.Str()
    decided_on = fields.Date()
    votes_for = fields.Int()
    votes_against = fields.Int()
    abstentions = fields.Int()
    summary = fields.Str()
    progress_status = fields.Str(allow_none=True)
    progress = fields.Int(allow_none=True)


class CommunityResultsOut(Schema):
    decisions = fields.List(fields.Nested(DecisionResultOut))
    funds = fields.List(fields.Nested(ResultsOut))


# -- the micro-fund ---------------------------------------------------------------------------

@blp.get("/funds")
@blp.response(200, FundOut(many=True))
def list_funds():
    _, community = resident()
    funds = db.session.scalars(sa.select(Fund).where(Fund.community_id == community)
                               .order_by(Fund.year.desc(), Fund.id)).all()
    for record in funds:
        record.totals = fund.totals(record)
    return funds


@blp.get("/funds/<fund_id>")
@blp.response(200, ResidentFundOut)
def get_fund(fund_id):
    """The fund, its projects, what I proposed and support, my ballot, and the results once
    they are out."""
    claims, record = _fund(fund_id)
    record.totals = fund.totals(record)
    projects = fund.projects_of(record)
    supported = set(db.session.scalars(sa.select(FundSupport.project_id).where(
        FundSupport.project_id.in_([p.id for p in projects]),
        FundSupport.resident_ref == claims.sub)))
    ballot = db.session.scalar(sa.select(FundBallot).where(
        FundBallot.fund_id == record.id, FundBallot.resident_ref == claims.sub))
    results = fund.public_results(record)
    return {"fund": record, "projects": projects, "ballot": ballot,
            "mine": [p.id for p in projects if p.proposer_ref == claims.sub],
            "supported": [p.id for p in projects if p.id in supported],
            "results": results if results["final"] else None}


@blp.post("/funds/<fund_id>/projects")
@blp.arguments(ResidentProjectIn)
@blp.response(201, PublicProjectOut)
def propose_project(data, fund_id):
    claims, record = _fund(fund_id)
    return committed(fund.propose(record, {**data, "proposer_kind": "resident",
                                           "proposer_ref": claims.sub,
                                           "proposed_on": clock.today()}))


@blp.post("/funds/<fund_id>/projects/<project_id>/supports")
@blp.response(201, SupportOut)
def support_project(fund_id, project_id):
    claims, record = _fund(fund_id)
    project = fund.project_of(record, project_id)
    return committed(fund.support(record, project, {"resident_ref": claims.sub,
                                                    "on": clock.today()}))


@blp.post("/funds/<fund_id>/ballot")
@blp.arguments(ResidentBallotIn)
@blp.response(201, BallotOut)
def cast_ballot(data, fund_id):
    """My online ballot: the fund's one path, so one ballot per resident, online or paper."""
    claims, record = _fund(fund_id)
    return committed(fund.cast(record, {"resident_ref": claims.sub, "channel": "online",
                                        "project_ids": data["project_ids"],
                                        "cast_on": clock.today()}, claims.sub))


# -- the council --------------------------------------------------------------------------------

def serving_agency(community_id: str, on: date) -> str:
    """The agency contracted for the community today, which takes the topic to its council
    (409 when none is)."""
    agency = db.session.scalar(sa.select(ServedCommunity.agency_id).where(
        ServedCommunity.community_id == community_id, ServedCommunity.period_start <= on,
        ServedCommunity.period_end >= on).order_by(ServedCommunity.agency_id).limit(1))
    if agency is None:
        raise ApiError(409, "No agency serves this community's council now",
                       "目前没有社工机构承接本社区的议事会", code="no_agency")
    return agency


@blp.post("/council/topics")
@blp.arguments(ResidentTopicIn)
@blp.response(201, TopicOut)
def propose_topic(data):
    """A topic for the residents' council, proposed by me, online."""
    claims, community = resident()
    today = clock.today()
    proposer = dataclasses.replace(claims, agency_id=serving_agency(community, today))
    return committed(council.propose_topic({
        **data, "community_id": community, "proposer_kind": "resident",
        "proposer_ref": claims.sub, "channel": "online", "proposed_on": today}, proposer))


@blp.get("/council/topics")
@blp.response(200, TopicOut(many=True))
def my_topics():
    claims, community = resident()
    return db.session.scalars(sa.select(CouncilTopic).where(
        CouncilTopic.community_id == community, CouncilTopic.proposer_ref == claims.sub)
        .order_by(CouncilTopic.proposed_on.desc())).all()


@blp.get("/council/topics/open")
@blp.response(200, OpenTopicOut(many=True))
def open_topics():
    """My community's topics the council has not decided, newest first, with their supports."""
    claims, community = resident()
    topics = db.session.scalars(sa.select(CouncilTopic).where(
        CouncilTopic.community_id == community, CouncilTopic.status != "decided")
        .order_by(CouncilTopic.proposed_on.desc(), CouncilTopic.id)).all()
    mine = set(db.session.scalars(sa.select(CouncilTopicSupport.topic_id).where(
        CouncilTopicSupport.topic_id.in_([t.id for t in topics]),
        CouncilTopicSupport.resident_ref == claims.sub)))
    threshold = council.support_threshold()
    return [_as_seen(t, claims.sub, t.id in mine, threshold) for t in topics]


@blp.post("/council/topics/<topic_id>/support")
@blp.response(201, OpenTopicOut)
@blp.alt_response(200, schema=OpenTopicOut, description="I supported it already: counted once")
def support_topic(topic_id):
    """I support another resident's topic, once (a second support answers 200, unchanged)."""
    claims, community = resident()
    topic = db.session.get(CouncilTopic, topic_id, with_for_update=True)
    if topic is None or topic.community_id != community:
        raise ApiError(404, f"topic {topic_id} not found", f"未找到议题 {topic_id}")
    added = council.support(topic, claims.sub, clock.today())
    db.session.commit()
    return _as_seen(topic, claims.sub, True, council.support_threshold()), \
        201 if added else 200


def _as_seen(topic: CouncilTopic, ref: str, supported: bool, threshold: int) -> dict:
    return {"id": topic.id, "title": topic.title, "description": topic.description,
            "proposed_on": topic.proposed_on, "status": topic.status,
            "supports": topic.supports, "threshold": threshold,
            "threshold_reached": topic.qualified_on is not None, "supported": supported,
            "mine": topic.proposer_ref == ref}


# -- signing in to a running session or activity by its QR code ---------------------------

@blp.post("/sign-ins")
@blp.arguments(ScanIn)
@blp.response(200, ScanOut)
def scan(data):
    """I scanned the code on the worker's screen: on the list once, while it runs."""
    claims, community = resident()
    model = qr_signin.RECORDS[data["record_type"]]
    record = db.session.get(model, data["record_id"])
    if record is None:
        raise ApiError(404, "No such activity", "未找到该活动")
    added = qr_signin.scan(data["record_type"], record, data["code"], claims.sub, community)
    db.session.commit()
    return {"record_type": data["record_type"], "record_id": record.id, "topic": record.topic,
            "date": record.date, "signed_in": added}


# -- my participation, my community's results ---------------------------------------------------

@blp.get("/participation")
@blp.response(200, ParticipationOut)
def my_participation():
    claims, community = resident()
    return participation.summary(claims.sub, community)


@blp.get("/results")
@blp.response(200, CommunityResultsOut)
def community_results():
    """What the community decided and how far it got, and the micro-funds' results: public
    figures, no resident named."""
    _, community = resident()
    rows = db.session.execute(sa.select(CouncilDecision, CouncilTopic).join(
        CouncilTopic, CouncilTopic.id == CouncilDecision.topic_id).where(
        CouncilDecision.community_id == community)
        .order_by(CouncilDecision.decided_on.desc())).all()
    latest = _latest_progress([d.id for d, _ in rows])
    decisions = [{**{k: getattr(d, k) for k in DecisionResultOut().fields
                     if hasattr(d, k)}, "topic_title": t.title,
                  "proposer_kind": t.proposer_kind,
                  "progress_status": latest[d.id].status if d.id in latest else None,
                  "progress": latest[d.id].progress if d.id in latest else None}
                 for d, t in rows]
    funds = db.session.scalars(sa.select(Fund).where(Fund.community_id == community)
                               .order_by(Fund.year.desc())).all()
    results = [fund.public_results(f) for f in funds]
    return {"decisions": decisions, "funds": [r for r in results if r["final"]]}


def _latest_progress(decision_ids: list[str]) -> dict:
    latest = {}
    for row in db.session.scalars(sa.select(DecisionProgress).where(
            DecisionProgress.decision_id.in_(decision_ids))
            .order_by(DecisionProgress.on, DecisionProgress.id)):
        latest[row.decision_id] = row
    return latest
