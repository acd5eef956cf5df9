"""Versioned marshmallow schemas of every event's `data`, one module per producing service."""
from marshmallow import RAISE, Schema, fields, validate

from shared import fields as bounded

REF = validate.Length(min=1, max=64)


class EventData(Schema):
    """Strict by default: a field the catalogue does not know is a schema violation.
    `VERSION` is the `.vN` of the event type this schema describes."""

    VERSION = 1

    class Meta:
        unknown = RAISE


def _required_unless_defaulted(kwargs: dict) -> dict:
    return {"required": "load_default" not in kwargs, **kwargs}


def ref(**kwargs):
    """An opaque reference (ids, pseudonymous resident refs): never a name or number."""
    return fields.Str(validate=REF, **_required_unless_defaulted(kwargs))


def refs(**kwargs):
    return fields.List(fields.Str(validate=REF), **_required_unless_defaulted(kwargs))


def money(maximum=bounded.MAX_YUAN, **kwargs):
    """An amount of yuan to the fen, written as a string ("12000.00"), at most `maximum`:
    one of more decimals is malformed (parked), not rounded into a projection."""
    return bounded.Yuan(maximum=maximum, **_required_unless_defaulted(kwargs))


def one_of(choices, **kwargs):
    return fields.Str(validate=validate.OneOf(choices), **_required_unless_defaulted(kwargs))
