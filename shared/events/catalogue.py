"""The event catalogue: every event type, who produces it, and the schema of its data."""
from dataclasses import dataclass
from functools import cached_property

from marshmallow import Schema

from .envelope import Event, EnvelopeError, short_name, type_name
from .schemas import casework, evaluation, intake


@dataclass(frozen=True)
class EventSpec:
    short: str
    source: str
    version: int
    schema: type[Schema]

    @property
    def type(self) -> str:
        return type_name(self.short, self.version)

    @cached_property
    def validator(self) -> Schema:
        """One schema instance per type: building one costs more than validating with it."""
        return self.schema()


def _specs(source: str, schemas: dict) -> dict:
    return {short: EventSpec(short, source, schema.VERSION, schema)
            for short, schema in schemas.items()}


def _superseded(source: str, module) -> list[EventSpec]:
    return [EventSpec(short, source, schema.VERSION, schema)
            for short, schemas in getattr(module, "SUPERSEDED", {}).items() for schema in schemas]


PRODUCERS = {"/intake": intake, "/casework": casework, "/evaluation": evaluation}
# short name -> the version producers publish now
CATALOGUE: dict[str, EventSpec] = {
    short: spec for source, module in PRODUCERS.items()
    for short, spec in _specs(source, module.SCHEMAS).items()}
# every version consumers accept, by full type: the current ones and those superseded
BY_TYPE = {spec.type: spec for spec in (
    *CATALOGUE.values(),
    *(s for source, module in PRODUCERS.items() for s in _superseded(source, module)))}


class SchemaViolation(ValueError):
    """The event's data does not match its catalogue schema."""

    def __init__(self, event_type: str, errors: dict):
        super().__init__(f"{event_type}: {errors}")
        self.errors = errors


def spec_for(short: str) -> EventSpec:
    try:
        return CATALOGUE[short]
    except KeyError:
        raise EnvelopeError(f"unknown event {short!r}") from None


def source_types(source: str) -> list[str]:
    return sorted(s.short for s in CATALOGUE.values() if s.source == source)


def check_data(short: str, data: dict, spec: EventSpec | None = None) -> dict:
    """Validate `data` for a short event name (its current version, or `spec`'s); returns it
    unchanged (as JSON) or raises."""
    spec = spec or spec_for(short)
    errors = spec.validator.validate(data)
    if errors:
        raise SchemaViolation(spec.type, errors)
    return data


def check_event(event: Event) -> EventSpec:
    """Everything a consumer checks before an event may be applied."""
    spec = BY_TYPE.get(event.type)
    if spec is None:
        raise EnvelopeError(f"unknown event type {event.type!r}")
    if event.source != spec.source:
        raise EnvelopeError(f"{event.type} comes from {spec.source}, not {event.source}")
    check_data(short_name(event.type), event.data, spec)
    return spec
