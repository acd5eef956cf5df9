"""Service sessions (casework, group work, community work) and capacity building: trainings,
volunteer service, leader cultivation, incubation of resident self-organisations; volunteers
and organisations. Each is marked as led by the agency or by residents themselves."""

from shared import clock
from shared.errors import ApiError
from shared.i18n import bilingual

from .evidence import (book, check_residents, check_times, check_workers, publish,
                       timed_data)
from .models import Case, CapacityActivity, Organization, Session, Volunteer, db
from .access import require_served

LEADER_NEEDED = bilingual("A resident-led record names its resident leaders",
                          "居民主导的活动须注明居民带领人")
CASE_NEEDED = bilingual("A casework session belongs to an open case of this agency",
                        "个案工作须关联本机构一个未结案的个案")
ORG_ELSEWHERE = bilingual("No such organisation of this agency in this community",
                          "本机构在此社区没有该组织")
ALREADY_VOLUNTEER = bilingual("This resident is already a registered volunteer here",
                              "该居民已在本社区登记为志愿者")
LEADERS_ARE_MEMBERS = bilingual("Leaders must be members", "带领人必须是成员")


def check_context(data: dict, claims, record_type: str, record_id: str) -> None:
    """What a session, activity or meeting is checked for beyond its times: the agency
    serves the community that day, residents are registered there, workers are free."""
    require_served(claims, data["community_id"], data["date"])
    check_residents(data["community_id"], data["attendee_refs"], "attendee_refs")
    check_residents(data["community_id"], data.get("leader_refs", []), "leader_refs")
    if data.get("worker_ids"):
        check_workers(claims.agency_id, data["worker_ids"])
        book(data["worker_ids"], data["date"], data["start"], data["end"], record_type,
             record_id)


def _check_leads(data: dict) -> None:
    if data["led_by"] != "agency" and not data.get("leader_refs"):
        raise ApiError(422, fields={"leader_refs": [LEADER_NEEDED]})


def session_data(s: Session) -> dict:
    return {"session_id": s.id, "agency_id": s.agency_id, "community_id": s.community_id,
            "method": s.method, "mode": s.mode, "case_id": s.case_id,
            "worker_ids": s.worker_ids, "led_by": s.led_by, "leader_refs": s.leader_refs,
            "attendee_refs": s.attendee_refs, "hours": s.hours, **timed_data(s)}


def record_session(data: dict, claims) -> Session:
    _check_leads(data)
    if data["method"] == "casework":
        case = db.session.get(Case, data.get("case_id") or "")
        if case is None or case.agency_id != claims.agency_id or case.status != "open" \
                or case.community_id != data["community_id"]:
            raise ApiError(422, fields={"case_id": [CASE_NEEDED]})
    hours = check_times(data["date"], data["start"], data["end"])
    session = Session(agency_id=claims.agency_id, recorded_by=claims.sub, hours=hours, **data)
    db.session.add(session)
    db.session.flush()
    check_context(data, claims, "session", session.id)
    return publish(session, "session.delivered", session_data)


def activity_data(a: CapacityActivity) -> dict:
    return {"activity_id": a.id, "agency_id": a.agency_id, "community_id": a.community_id,
            "kind": a.kind, "worker_ids": a.worker_ids, "led_by": a.led_by,
            "organization_id": a.organization_id,
            "leader_refs": a.leader_refs, "attendee_refs": a.attendee_refs, "hours": a.hours,
            **timed_data(a)}


def record_activity(data: dict, claims) -> CapacityActivity:
    _check_leads(data)
    if data.get("organization_id"):
        own_organization(data["organization_id"], claims, data["community_id"])
    hours = check_times(data["date"], data["start"], data["end"])
    activity = CapacityActivity(agency_id=claims.agency_id, recorded_by=claims.sub,
                                hours=hours, **data)
    db.session.add(activity)
    db.session.flush()
    check_context(data, claims, "capacity_activity", activity.id)
    return publish(activity, "capacity.activity_held", activity_data)


def register_volunteer(data: dict, claims) -> Volunteer:
    day = data.get("registered_on") or clock.today()
    require_served(claims, data["community_id"], day)
    check_residents(data["community_id"], [data["resident_ref"]], "resident_ref")
    if db.session.query(Volunteer).filter_by(resident_ref=data["resident_ref"],
                                             community_id=data["community_id"]).first():
        raise ApiError(409, ALREADY_VOLUNTEER, "该居民已在本社区登记为志愿者")
    volunteer = Volunteer(agency_id=claims.agency_id, registered_on=day,
                          resident_ref=data["resident_ref"], community_id=data["community_id"],
                          skills=data["skills"])
    return publish(volunteer, "volunteer.registered", lambda v: {
        "volunteer_id": v.id, "resident_ref": v.resident_ref, "agency_id": v.agency_id,
        "community_id": v.community_id, "registered_on": v.registered_on.isoformat()})


def _check_members(community_id: str, leaders: list[str], members: list[str]) -> None:
    check_residents(community_id, members, "member_refs")
    if not set(leaders) <= set(members):
        raise ApiError(422, fields={"leader_refs": [LEADERS_ARE_MEMBERS]})


def form_organization(data: dict, claims) -> Organization:
    require_served(claims, data["community_id"], data["formed_on"])
    _check_members(data["community_id"], data["leader_refs"], data["member_refs"])
    organization = Organization(agency_id=claims.agency_id, **data)
    return publish(organization, "organization.formed", lambda o: {
        "organization_id": o.id, "agency_id": o.agency_id, "community_id": o.community_id,
        "kind": o.kind, "status": o.status, "formed_on": o.formed_on.isoformat(),
        "leader_refs": o.leader_refs, "member_refs": o.member_refs})


def own_organization(organization_id: str, claims, community_id: str | None = None):
    organization = db.session.get(Organization, organization_id)
    if organization is None or organization.agency_id != claims.agency_id or (
            community_id and organization.community_id != community_id):
        raise ApiError(422, fields={"organization_id": [ORG_ELSEWHERE]})
    return organization


def update_organization(organization: Organization, data: dict) -> Organization:
    leaders = data.get("leader_refs", organization.leader_refs)
    members = data.get("member_refs", organization.member_refs)
    _check_members(organization.community_id, leaders, members)
    organization.leader_refs, organization.member_refs = leaders, members
    organization.status = data.get("status", organization.status)
    on = data.get("on") or clock.today()
    return publish(organization, "organization.updated", lambda o: {
        "organization_id": o.id, "agency_id": o.agency_id, "community_id": o.community_id,
        "status": o.status, "leader_refs": o.leader_refs, "member_refs": o.member_refs,
        "on": on.isoformat()})
