"""A resident's own participation, as casework recorded it: each act (what, when, which
kind) and the highest rung of the ladder it reaches, by the same act kinds and rungs
evaluation counts from the events (shared/vocabulary.py ACT_RUNGS, docs/MEASURES.md).
Only the resident's own community is read."""
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from shared.vocabulary import ACT_RUNGS, RUNG_NAMES, TRAINING_KINDS

from .models import (CapacityActivity, Case, CouncilDecision, CouncilMeeting, CouncilTopic,
                     CouncilTopicSupport, Fund, FundBallot, FundProject, FundSupport,
                     Organization, Session, Volunteer, db)


@dataclass(frozen=True)
class Act:
    on: date
    kind: str       # an act kind of ACT_RUNGS
    record: str     # session, capacity_activity, volunteer, organization, council_topic, ...
    title: str      # what it was: a session's topic, a council topic's title, ...

    @property
    def rung(self) -> int:
        return ACT_RUNGS[self.kind]


def _in(community_id: str, model):
    return db.session.scalars(sa.select(model).where(model.community_id == community_id))


def _timed(ref: str, record, kind: str, name: str) -> list[Act]:
    """A session or activity: led if the resident led it (not agency-led), else the
    attendee's act; an agency-led record's leader counts as an attendee."""
    if ref in record.leader_refs and record.led_by != "agency":
        return [Act(record.date, "led", name, record.topic)]
    if ref in record.attendee_refs or ref in record.leader_refs:
        return [Act(record.date, kind, name, record.topic)]
    return []


def _activity_kind(activity) -> str:
    if activity.kind == "volunteer_service":
        return "volunteered"
    return "trained" if activity.kind in TRAINING_KINDS else "attended"


def acts_of(ref: str, community_id: str) -> list[Act]:
    """Every act of the resident in the community, oldest first."""
    acts = [Act(c.opened_on, "served", "case", "") for c in _in(community_id, Case)
            if c.resident_ref == ref]
    for s in _in(community_id, Session):
        acts += _timed(ref, s, "served" if s.method == "casework" else "attended", "session")
    for a in _in(community_id, CapacityActivity):
        acts += _timed(ref, a, _activity_kind(a), "capacity_activity")
    acts += [Act(v.registered_on, "registered_volunteer", "volunteer", "")
             for v in _in(community_id, Volunteer) if v.resident_ref == ref]
    for o in _in(community_id, Organization):
        if ref in o.leader_refs or ref in o.member_refs:
            acts.append(Act(o.formed_on, "led" if ref in o.leader_refs else "member",
                            "organization", o.name))
    acts += [Act(t.proposed_on, "proposed", "council_topic", t.title)
             for t in _in(community_id, CouncilTopic) if t.proposer_ref == ref]
    acts += [Act(on, "supported", "council_topic", title) for on, title in db.session.execute(
        sa.select(CouncilTopicSupport.on, CouncilTopic.title).join(
            CouncilTopic, CouncilTopic.id == CouncilTopicSupport.topic_id).where(
            CouncilTopic.community_id == community_id, CouncilTopicSupport.resident_ref == ref))]
    acts += [Act(m.date, "attended", "council_meeting", "") for m in
             _in(community_id, CouncilMeeting) if ref in m.attendee_refs]
    acts += [Act(d.decided_on, "voted", "council_decision", d.summary[:200]) for d in
             _in(community_id, CouncilDecision) if ref in d.voter_refs]
    acts += _fund_acts(ref, community_id)
    return sorted(acts, key=lambda a: (a.on, a.rung))


def _fund_acts(ref: str, community_id: str) -> list[Act]:
    """Supports and ballots in the community's micro-funds (co-deciding), and projects
    proposed (the fund counts a funded one as a contribution once it is a council topic)."""
    funds = sa.select(Fund.id).where(Fund.community_id == community_id)
    supports = db.session.execute(sa.select(FundSupport.on, FundProject.title).join(
        FundProject, FundProject.id == FundSupport.project_id).where(
        FundProject.fund_id.in_(funds), FundSupport.resident_ref == ref))
    ballots = db.session.scalars(sa.select(FundBallot).where(
        FundBallot.fund_id.in_(funds), FundBallot.resident_ref == ref))
    return ([Act(on, "supported", "fund_project", title) for on, title in supports] +
            [Act(b.cast_on, "voted", "fund_ballot", "") for b in ballots])


def summary(ref: str, community_id: str) -> dict:
    """The resident's acts and highest rung (0: none yet), with the rung's name."""
    acts = acts_of(ref, community_id)
    rung = max((a.rung for a in acts), default=0)
    return {"rung": rung, "rung_name": RUNG_NAMES.get(rung),
            "acts": [{"on": a.on, "kind": a.kind, "rung": a.rung, "record": a.record,
                      "title": a.title} for a in acts]}
