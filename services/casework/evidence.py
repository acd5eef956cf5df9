"""What every piece of evidence is checked for before it is recorded: times that make sense
(hours derive from them), residents registered in the community, workers on the roster and
not in two places at once. And publishing: the record and its event in one transaction."""
from datetime import date, datetime

import sqlalchemy as sa

from shared import clock
from shared import outbox
from shared.errors import ApiError
from shared.i18n import bilingual, bilingual_pattern

from .models import KnownResident, Worker, WorkerBooking, db, event_store

ENDS_BEFORE_START = bilingual("The end must be after the start", "结束时间必须晚于开始时间")
IN_FUTURE = bilingual("Evidence cannot be dated in the future", "记录日期不能晚于今天")
TOO_LONG = bilingual("A single record cannot last more than 12 hours",
                     "单条记录的时长不能超过12小时")
LISTED_TWICE = bilingual("A resident is listed twice", "名单中有重复的居民")
bilingual_pattern(r"^Not registered in this community: (.*)$", r"未在本社区登记的居民：\1")
bilingual_pattern(r"^Not an active worker of this agency: (.*)$", r"不是本机构在岗社工：\1")
bilingual_pattern(r"^Already recorded elsewhere at that time: (.*)$",
                  r"该时段已有其他服务记录：\1")


def hours_between(start, end) -> float:
    delta = datetime.combine(date.min, end) - datetime.combine(date.min, start)
    return round(delta.total_seconds() / 3600, 2)


def check_times(day: date, start, end) -> float:
    problems = {}
    if end <= start:
        problems["end"] = [ENDS_BEFORE_START]
    elif hours_between(start, end) > 12:
        problems["end"] = [TOO_LONG]
    if day > clock.today():
        problems["date"] = [IN_FUTURE]
    if problems:
        raise ApiError(422, fields=problems)
    return hours_between(start, end)


def check_residents(community_id: str, refs: list[str], field: str) -> None:
    if len(set(refs)) != len(refs):
        raise ApiError(422, fields={field: [LISTED_TWICE]})
    if not refs:
        return
    known = set(db.session.scalars(sa.select(KnownResident.ref).where(
        KnownResident.ref.in_(refs), KnownResident.community_id == community_id)))
    unknown = [r for r in refs if r not in known]
    if unknown:
        raise ApiError(422, fields={field: [
            f"Not registered in this community: {', '.join(unknown)}"]})


def check_workers(agency_id: str, worker_ids: list[str]) -> None:
    active = set(db.session.scalars(sa.select(Worker.id).where(
        Worker.id.in_(worker_ids), Worker.agency_id == agency_id, Worker.active)))
    missing = [w for w in worker_ids if w not in active]
    if missing:
        raise ApiError(422, fields={"worker_ids": [
            f"Not an active worker of this agency: {', '.join(missing)}"]})


def book(worker_ids: list[str], day: date, start, end, record_type: str, record_id: str):
    """Reserve the workers' time; a worker already booked then is a 422."""
    db.session.execute(sa.delete(WorkerBooking).where(WorkerBooking.record_id == record_id))
    clash = db.session.scalars(sa.select(WorkerBooking.worker_id).where(
        WorkerBooking.worker_id.in_(worker_ids), WorkerBooking.date == day,
        WorkerBooking.start < end, WorkerBooking.end > start)).all()
    if clash:
        raise ApiError(422, fields={"worker_ids": [
            f"Already recorded elsewhere at that time: {', '.join(sorted(set(clash)))}"]})
    for worker_id in worker_ids:
        db.session.add(WorkerBooking(worker_id=worker_id, date=day, start=start, end=end,
                                     record_type=record_type, record_id=record_id))


def publish(record, short_type: str, data: dict):
    """Flush the record, append its event and remember on the record the first event that
    published it (the one a correction refers to); the caller commits both."""
    db.session.add(record)
    db.session.flush()
    event = outbox.append(event_store, short_type, f"{short_type.split('.')[0]}/{record.id}",
                          data(record) if callable(data) else data)
    record.event_id = record.event_id or event.id
    return record


def timed_data(record) -> dict:
    return {"date": record.date.isoformat(), "start": record.start.isoformat("minutes"),
            "end": record.end.isoformat("minutes")}
