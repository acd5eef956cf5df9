"""Evaluation's API contract."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema


class ContractIn(Schema):
    id = fields.Str(required=True, validate=validate.Length(1, 64))
    agency_id = fields.Str(required=True, validate=validate.Length(1, 64))
    community_ids = fields.List(fields.Str(validate=validate.Length(1, 64)), required=True,
                                validate=validate.Length(min=1))
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    budget = fields.Decimal(required=True, as_string=True, validate=validate.Range(min=0))

    @validates_schema
    def _period(self, data, **_):
        if data["period_end"] < data["period_start"]:
            raise ValidationError("period_end must not be before period_start", "period_end")


class ContractOut(Schema):
    id = fields.Str()
    buyer_id = fields.Str()
    agency_id = fields.Str()
    community_ids = fields.List(fields.Str())
    period_start = fields.Date()
    period_end = fields.Date()
    budget = fields.Decimal(as_string=True)
    version = fields.Int()


class EventCounts(Schema):
    total = fields.Int()
    by_type = fields.Dict(keys=fields.Str(), values=fields.Int())


class CountsQuery(Schema):
    community_id = fields.Str(validate=validate.Length(1, 64))
