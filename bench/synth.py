"""Synthetic community life as events: what intake and casework would publish over a year in
many communities, in the project's envelope, each source's chain intact, every `data`
checked against its catalogue schema. Deterministic for a seed.

The mix leans on what dominates real projections: sessions and activities (each many acts),
then needs, cases and the council cycle."""
import random
from datetime import date, timedelta

from shared.events import GENESIS_HASH, Event, check_data
from shared.vocabulary import AGE_BANDS, GENDERS, HOUSEHOLD_TYPES
from tests.streams import need_data

YEAR = date(2026, 1, 1)
AGENCY = "a-bench"
# short type -> weight in the mix (dependent events fall back to a resident when nothing
# they depend on exists yet)
MIX = {"resident.registered": 8, "need.reported": 15, "case.opened": 8, "case.closed": 6,
       "session.delivered": 28, "capacity.activity_held": 12, "volunteer.registered": 3,
       "organization.formed": 1, "council.topic_proposed": 6, "council.meeting_held": 4,
       "council.decision_made": 5, "council.decision_progressed": 4}
SOURCES = {"resident.registered": "/intake", "need.reported": "/intake"}


def community_ids(count: int) -> list[str]:
    return [f"c{i:03d}" for i in range(count)]


class _Chain:
    """Per source: the next sequence number and the hash of the previous event."""

    def __init__(self):
        self.heads = {}

    def event(self, short: str, subject: str, data: dict) -> Event:
        source = SOURCES.get(short, "/casework")
        seq, prevhash = self.heads.get(source, (0, GENESIS_HASH))
        event = Event.new(source=source, short_type=short, subject=subject,
                          data=check_data(short, data), sequence=seq + 1, prevhash=prevhash)
        self.heads[source] = (seq + 1, event.hash())
        return event


class Community:
    """What has happened so far in one community: who lives there, what is open."""

    def __init__(self, cid: str):
        self.id, self.residents, self.needs = cid, [], []
        self.open_cases, self.topics, self.decisions, self.organizations = [], [], [], []

    def some(self, rng, k: int) -> list[str]:
        return rng.sample(self.residents, min(k, len(self.residents)))


