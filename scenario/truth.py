"""What evaluation must arrive at, worked out from the plan alone: the generator knows what
its users did, so the events it caused must add up to these figures (for the whole contract
year of every contract; one agency per contract, as the plan builds them)."""
from collections import Counter
from datetime import date

from shared.vocabulary import CO_DECIDER, CONTRIBUTOR, LEADER, PARTICIPANT, RUNGS, SERVED

from .fieldwork import respondent_counts
from .calls import Call, Plan, Ref

EVENT_OF = {  # (service, path) -> the event each successful call publishes
    ("intake", "/buyers"): "jurisdiction.updated", ("intake", "/agencies"): "agency.updated",
    ("intake", "/needs"): "need.reported", ("intake", "/needs/{}/triage"): "need.triaged",
    ("intake", "/resident/needs"): "need.reported",  # a resident's own report
    ("intake", "/needs/{}/withdraw"): "need.withdrawn",
    ("casework", "/cases"): "case.opened", ("casework", "/cases/{}/goals"): "case.goal_set",
    ("casework", "/cases/{}/close"): "case.closed",
    ("casework", "/sessions"): "session.delivered",
    ("casework", "/activities"): "capacity.activity_held",
    ("casework", "/volunteers"): "volunteer.registered",
    ("casework", "/organizations"): "organization.formed",
    ("casework", "/organizations/{}"): "organization.updated",
    ("casework", "/council/topics"): "council.topic_proposed",
    ("casework", "/council/meetings"): "council.meeting_held",
    ("casework", "/council/meetings/{}/decisions"): "council.decision_made",
    ("casework", "/council/decisions/{}/progress"): "council.decision_progressed",
    ("casework", "/corrections"): "record.corrected",
    ("casework", "/funds"): "fund.set", ("casework", "/funds/{}/phase"): "fund.phase_changed",
    ("casework", "/funds/{}/projects"): "fund.project_proposed",
    ("casework", "/funds/{}/projects/{}/supports"): "fund.project_supported",
    ("casework", "/funds/{}/projects/{}/review"): "fund.project_reviewed",
    ("casework", "/funds/{}/objections"): "fund.objection_recorded",
    ("casework", "/funds/{}/ballots"): "fund.ballot_cast",
    ("casework", "/resident/funds/{}/ballot"): "fund.ballot_cast",  # a resident's own
    ("casework", "/funds/{}/projects/{}/delivery"): "fund.project_delivered",
}
# what else a fund's phase change publishes: the results, and on entering delivery a council
# topic and an adopted decision for each funded project (every feasible one, scenario/fund.py)
ENTERING = {"results": {"fund.results_published": 1},
            "delivery": {"council.topic_proposed": "funded", "council.decision_made": "funded"}}


def attaches(call) -> bool:
    """A photo of a casework record (evidence.attached); a receipt photo goes to evaluation's
    ledger, which publishes nothing about it."""
    return bool(call.photo) and call.service == "casework"


def event_counts(plan: Plan) -> dict[str, int]:
    counts = Counter()
    for call in plan.calls():
        if call.upload:
            counts["resident.registered"] += len(call.upload["rows"])
        elif attaches(call):
            counts["evidence.attached"] += 1
        elif (call.service, call.path) in EVENT_OF:
            counts[EVENT_OF[call.service, call.path]] += 1
        if call.path == "/funds/{}/phase":
            for kind, n in ENTERING.get(call.body["phase"], {}).items():
                counts[kind] += n if n != "funded" else len(_feasible(plan, call.path_ref))
    return dict(counts)


def _feasible(plan: Plan, fund: Ref) -> list[Ref]:
    """The fund's projects reviewed feasible, in the order proposed."""
    return [c.path_ref[1] for c in plan.calls() if c.path == "/funds/{}/projects/{}/review"
            and c.path_ref[0] == fund and c.body["feasible"]]


