"""The residents' consultative council (协商议事会): topics proposed (who proposed matters),
meetings with agenda, attendance and minutes, decisions with votes and outcome, and the
follow-through of adopted decisions: 民事民参、民事民议、民事民决, recorded. Residents support
one another's topics (Decidim/Consul-style): a topic enough residents support is due for the
agenda."""
import os
from datetime import date

import sqlalchemy as sa

from shared import clock
from shared.errors import ApiError
from shared.i18n import bilingual

from .activities import check_context
from .evidence import check_residents, check_times, publish, timed_data
from .models import (CouncilDecision, CouncilMeeting, CouncilTopic, CouncilTopicSupport,
                     DecisionProgress, QueuedNeed, db)
from .access import require_served

PROPOSER_NEEDED = bilingual("A resident's topic names the resident who proposed it",
                            "居民提出的议题须注明提出人")
PROPOSER_NOT_RESIDENT = bilingual("Only a resident proposer has a resident reference",
                                  "只有居民提出的议题才填写居民编号")
UNKNOWN_NEEDS = bilingual("Needs must be in this community's intake queue",
                          "关联的需求须在本社区的受理队列中")
UNKNOWN_TOPICS = bilingual("Agenda topics must be open topics of this community",
                           "议程中的议题须为本社区尚未决定的议题")
NOT_ON_AGENDA = bilingual("The topic was not on this meeting's agenda", "该议题不在本次会议议程上")
TOO_MANY_VOTES = bilingual("More votes than residents attending the meeting",
                           "投票数超过了会议出席人数")
VOTERS_ATTENDED = bilingual("Voters must have attended the meeting", "投票人必须出席了会议")
VOTES_MATCH_VOTERS = bilingual("The votes do not add up to the voters listed",
                               "票数之和与投票人名单不一致")
ONLY_ADOPTED = bilingual("Only an adopted decision is followed through",
                         "只有通过的决定才有落实进度")
DONE_IS_COMPLETE = bilingual("A decision done is 100% carried out", "已落实的决定进度须为100%")
BEFORE_MEETING = bilingual("A decision cannot be made before its meeting",
                           "决定日期不能早于会议日期")
OWN_TOPIC = bilingual("You proposed this topic: support other residents' topics",
                      "这是您本人提出的议题，只能支持其他居民的议题")
THRESHOLD_SETTING = "CASEWORK_COUNCIL_SUPPORT_THRESHOLD"


def propose_topic(data: dict, claims) -> CouncilTopic:
    require_served(claims, data["community_id"], data["proposed_on"])
    if data["proposer_kind"] == "resident":
        if not data.get("proposer_ref"):
            raise ApiError(422, fields={"proposer_ref": [PROPOSER_NEEDED]})
        check_residents(data["community_id"], [data["proposer_ref"]], "proposer_ref")
    elif data.get("proposer_ref"):
        raise ApiError(422, fields={"proposer_ref": [PROPOSER_NOT_RESIDENT]})
    if data["need_ids"]:
        found = db.session.scalar(sa.select(sa.func.count()).select_from(QueuedNeed).where(
            QueuedNeed.need_id.in_(data["need_ids"]),
            QueuedNeed.community_id == data["community_id"]))
        if found != len(set(data["need_ids"])):
            raise ApiError(422, fields={"need_ids": [UNKNOWN_NEEDS]})
    topic = CouncilTopic(agency_id=claims.agency_id, **data)
    return publish(topic, "council.topic_proposed", topic_data)


def topic_data(t: CouncilTopic) -> dict:
    return {"topic_id": t.id, "community_id": t.community_id, "proposer_kind": t.proposer_kind,
            "proposer_ref": t.proposer_ref, "need_ids": t.need_ids, "channel": t.channel,
            "proposed_on": t.proposed_on.isoformat()}


def support_threshold() -> int:
    """The council's rule: how many residents' supports make a topic due for the agenda.
    Read at each support, so a changed setting applies from the next one; at least 1."""
    raw = os.environ.get(THRESHOLD_SETTING, "3")
    try:
        return max(1, int(raw))
    except ValueError:
        raise RuntimeError(f"{THRESHOLD_SETTING} must be a whole number, not {raw!r}") from None


def support(topic: CouncilTopic, ref: str, on: date) -> bool:
    """Resident `ref` supports `topic` (locked by the caller, so concurrent supports count
    one by one). Once per resident: a second support changes nothing (False). The support
    that reaches the threshold dates the topic as due for the agenda."""
    if topic.proposer_ref == ref:
        raise ApiError(422, fields={"topic_id": [OWN_TOPIC]})
    if db.session.get(CouncilTopicSupport, (topic.id, ref)) is not None:
        return False
    if topic.status == "decided":
        raise ApiError(409, "The council has decided this topic", "议事会已就该议题作出决定",
                       code="topic_decided")
    check_residents(topic.community_id, [ref], "supporter_ref")
    topic.supports += 1
    if topic.qualified_on is None and topic.supports >= support_threshold():
        topic.qualified_on = on
    publish(CouncilTopicSupport(topic_id=topic.id, resident_ref=ref, on=on),
            "council.topic_supported", lambda s: {
                "topic_id": topic.id, "community_id": topic.community_id,
                "supporter_ref": s.resident_ref, "supported_on": s.on.isoformat(),
                "channel": "online"})
    return True


