"""Who may see and do what in casework. Agencies act only in communities they are contracted
for on the day concerned; workers must be on their agency's roster; buyers read the records
of their contracts' agencies and communities and change nothing. Scope lives in queries."""
from datetime import date

import sqlalchemy as sa

from shared import auth
from shared.auth import Claims
from shared.errors import ApiError

from .models import ServedCommunity, Worker, db

AGENCY = ("social_worker", "agency_admin")
READERS = (*AGENCY, "buyer_auditor")


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


def acting_worker() -> Claims:
    """A social worker on its agency's active roster, or an agency admin."""
    claims = auth.require(*AGENCY)
    if claims.role == "social_worker":
        worker = db.session.get(Worker, claims.sub)
        if worker is None or worker.agency_id != claims.agency_id or not worker.active:
            raise ApiError(403, f"{claims.sub} is not an active worker of {claims.agency_id}",
                           "您不在本机构的在岗社工名单中", code="not_on_roster")
    return claims


def require_served(claims: Claims, community_id: str, on: date) -> None:
    if not served(claims.agency_id, community_id, on):
        raise ApiError(403, f"Agency {claims.agency_id} is not contracted for {community_id} "
                       f"on {on}", "本机构在该日期未承接该社区的服务合同", code="out_of_scope")


def readable(model, query):
    """Limit a query to what the caller may read: its agency's records, or for a buyer the
    records of the agencies and communities of its contracts."""
    claims = auth.require(*READERS)
    if claims.role == "buyer_auditor":
        pairs = db.session.execute(sa.select(ServedCommunity.agency_id,
                                             ServedCommunity.community_id).where(
            ServedCommunity.buyer_id == claims.buyer_id)).all()
        return query.where(sa.tuple_(model.agency_id, model.community_id).in_(
            [tuple(p) for p in pairs] or [("", "")]))
    return query.where(model.agency_id == claims.agency_id)


def get_readable(model, record_id: str, what_zh: str):
    record = db.session.scalar(readable(model, sa.select(model).where(model.id == record_id)))
    if record is None:
        raise ApiError(404, f"{model.__tablename__} {record_id} not found",
                       f"未找到{what_zh} {record_id}")
    return record


def get_own(model, record_id: str, claims: Claims, what_zh: str):
    """A record of the caller's own agency, for changing it."""
    record = db.session.get(model, record_id)
    if record is None or record.agency_id != claims.agency_id:
        raise ApiError(404, f"{model.__tablename__} {record_id} not found",
                       f"未找到{what_zh} {record_id}")
    return record
