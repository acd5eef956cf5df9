"""CloudEvents envelope, catalogue and hash chain."""
from .catalogue import CATALOGUE, SchemaViolation, check_data, check_event, spec_for
from .envelope import GENESIS_HASH, EnvelopeError, Event

__all__ = ["CATALOGUE", "GENESIS_HASH", "EnvelopeError", "Event", "SchemaViolation",
           "check_data", "check_event", "spec_for"]