def _hours(body: dict) -> float:
    (h1, m1), (h2, m2) = (map(int, body[k].split(":")) for k in ("start", "end"))
    return round((h2 * 60 + m2 - h1 * 60 - m1) / 60, 2)


class _Year:
    """The plan's calls for one agency, read back as the facts evaluation projects."""

    def __init__(self, calls: list[Call]):
        self.rung: dict[Ref, int] = {}
        self.served: set[Ref] = set()  # residents with a served act
        self.led, self.all_initiatives = 0, 0
        self.cases, self.sessions, self.hours, self.activities = 0, 0, 0.0, 0
        self.topic_kind, self.proposer, self.outcome, self.status = {}, {}, {}, {}
        self.decided: dict[Ref, Ref] = {}  # decision -> its topic
        self.projects, self.funded = {}, []  # the fund's proposals; those funded
        self.times: dict[Ref, dict] = {}  # a session's start and end, as corrected
        for call in calls:
            handler = getattr(self, "_" + call.path.strip("/").replace("/", "_")
                              .replace("{}", "x"), None)
            if handler:
                handler(call.body, call)
        for topic, by in self.proposer.items():  # proposed, adopted and carried out
            if self.outcome.get(topic) == "adopted" and self.status.get(topic) == "done":
                self.act([by], LEADER)

    def act(self, refs, rung: int) -> None:
        for ref in refs:
            self.rung[ref] = max(self.rung.get(ref, 0), rung)
            if rung == SERVED:
                self.served.add(ref)

    def initiative(self, resident_led: bool) -> None:
        self.all_initiatives += 1
        self.led += resident_led

    def _cases(self, body, call):
        self.cases += 1
        if "resident_ref" in body:
            self.act([body["resident_ref"]], SERVED)

    def _sessions(self, body, call):
        self.sessions += 1
        self.hours += _hours(body)
        if call.produces:
            self.times[call.produces] = body
        attended = SERVED if body["method"] == "casework" else PARTICIPANT
        self.act(body["attendee_refs"], attended)
        resident_led = body.get("led_by", "agency") != "agency"
        self.act(body.get("leader_refs", []), LEADER if resident_led else attended)
        self.initiative(body.get("led_by", "agency") != "agency")

    def _activities(self, body, call):
        self.activities += 1
        volunteering = body["kind"] == "volunteer_service"
        attended = CONTRIBUTOR if volunteering else PARTICIPANT
        self.act(body["attendee_refs"], attended)
        resident_led = body.get("led_by", "agency") != "agency"
        self.act(body.get("leader_refs", []), LEADER if resident_led else attended)
        self.initiative(body.get("led_by", "agency") != "agency")

    def _volunteers(self, body, call):
        self.act([body["resident_ref"]], CONTRIBUTOR)

    def _organizations(self, body, call):
        self.act(body["member_refs"], CO_DECIDER)
        self.act(body.get("leader_refs", []), LEADER)

    def _council_topics(self, body, call):
        self.topic_kind[call.produces] = body["proposer_kind"]
        if body["proposer_kind"] == "resident":
            self.proposer[call.produces] = body["proposer_ref"]
            self.act([body["proposer_ref"]], CONTRIBUTOR)
        self.initiative(body["proposer_kind"] == "resident")

    def _council_meetings(self, body, call):
        self.act(body["attendee_refs"], PARTICIPANT)

    def _council_meetings_x_decisions(self, body, call):
        self.outcome[body["topic_id"]] = body["outcome"]  # a later decision supersedes
        self.decided[call.produces] = body["topic_id"]
        self.act(body["voter_refs"], CO_DECIDER)

    def _corrections(self, body, call):
        """A corrected end time recomputes the session's hours."""
        if "end" in body["changes"]:
            before = self.times[body["record_id"]]
            after = {**before, **body["changes"]}
            self.hours += _hours(after) - _hours(before)
            self.times[body["record_id"]] = after

    def _council_decisions_x_progress(self, body, call):
        self.status[self.decided[call.path_ref]] = body["status"]

    # the micro-fund (scenario/fund.py): supports and ballots are co-deciding; each funded
    # project becomes a council topic of its proposer, adopted, its delivery's leaders lead

    def _funds_x_projects(self, body, call):
        self.projects[call.produces] = body

    def _funds_x_projects_x_supports(self, body, call):
        self.act([body["resident_ref"]], CO_DECIDER)

    def _funds_x_projects_x_review(self, body, call):
        if body["feasible"]:
            self.funded.append(call.path_ref[1])

    def _funds_x_ballots(self, body, call):
        self.act([body["resident_ref"]], CO_DECIDER)

    def _resident_funds_x_ballot(self, body, call):  # cast by the resident themselves
        self.act([call.actor[2]], CO_DECIDER)

    def _funds_x_phase(self, body, call):
        if body["phase"] != "delivery":
            return
        for project in self.funded:
            proposal = self.projects[project]
            kind = {"agency": "social_worker"}.get(proposal["proposer_kind"],
                                                   proposal["proposer_kind"])
            self.topic_kind[project], self.outcome[project] = kind, "adopted"
            if kind == "resident":
                self.proposer[project] = proposal["proposer_ref"]
                self.act([proposal["proposer_ref"]], CONTRIBUTOR)
            self.initiative(kind == "resident")

    def _funds_x_projects_x_delivery(self, body, call):
        self.act(body["leader_refs"], LEADER)
        for decision in call.keeps:
            self.decided[decision] = call.path_ref[1]


