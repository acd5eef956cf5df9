"""Group work and community work: standing groups that meet twice a month and come to run
their own sessions, and open community events where residents whose cases closed are
invited back."""
from .calls import Ref
from .photos import photographed

GROUPS = (("老年互助小组", ("60-69", "70-79", "80+")), ("四点半课堂", ("0-17",)),
          ("巧手妈妈手工坊", ("18-34", "35-59")), ("慢病自我管理小组", ("60-69", "70-79")),
          ("书画兴趣小组", ("35-59", "60-69", "70-79")), ("青年志愿先锋", ("18-34",)))


def group_work(year, m: int, growth: float) -> None:
    """Group work: standing groups meet twice a month; more groups as the year goes on;
    groups with a cultivated leader increasingly run their own sessions."""
    wanted = max(1, round(year.scale * (3 + 4 * growth)))
    while len(year.groups) < wanted:
        name, bands = GROUPS[len(year.groups) % len(GROUPS)]
        members = year.pick(year.rng.randint(8, 16), bands)
        year.groups.append({"name": name, "bands": bands, "members": members,
                            "worker": year.any_worker(), "leader": None, "since": m})
    for group in year.groups:
        if group["leader"] is None and m - group["since"] >= 2:
            trained = [p for p in group["members"] if p in year.trained]
            if trained and year.rng.random() < 0.6:
                group["leader"] = trained[0]
        if year.rng.random() < 0.3:  # newcomers join, some drift away
            group["members"] = group["members"][1:] + year.pick(2, group["bands"])
        for _ in range(2):
            led = group["leader"] is not None and year.rng.random() < 0.3 + 0.6 * growth
            session(year, "group_work", group["name"], [group["worker"]], m,
                    year.present(group["members"]), group["leader"] if led else None)


def session(year, method: str, topic: str, workers: list[str], m: int,
            attendees: list[int], leader: int | None, evening=False) -> None:
    slot = year.book(workers, m, evening)
    if slot is None or not attendees:
        return
    attendees = [p for p in dict.fromkeys(attendees) if p != leader]
    online = year.rng.random() < 0.06
    year.took_part(attendees)
    key = (year.community, workers[0], slot[0].isoformat(), slot[1])
    made = year.worker(workers[0], "/sessions", {
        "community_id": year.community, "method": method, "topic": topic,
        "worker_ids": workers, "attendee_refs": year.refs(attendees),
        "led_by": "resident" if leader is not None else "agency",
        "leader_refs": year.refs([leader] if leader is not None else []),
        "location": "线上" if online else "社区活动室", "mode": "online" if online else "in_person",
        "date": slot[0].isoformat(), "start": slot[1], "end": slot[2]},
        produces=Ref("session", key))
    if online or not photographed(key):
        year.work(made)
        return
    year.work(made, year.worker(workers[0], "/records/session/{}/files",
                                path_ref=Ref("session", key),
                                photo={"key": "/".join(key), "taken": f"{slot[0]} {slot[1]}"}))


def community_work(year, m: int, growth: float) -> None:
    """Open community events (neighbourhood festivals, clean-ups): breadth, and where
    residents whose cases closed are invited back."""
    events = max(1, round(year.scale * (2 + 2 * growth)))
    returning = year.returning.pop(m, [])
    for e in range(events):
        size = year.rng.randint(20, 40 + round(30 * growth))
        guests = returning[e::events]
        workers = year.rng.sample([w for w, _ in year.workers], 2)
        session(year, "community_work", year.rng.choice(
            ("邻里节", "环境整治行动", "健康义诊", "政策宣讲", "亲子运动会")), workers, m,
            year.pick(size, boost=0.5) + guests, None, evening=year.rng.random() < 0.3)
