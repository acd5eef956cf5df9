"""Evaluation's API contract."""
from datetime import date, timezone

from marshmallow import Schema, ValidationError, validate, validates_schema

from shared import fields
from .evidence import BEHIND
from shared.auth import MAX_COMMUNITIES
from shared.events.schemas.casework import EVIDENCE_RECORDS
from shared.localtime import end_of_day, instant
from shared.vocabulary import MAX_SEED
from .verification import KINDS, METHODS, RESULTS

ID = validate.Length(1, 64)


class IndicatorSchema(Schema):
    measure = fields.Str(required=True, validate=validate.Length(1, 64))
    weight = fields.Float(required=True, validate=validate.Range(0, 100),
                          metadata={"description": "share of the dimension; 0 = monitored"})
    target = fields.Float(required=True, validate=validate.Range(min=0))


class DimensionSchema(Schema):
    key = fields.Str(required=True, validate=validate.Regexp(r"^[a-z_]{1,32}$"))
    name_zh = fields.Str(required=True, validate=validate.Length(1, 50))
    name_en = fields.Str(required=True, validate=validate.Length(1, 100))
    weight = fields.Float(required=True, validate=validate.Range(0, 100))
    indicators = fields.List(fields.Nested(IndicatorSchema), required=True,
                             validate=validate.Length(1, 30))


class MilestoneSchema(Schema):
    id = fields.Str(required=True, validate=ID)
    due = fields.Date(required=True)
    share = fields.Float(required=True, validate=validate.Range(0, 1),
                         metadata={"description": "share of the budget paid at this milestone"})
    min_score = fields.Float(load_default=60, validate=validate.Range(0, 100, min_inclusive=False),
                             metadata={"description": "total score for full payment (above 0)"})


class TargetsSchema(Schema):
    """Deliverables the contract buys, for the whole period."""
    cases = fields.Int(load_default=0, validate=validate.Range(min=0))
    service_hours = fields.Float(load_default=0, validate=validate.Range(min=0))
    sessions = fields.Int(load_default=0, validate=validate.Range(min=0))
    activities = fields.Int(load_default=0, validate=validate.Range(min=0))


def evidence_required_field(**kwargs):
    """Casework record types each of which must carry an evidence file (an anomaly flag
    otherwise)."""
    return fields.List(fields.Str(validate=validate.OneOf(EVIDENCE_RECORDS)), metadata={
        "description": "record types that must carry an evidence file"}, **kwargs)


class ContractIn(Schema):
    id = fields.Str(required=True, validate=ID)
    agency_id = fields.Str(required=True, validate=ID)
    community_ids = fields.List(fields.Str(validate=ID), required=True, unique=True,
                                validate=validate.Length(1, MAX_COMMUNITIES))
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    budget = fields.Yuan(required=True)
    milestones = fields.List(fields.Nested(MilestoneSchema), load_default=list)
    targets = fields.Nested(TargetsSchema, load_default=dict)
    framework = fields.List(fields.Nested(DimensionSchema), load_default=None,
                            metadata={"description": "omit for the default template"})
    evidence_required = evidence_required_field(load_default=list)
    late_entry_days = fields.Int(load_default=15, validate=validate.Range(0, 90), metadata={
        "description": "days after a milestone's due date that records entered late still "
                       "count for it: its card is computed as of the end of that day"})

    @validates_schema
    def _period(self, data, **_):
        if data["period_end"] < data["period_start"]:
            raise ValidationError("period_end must not be before period_start", "period_end")
        fields.check_span(data["period_start"], data["period_end"], "period_start",
                          "period_end")


class ContractAmend(Schema):
    reason = fields.Str(required=True, validate=validate.Length(2, 500))
    agency_id = fields.Str(validate=ID)
    community_ids = fields.List(fields.Str(validate=ID), unique=True,
                                validate=validate.Length(1, MAX_COMMUNITIES))
    period_end = fields.Date()
    budget = fields.Yuan()
    milestones = fields.List(fields.Nested(MilestoneSchema))
    targets = fields.Nested(TargetsSchema)
    framework = fields.List(fields.Nested(DimensionSchema))
    evidence_required = evidence_required_field()
    late_entry_days = fields.Int(validate=validate.Range(0, 90))


