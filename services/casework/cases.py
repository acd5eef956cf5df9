"""Opening cases, and who serves where: the agency's scope comes from contract events."""
from datetime import date

import sqlalchemy as sa

from shared import outbox
from shared.errors import ApiError

from .models import Case, QueuedNeed, ServedCommunity, db, events


def served_communities(agency_id: str, on: date | None = None):
    """Communities the agency is contracted for on a day: a subquery for scoped queries."""
    on = on or date.today()
    return sa.select(ServedCommunity.community_id).where(
        ServedCommunity.agency_id == agency_id, ServedCommunity.period_start <= on,
        ServedCommunity.period_end >= on)


def serves(agency_id: str, community_id: str) -> bool:
    return db.session.scalar(served_communities(agency_id).where(
        ServedCommunity.community_id == community_id).limit(1)) is not None


def open_case(data: dict, agency_id: str, worker_id: str) -> Case:
    need = None
    if data.get("need_id"):
        need = db.session.get(QueuedNeed, data["need_id"])
        if need is None or not serves(agency_id, need.community_id):
            raise ApiError(404, f"Need {data['need_id']} is not in this agency's queue",
                           "该需求不在本机构的受理队列中")
        if need.status != "awaiting":
            raise ApiError(409, f"Need {need.need_id} is already {need.status}",
                           f"该需求当前状态为 {need.status}，不能再开案")
        need.status = "opened"
    community_id = need.community_id if need else data["community_id"]
    resident_ref = data.get("resident_ref") or (need.resident_ref if need else None)
    if not resident_ref:
        raise ApiError(422, "An anonymous need needs resident_ref to open a case",
                       "匿名需求开案时须指明居民编号",
                       fields={"resident_ref": ["Missing data for required field."]})
    if not serves(agency_id, community_id):
        raise ApiError(403, f"Agency {agency_id} is not contracted for {community_id}",
                       "本机构未承接该社区的服务合同", code="out_of_scope")
    case = Case(agency_id=agency_id, community_id=community_id, resident_ref=resident_ref,
                need_id=need.need_id if need else None, worker_id=worker_id,
                opened_on=data.get("opened_on") or date.today())
    db.session.add(case)
    db.session.flush()
    outbox.append(events, "case.opened", f"case/{case.id}", {
        "case_id": case.id, "agency_id": agency_id, "community_id": community_id,
        "resident_ref": resident_ref, "need_id": case.need_id, "worker_id": worker_id,
        "opened_on": case.opened_on.isoformat()})
    db.session.commit()
    return case
