"""Evidence files as evaluation knows them: from evidence.attached and evidence.hidden, the
digest, type, size and capture time of each file on each record (the bytes stay at
casework, which serves them to the record's readers: docs/EVIDENCE.md)."""
from datetime import date, datetime

import sqlalchemy as sa

from shared.db import flush

from .models import EvidenceFileFact, db

# casework's record types -> the drill-down's record kinds
KINDS = {"session": "session", "capacity_activity": "activity",
         "council_meeting": "meeting", "council_decision": "decision",
         "decision_progress": "decision", "case": "case", "organization": "organization"}


def drill_down_id(data: dict) -> str:
    """The id the drill-down knows the record by (a progress record: its decision)."""
    return data["decision_id"] if data["record_type"] == "decision_progress" \
        else data["record_id"]


def attached(event) -> None:
    d = event.data
    taken = d.get("captured_at")
    db.session.add(EvidenceFileFact(
        event_id=event.id, record_type=d["record_type"], casework_id=d["record_id"],
        record_kind=KINDS[d["record_type"]], record_id=drill_down_id(d),
        community_id=d["community_id"], record_on=date.fromisoformat(d["record_on"]),
        digest=d["digest"], media_type=d["media_type"], size=d["size"],
        captured_at=datetime.fromisoformat(taken).replace(tzinfo=None) if taken else None,
        hidden=False))


def hidden(event) -> None:
    d = event.data
    flush(db.session)  # the file may have come earlier in this batch
    rows = db.session.scalars(sa.select(EvidenceFileFact).where(
        EvidenceFileFact.record_type == d["record_type"],
        EvidenceFileFact.casework_id == d["record_id"],
        EvidenceFileFact.digest == d["digest"])).all()
    if not rows:  # not here yet: retried until evidence.attached has arrived
        raise LookupError(f"file {d['digest']} on {d['record_id']} has not arrived yet")
    for row in rows:
        row.hidden = True


def shown(row: EvidenceFileFact) -> dict:
    return {"record_type": row.record_type, "record_id": row.casework_id,
            "digest": row.digest, "media_type": row.media_type, "size": row.size,
            "captured_at": row.captured_at.isoformat() if row.captured_at else None}


def files_of(record_ids) -> dict[str, list[dict]]:
    """{drill-down record id: its visible files}"""
    ids = sorted(set(record_ids))
    found: dict[str, list[dict]] = {}
    for start in range(0, len(ids), 500):
        for row in db.session.scalars(sa.select(EvidenceFileFact).where(
                EvidenceFileFact.record_id.in_(ids[start:start + 500]),
                EvidenceFileFact.hidden.is_(False)).order_by(EvidenceFileFact.digest)):
            found.setdefault(row.record_id, []).append(shown(row))
    return found
