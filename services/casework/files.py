"""Evidence files on records: sniffed, cleaned (shared/uploads.py), stored by digest,
published by digest. The stored bytes are the cleaned ones: their SHA-256 is the file's
identity, in the store and in the evidence.attached event. See docs/EVIDENCE.md."""
import os

import sqlalchemy as sa
from flask import current_app

from shared import auth, outbox
from shared.clock import utcnow
from shared.errors import ApiError
from shared.i18n import bilingual, bilingual_pattern
from shared.uploads import (MAX_FILE_BYTES, NOT_EVIDENCE, clean_image, clean_pdf,
                            served, sniff)  # noqa: F401  (served: the views use it from here)

from . import access
from .evidence import publish
from .models import (CapacityActivity, Case, CouncilDecision, CouncilMeeting, DecisionProgress,
                     EvidenceFile, Organization, Session, db, event_store)


MAX_RECORD_BYTES = int(os.environ.get("SOCIALWORK_MAX_RECORD_BYTES", 40 * 1024 * 1024))
MAX_RECORD_FILES = 20
LINK_TTL = 300  # seconds a file link lives

MODELS = {"session": Session, "capacity_activity": CapacityActivity,
          "council_meeting": CouncilMeeting, "council_decision": CouncilDecision,
          "case": Case, "organization": Organization}
DAYS = {"session": "date", "capacity_activity": "date", "council_meeting": "date",
        "council_decision": "decided_on", "case": "opened_on", "organization": "formed_on",
        "decision_progress": "on"}
RECORD_TYPES = (*MODELS, "decision_progress")

NO_FILE = bilingual("Attach one file in the field 'file'", "请在 file 字段中上传一个文件")
bilingual_pattern(r"^The file is larger than (\d+) bytes$", r"文件超过 \1 字节")


def _record(claims, record_type: str, record_id: str):
    """The record a file goes on, in the caller's scope (404 outside it)."""
    if record_type == "decision_progress":
        progress = db.session.get(DecisionProgress, int(record_id)) \
            if record_id.isdigit() else None
        if progress is None:
            raise ApiError(404, f"decision_progress {record_id} not found", "未找到进展记录")
        decision = access.fetch(claims, CouncilDecision, progress.decision_id)
        return progress, decision
    if record_type not in MODELS:
        raise ApiError(404, f"No evidence is kept on {record_type}", "该类记录不保存凭证文件")
    record = access.fetch(claims, MODELS[record_type], record_id)
    return record, record


def _check_size(size: int, record_type: str, record_id: str) -> None:
    if size > MAX_FILE_BYTES:
        raise ApiError(413, f"The file is larger than {MAX_FILE_BYTES} bytes",
                       f"文件超过 {MAX_FILE_BYTES} 字节", code="file_too_large",
                       fields={"file": [f"The file is larger than {MAX_FILE_BYTES} bytes"]})
    count, total = db.session.execute(sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(EvidenceFile.size), 0)).where(
        EvidenceFile.record_type == record_type, EvidenceFile.record_id == record_id,
        EvidenceFile.hidden_at.is_(None))).one()
    if count >= MAX_RECORD_FILES or total + size > MAX_RECORD_BYTES:
        raise ApiError(413, f"The record holds at most {MAX_RECORD_FILES} files and "
                       f"{MAX_RECORD_BYTES} bytes", f"每条记录最多 {MAX_RECORD_FILES} 个文件、"
                       f"{MAX_RECORD_BYTES} 字节", code="record_full")


