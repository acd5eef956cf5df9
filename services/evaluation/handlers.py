"""What evaluation consumes: every event intake and casework publish.

Each event is counted in the tally (so an effect applied twice shows), projected
(projections.py) and indexed by the record it is about (evidence.py), in the transaction
its inbox claim is in. The inbox keeps the event itself: the log the projections are
rebuilt from."""
from collections import defaultdict

from shared.db import get_or_add, prefetch

from . import attachments, evidence, projections
from .models import EventTally, db


def _tally_key(event) -> tuple[str, str]:
    return event.short_type, event.data.get("community_id") or "-"


def tally(event):
    short_type, community_id = _tally_key(event)
    row = get_or_add(db.session, EventTally, type=short_type, community_id=community_id)
    row.count = (row.count or 0) + 1


def consumed(project=None):
    """The handler of one event type: counted, projected by `project` (if it has one) and
    indexed. No flush per lookup: a batch of events is flushed once, at its commit; the few
    projectors that query more than a row by its key flush first."""
    def handle(event):
        with db.session.no_autoflush:
            tally(event)
            if project is not None:
                project(event)
            evidence.index(event)
    handle.lookups = getattr(project, "lookups", None)
    return handle


HANDLERS = {
    "jurisdiction.updated": consumed(projections.jurisdiction),
    "agency.updated": consumed(projections.agency),
    "resident.registered": consumed(projections.resident),
    "resident.updated": consumed(projections.resident),
    "need.reported": consumed(projections.need_reported),
    "need.triaged": consumed(),
    "need.withdrawn": consumed(),
    "case.opened": consumed(projections.case_opened),
    "case.goal_set": consumed(),
    "case.closed": consumed(projections.case_closed),
    "session.delivered": consumed(projections.session),
    "capacity.activity_held": consumed(projections.activity),
    "attendance.signed_in": consumed(projections.signed_in),
    "volunteer.registered": consumed(projections.volunteer),
    "organization.formed": consumed(projections.organization),
    "organization.updated": consumed(projections.organization),
    "council.topic_proposed": consumed(projections.topic_proposed),
    "council.topic_supported": consumed(projections.topic_supported),
    "council.meeting_held": consumed(projections.meeting),
    "council.decision_made": consumed(projections.decision),
    "council.decision_progressed": consumed(projections.progressed),
    "record.corrected": consumed(projections.corrected),
    "fund.set": consumed(projections.fund_set),
    "fund.phase_changed": consumed(projections.fund_phase),
    "fund.project_proposed": consumed(projections.fund_project_proposed),
    "fund.project_supported": consumed(projections.fund_project_supported),
    "fund.project_reviewed": consumed(projections.fund_project_reviewed),
    "fund.objection_recorded": consumed(),
    "fund.ballot_cast": consumed(projections.fund_ballot),
    "fund.results_published": consumed(),
    "fund.project_delivered": consumed(projections.fund_project_delivered),
    "evidence.attached": consumed(attachments.attached),
    "evidence.hidden": consumed(attachments.hidden),
}


def prepare(events) -> None:
    """Before a batch is applied: load at once the rows its handlers will look up by key
    (one query per table instead of one per event)."""
    wanted = defaultdict(set)
    for event in events:
        wanted[EventTally].add(_tally_key(event))
        lookups = HANDLERS[event.short_type].lookups
        for model, *key in lookups(event.data) if lookups else ():
            wanted[model].add(tuple(key))
    for model, keys in wanted.items():
        prefetch(db.session, model, keys)
