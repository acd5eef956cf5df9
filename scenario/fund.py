"""The community's micro-fund (民生微实事) in the contract year, through casework's fund API
(docs/FUND.md): set with the residents' committee a fifth into the year, residents and the
agency propose projects, residents support them, the review declines one, the list is posted
and one objection recorded, residents vote online (on their phones, through the residents'
channel) and on paper at a council meeting,
results come out, and the meeting that takes them up turns the funded projects into council
decisions, delivered at their actual cost and followed through.

Drawn from a generator of its own, so the rest of the plan stays as it was for the seed.
Every feasible project gets votes and the prices total less than the fund, so all of them
are funded (what scenario/truth.py reads back)."""
import random
from datetime import timedelta

from .calls import Call, Ref
from .community import ADULTS, Year
from .recording import earliest

PROJECTS = (  # title, category, proposer kind, estimated share of the fund, price share
    ("楼道加装扶手", "works", "resident", 0.30, 0.28),
    ("老年助餐点设备", "goods", "resident", 0.25, 0.25),
    ("儿童四点半课堂", "service", "agency", 0.20, 0.18),
    ("私家车位划线", "works", "resident", 0.15, None),  # declined at review
)
SUPPORTS = 3  # the rules' minimum, and what each project gets
# days from the start of proposing: the phases (voting the notice's seven days after it
# begins), the delivery reports and the follow-through
STEPS = (("proposing", 0), ("review", 10), ("notice", 14), ("voting", 22), ("results", 28),
         ("delivery", 31), ("delivered", 40), ("done", 50))
SPAN = STEPS[-1][1]


