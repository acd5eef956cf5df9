"""The CloudEvents 1.0 envelope every event travels in (structured JSON content mode).

Extensions: `sequence` (per-source counter, zero-padded so it also orders as a string),
`prevhash` (SHA-256 of the source's previous event), `signature` and `signingkey` (the
producer's Ed25519 signature over the same attributes the hash covers, and which of its
keys made it) and `traceparent` (W3C trace context, transport only).

Reading is strict and bounded: whatever arrives, it is an Event or an EnvelopeError with
the reason, never another exception (a consumer parks what it cannot read).
"""
import base64
import functools
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature

from ..clock import utcnow

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"
TYPE_PREFIX = "cn.socialwork."
SEQUENCE_WIDTH = 20
GENESIS_HASH = "0" * 64
REQUIRED = ("specversion", "id", "source", "type", "time", "subject", "datacontenttype",
            "sequence", "prevhash", "data")
SIGNING_DOMAIN = b"cn.socialwork.event.v1\n"  # a signature over an event is never another's
UNSIGNED = ("traceparent", "signature", "signingkey")  # outside the hash and the signature
MAX_EVENT_BYTES = 256 * 1024
MAX_SEQUENCE = 2**63 - 1  # what a BIGINT column holds
BOUNDS = {"id": 64, "source": 64, "type": 120, "subject": 200, "time": 40}
SEQUENCE = re.compile(r"[0-9]{1,20}")
HEX64 = re.compile(r"[0-9a-f]{64}")
KEY_ID = re.compile(r"[0-9a-f]{16}")
SIGNATURE = re.compile(r"[A-Za-z0-9_-]{86}")  # 64 bytes, unpadded base64url
TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


