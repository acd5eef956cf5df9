"""Anomaly flags an auditor should look at before paying: signs that a record is wrong or
was made up. A flag is a question, not a verdict; each names the events behind it.

- a resident signed in to two sessions, activities or meetings whose hours overlap;
- a worker with more than MAX_WORKER_HOURS of sessions and activities in a day, or in two
  at once;
- attendance larger than the community's registered residents, or sign-ins of residents
  not registered in the community;
- gaps in a source's sequence or breaks in its hash chain;
- bursts of records entered long after the fact (LATE_AFTER days or more, BURST or more
  entered on one day)."""
from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa

from shared.eventlog import integrity_reports
from shared.i18n import bilingual, to_zh
from shared.runtime import current_service

from .evidence import events_of
from .measures import Scope, within
from .models import Act, Initiative, RecordEvent, ResidentFact, db
from .remembered import Remembered
from .state import projections_state

MAX_WORKER_HOURS = 12
LATE_AFTER = timedelta(days=30)
BURST = 5
SHOWN = 100

TITLES = {
    "overlapping_sign_in": bilingual("A resident signed in to overlapping sessions",
                                     "同一居民在时间重叠的活动中签到"),
    "impossible_hours": bilingual("A worker logged impossible hours in a day",
                                  "社工单日服务时长不合常理"),
    "attendance_over_registered": bilingual(
        "Attendance larger than the community's registered residents",
        "签到人数超过社区登记居民数"),
    "unregistered_attendees": bilingual("Sign-ins of residents not registered in the community",
                                        "签到居民未在社区登记"),
    "source_integrity": bilingual("Gaps or a broken hash chain in a source's records",
                                  "来源记录序号缺失或哈希链断裂"),
    "late_entry_burst": bilingual("A burst of records entered long after the fact",
                                  "集中补录的大量滞后记录"),
}


def _flag(check: str, detail: dict, event_ids) -> dict:
    """A flag names at most SHOWN of its events (a burst may hold thousands); `events` says
    how many there are, and the evidence drill-down lists them all."""
    ids = sorted(set(event_ids))
    return {"check": check, "title_zh": to_zh(TITLES[check]), "title_en": TITLES[check],
            "detail": detail, "events": len(ids), "event_ids": ids[:SHOWN]}


def _overlap(a_start, a_end, b_start, b_end) -> bool:
    return a_start < b_end and b_start < a_end


def overlapping_sign_ins(scope: Scope) -> list[dict]:
    rows = db.session.execute(sa.select(
        Act.resident_ref, Act.on, Act.starts, Act.ends, Act.event_id).where(
        *within(scope, Act.community_id, Act.on), Act.starts.is_not(None)).order_by(
        Act.resident_ref, Act.on, Act.starts)).all()
    by_day = defaultdict(list)
    for ref, on, starts, ends, event_id in rows:
        by_day[ref, on].append((starts, ends, event_id))
    flags = []
    for (ref, on), acts in by_day.items():
        clashing = {event for i, (s, t, e) in enumerate(acts) for (s2, t2, e2) in acts[i + 1:]
                    if e != e2 and _overlap(s, t, s2, t2) for event in (e, e2)}
        if clashing:
            flags.append(_flag("overlapping_sign_in", {"resident_ref": ref, "on": on},
                               clashing))
    return flags


def impossible_hours(scope: Scope) -> list[dict]:
    work = db.session.scalars(sa.select(Initiative).where(
        *within(scope, Initiative.community_id, Initiative.on),
        Initiative.worker_ids.is_not(None))).all()
    days = defaultdict(list)  # (worker, day) -> the sessions and activities of that day
    for initiative in work:
        for worker in initiative.worker_ids or ():  # JSON null for older projections
            days[worker, initiative.on].append(initiative)
    flagged = []
    for (worker, on), day in sorted(days.items()):
        hours = sum(i.hours for i in day)
        clash = any(_overlap(a.starts, a.ends, b.starts, b.ends)
                    for n, a in enumerate(day) for b in day[n + 1:] if a.starts and b.starts)
        if hours > MAX_WORKER_HOURS or clash:
            flagged.append((worker, on, round(hours, 2), clash,
                            sorted(i.record_id for i in day)))
    events = events_of(r for *_, records in flagged for r in records)
    return [_flag("impossible_hours", {"worker_id": worker, "on": on, "hours": hours,
                                       "overlapping": clash, "records": records},
                  (e for r in records for e in events.get(r, ())))
            for worker, on, hours, clash, records in flagged]


def attendance(scope: Scope) -> list[dict]:
    registered = dict(db.session.execute(sa.select(
        ResidentFact.community_id, sa.func.count()).where(
        ResidentFact.community_id.in_(scope.communities)).group_by(
        ResidentFact.community_id)).all())
    crowded = [i for i in db.session.scalars(sa.select(Initiative).where(
        *within(scope, Initiative.community_id, Initiative.on)))
        if i.attendees > registered.get(i.community_id, 0)]
    events = events_of(i.record_id for i in crowded)
    flags = [_flag("attendance_over_registered", {
        "record_id": i.record_id, "on": i.on, "attendees": i.attendees,
        "registered": registered.get(i.community_id, 0)}, events.get(i.record_id, ()))
        for i in crowded]
    strangers = db.session.execute(sa.select(Act.event_id, Act.on, sa.func.count()).outerjoin(
        ResidentFact, sa.and_(ResidentFact.ref == Act.resident_ref,
                              ResidentFact.community_id == Act.community_id)).where(
        *within(scope, Act.community_id, Act.on), ResidentFact.ref.is_(None)).group_by(
        Act.event_id, Act.on).order_by(Act.on)).all()
    flags += [_flag("unregistered_attendees", {"on": on, "residents": n}, [event_id])
              for event_id, on, n in strangers]
    return flags


def source_integrity() -> list[dict]:
    return [_flag("source_integrity", {"source": r["source"], "gaps": r["gaps"],
                                       "breaks": r["breaks"]}, [])
            for r in integrity_reports(current_service()) if not r["intact"]]


def late_entry_bursts(scope: Scope) -> list[dict]:
    late = db.session.execute(sa.select(RecordEvent).where(
        RecordEvent.community_id.in_(scope.communities),
        RecordEvent.recorded_on.between(scope.start, scope.end))).scalars().all()
    by_day = defaultdict(list)
    for row in late:
        if row.recorded_on - row.on >= LATE_AFTER:
            by_day[row.community_id, row.recorded_on].append(row)
    return [_flag("late_entry_burst", {
        "community_id": community, "recorded_on": day, "records": len(rows),
        "oldest_on": min(r.on for r in rows)}, (r.event_id for r in rows))
        for (community, day), rows in sorted(by_day.items()) if len(rows) >= BURST]


def flags(scope: Scope) -> dict:
    """Every flag of the scope and how many of each check, computed once per state of the
    projections: a reader asking again, or for the next page, costs a lookup."""
    def compute():
        found = (overlapping_sign_ins(scope) + impossible_hours(scope) + attendance(scope)
                 + source_integrity() + late_entry_bursts(scope))
        counts = {check: sum(1 for f in found if f["check"] == check) for check in TITLES}
        return {"counts": counts, "flags": found}
    return _FLAGS.get((scope, projections_state()), compute)


_FLAGS = Remembered(size=32)
