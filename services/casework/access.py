"""Who may see and do what in casework. An agency acts only in communities it is contracted
for on the day concerned; a social worker must be on its agency's active roster; a buyer
reads the records of its contracts' agencies and communities and changes nothing. Scope
lives in the queries: a record outside it is not found, an action outside it refused."""
from datetime import date

import sqlalchemy as sa
from flask import current_app

from shared import auth
from shared.auth import Claims
from shared.db import Recently
from shared.errors import ApiError

from .models import (CapacityActivity, Case, CouncilDecision, CouncilMeeting, Organization,
                     ServedCommunity, Session, Worker, db)

AGENCY = ("social_worker", "agency_admin")
READERS = (*AGENCY, "buyer_auditor")
NOUNS = {Case: "个案", Session: "服务记录", CapacityActivity: "活动", Organization: "组织",
         CouncilMeeting: "会议", CouncilDecision: "决定", Worker: "社工"}


def served_on(agency_id: str, on: date):
    """Communities the agency is contracted for on a day: a subquery for scoped queries."""
    return sa.select(ServedCommunity.community_id).where(
        ServedCommunity.agency_id == agency_id, ServedCommunity.period_start <= on,
        ServedCommunity.period_end >= on)


def served(agency_id: str, community_id: str, on: date) -> bool:
    return db.session.scalar(served_on(agency_id, on).where(
        ServedCommunity.community_id == community_id).limit(1)) is not None


def served_today(agency_id: str):
    return served_on(agency_id, date.today())


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


def readable(claims: Claims, model, query):
    """Limit a query to what the caller may read: its agency's records, or for a buyer the
    records of the agencies (and, where the record has one, communities) of its contracts."""
    if claims.role != "buyer_auditor":
        return query.where(model.agency_id == claims.agency_id)
    contracted = sa.select(ServedCommunity.agency_id, ServedCommunity.community_id).where(
        ServedCommunity.buyer_id == claims.buyer_id)
    if not hasattr(model, "community_id"):
        return query.where(model.agency_id.in_(contracted.with_only_columns(
            ServedCommunity.agency_id)))
    pairs = db.session.execute(contracted).all()
    return query.where(sa.tuple_(model.agency_id, model.community_id).in_(
        [tuple(p) for p in pairs] or [("", "")]))


def fetch(claims: Claims, model, record_id: str):
    """The record with this id if the caller may read it: for an agency, its own (the only
    ones it may change); 404 otherwise: a record outside the scope looks like none at all."""
    record = db.session.scalar(readable(claims, model, sa.select(model).where(
        model.id == record_id)))
    if record is None:
        raise ApiError(404, f"{model.__tablename__} {record_id} not found",
                       f"未找到{NOUNS.get(model, '记录')} {record_id}")
    return record
