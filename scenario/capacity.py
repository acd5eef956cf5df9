"""Capacity building: volunteer training and service, leader cultivation, and the
incubation of resident self-organisations, some of which come to act on their own and some
of which go dormant."""
from datetime import date, timedelta

from .calls import Ref
from .community import ADULTS


def activity(year, kind: str, topic: str, m: int, attendees: list[int],
             leaders=(), organisation: Ref | None = None, chain=None) -> date | None:
    """A capacity-building record (in `chain`, or on its own); its day, or None if no
    one came or no worker was free."""
    led_by = "organization" if organisation else "resident" if leaders else "agency"
    workers = [] if leaders else [year.any_worker()]
    slot = year.book(workers, m) if workers else year.free_time(m)
    attendees = [p for p in dict.fromkeys(attendees) if p not in leaders]
    if slot is None or not attendees:
        return None
    year.took_part(attendees)
    body = {"community_id": year.community, "kind": kind, "topic": topic,
            "worker_ids": workers, "led_by": led_by, "leader_refs": year.refs(leaders),
            "attendee_refs": year.refs(attendees), "location": "社区活动室",
            "date": slot[0].isoformat(), "start": slot[1], "end": slot[2]}
    if organisation:
        body["organization_id"] = organisation
    call = year.worker(workers[0] if workers else year.any_worker(), "/activities", body)
    if chain is None:
        year.work(call)
    else:
        chain.append(call)
    return slot[0]


def capacity_building(year, m: int, growth: float) -> None:
    rng = year.rng
    for _ in range(max(1, round(year.scale * 1.5))):  # volunteer training
        trainees = year.pick(rng.randint(8, 20), ADULTS, boost=1)
        day = activity(year, "training", "志愿服务培训", m, trainees)
        for p in trainees:  # about half of those trained sign up
            if day and p not in year.volunteers and rng.random() < 0.5:
                year.volunteers.append(p)
                signed = min(day + timedelta(days=rng.randint(0, 10)),
                             year.plan.end - timedelta(days=1))
                year.work(year.worker(year.any_worker(), "/volunteers", {
                    "community_id": year.community, "resident_ref": year.ref(p),
                    "skills": [rng.choice(("陪伴", "巡逻", "维修", "文艺", "清洁"))],
                    "registered_on": signed.isoformat()}))
    if year.volunteers:
        for _ in range(max(1, round(year.scale * (2 + 4 * growth)))):
            keen = sorted(year.volunteers, key=lambda p: -year.people[p].propensity)
            crew = [p for p in year.volunteers if rng.random() < min(
                0.9, 0.1 + year.people[p].propensity * 0.4)][:10] or keen[:3]
            lead = [p for p in crew if p in year.leaders][:1]
            resident_led = lead and rng.random() < 0.15 + 0.55 * growth
            activity(year, "volunteer_service", rng.choice(("助老探访", "楼栋清洁", "平安巡逻")),
                     m, crew, lead if resident_led else ())
    if m % 2 == 1:  # leader cultivation for the most active, every other month
        candidates = sorted((p for p in year.acts if p not in year.trained
                             and year.people[p].age_band != "0-17"),
                            key=lambda p: -year.acts[p])[:rng.randint(4, 10)]
        day = activity(year, "leader_cultivation", "骨干培育工作坊", m, candidates)
        for p in candidates if day else []:
            year.trained[p] = day
            if rng.random() < 0.45:  # lagging empowerment: fewer than half step up
                year.leaders.append(p)


def organisations_work(year, m: int, growth: float) -> None:
    """Self-organisations grow out of the groups: incubated, formed, then (some of them)
    active on their own; a third go dormant."""
    due = round(year.scale * (1 + 5 * growth))
    ready = [p for p in year.leaders if all(p not in o["leaders"]
                                            for o in year.organisations)]
    if len(year.organisations) < due and ready and m >= 2:
        group = year.groups[len(year.organisations) % len(year.groups)]
        leaders = ready[:2]
        members = list(dict.fromkeys(leaders + group["members"]))[:30]
        day = activity(year, "org_incubation", "组织孵化", m, members)
        if day:
            org = Ref("organization", (year.community, len(year.organisations)))
            formed = day  # founded at the end of its incubation workshop
            chain = [year.worker(year.any_worker(), "/organizations", {
                "community_id": year.community, "name": f"{group['name']}自组织",
                "kind": "mutual_aid", "formed_on": formed.isoformat(),
                "leader_refs": year.refs(leaders), "member_refs": year.refs(members)},
                produces=org)]
            year.organisations.append({"ref": org, "leaders": leaders, "members": members,
                                       "chain": chain, "since": m, "dormant": False,
                                       "active": False, "formed": formed})
            year.work_chains.append(chain)
    for o in year.organisations:
        if o["dormant"] or m <= o["since"]:
            continue
        if year.rng.random() < 0.05:  # energy fades: the organisation goes dormant
            o["dormant"] = True
            day = year.month_bounds(m)[0]
            organisation_status(year, o, "dormant", day)
            continue
        if year.rng.random() < 0.75:
            day = activity(year, "volunteer_service", "自组织活动", m,
                           year.present(o["members"]), o["leaders"], o["ref"], o["chain"])
            if day:
                if not o["active"]:
                    o["active"] = True
                    organisation_status(year, o, "active", day)


def organisation_status(year, organisation: dict, status: str, day: date) -> None:
    organisation["chain"].append(year.worker(
        year.any_worker(), "/organizations/{}", {"status": status, "on": day.isoformat()},
        path_ref=organisation["ref"], method="PATCH"))
