"""The survey part of evaluation's API contract."""
from marshmallow import Schema, fields, validate

from .surveys import MAX_SEED, STRATA

ID = validate.Length(1, 64)


class WaveIn(Schema):
    id = fields.Str(required=True, validate=ID)
    kind = fields.Str(required=True, validate=validate.OneOf(("baseline", "follow_up")))
    instruments = fields.List(fields.Str(validate=ID), validate=validate.Length(min=1),
                              metadata={"description": "instrument keys; default: all "
                                        "shipped (baseline) or the baseline's (follow-up)"})
    opens_on = fields.Date(required=True)
    closes_on = fields.Date(required=True)


class WaveOut(Schema):
    id = fields.Str()
    contract_id = fields.Str()
    kind = fields.Str()
    instruments = fields.List(fields.Dict())
    opens_on = fields.Date()
    closes_on = fields.Date()
    status = fields.Str()
    created_by = fields.Str()
    seed = fields.Int(allow_none=True)
    sample_design = fields.Dict(allow_none=True)
    drawn_by = fields.Str(allow_none=True)
    drawn_at = fields.DateTime(allow_none=True)
    closed_by = fields.Str(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class SampleIn(Schema):
    size = fields.Int(validate=validate.Range(min=1), load_default=None)
    seed = fields.Int(validate=validate.Range(0, MAX_SEED),
                      metadata={"description": "omit for a random seed (recorded)"})
    stratify_by = fields.List(fields.Str(validate=validate.OneOf(STRATA)), load_default=list)
    panel = fields.Bool(load_default=False, metadata={
        "description": "a follow-up that asks the baseline's sample again"})


class SampledOut(Schema):
    resident_ref = fields.Str()
    stratum = fields.Str()


class ResponseIn(Schema):
    resident_ref = fields.Str(required=True, validate=ID)
    instrument = fields.Str(required=True, validate=ID)
    answers = fields.Dict(keys=fields.Str(), required=True, metadata={
        "description": "item key -> an integer on the instrument's scale, or null (skipped)"})
    answered_on = fields.Date(metadata={"description": "default: today"})


class ResponseOut(Schema):
    id = fields.Str()
    wave_id = fields.Str()
    instrument_key = fields.Str()
    instrument_version = fields.Int()
    resident_ref = fields.Str(allow_none=True)
    answered_on = fields.Date()
    scores = fields.Dict()


class ChangeQuery(Schema):
    instrument = fields.Str(required=True, validate=ID)
    follow_up = fields.Str(validate=ID, metadata={"description": "default: the latest"})
