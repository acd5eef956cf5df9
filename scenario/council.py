"""The residents' consultative council: topics proposed through each month, a meeting near
its end, decisions, and the follow-through of what was adopted (or its stalling)."""
from datetime import date, timedelta

from .calls import Call, Ref
from .community import ADULTS


def council_month(year, m: int, growth: float) -> None:
    """Topics proposed through the month, a meeting near its end, decisions, and the
    follow-through of what was adopted."""
    rng = year.rng
    first, last = year.month_bounds(m)
    meeting_day = last - timedelta(days=rng.randint(0, 4))
    if meeting_day <= first:
        return
    chain = council_chain(year)
    for _ in range(max(1, round((3 + 4 * growth) * year.scale ** 0.5))):
        chain.append(propose(year, first, meeting_day, growth))
    agenda = [t for t in year.open_topics if t["proposed"] < meeting_day][:12]
    if not agenda:
        return
    proposers = [t["by"] for t in agenda if t["by"] is not None]
    observers = year.pick(round(3 + 15 * growth), boost=1)
    attendees = list(dict.fromkeys(year.present(year.councillors) + proposers + observers))
    meeting = Ref("meeting", (year.community, m))
    online = rng.random() < 0.05 + 0.15 * growth
    facilitated = "resident" if rng.random() < 0.1 + 0.4 * growth else "agency"
    chain.append(year.worker(year.any_worker(), "/council/meetings", {
        "community_id": year.community, "topic_ids": [t["ref"] for t in agenda],
        "attendee_refs": year.refs(attendees), "facilitated_by": facilitated,
        "minutes": f"第{m + 1}次议事会会议纪要", "mode": "online" if online else "in_person",
        "location": "线上会议" if online else "社区议事厅",
        "date": meeting_day.isoformat(), "start": "19:00", "end": "21:00"},
        produces=meeting))
    year.took_part(attendees)
    for topic in agenda:
        decide(year, chain, topic, meeting, meeting_day, attendees, growth)


def council_chain(year) -> list[Call]:
    if year.council_calls is None:
        year.council_calls = []
        year.work_chains.append(year.council_calls)
    return year.council_calls


def propose(year, first: date, meeting_day: date, growth: float) -> Call:
    rng = year.rng
    kind = "resident" if rng.random() < 0.3 + 0.3 * growth else rng.choices(
        ("social_worker", "residents_committee", "party_organization"), (45, 35, 20))[0]
    by = year.pick(1, ADULTS, boost=2)[0] if kind == "resident" \
        else None
    day = first + timedelta(days=rng.randint(0, max(0, (meeting_day - first).days - 1)))
    linked = [n for n in year.needs if not n["used"] and n["day"] <= day and n[
        "category"] in ("public_environment", "community_governance",
                        "neighbourhood_disputes")][:rng.randint(0, 3)]
    for n in linked:
        n["used"] = True
    ref = Ref("topic", (year.community, year.topics))
    year.topics += 1
    year.open_topics.append({"ref": ref, "by": by, "kind": kind, "proposed": day,
                             "deferred": 0})
    if by is not None:
        year.took_part([by])
    channel = rng.choices(("in_person", "online", "council_meeting"),
                          (0.6, 0.1 + 0.3 * growth, 0.2))[0]
    body = {"community_id": year.community, "title": rng.choice((
        "加装电梯", "楼道照明改造", "停车位规划", "垃圾分类点设置", "老年食堂选址", "广场舞噪音公约",
        "小区绿化维护", "宠物管理公约")), "description": "居民议题", "proposer_kind": kind,
            "need_ids": [Ref("need", (year.community, n["index"])) for n in linked],
            "channel": channel, "proposed_on": day.isoformat()}
    if by is not None:
        body["proposer_ref"] = year.ref(by)
    return year.worker(year.any_worker(), "/council/topics", body, produces=ref)


def decide(year, chain, topic, meeting: Ref, day: date, attendees, growth) -> None:
    rng = year.rng
    resident = topic["kind"] == "resident"
    weights = (55, 20, 25) if resident else (75, 10, 15)
    if topic["deferred"] >= 2:
        weights = (weights[0], weights[1], 0)
    outcome = rng.choices(("adopted", "rejected", "deferred"), weights)[0]
    mode = rng.choices(("informed", "consulted", "partnership", "delegated"),
                       (30 - 20 * growth, 40 - 10 * growth, 20 + 15 * growth,
                        10 + 15 * growth))[0]
    voters = [] if outcome == "deferred" else [
        p for p in attendees if rng.random() < 0.85]
    against = round(len(voters) * rng.uniform(0.05, 0.3))
    abstain = round(len(voters) * rng.uniform(0, 0.1))
    if outcome == "rejected":
        against = max(against, len(voters) - abstain - against)
    decision = Ref("decision", (year.community, topic["ref"].key[1], meeting.key[1]))
    chain.append(year.worker(year.any_worker(), "/council/meetings/{}/decisions", {
        "topic_id": topic["ref"], "votes_for": len(voters) - against - abstain,
        "votes_against": against, "abstentions": abstain,
        "voter_refs": year.refs(voters), "outcome": outcome, "decision_mode": mode,
        "decided_on": day.isoformat(), "summary": f"议题表决：{outcome}"},
        path_ref=meeting, produces=decision))
    year.took_part(voters)
    if outcome == "deferred":
        topic["deferred"] += 1
        return
    year.open_topics.remove(topic)
    if outcome == "adopted":
        follow_through(year, chain, decision, day)


def follow_through(year, chain, decision: Ref, decided: date) -> None:
    """Carried out in one to four months, or stalled for want of resources."""
    rng = year.rng
    fate = rng.choices(("done", "stalled", "slow"), (60, 18, 22))[0]
    steps = rng.randint(1, 4)
    day, progress = decided, 0
    for step in range(steps + 1):
        day += timedelta(days=rng.randint(20, 40))
        if day >= year.plan.end:
            return
        if fate == "stalled" and step == 1:
            chain.append(year.worker(year.any_worker(), "/council/decisions/{}/progress", {
                "status": "stalled", "progress": progress, "on": day.isoformat(),
                "note": "资金未落实"}, path_ref=decision))
            return
        done = fate == "done" and step == steps
        progress = 100 if done else min(90, progress + rng.randint(15, 35))
        chain.append(year.worker(year.any_worker(), "/council/decisions/{}/progress", {
            "status": "done" if done else "in_progress", "progress": progress,
            "on": day.isoformat()}, path_ref=decision))