def attach(claims, record_type: str, record_id: str, upload) -> EvidenceFile:
    """Check, clean and store the file, and stage its row and evidence.attached; the caller
    commits. The bytes are in the store before the transaction commits."""
    record, owner = _record(claims, record_type, record_id)
    if upload is None:
        raise ApiError(422, fields={"file": [NO_FILE]})
    data = upload.read(MAX_FILE_BYTES + 1)
    _check_size(len(data), record_type, str(record.id))
    media_type = sniff(data)
    if media_type is None:
        raise ApiError(422, fields={"file": [NOT_EVIDENCE]})
    taken, thumbnail = None, None
    if media_type == "application/pdf":
        data = clean_pdf(data)
    else:
        data, media_type, taken, thumb = clean_image(data, media_type)
        thumbnail = store().put(thumb)
    digest = store().put(data)
    if db.session.scalar(sa.select(EvidenceFile.id).where(
            EvidenceFile.record_type == record_type, EvidenceFile.record_id == str(record.id),
            EvidenceFile.digest == digest)):
        raise ApiError(409, "This file is already on the record", "该文件已在此记录中")
    row = EvidenceFile(record_type=record_type, record_id=str(record.id),
                       agency_id=owner.agency_id, digest=digest, media_type=media_type,
                       size=len(data), captured_at=taken, thumbnail_digest=thumbnail,
                       uploaded_by=claims.sub)
    day = getattr(record, DAYS[record_type])
    return publish(row, "evidence.attached", lambda f: {
        "record_type": record_type, "record_id": f.record_id,
        "decision_id": owner.id if record_type == "decision_progress" else None,
        "community_id": owner.community_id, "record_on": day.isoformat(),
        "digest": f.digest, "media_type": f.media_type, "size": f.size,
        "captured_at": f.captured_at.isoformat() if f.captured_at else None})


def hide(claims, record_type: str, record_id: str, digest: str, reason: str) -> EvidenceFile:
    """A correction: the file stays in the store and in the chain, hidden from the record,
    with the reason (which stays here: free text)."""
    record, owner = _record(claims, record_type, record_id)
    row = _file(record_type, record.id, digest, hidden_too=True)
    if row.hidden_at is not None:
        raise ApiError(409, "The file is already hidden", "该文件已被隐藏")
    row.hidden_reason, row.hidden_by = reason, claims.sub
    row.hidden_at = utcnow()
    outbox.append(event_store, "evidence.hidden", f"evidence/{row.id}", {
        "record_type": record_type, "record_id": row.record_id,
        "community_id": owner.community_id, "digest": digest})
    return row


# -- what goes out ------------------------------------------------------------------------

def store():
    """The store the app was started with (shared/filestore.py)."""
    return current_app.extensions["filestore"]


def _file(record_type: str, record_id, digest: str, hidden_too=False) -> EvidenceFile:
    row = db.session.scalar(sa.select(EvidenceFile).where(
        EvidenceFile.record_type == record_type, EvidenceFile.record_id == str(record_id),
        EvidenceFile.digest == digest))
    if row is None or (row.hidden_at is not None and not hidden_too):
        raise ApiError(404, f"No file {digest} on this record", "此记录中没有该文件")
    return row


def files_of(claims, record_type: str, record_id: str) -> list[EvidenceFile]:
    """The record's files, hidden ones too (with the reason; their bytes are not served),
    each with links that open it for a few minutes without a bearer token (for <img>)."""
    record, _ = _record(claims, record_type, record_id)
    rows = db.session.scalars(sa.select(EvidenceFile).where(
        EvidenceFile.record_type == record_type, EvidenceFile.record_id == str(record.id))
        .order_by(EvidenceFile.id)).all()
    for row in rows:
        visible = row.hidden_at is None
        row.url = link(row, "file") if visible else None
        row.thumbnail_url = link(row, "thumbnail") if visible and row.thumbnail_digest else None
    return rows


def opened(claims, record_type: str, record_id: str, digest: str, variant: str):
    record, _ = _record(claims, record_type, record_id)
    return _content(_file(record_type, record.id, digest), variant)


def link(row: EvidenceFile, variant: str) -> str:
    token = auth.mint_file_link(f"{row.record_type}/{row.record_id}", row.digest, variant,
                                LINK_TTL)
    return f"/files/{row.digest}?variant={variant}&token={token}"


def by_link(digest: str, variant: str, token: str):
    """A file opened by a link `files_of` gave: good for that file of that record, while
    the link lives and the file is not hidden."""
    record, linked_digest, linked_variant = auth.read_file_link(token or "")
    if linked_digest != digest or linked_variant != variant:
        raise ApiError(403, "The link is for another file", "链接与文件不符",
                       code="wrong_token_kind")
    record_type, _, record_id = record.partition("/")
    return _content(_file(record_type, record_id, digest), variant)


def _content(row: EvidenceFile, variant: str):
    """(bytes, media type) of the file or of its thumbnail."""
    if variant == "thumbnail":
        if not row.thumbnail_digest:
            raise ApiError(404, "This file has no thumbnail", "该文件没有缩略图")
        with store().open(row.thumbnail_digest) as f:
            return f.read(), "image/jpeg"
    with store().open(row.digest) as f:
        return f.read(), row.media_type