def fund_chain(year: Year) -> list[Call]:
    """One chain: every step of the fund follows the one before it."""
    rng = random.Random(f"{year.plan.knobs.seed}/fund/{year.community}")
    plan, c = year.plan, year.community
    days = (plan.end - plan.start).days
    if days <= SPAN:  # too short a year for a fund's cycle
        return []
    first = plan.start + timedelta(days=min(days // 5, days - SPAN - 1))
    at = {name: first + timedelta(days=offset) for name, offset in STEPS}
    amount = 20 * year.size  # yuan: 20 per resident
    key = ("fund", c)
    fund = Ref("fund", key)
    worker = year.any_worker()
    calls = [year.worker(worker, "/funds", {
        "community_id": c, "year": at["proposing"].year, "amount": f"{amount}.00",
        "min_supports": SUPPORTS, "voting_rule": "approval", "notice_days": 7,
        "phases": {p: at[p].isoformat() for p in
                   ("proposing", "review", "notice", "voting", "results", "delivery")}},
        produces=fund)]
    adults = year.pick(min(len(year.people) // 2, 12 + year.size // 20), ADULTS)
    proposers, backers, voters = adults[:3], adults[3:3 + SUPPORTS], adults[3:]
    projects = []
    for n, (title, category, kind, estimate, price) in enumerate(PROJECTS):
        project = Ref("fund_project", key + (n,))
        body = {"title": title, "description": f"{title}：{'居民' if kind == 'resident' else '社工'}"
                "提出，惠及本楼居民", "category": category, "location": f"{n + 1}号楼",
                "estimated_cost": f"{round(amount * estimate)}.00",
                "beneficiaries": 30 + 10 * n, "proposer_kind": kind,
                "proposed_on": (at["proposing"] + timedelta(days=1 + n)).isoformat()}
        if kind == "resident":
            body["proposer_ref"] = year.ref(proposers[len(projects) % len(proposers)])
        calls.append(year.worker(worker, "/funds/{}/projects", body, produces=project,
                                 path_ref=fund))
        projects.append((project, body, price))
    for project, body, _ in projects:
        calls += [year.worker(worker, "/funds/{}/projects/{}/supports", {
            "resident_ref": year.ref(r), "on": (at["proposing"] + timedelta(days=6)).isoformat()},
            path_ref=(fund, project)) for r in backers]
    calls.append(_phase(year, worker, fund, "review", at))
    for project, body, price in projects:
        review = {"feasible": True, "price": f"{round(amount * price)}.00",
                  "price_explanation": "按三家询价取中"} if price else {
            "feasible": False, "reason": "占用公共通道，不符合资金用途"}
        calls.append(year.worker(worker, "/funds/{}/projects/{}/review", {
            **review, "on": (at["review"] + timedelta(days=2)).isoformat()},
            path_ref=(fund, project)))
    calls.append(_phase(year, worker, fund, "notice", at))
    calls.append(year.worker(worker, "/funds/{}/objections", {
        "project_id": projects[1][0], "text": "助餐点应优先考虑独居老人",
        "on": (at["notice"] + timedelta(days=2)).isoformat()}, path_ref=fund))
    calls.append(_phase(year, worker, fund, "voting", at))
    feasible = [p for p, _, price in projects if price]
    paper = voters[: len(voters) // 2]
    meeting_day = at["voting"] + timedelta(days=3)
    paper_meeting = Ref("meeting", key + ("ballots",))
    calls += _meeting(year, worker, meeting_day, paper, "微实事项目现场投票", paper_meeting)
    for i, r in enumerate(voters):
        # everyone chooses the first two; every other voter the third too (all get votes)
        choice = feasible if i % 2 == 0 else feasible[:2]
        if r in paper:  # the worker enters the paper ballots from the meeting
            calls.append(year.worker(worker, "/funds/{}/ballots", {
                "resident_ref": year.ref(r), "project_ids": choice, "channel": "paper",
                "meeting_id": paper_meeting, "cast_on": meeting_day.isoformat()},
                path_ref=fund))
        else:  # the resident votes on the phone, through the residents' own channel
            calls.append(Call(("resident", year.community, year.ref(r)), "casework",
                              "/resident/funds/{}/ballot", {"project_ids": choice},
                              path_ref=fund, at=earliest(meeting_day) + timedelta(minutes=i)))
    calls.append(_phase(year, worker, fund, "results", at))
    takes_up = Ref("meeting", key + ("delivery",))
    calls += _meeting(year, worker, at["delivery"], adults[:6], "微实事结果与实施", takes_up)
    calls.append(_phase(year, worker, fund, "delivery", at, meeting_id=takes_up))
    for n, project in enumerate(feasible):
        decision = Ref("decision", key + (n,))
        leaders = [year.ref(proposers[0])] if n == 0 else []
        estimate = projects[n][1]["estimated_cost"]
        cost = round(float(estimate) * rng.uniform(0.85, 1.1))
        calls.append(year.worker(worker, "/funds/{}/projects/{}/delivery", {
            "actual_cost": f"{cost}.00", "leader_refs": leaders,
            "on": at["delivered"].isoformat()}, path_ref=(fund, project),
            keeps={decision: "decision_id"}))
        calls.append(year.worker(worker, "/council/decisions/{}/progress", {
            "status": "done" if n < 2 else "in_progress", "progress": 100 if n < 2 else 50,
            "on": at["done"].isoformat()}, path_ref=decision))
    return calls


def _phase(year: Year, worker: str, fund: Ref, phase: str, at: dict, **extra) -> Call:
    return year.worker(worker, "/funds/{}/phase", {"phase": phase, "on": at[phase].isoformat(),
                                                   **extra}, path_ref=fund)


def _meeting(year: Year, worker: str, day, attendees, title: str, ref: Ref) -> list[Call]:
    """A council meeting of the fund, at 13:00 (between the slots sessions are booked in)."""
    topic = Ref("topic", ref.key)
    agenda = year.worker(worker, "/council/topics", {
        "community_id": year.community, "title": title, "description": title,
        "proposer_kind": "residents_committee", "proposed_on": day.isoformat(),
        "channel": "council_meeting", "need_ids": []}, produces=topic)
    return [agenda, year.worker(worker, "/council/meetings", {
        "community_id": year.community, "date": day.isoformat(), "start": "13:00",
        "end": "13:50", "location": "社区议事厅", "mode": "in_person", "topic_ids": [topic],
        "facilitated_by": "resident", "attendee_refs": year.refs(attendees),
        "minutes": title}, produces=ref)]