class ContractOut(Schema):
    id = fields.Str()
    buyer_id = fields.Str()
    agency_id = fields.Str()
    community_ids = fields.List(fields.Str())
    period_start = fields.Date()
    period_end = fields.Date()
    budget = fields.Decimal(as_string=True)
    milestones = fields.List(fields.Dict())
    targets = fields.Dict()
    framework = fields.List(fields.Dict())
    evidence_required = fields.List(fields.Str())
    late_entry_days = fields.Int()
    version = fields.Int()


class ContractVersionOut(Schema):
    version = fields.Int()
    terms = fields.Dict()
    reason = fields.Str()
    changed_by = fields.Str()
    changed_at = fields.DateTime()


class MeasureOut(Schema):
    key = fields.Str()
    name_zh = fields.Str()
    name_en = fields.Str()
    unit = fields.Str()
    higher_is_better = fields.Bool()


class TemplateOut(Schema):
    framework = fields.List(fields.Dict())
    measures = fields.List(fields.Nested(MeasureOut))


class EventCounts(Schema):
    total = fields.Int()
    by_type = fields.Dict(keys=fields.Str(), values=fields.Int())


class CountsQuery(Schema):
    community_id = fields.Str(validate=validate.Length(1, 64))


class KnownAsOf(fields.Field):
    """A knowledge time: an ISO date (the end of that day in China) or date and time (an
    offset, or China's time if none)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not 10 <= len(value) <= 40:
            raise ValidationError("an ISO date or date and time")
        try:
            moment = date.fromisoformat(value) if len(value) == 10 else instant(value)
        except ValueError:
            raise ValidationError("an ISO date or date and time") from None
        day = moment if len(value) == 10 else moment.date()
        if not fields.EARLIEST <= day <= fields.LATEST:  # nor past what a calendar holds
            raise ValidationError(fields.OUT_OF_RANGE_DATE)
        return end_of_day(moment) if len(value) == 10 else moment.astimezone(timezone.utc)


class PeriodQuery(Schema):
    """A range of days within a contract (api.scope_of fills in what is left out), as known
    at a time."""
    date_from = fields.Date(data_key="from", metadata={"description": "default: contract start"})
    date_to = fields.Date(data_key="to", metadata={"description": "default: today or the end"})
    as_of = KnownAsOf(metadata={
        "description": "count only what had been recorded by then (an ISO date: the end of "
                       "that day in China; default: everything recorded so far)"})

    @validates_schema
    def _range(self, data, **_):
        if "date_from" in data and "date_to" in data and data["date_to"] < data["date_from"]:
            raise ValidationError("to must not be before from", "to")


class ScorecardQuery(PeriodQuery):
    grid_id = fields.Str(validate=ID)


class PortfolioQuery(PeriodQuery):
    """Every contract's card over its period (or the part of it within from-to), as known
    at a time; sorted and paged."""
    sort = fields.Str(load_default="contract_id", validate=validate.OneOf(
        ("contract_id", "agency_id", "period_start", "total")))
    order = fields.Str(load_default="asc", validate=validate.OneOf(("asc", "desc")))
    limit = fields.Int(load_default=50, validate=validate.Range(1, 200))
    offset = fields.Int(load_default=0, validate=validate.Range(0, 10**9))


class PortfolioOut(Schema):
    total_contracts = fields.Int(metadata={"description": "contracts in the portfolio"})
    offset = fields.Int()
    limit = fields.Int()
    sort = fields.Str()
    order = fields.Str()
    as_of = fields.Str(allow_none=True)
    contracts = fields.List(fields.Dict(), metadata={
        "description": "each contract's total, band, dimensions and monthly trend (the "
                       "scorecard's and the trends' own figures for the same scope)"})


class ScorecardOut(Schema):
    contract_id = fields.Str()
    contract_version = fields.Int()
    scope = fields.Dict()
    total = fields.Float(allow_none=True)
    band = fields.Int(allow_none=True)
    dimensions = fields.List(fields.Dict())
    outputs = fields.Dict()
    targets = fields.Dict()
    payments = fields.List(fields.Dict())
    ladder = fields.Dict(metadata={"description": "the participation ladder: residents by "
                                                  "highest rung, at or above each, conversion"})


class ClosedScorecardOut(Schema):
    contract_id = fields.Str()
    milestone_id = fields.Str()
    contract_version = fields.Int()
    period_from = fields.Date()
    period_to = fields.Date()
    as_of = fields.DateTime(metadata={
        "description": "what the card counts: everything recorded by then (the due date "
                       "plus the contract's late-entry days, end of that day in China)"})
    card = fields.Dict(metadata={"description": "the scorecard as it stood at closing"})
    closed_by = fields.Str()
    closed_at = fields.DateTime()
    post_close_changes = fields.Dict()


class EvidenceQuery(ScorecardQuery):
    measure = fields.Str(required=True, validate=validate.OneOf(sorted(BEHIND)),
                         metadata={"description": "an indicator's measure, or an output"})
    limit = fields.Int(load_default=100, validate=validate.Range(1, 1000))
    offset = fields.Int(load_default=0, validate=validate.Range(min=0))


class ExportQuery(ScorecardQuery):
    format = fields.Str(load_default="xlsx", validate=validate.OneOf(("csv", "xlsx")))


class EvidenceExportQuery(ExportQuery):
    measure = fields.Str(required=True, validate=validate.OneOf(sorted(BEHIND)))


class EvidenceOut(Schema):
    contract_id = fields.Str()
    measure = fields.Str()
    scope = fields.Dict()
    total = fields.Int()
    records = fields.List(fields.Dict(), metadata={
        "description": "the records behind the figure, each with its event ids"})


class EvidenceEventOut(Schema):
    event = fields.Dict(metadata={"description": "the CloudEvent as received"})
    record = fields.Dict(metadata={"description": "the record it reports, and where to read it"})


class TrendsOut(Schema):
    contract_id = fields.Str()
    scope = fields.Dict()
    months = fields.List(fields.Dict())
    cohorts = fields.List(fields.Dict())


class AnomaliesQuery(ScorecardQuery):
    limit = fields.Int(load_default=200, validate=validate.Range(1, 1000))
    offset = fields.Int(load_default=0, validate=validate.Range(0, 10**9))


class AnomaliesOut(Schema):
    contract_id = fields.Str()
    scope = fields.Dict()
    counts = fields.Dict(keys=fields.Str(), values=fields.Int(),
                         metadata={"description": "flags of each check, on every page"})
    total = fields.Int(metadata={"description": "flags in all"})
    offset = fields.Int()
    flags = fields.List(fields.Dict(), metadata={"description": "this page of the flags"})


class VerificationDrawIn(PeriodQuery):
    kind = fields.Str(required=True, validate=validate.OneOf(KINDS))
    size = fields.Int(required=True, validate=validate.Range(1, 500))
    seed = fields.Int(validate=validate.Range(0, MAX_SEED),
                      metadata={"description": "repeat an earlier draw; default: random"})


class VerificationResultIn(Schema):
    result = fields.Str(required=True, validate=validate.OneOf(RESULTS))
    method = fields.Str(required=True, validate=validate.OneOf(METHODS))
    note = fields.Str(validate=validate.Length(max=500))


class VerificationItemOut(Schema):
    position = fields.Int()
    record_id = fields.Str()
    on = fields.Date()
    result = fields.Str(allow_none=True)
    method = fields.Str(allow_none=True)
    note = fields.Str(allow_none=True)
    verified_by = fields.Str(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    files = fields.List(fields.Dict(), metadata={"description": "the record's evidence files"})


class VerificationSampleOut(Schema):
    id = fields.Str()
    contract_id = fields.Str()
    kind = fields.Str()
    period_from = fields.Date()
    period_to = fields.Date()
    as_of = fields.DateTime(allow_none=True, metadata={
        "description": "the population as recorded by then; the same seed and as_of repeat "
                       "the draw"})
    population = fields.Int()
    seed = fields.Int()
    drawn_by = fields.Str()
    drawn_at = fields.DateTime()
    items = fields.List(fields.Nested(VerificationItemOut))