def meeting_data(m: CouncilMeeting) -> dict:
    return {"meeting_id": m.id, "community_id": m.community_id, "agency_id": m.agency_id,
            "topic_ids": m.topic_ids, "attendee_refs": m.attendee_refs,
            "facilitated_by": m.facilitated_by, "mode": m.mode, **timed_data(m)}


def hold_meeting(data: dict, claims) -> CouncilMeeting:
    require_served(claims, data["community_id"], data["date"])  # scope before the agenda
    hours = check_times(data["date"], data["start"], data["end"])
    topics = db.session.scalars(sa.select(CouncilTopic).where(
        CouncilTopic.id.in_(data["topic_ids"]), CouncilTopic.agency_id == claims.agency_id,
        CouncilTopic.community_id == data["community_id"],
        CouncilTopic.status != "decided")).all()
    if len(topics) != len(set(data["topic_ids"])):
        raise ApiError(422, fields={"topic_ids": [UNKNOWN_TOPICS]})
    meeting = CouncilMeeting(agency_id=claims.agency_id, recorded_by=claims.sub, hours=hours,
                             **data)
    db.session.add(meeting)
    db.session.flush()
    check_context(data, claims, "council_meeting", meeting.id)
    for topic in topics:
        topic.status = "deliberated"
    return publish(meeting, "council.meeting_held", meeting_data)


def check_votes(meeting: CouncilMeeting, data: dict) -> None:
    votes = data["votes_for"] + data["votes_against"] + data["abstentions"]
    if votes > len(meeting.attendee_refs):
        raise ApiError(422, fields={"votes_for": [TOO_MANY_VOTES]})
    if not set(data["voter_refs"]) <= set(meeting.attendee_refs):
        raise ApiError(422, fields={"voter_refs": [VOTERS_ATTENDED]})
    if data["voter_refs"] and len(set(data["voter_refs"])) != votes:
        raise ApiError(422, fields={"voter_refs": [VOTES_MATCH_VOTERS]})


def decision_data(d: CouncilDecision) -> dict:
    return {"decision_id": d.id, "topic_id": d.topic_id, "meeting_id": d.meeting_id,
            "community_id": d.community_id, "votes_for": d.votes_for,
            "votes_against": d.votes_against, "abstentions": d.abstentions,
            "voter_refs": d.voter_refs, "outcome": d.outcome, "decision_mode": d.decision_mode,
            "decided_on": d.decided_on.isoformat()}


def decide(data: dict, claims, meeting: CouncilMeeting) -> CouncilDecision:
    if data["topic_id"] not in meeting.topic_ids:
        raise ApiError(422, fields={"topic_id": [NOT_ON_AGENDA]})
    decided_on = data.get("decided_on") or meeting.date
    if decided_on < meeting.date:
        raise ApiError(422, fields={"decided_on": [BEFORE_MEETING]})
    check_votes(meeting, data)
    if db.session.query(CouncilDecision).filter_by(topic_id=data["topic_id"],
                                                   meeting_id=meeting.id).first():
        raise ApiError(409, "This meeting already decided this topic",
                       "本次会议已就该议题作出决定")
    topic = db.session.get(CouncilTopic, data["topic_id"])
    topic.status = "decided" if data["outcome"] != "deferred" else "deferred"
    decision = CouncilDecision(agency_id=claims.agency_id, community_id=meeting.community_id,
                               meeting_id=meeting.id, **{**data, "decided_on": decided_on})
    return publish(decision, "council.decision_made", decision_data)


def follow_through(decision: CouncilDecision, data: dict, author: str):
    if decision.outcome != "adopted":
        raise ApiError(422, fields={"decision_id": [ONLY_ADOPTED]})
    if data["status"] == "done" and data["progress"] != 100:
        raise ApiError(422, fields={"progress": [DONE_IS_COMPLETE]})
    on = data.get("on") or clock.today()
    progress = DecisionProgress(decision_id=decision.id, status=data["status"],
                                progress=data["progress"], on=on, note=data.get("note"),
                                recorded_by=author)
    return publish(progress, "council.decision_progressed", lambda p: {
        "decision_id": decision.id, "community_id": decision.community_id,
        "status": p.status, "progress": p.progress, "on": p.on.isoformat()})
