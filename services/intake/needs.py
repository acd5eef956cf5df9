"""Needs and their life cycle. Each change of status is recorded with who and when, and the
changes others must learn of (reported, triaged, withdrawn) publish their event in the same
transaction. Free text (descriptions, notes, whom a need was referred to) never leaves
intake."""
from sqlalchemy.exc import IntegrityError

from shared import outbox
from shared.db import new_id
from shared.errors import ApiError
from shared.events.envelope import rfc3339
from shared.clock import utcnow
from shared.i18n import bilingual

from .models import Need, NeedStatusChange, Resident, db, event_store
from .residents import community_or_422, grid_in, household_in

# status -> the statuses it may move to (every one of NEED_STATUSES)
TRANSITIONS = {
    "reported": {"triaged", "referred", "in_service", "withdrawn"},
    "triaged": {"referred", "in_service", "resolved", "unresolved", "withdrawn"},
    "referred": {"in_service", "resolved", "unresolved", "withdrawn"},
    "in_service": {"resolved", "unresolved", "referred"},
    "resolved": set(), "unresolved": set(), "withdrawn": set(),
}
SAFETY_CATEGORIES = {"elderly_care", "child_youth", "disability", "family_relations",
                     "health"}
VULNERABLE_FLAGS = {"living_alone", "disability", "elderly", "child"}
RESIDENT_ELSEWHERE = bilingual("No such resident in this community", "此社区中没有该居民")
IN_FUTURE = bilingual("A need cannot be reported in the future", "报告时间不能晚于现在")


def safety_flag(category: str, urgency: str, concern: bool, resident: Resident | None) -> bool:
    """An urgent safety case: the clerk saw a safety concern, or an urgent need of a
    vulnerable group (by category, or a resident flagged living alone, disabled, elderly or
    a child)."""
    vulnerable = category in SAFETY_CATEGORIES or (
        resident is not None and VULNERABLE_FLAGS & set(resident.flags))
    return concern or (urgency == "urgent" and bool(vulnerable))


def move(need: Need, status: str, by: str, note: str | None = None) -> None:
    if status not in TRANSITIONS[need.status]:
        raise ApiError(409, f"A need cannot go from {need.status} to {status}",
                       f"需求状态不能从 {need.status} 变为 {status}", code="invalid_transition")
    need.status = status
    need.history.append(NeedStatusChange(status=status, changed_by=by, note=note))


def record_need(data: dict, by: str) -> Need:
    """A new need, with its history (its first status), written with its event."""
    resident = None
    if data.get("resident_ref"):
        resident = db.session.query(Resident).filter_by(ref=data["resident_ref"]).first()
        if resident is None or resident.community_id != data["community_id"]:
            raise ApiError(422, fields={"resident_ref": [RESIDENT_ELSEWHERE]})
    household = household_in(data["community_id"], data.get("household_ref"))
    grid_id = data.get("grid_id") or (resident.grid_id if resident else None) or (
        household.grid_id if household else None)
    if grid_id:
        grid_in(data["community_id"], grid_id)
    now = utcnow()
    reported_at = data.get("reported_at") or now
    if reported_at > now:
        raise ApiError(422, fields={"reported_at": [IN_FUTURE]})
    concern = data.get("safety_concern", False)
    urgency = "urgent" if concern else data["urgency"]
    need = Need(id=new_id(), community_id=data["community_id"], grid_id=grid_id,
                resident_id=resident.id if resident else None,
                household_id=household.id if household else None, category=data["category"],
                urgency=urgency, channel=data["channel"], description=data["description"],
                safety_flag=safety_flag(data["category"], urgency, concern, resident),
                status="reported", reported_by=by, reported_at=reported_at,
                resident=resident, household=household)
    need.history = [NeedStatusChange(need_id=need.id, status="reported", changed_by=by,
                                     changed_at=now)]
    _append_reported(need)
    return need


def _append_reported(need: Need) -> None:
    """need.reported, with the need's rows written as built (recording needs is intake's hot
    path). The community is the one reference not checked before: its foreign key checks it."""
    try:
        outbox.append(event_store, "need.reported", f"need/{need.id}", {
            "need_id": need.id, "community_id": need.community_id, "grid_id": need.grid_id,
            "resident_ref": need.resident_ref, "household_ref": need.household_ref,
            "category": need.category, "urgency": need.urgency,
            "safety_flag": need.safety_flag, "channel": need.channel,
            "reported_at": rfc3339(need.reported_at)}, rows=(need, *need.history))
    except IntegrityError:
        db.session.rollback()
        community_or_422(need.community_id)
        raise


def triage(need: Need, data: dict, by: str) -> Need:
    """Confirm or correct category and urgency; refer on if another body should serve it."""
    move(need, data["status"], by, data.get("note"))
    need.category = data.get("category", need.category)
    need.urgency = data.get("urgency", need.urgency)
    need.referred_to = data.get("referred_to")
    need.safety_flag = need.safety_flag or safety_flag(need.category, need.urgency, False,
                                                       need.resident)
    outbox.append(event_store, "need.triaged", f"need/{need.id}", {
        "need_id": need.id, "community_id": need.community_id, "category": need.category,
        "urgency": need.urgency, "status": need.status, "triaged_at": rfc3339(utcnow())})
    return need


def withdraw(need: Need, reason: str, by: str, note: str | None) -> Need:
    move(need, "withdrawn", by, note or reason)
    outbox.append(event_store, "need.withdrawn", f"need/{need.id}", {
        "need_id": need.id, "community_id": need.community_id, "reason": reason,
        "withdrawn_at": rfc3339(utcnow())})
    return need


def close(need: Need, status: str, by: str, note: str | None) -> Need:
    """Resolved or unresolved by intake itself (e.g. after a referral elsewhere)."""
    move(need, status, by, note)
    return need


def follow_case(need_id: str, status: str, case_id: str, cause: str) -> None:
    """A case opened or closed at casework moves the need it came from (handler side).
    A need already closed keeps its status; the case is still linked."""
    need = db.session.get(Need, need_id)
    if need is None:
        raise LookupError(f"need {need_id} is not known here")
    need.case_id = case_id
    if status in TRANSITIONS[need.status]:
        move(need, status, cause)


def follow_topic(need_ids: list[str], topic_id: str) -> None:
    """A council topic taken up from needs (handler side): each need shows what became of
    it. Casework checked the needs against its queue, which intake's own events filled."""
    for need_id in need_ids:
        need = db.session.get(Need, need_id)
        if need is None:
            raise LookupError(f"need {need_id} is not known here")
        need.topic_id = topic_id