def _cases_from_needs(calls: list[Call], needs: dict[Ref, Ref]) -> None:
    """A case opened from a need serves the need's resident."""
    for call in calls:
        if call.path == "/cases" and "need_id" in call.body:
            call.body.setdefault("resident_ref", needs[call.body["need_id"]])


def _ratio(numerator: int, denominator: int):
    return round(numerator / denominator, 4) if denominator else None


def verification(plan: Plan, contract: str) -> tuple[list[tuple], float | None]:
    """The auditor's samples of the contract, (kind, from, to, size) in the order drawn,
    and the verified share: confirmed of those reached (unreachable ones do not count)."""
    base = f"/contracts/{contract}/verifications"
    calls = [c for c in plan.calls() if c.path.startswith(base)]
    samples = [(c.body["kind"], c.body["from"], c.body["to"], c.body["size"])
               for c in calls if c.path == base]
    found = Counter(c.body["result"] for c in calls if c.path != base)
    return samples, _ratio(found["confirmed"], found["confirmed"] + found["not_confirmed"])


def _agency_year(plan: Plan, contract: str) -> tuple[_Year, list[Call]]:
    needs = {c.produces: c.body.get("resident_ref") for c in plan.calls()
             if c.path == "/needs"}
    needs.update({c.produces: c.actor[2] for c in plan.calls()
                  if c.path == "/resident/needs"})  # reported by the resident themselves
    agency = contract.removeprefix("k-")
    calls = [_copy(c) for c in plan.calls() if c.actor[:2] == ("social_worker", agency)]
    funds = {c.produces for c in calls if c.path == "/funds"}
    calls += [_copy(c) for c in plan.calls()  # the residents' own ballots in those funds
              if c.actor[0] == "resident" and c.path_ref in funds]
    _cases_from_needs(calls, needs)
    return _Year(calls), calls


def rungs(plan: Plan, contract: str) -> dict[Ref, int]:
    """Each resident's highest rung of the participation ladder over the year (1 served …
    5 leader)."""
    return _agency_year(plan, contract)[0].rung


def respondents(plan: Plan, contract: str) -> dict[str, int]:
    """Responses each survey wave of the contract holds, per instrument."""
    return {call.fieldwork["wave"]: respondent_counts(call.fieldwork["size"])[
        call.fieldwork["kind"]] for call in plan.calls()
        if call.fieldwork and call.actor == ("evaluator", contract)}