class Generator:
    def __init__(self, communities: list[str], seed: int = 9):
        self.rng, self.chain = random.Random(seed), _Chain()
        self.communities = [Community(c) for c in communities]
        self.counter = 0

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def events(self, n: int):
        """n events spread over the year, in time order."""
        kinds, weights = list(MIX), list(MIX.values())
        for i in range(n):
            day = YEAR + timedelta(days=364 * i // max(1, n))
            community = self.rng.choice(self.communities)
            short = self.rng.choices(kinds, weights)[0]
            yield getattr(self, short.replace(".", "_"), self.resident_registered)(
                community, day)

    # -- one method per event type: (community, day) -> Event ---------------------------------

    def resident_registered(self, c: Community, day: date) -> Event:
        ref = self._id("r")
        c.residents.append(ref)
        rng = self.rng
        return self.chain.event("resident.registered", f"resident/{ref}", {
            "resident_ref": ref, "community_id": c.id, "grid_id": f"{c.id}-g{rng.randint(1, 8)}",
            "household_ref": None, "household_type": rng.choice(HOUSEHOLD_TYPES),
            "age_band": rng.choice(AGE_BANDS), "gender": rng.choice(GENDERS[:2]),
            "flags": [], "registered_on": day.isoformat()})

    def need_reported(self, c: Community, day: date) -> Event:
        if not c.residents:
            return self.resident_registered(c, day)
        need = self._id("n")
        c.needs.append((need, self.rng.choice(c.residents)))
        return self.chain.event("need.reported", f"need/{need}", need_data(
            need, c.id, resident_ref=c.needs[-1][1], channel=self.rng.choice(
                ("walk_in", "hotline", "online", "grid_visit")),
            reported_at=f"{day.isoformat()}T08:00:00Z"))

    def case_opened(self, c: Community, day: date) -> Event:
        if not c.needs:
            return self.need_reported(c, day)
        need, ref = c.needs.pop(self.rng.randrange(len(c.needs)))
        case = {"case_id": self._id("k"), "agency_id": AGENCY, "community_id": c.id,
                "resident_ref": ref, "need_id": need}
        c.open_cases.append(case)
        return self.chain.event("case.opened", f"case/{case['case_id']}", {
            **case, "worker_id": "w1", "opened_on": day.isoformat()})

    def case_closed(self, c: Community, day: date) -> Event:
        if not c.open_cases:
            return self.case_opened(c, day)
        case = c.open_cases.pop(0)
        return self.chain.event("case.closed", f"case/{case['case_id']}", {
            **case, "outcome": self.rng.choice(("goals_met", "partly_met", "not_met")),
            "goal_outcomes": [], "closed_on": day.isoformat()})

    def session_delivered(self, c: Community, day: date) -> Event:
        if len(c.residents) < 3:
            return self.resident_registered(c, day)
        rng = self.rng
        led = rng.choice(("agency", "agency", "resident"))
        session = self._id("s")
        return self.chain.event("session.delivered", f"session/{session}", {
            "session_id": session, "agency_id": AGENCY, "community_id": c.id,
            "method": rng.choice(("group_work", "community_work", "casework")),
            "mode": rng.choice(("in_person", "in_person", "online")), "case_id": None,
            "worker_ids": ["w1"], "led_by": led,
            "leader_refs": c.some(rng, 1) if led == "resident" else [],
            "attendee_refs": c.some(rng, rng.randint(3, 8)), **_timed(day, 2)})

    def capacity_activity_held(self, c: Community, day: date) -> Event:
        if len(c.residents) < 3:
            return self.resident_registered(c, day)
        rng = self.rng
        org = rng.choice(c.organizations) if c.organizations else None
        activity = self._id("act")
        return self.chain.event("capacity.activity_held", f"activity/{activity}", {
            "activity_id": activity, "agency_id": AGENCY, "community_id": c.id,
            "kind": rng.choice(("training", "volunteer_service", "leader_cultivation")),
            "worker_ids": ["w1"], "led_by": "organization" if org else "agency",
            "organization_id": org, "leader_refs": c.some(rng, 1) if org else [],
            "attendee_refs": c.some(rng, rng.randint(2, 6)), **_timed(day, 3)})

    def volunteer_registered(self, c: Community, day: date) -> Event:
        if not c.residents:
            return self.resident_registered(c, day)
        volunteer = self._id("v")
        return self.chain.event("volunteer.registered", f"volunteer/{volunteer}", {
            "volunteer_id": volunteer, "resident_ref": self.rng.choice(c.residents),
            "agency_id": AGENCY, "community_id": c.id, "registered_on": day.isoformat()})

    def organization_formed(self, c: Community, day: date) -> Event:
        if len(c.residents) < 4:
            return self.resident_registered(c, day)
        org = self._id("o")
        c.organizations.append(org)
        members = c.some(self.rng, 4)
        return self.chain.event("organization.formed", f"organization/{org}", {
            "organization_id": org, "agency_id": AGENCY, "community_id": c.id,
            "kind": "mutual_aid", "status": "active", "formed_on": day.isoformat(),
            "leader_refs": members[:1], "member_refs": members})

    def council_topic_proposed(self, c: Community, day: date) -> Event:
        if not c.residents:
            return self.resident_registered(c, day)
        topic = self._id("t")
        c.topics.append(topic)
        resident = self.rng.random() < 0.6
        return self.chain.event("council.topic_proposed", f"topic/{topic}", {
            "topic_id": topic, "community_id": c.id,
            "proposer_kind": "resident" if resident else "social_worker",
            "proposer_ref": self.rng.choice(c.residents) if resident else None,
            "need_ids": [c.needs[-1][0]] if c.needs else [], "channel": "in_person",
            "proposed_on": day.isoformat()})

    def council_meeting_held(self, c: Community, day: date) -> Event:
        if not c.topics or len(c.residents) < 3:
            return self.council_topic_proposed(c, day)
        meeting = self._id("m")
        return self.chain.event("council.meeting_held", f"meeting/{meeting}", {
            "meeting_id": meeting, "community_id": c.id, "agency_id": AGENCY,
            "topic_ids": c.topics[-2:], "attendee_refs": c.some(self.rng, 6),
            "facilitated_by": "agency", "mode": "in_person",
            **{k: v for k, v in _timed(day, 2, 19).items() if k != "hours"}})

    def council_decision_made(self, c: Community, day: date) -> Event:
        if not c.topics:
            return self.council_topic_proposed(c, day)
        rng, topic, decision = self.rng, c.topics.pop(0), self._id("d")
        outcome = rng.choice(("adopted", "adopted", "rejected", "deferred"))
        if outcome == "adopted":
            c.decisions.append(decision)
        return self.chain.event("council.decision_made", f"decision/{decision}", {
            "decision_id": decision, "topic_id": topic, "meeting_id": "m-bench",
            "community_id": c.id, "votes_for": 5, "votes_against": 1, "abstentions": 0,
            "voter_refs": c.some(rng, 6), "outcome": outcome,
            "decision_mode": rng.choice(("consulted", "partnership", "delegated")),
            "decided_on": day.isoformat()})

    def council_decision_progressed(self, c: Community, day: date) -> Event:
        if not c.decisions:
            return self.council_decision_made(c, day)
        done = self.rng.random() < 0.5
        decision = c.decisions.pop(0) if done else self.rng.choice(c.decisions)
        return self.chain.event("council.decision_progressed", f"decision/{decision}", {
            "decision_id": decision, "community_id": c.id,
            "status": "done" if done else "in_progress",
            "progress": 100 if done else 50, "on": day.isoformat()})


def _timed(day: date, hours: int, start: int = 9) -> dict:
    return {"date": day.isoformat(), "start": f"{start:02d}:00",
            "end": f"{start + hours:02d}:00", "hours": float(hours)}


def typical_message() -> bytes:
    """The wire form of a typical event (a need.reported as intake publishes it)."""
    event = Event.new(source="/intake", short_type="need.reported", subject="need/n-1",
                      data=check_data("need.reported", need_data(
                          "3f2a8c1e-6b7d-4e2f-9a10-5c3d2e1f0a9b", "c001",
                          grid_id="c001-g1", resident_ref="r-5e1f0a9b3c2d4e6f")),
                      sequence=123456, prevhash="ab" * 32,
                      traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01")
    return event.to_json().encode()
