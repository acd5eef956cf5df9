"""The survey part of evaluation's API contract."""
from marshmallow import Schema, validate

from shared import fields
from shared.vocabulary import MAX_SEED
from .surveys import STRATA

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
    answers = fields.Dict()
    scores = fields.Dict()


class ChangeQuery(Schema):
    instrument = fields.Str(required=True, validate=ID)
    follow_up = fields.Str(validate=ID, metadata={"description": "default: the latest"})


class ScaleOut(Schema):
    min = fields.Int()
    max = fields.Int()
    labels_zh = fields.List(fields.Str())
    labels_en = fields.List(fields.Str())


class SubscaleOut(Schema):
    key = fields.Str()
    name_zh = fields.Str()
    name_en = fields.Str()
    min_answered = fields.Int(metadata={"description": "answers needed to score it"})


class ItemOut(Schema):
    key = fields.Str()
    subscale = fields.Str()
    reverse = fields.Bool(metadata={"description": "scored as min + max - answer"})
    text_zh = fields.Str()
    text_en = fields.Str()


class InstrumentOut(Schema):
    key = fields.Str()
    version = fields.Int()
    construct = fields.Str()
    name_zh = fields.Str()
    name_en = fields.Str()
    anonymous = fields.Bool(metadata={"description": "responses keep no resident reference"})
    scale = fields.Nested(ScaleOut)
    satisfied_at = fields.Int(metadata={"description": "total at which a respondent counts "
                                        "as satisfied"})
    source = fields.Str()
    subscales = fields.List(fields.Nested(SubscaleOut))
    items = fields.List(fields.Nested(ItemOut))


class ChangeOut(Schema):
    instrument = fields.Str()
    baseline_wave = fields.Str()
    follow_up_wave = fields.Str()
    total = fields.Dict(metadata={"description": "paired (t) and independent (Welch) change "
                                  "with 95% intervals"})
    subscales = fields.Dict()
    by_rung = fields.Dict(metadata={"description": "paired change of the total by the rung "
                                    "reached between the waves"})
    by_climb = fields.Dict()