class EnvelopeError(ValueError):
    """The message is not a CloudEvent this platform can accept."""


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def rfc3339(moment: datetime) -> str:
    """An aware datetime as the UTC timestamp events carry (`…Z`)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace(
        "+00:00", "Z")


def utcnow_iso() -> str:
    return rfc3339(utcnow())


def type_name(short: str, version: int = 1) -> str:
    """`need.reported` -> `cn.socialwork.need.reported.v1`."""
    return f"{TYPE_PREFIX}{short}.v{version}"


@functools.lru_cache(maxsize=1024)  # a handful of types, asked several times per event
def short_name(ce_type: str) -> str:
    """`cn.socialwork.need.reported.v1` -> `need.reported` (the routing key)."""
    if not ce_type.startswith(TYPE_PREFIX):
        raise EnvelopeError(f"type {ce_type!r} is not a {TYPE_PREFIX}* type")
    name, _, version = ce_type[len(TYPE_PREFIX):].rpartition(".")
    if not name or not version.startswith("v") or not version[1:].isdigit():
        raise EnvelopeError(f"type {ce_type!r} has no version suffix like .v1")
    return name


@dataclass(frozen=True)
class Event:
    id: str
    source: str
    type: str
    time: str
    subject: str
    sequence: int
    prevhash: str
    data: dict
    traceparent: str | None = None
    signature: str | None = None
    signingkey: str | None = None
    specversion: str = SPECVERSION
    datacontenttype: str = DATA_CONTENT_TYPE

    @property
    def short_type(self) -> str:
        return short_name(self.type)

    def _attributes(self) -> dict:
        # a shallow copy: dataclasses.asdict deep-copies `data`, which costs more than
        # serialising it
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["sequence"] = self.sequence_str
        return out

    @functools.cached_property  # the inbox checks the signature and hashes: built once
    def _content(self) -> bytes:
        """What the hash and the signature cover: every attribute but the unsigned ones, so
        re-tracing or re-signing never breaks the chain."""
        content = self._attributes()
        for key in UNSIGNED:
            del content[key]
        return canonical_json(content).encode()

    def hash(self) -> str:
        """What the next event of the source carries as `prevhash`."""
        return hashlib.sha256(self._content).hexdigest()

    def signed(self, private_key, key_id: str) -> "Event":
        signature = private_key.sign(SIGNING_DOMAIN + self._content)
        return replace(self, signature=base64.urlsafe_b64encode(signature).decode().rstrip("="),
                       signingkey=key_id)

    def verify(self, public_keys: dict) -> None:
        """EnvelopeError unless one of the source's keys ({key id: public key}) made the
        signature."""
        if self.signature is None or self.signingkey is None:
            raise EnvelopeError(f"{self.source} event {self.id} is not signed")
        key = public_keys.get(self.signingkey)
        if key is None:
            raise EnvelopeError(f"signing key {self.signingkey} is not a key of {self.source}")
        try:
            key.verify(base64.urlsafe_b64decode(self.signature + "=="),
                       SIGNING_DOMAIN + self._content)
        except InvalidSignature:
            raise EnvelopeError(f"the signature of {self.source} event {self.id} does not "
                                f"match its content") from None

    @property
    def sequence_str(self) -> str:
        return str(self.sequence).zfill(SEQUENCE_WIDTH)

    def to_dict(self) -> dict:
        out = self._attributes()
        for key in UNSIGNED:
            if out[key] is None:
                del out[key]
        return out

    def to_json(self) -> str:
        return canonical_json(self.to_dict())

    @classmethod
    def new(cls, *, source: str, short_type: str, subject: str, data: dict, sequence: int,
            prevhash: str, version: int = 1, traceparent: str | None = None) -> "Event":
        return cls(id=str(uuid.uuid4()), source=source, type=type_name(short_type, version),
                   time=utcnow_iso(), subject=subject, sequence=sequence, prevhash=prevhash,
                   data=data, traceparent=traceparent)

    @classmethod
    def from_dict(cls, raw) -> "Event":
        if not isinstance(raw, dict):
            raise EnvelopeError("a CloudEvent must be a JSON object")
        missing = [k for k in REQUIRED if k not in raw]
        if missing:
            raise EnvelopeError(f"missing CloudEvents attributes: {', '.join(missing)}")
        if raw["specversion"] != SPECVERSION:
            raise EnvelopeError(f"specversion must be {SPECVERSION}")
        if raw["datacontenttype"] != DATA_CONTENT_TYPE:
            raise EnvelopeError(f"datacontenttype must be {DATA_CONTENT_TYPE}")
        for key in ("id", "source", "type", "time", "subject", "prevhash"):
            if not isinstance(raw[key], str) or not raw[key]:
                raise EnvelopeError(f"{key} must be a non-empty string")
            if len(raw[key]) > BOUNDS.get(key, 64) or not raw[key].isprintable():
                raise EnvelopeError(f"{key} is longer than {BOUNDS.get(key, 64)} characters "
                                    f"or not printable")
        if not HEX64.fullmatch(raw["prevhash"]):
            raise EnvelopeError("prevhash must be 64 lowercase hexadecimal digits")
        if not isinstance(raw["data"], dict):
            raise EnvelopeError("data must be a JSON object")
        short_name(raw["type"])
        return cls(id=raw["id"], source=raw["source"], type=raw["type"],
                   time=_checked_time(raw["time"]), subject=raw["subject"],
                   sequence=_checked_sequence(raw["sequence"]), prevhash=raw["prevhash"],
                   data=raw["data"], traceparent=_transport_trace(raw.get("traceparent")),
                   signature=_optional(raw, "signature", SIGNATURE),
                   signingkey=_optional(raw, "signingkey", KEY_ID))

    @classmethod
    def from_json(cls, body: bytes | str) -> "Event":
        if len(body) > MAX_EVENT_BYTES:
            raise EnvelopeError(f"the message is larger than {MAX_EVENT_BYTES} bytes")
        try:
            raw = json.loads(body, parse_constant=_no_constants)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            # ValueError: not JSON, NaN or Infinity, a number of too many digits;
            # RecursionError: nested deeper than the parser goes
            raise EnvelopeError(f"body is not JSON: {type(exc).__name__}: "
                                f"{str(exc)[:200]}") from None
        return cls.from_dict(raw)


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _checked_sequence(value) -> int:
    if not isinstance(value, str) or not SEQUENCE.fullmatch(value) or \
            not 1 <= int(value) <= MAX_SEQUENCE:
        raise EnvelopeError("sequence must be a zero-padded positive decimal string "
                            f"of at most 20 digits, up to {MAX_SEQUENCE}")
    return int(value)


def _checked_time(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise EnvelopeError("time must be an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise EnvelopeError("time must be an RFC 3339 timestamp with its offset")
    return value


def _optional(raw: dict, key: str, pattern) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise EnvelopeError(f"{key} is malformed")
    return value


def _transport_trace(value) -> str | None:
    """A trace context that is not W3C's is dropped: it is transport only, never a reason
    to refuse an event."""
    return value if isinstance(value, str) and TRACEPARENT.fullmatch(value) else None
