"""Recording needs and moving their status, each change with its event in one transaction."""
from shared import outbox
from shared.eventstore import utcnow

from .models import Need, NeedStatusChange, db, events


def _history(need: Need, status: str, by: str) -> None:
    need.status = status
    db.session.add(NeedStatusChange(need_id=need.id, status=status, changed_by=by))


def record_need(fields: dict, by: str) -> Need:
    need = Need(**fields, reported_by=by, reported_at=utcnow())
    db.session.add(need)
    db.session.flush()
    _history(need, "reported", by)
    outbox.append(events, "need.reported", f"need/{need.id}", {
        "need_id": need.id, "community_id": need.community_id, "grid_id": need.grid_id,
        "resident_ref": need.resident_ref, "household_ref": None,
        "category": need.category, "urgency": need.urgency, "safety_flag": need.safety_flag,
        "channel": need.channel,
        "reported_at": need.reported_at.isoformat().replace("+00:00", "Z")})
    db.session.commit()
    return need


def follow_case(need_id: str, status: str, case_id: str, cause: str) -> None:
    """A case opened or closed at casework moves the need it came from (handler side)."""
    need = db.session.get(Need, need_id)
    if need is None:
        raise LookupError(f"need {need_id} is not known here")
    need.case_id = case_id
    _history(need, status, cause)