def figures(plan: Plan) -> dict:
    """Per contract: outputs, event-derived indicators, the participation ladder and what
    the auditor's follow-up verification found."""
    registered = Counter()
    for call in plan.calls():
        if call.upload:
            registered[call.upload["community_id"]] += len(call.upload["rows"])
    out = {}
    for contract in plan.contracts:
        year, calls = _agency_year(plan, contract)
        communities = {c.body["community_id"] for c in calls if c.path == "/council/topics"}
        at_least = {name: sum(1 for r in year.rung.values() if r >= rung)
                    for rung, name in enumerate(RUNGS, start=1)}
        resident_topics = [t for t, k in year.topic_kind.items() if k == "resident"]
        samples, verified = verification(plan, contract)
        adopted = [t for t, o in year.outcome.items() if o == "adopted"]
        out[contract] = {
            "outputs": {"cases": year.cases, "sessions": year.sessions,
                        "service_hours": round(year.hours, 2), "activities": year.activities},
            "ladder": at_least,
            "verification_samples": samples,
            "survey_respondents": respondents(plan, contract),
            "indicators": {
                "verified_share": verified,
                "ladder_participant_share": _ratio(  # among the residents served
                    sum(1 for r in year.served if year.rung[r] >= PARTICIPANT),
                    len(year.served)),
                "dependency_ratio": _ratio(year.led, year.all_initiatives),
                "resident_topic_adoption": _ratio(
                    sum(1 for t in resident_topics if year.outcome.get(t) == "adopted"),
                    len(resident_topics)),
                "follow_through": _ratio(sum(1 for t in adopted if year.status.get(t) == "done"),
                                         len(adopted)),
                "breadth": _ratio(at_least["participant"],
                                  sum(registered[c] for c in communities))}}
    return out


def _copy(call: Call) -> Call:
    return Call(call.actor, call.service, call.path, dict(call.body or {}), call.produces,
                call.path_ref, keeps=call.keeps)


def recorded_after(plan: Plan, moment, first, last) -> Counter:
    """The records of days `first` to `last` the plan has entered after `moment` (late
    entries and corrections, scenario/recording.py), by event type: what evaluation lists
    beside a milestone's card closed as of `moment`."""
    from .recording import day_of
    from shared.localtime import COMMUNITY_ZONE
    made = {c.produces: c for c in plan.calls() if c.produces}
    later = Counter()
    for _, chains in plan.phases:
        for chain in chains:
            day = None
            for call in chain:
                if call.path == "/corrections":
                    day = day_of(made[call.body["record_id"]])
                elif not call.photo:  # a photo is of the record before it
                    day = day_of(call) or (call.at and call.at.astimezone(COMMUNITY_ZONE).date())
                kind = "evidence.attached" if attaches(call) else EVENT_OF.get(
                    (call.service, call.path))
                if kind and call.at and call.at > moment and first <= day <= last:
                    later[kind] += 1
    return later


def hours_recorded_after(plan: Plan, moment, first, last) -> float:
    """What the service hours of days `first` to `last` gain from what the plan entered
    after `moment`: the late sessions' hours, and the end times corrected then."""
    from .recording import day_of
    sessions = {c.produces: c.body for c in plan.calls() if c.path == "/sessions"
                and c.produces}
    gained = 0.0
    for call in plan.calls():
        if not call.at or call.at <= moment:
            continue
        if call.path == "/sessions" and first <= day_of(call) <= last:
            gained += _hours(call.body)
        elif call.path == "/corrections" and "end" in call.body["changes"]:
            before = sessions[call.body["record_id"]]
            if first <= date.fromisoformat(before["date"]) <= last:
                gained += _hours({**before, **call.body["changes"]}) - _hours(before)
    return round(gained, 2)
