"""Who may see and do what in casework. An agency acts only in communities it is contracted
for on the day concerned; a social worker must be on its agency's active roster; a buyer
reads the records its contracts link it to (the contract's agency, in the contract's
communities, dated within the contract's period) and changes nothing. Scope lives in the
queries: a record outside it is not found, an action outside it refused."""
from datetime import date

import sqlalchemy as sa
from flask import current_app

from shared import clock
from shared import auth
from shared.auth import Claims
from shared.db import Recently
from shared.errors import ApiError

from .models import (CapacityActivity, Case, CouncilDecision, CouncilMeeting, CouncilTopic,
                     Correction, Fund, Organization, ServedCommunity, Session, Volunteer, Worker,
                     db)

AGENCY = ("social_worker", "agency_admin")
READERS = (*AGENCY, "buyer_auditor")
NOUNS = {Case: "个案", Session: "服务记录", CapacityActivity: "活动", Organization: "组织",
         CouncilMeeting: "会议", CouncilDecision: "决定", Worker: "社工", Fund: "微实事资金"}


def served_on(agency_id: str, on: date):
    """Communities the agency is contracted for on a day: a subquery for scoped queries."""
    return sa.select(ServedCommunity.community_id).where(
        ServedCommunity.agency_id == agency_id, ServedCommunity.period_start <= on,
        ServedCommunity.period_end >= on)


def served(agency_id: str, community_id: str, on: date) -> bool:
    return db.session.scalar(served_on(agency_id, on).where(
        ServedCommunity.community_id == community_id).limit(1)) is not None


def served_today(agency_id: str):
    return served_on(agency_id, clock.today())


def on_roster(claims: Claims) -> None:
    """A social worker's token is refused, on every request, unless the worker is on its
    agency's active roster (a yes remembered for a few seconds, by each app)."""
    if claims.role != "social_worker":
        return

    def active() -> bool:
        worker = db.session.get(Worker, claims.sub)
        return worker is not None and worker.agency_id == claims.agency_id and worker.active
    remembered = current_app.extensions.setdefault("on_roster", Recently(seconds=5))
    if not remembered.check((claims.sub, claims.agency_id), active):
        raise ApiError(403, f"{claims.sub} is not an active worker of {claims.agency_id}",
                       "您不在本机构的在岗社工名单中", code="not_on_roster")


def acting_worker() -> Claims:
    """The caller, if it may record for its agency: a social worker (on its agency's active
    roster: `on_roster` checks every request) or an agency admin."""
    return auth.require(*AGENCY)


def require_served(claims: Claims, community_id: str, on: date) -> None:
    if not served(claims.agency_id, community_id, on):
        raise ApiError(403, f"Agency {claims.agency_id} is not contracted for {community_id} "
                       f"on {on}", "本机构在该日期未承接该社区的服务合同", code="out_of_scope")


# the days a record spans, for a buyer's scope in time: (first, last), last None while open
SPANS = {
    Case: lambda: (Case.opened_on, Case.closed_on),
    Session: lambda: (Session.date, Session.date),
    CapacityActivity: lambda: (CapacityActivity.date, CapacityActivity.date),
    CouncilMeeting: lambda: (CouncilMeeting.date, CouncilMeeting.date),
    CouncilTopic: lambda: (CouncilTopic.proposed_on, CouncilTopic.proposed_on),
    CouncilDecision: lambda: (CouncilDecision.decided_on, CouncilDecision.decided_on),
    Organization: lambda: (Organization.formed_on, None),
    Volunteer: lambda: (Volunteer.registered_on, None),
    Fund: lambda: (Fund.proposing_on, None),
}
CORRECTED = {"session": Session, "capacity_activity": CapacityActivity,
             "council_meeting": CouncilMeeting, "council_decision": CouncilDecision}


def _contracted(claims: Claims, model):
    """A buyer's contract links the record: the record's agency and community, some day of
    the record within the contract's period."""
    first, last = SPANS[model]()
    served = ServedCommunity
    return sa.exists().where(
        served.buyer_id == claims.buyer_id, served.agency_id == model.agency_id,
        served.community_id == model.community_id, first <= served.period_end,
        sa.true() if last is None else sa.or_(last.is_(None), last >= served.period_start))


def readable(claims: Claims, model, query):
    """Limit a query to what the caller may read: its agency's records, or for a buyer the
    records its contracts link it to, in space and in time (a correction: of such a
    record)."""
    if claims.role != "buyer_auditor":
        return query.where(model.agency_id == claims.agency_id)
    if model is Correction:
        return query.where(sa.or_(*(
            sa.and_(Correction.record_type == kind, Correction.record_id.in_(
                readable(claims, corrected, sa.select(corrected.id))))
            for kind, corrected in CORRECTED.items())))
    return query.where(_contracted(claims, model))


def fetch(claims: Claims, model, record_id: str):
    """The record with this id if the caller may read it: for an agency, its own (the only
    ones it may change); 404 otherwise: a record outside the scope looks like none at all."""
    record = db.session.scalar(readable(claims, model, sa.select(model).where(
        model.id == record_id)))
    if record is None:
        raise ApiError(404, f"{model.__tablename__} {record_id} not found",
                       f"未找到{NOUNS.get(model, '记录')} {record_id}")
    return record
