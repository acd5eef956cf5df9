"""Signing in to a running session or activity with the phone (docs/RESIDENTS.md): the
worker's page shows a QR code of a link holding a code that changes every minute, an HMAC
of the record and the minute, keyed from casework's own signing key. A resident signed in
at intake scans it; casework takes the code of this minute or the one before (so a scan at
the turn of a minute still works, and a code sent to someone at home is dead within two),
only while the record runs, once per resident, and only from a resident registered in the
record's community. The worker can still add residents by hand on the same list. Each
sign-in appends the resident to the record's attendees and publishes
`attendance.signed_in`, whose `method` tells a resident's own scan (`qr`) from a worker's
entry (`staff`)."""
import hashlib
import hmac
from datetime import datetime, timedelta

from shared import clock, keys
from shared.config import public_url
from shared.errors import ApiError
from shared.i18n import bilingual
from shared.localtime import COMMUNITY_ZONE

from . import access
from .evidence import check_residents, publish
from .models import CapacityActivity, Session

WINDOW = 60  # seconds a code is shown
EARLY = timedelta(minutes=15)  # the list opens this long before the start
RECORDS = {"session": Session, "capacity_activity": CapacityActivity}
CODE_INVALID = bilingual("This code has expired: scan the code on the screen again",
                         "二维码已过期，请重新扫描屏幕上的二维码")


def _key() -> bytes:
    raw = keys.signing_key("casework").private_bytes_raw()
    return hashlib.sha256(b"casework qr sign-in\0" + raw).digest()


def _window(moment: datetime | None = None) -> int:
    return int((moment or clock.utcnow()).timestamp()) // WINDOW


def code(record_type: str, record_id: str, window: int | None = None) -> str:
    """The code of the record for a minute (this minute by default)."""
    window = _window() if window is None else window
    message = f"{record_type}/{record_id}/{window}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()[:12]


def seconds_left() -> int:
    return WINDOW - int(clock.utcnow().timestamp()) % WINDOW


def link(record_type: str, record_id: str) -> str:
    """What the QR code holds: the resident page at intake that signs in with this code."""
    return f"{public_url('intake')}/r/scan/{record_type}/{record_id}/" \
           f"{code(record_type, record_id)}"


def record_of(claims, record_type: str, record_id: str):
    """A session or activity the caller may read (an agency's own); 404 otherwise."""
    model = RECORDS.get(record_type)
    if model is None:
        raise ApiError(404, f"No sign-in list for {record_type}", "该类记录没有签到")
    return access.fetch(claims, model, record_id)


def live_list(record_type: str, record) -> dict:
    """What the worker's page shows: this minute's link and code, and who signed in."""
    return {"record_type": record_type, "record_id": record.id, "topic": record.topic,
            "date": record.date, "start": record.start, "end": record.end,
            "running": running(record), "code": code(record_type, record.id),
            "url": link(record_type, record.id), "seconds_left": seconds_left(),
            "attendee_refs": record.attendee_refs}


def _live(given: str, record_type: str, record_id: str) -> bool:
    now = _window()
    return any(hmac.compare_digest(given or "", code(record_type, record_id, w))
               for w in (now, now - 1))


def running(record) -> bool:
    """From a quarter of an hour before the start to the end, on the record's day: a
    record's date and times are the community's (Asia/Shanghai), so is the moment compared."""
    now = clock.utcnow().astimezone(COMMUNITY_ZONE).replace(tzinfo=None)
    start = datetime.combine(record.date, record.start) - EARLY
    return start <= now <= datetime.combine(record.date, record.end)


def require_running(record) -> None:
    if not running(record):
        raise ApiError(409, "The sign-in list is open only while the activity runs",
                       "签到仅在活动进行期间开放", code="not_running")


def scan(record_type: str, record, given: str, resident_ref: str, community_id: str) -> bool:
    """A resident's own scan; False if they were already signed in (counted once)."""
    if record.community_id != community_id:
        raise ApiError(403, "This activity is in another community", "该活动不属于您的社区",
                       code="out_of_scope")
    if not _live(given, record_type, record.id):
        raise ApiError(409, "The code has expired", "二维码已过期", code="code_expired",
                       fields={"code": [CODE_INVALID]})
    return sign_in(record_type, record, resident_ref, "qr")


def sign_in(record_type: str, record, resident_ref: str, method: str) -> bool:
    """Add the resident to the running record's attendees with its event; False if they
    were on the list already (nothing changes)."""
    require_running(record)
    check_residents(record.community_id, [resident_ref], "resident_ref")
    if resident_ref in record.attendee_refs or resident_ref in record.leader_refs:
        return False
    record.attendee_refs = [*record.attendee_refs, resident_ref]  # a new list: JSON changes
    event_id = record.event_id
    publish(record, "attendance.signed_in", {
        "record_type": record_type, "record_id": record.id, "agency_id": record.agency_id,
        "community_id": record.community_id, "resident_ref": resident_ref, "method": method,
        "detail": record.method if record_type == "session" else record.kind,
        "date": record.date.isoformat(), "start": record.start.isoformat("minutes"),
        "end": record.end.isoformat("minutes"), "at": clock.utcnow().isoformat()})
    record.event_id = event_id  # a correction still refers to the record's own event
    return True
