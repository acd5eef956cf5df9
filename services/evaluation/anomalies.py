"""Anomaly flags an auditor should look at before paying: signs that a record is wrong or
was made up. A flag is a question, not a verdict; each names the events behind it.

- a resident signed in to two sessions, activities or meetings whose hours overlap;
- a worker with more than MAX_WORKER_HOURS of sessions and activities in a day, or in two
  at once;
- attendance larger than the community's registered residents, or sign-ins of residents
  not registered in the community;
- gaps in a source's sequence or breaks in its hash chain;
- bursts of records entered long after the fact (LATE_AFTER days or more, BURST or more
  entered on one day);
- the same file (same digest) on two different records;
- a photo whose capture time is more than CAPTURE_TOLERANCE from its record's day;
- a record of a type the contract says needs evidence, without any file."""
from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa

from shared.eventlog import integrity_reports
from shared.i18n import bilingual, to_zh
from shared.runtime import current_service

from .evidence import events_of
from .measures import Scope, within
from .models import Act, EvidenceFileFact, Initiative, RecordEvent, ResidentFact, db
from .remembered import Remembered
from .state import projections_state

MAX_WORKER_HOURS = 12
LATE_AFTER = timedelta(days=30)
BURST = 5
SHOWN = 100
# a photo taken more than this before or after its record's day: a phone's clock is rarely
# off by days, and a sheet is photographed the same day or soon after
CAPTURE_TOLERANCE = timedelta(days=3)
# the event that makes each casework record type that can carry files
MADE_BY = {"session": "session.delivered", "capacity_activity": "capacity.activity_held",
           "council_meeting": "council.meeting_held",
           "council_decision": "council.decision_made",
           "decision_progress": "council.decision_progressed", "case": "case.opened",
           "organization": "organization.formed"}

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
    "duplicate_file": bilingual("The same file on two different records",
                                "同一文件出现在不同记录中"),
    "capture_time_far": bilingual("A photo taken far from its record's date",
                                  "照片拍摄时间与记录日期相差过远"),
    "missing_evidence": bilingual("A record the contract says needs evidence has none",
                                  "合同要求留存凭证的记录缺少凭证"),
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


def _files(scope: Scope):
    return db.session.scalars(sa.select(EvidenceFileFact).where(
        *within(scope, EvidenceFileFact.community_id, EvidenceFileFact.record_on),
        EvidenceFileFact.hidden.is_(False)).order_by(EvidenceFileFact.event_id)).all()


def duplicate_files(scope: Scope) -> list[dict]:
    by_digest = defaultdict(list)
    for row in _files(scope):
        by_digest[row.digest].append(row)
    return [_flag("duplicate_file", {"digest": digest, "records": sorted(
        {f"{r.record_type}/{r.casework_id}" for r in rows})}, (r.event_id for r in rows))
        for digest, rows in sorted(by_digest.items())
        if len({(r.record_type, r.casework_id) for r in rows}) > 1]


def capture_times_far(scope: Scope) -> list[dict]:
    far = [r for r in _files(scope) if r.captured_at is not None
           and abs(r.captured_at.date() - r.record_on) > CAPTURE_TOLERANCE]
    return [_flag("capture_time_far", {
        "record": f"{r.record_type}/{r.casework_id}", "on": r.record_on,
        "captured_at": r.captured_at.isoformat(),
        "days": (r.captured_at.date() - r.record_on).days}, [r.event_id]) for r in far]


def missing_evidence(scope: Scope, required: tuple[str, ...]) -> list[dict]:
    flags = []
    for record_type in required:
        made = db.session.execute(sa.select(RecordEvent.record_id, RecordEvent.on,
                                            RecordEvent.event_id).where(
            RecordEvent.type == MADE_BY[record_type],
            *within(scope, RecordEvent.community_id, RecordEvent.on))).all()
        with_files = set(db.session.scalars(sa.select(EvidenceFileFact.record_id).where(
            EvidenceFileFact.record_type == record_type,
            EvidenceFileFact.hidden.is_(False),
            EvidenceFileFact.record_id.in_({r for r, _, _ in made}))))
        flags += [_flag("missing_evidence", {"record_type": record_type, "record_id": r,
                                             "on": on}, [event_id])
                  for r, on, event_id in sorted(made, key=lambda m: (m[1], m[0]))
                  if r not in with_files]
    return flags


def flags(scope: Scope, evidence_required: tuple[str, ...] = ()) -> dict:
    """Every flag of the scope and how many of each check, computed once per state of the
    projections: a reader asking again, or for the next page, costs a lookup.
    `evidence_required` is the contract's term: the record types that need a file."""
    def compute():
        found = (overlapping_sign_ins(scope) + impossible_hours(scope) + attendance(scope)
                 + source_integrity() + late_entry_bursts(scope) + duplicate_files(scope)
                 + capture_times_far(scope) + missing_evidence(scope, evidence_required))
        counts = {check: sum(1 for f in found if f["check"] == check) for check in TITLES}
        return {"counts": counts, "flags": found}
    return _FLAGS.get((scope, evidence_required, projections_state()), compute)


_FLAGS = Remembered(size=32)
