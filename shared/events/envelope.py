"""The CloudEvents 1.0 envelope every event travels in (structured JSON content mode).

Extensions: `sequence` (per-source counter, zero-padded so it also orders as a string),
`prevhash` (SHA-256 of the source's previous event) and `traceparent` (W3C trace context).
"""
import hashlib
import json
import uuid
from dataclasses import dataclass, fields
from datetime import datetime, timezone

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"
TYPE_PREFIX = "cn.socialwork."
SEQUENCE_WIDTH = 20
GENESIS_HASH = "0" * 64
REQUIRED = ("specversion", "id", "source", "type", "time", "subject", "datacontenttype",
            "sequence", "prevhash", "data")


class EnvelopeError(ValueError):
    """The message is not a CloudEvent this platform can accept."""


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def rfc3339(moment: datetime) -> str:
    """An aware datetime as the UTC timestamp events carry (`…Z`)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace(
        "+00:00", "Z")


def utcnow_iso() -> str:
    return rfc3339(datetime.now(timezone.utc))


def type_name(short: str, version: int = 1) -> str:
    """`need.reported` -> `cn.socialwork.need.reported.v1`."""
    return f"{TYPE_PREFIX}{short}.v{version}"


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

    def hash(self) -> str:
        """What the next event of the source carries as `prevhash`. Transport-only
        attributes (traceparent) stay out, so re-tracing never breaks the chain."""
        signed = self._attributes()
        del signed["traceparent"]
        return hashlib.sha256(canonical_json(signed).encode()).hexdigest()

    @property
    def sequence_str(self) -> str:
        return str(self.sequence).zfill(SEQUENCE_WIDTH)

    def to_dict(self) -> dict:
        out = self._attributes()
        if out["traceparent"] is None:
            del out["traceparent"]
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
        seq = raw["sequence"]
        if not isinstance(seq, str) or not seq.isdigit() or int(seq) < 1:
            raise EnvelopeError("sequence must be a zero-padded positive decimal string")
        if not isinstance(raw["data"], dict):
            raise EnvelopeError("data must be a JSON object")
        short_name(raw["type"])
        try:
            datetime.fromisoformat(raw["time"])
        except ValueError as exc:
            raise EnvelopeError("time must be an RFC 3339 timestamp") from exc
        return cls(id=raw["id"], source=raw["source"], type=raw["type"], time=raw["time"],
                   subject=raw["subject"], sequence=int(seq), prevhash=raw["prevhash"],
                   data=raw["data"], traceparent=raw.get("traceparent"))

    @classmethod
    def from_json(cls, body: bytes | str) -> "Event":
        try:
            raw = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EnvelopeError(f"body is not JSON: {exc}") from exc
        return cls.from_dict(raw)
