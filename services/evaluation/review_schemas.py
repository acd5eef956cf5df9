"""The API contract of a milestone's expert review: sheets, self-assessments, scores,
answers and the buyer's decision."""
from marshmallow import Schema, validate

from shared import fields
from shared.events.schemas.evaluation import DECISIONS, DIGEST, SCORERS

KEY = validate.Regexp(r"^[a-z0-9_]{1,32}$")
POINTS = validate.Range(0, 1000)
NOTE = validate.Length(1, 5000)


def points(**kwargs):
    return fields.Fixed(2, validate=POINTS, **kwargs)


class SheetItemIn(Schema):
    key = fields.Str(required=True, validate=KEY)
    title_zh = fields.Str(required=True, validate=validate.Length(1, 100))
    title_en = fields.Str(required=True, validate=validate.Length(1, 200))
    max_points = points(required=True)
    weight = points(required=True,
                    metadata={"description": "share of the total; all add up to 100"})
    scorer = fields.Str(required=True, validate=validate.OneOf(SCORERS), metadata={
        "description": "evaluator; self_then_evaluator (the agency's self-assessment "
                       "first); computed (from the milestone's scorecard)"})
    source = fields.Str(load_default=None, allow_none=True, validate=validate.Length(1, 64),
                        metadata={"description": "computed items: total or dimension:<key>"})
    evidence_zh = fields.Str(load_default="", validate=validate.Length(0, 300))
    evidence_en = fields.Str(load_default="", validate=validate.Length(0, 600))
    measures = fields.List(fields.Str(validate=validate.Length(1, 64)), load_default=list,
                           unique=True, validate=validate.Length(0, 10), metadata={
                               "description": "drill-downs shown beside the item"})


class GradeBandIn(Schema):
    grade = fields.Str(required=True, validate=validate.Regexp(r"^[a-z_]{1,32}$"))
    label_zh = fields.Str(required=True, validate=validate.Length(1, 20))
    label_en = fields.Str(required=True, validate=validate.Length(1, 40))
    min = points(required=True)


class SheetIn(Schema):
    """Omit both for the default sheet and bands."""
    items = fields.List(fields.Nested(SheetItemIn), validate=validate.Length(1, 50))
    bands = fields.List(fields.Nested(GradeBandIn), validate=validate.Length(1, 10))


class SheetOut(Schema):
    contract_id = fields.Str()
    version = fields.Int()
    items = fields.List(fields.Dict())
    bands = fields.List(fields.Dict())
    defined_by = fields.Str()
    defined_at = fields.DateTime()


class SelfAssessmentIn(Schema):
    points = points(required=True)
    note = fields.Str(required=True, validate=NOTE)


class ScoreIn(Schema):
    points = points(required=True)
    comment = fields.Str(required=True, validate=NOTE)
    record_ids = fields.List(fields.Str(validate=validate.Length(1, 64)), load_default=list,
                             unique=True, validate=validate.Length(0, 200))
    file_digests = fields.List(fields.Str(validate=validate.Regexp(DIGEST.regex)),
                               load_default=list, unique=True,
                               validate=validate.Length(0, 200))


class AnswerIn(Schema):
    text = fields.Str(required=True, validate=NOTE)


class DecisionIn(Schema):
    decision = fields.Str(required=True, validate=validate.OneOf(DECISIONS))
    amount = fields.Yuan(metadata={"description": "reduce: what is paid (yuan)"})
    reason = fields.Str(validate=NOTE, metadata={"description": "needed to hold or reduce"})


class ReviewOut(Schema):
    contract_id = fields.Str()
    milestone_id = fields.Str()
    due = fields.Str()
    sheet_version = fields.Int()
    card_closed = fields.Bool()
    card_total = fields.Float(allow_none=True)
    items = fields.List(fields.Dict())
    bands = fields.List(fields.Dict())
    total = fields.Str(allow_none=True)
    grade = fields.Dict(allow_none=True)
    complete = fields.Bool()
    pending = fields.List(fields.Str())
    share = fields.Float()
    recommended = fields.Str()
    full_share = fields.Str()
    decision = fields.Dict(allow_none=True)


class ReportQuery(Schema):
    lang = fields.Str(load_default="zh", validate=validate.OneOf(("zh", "en")))


class ReportOut(Schema):
    contract = fields.Dict()
    milestone = fields.Dict()
    as_of = fields.Str()
    generated_at = fields.Str()
    card = fields.Dict()
    review = fields.Dict()
    spending = fields.Dict(allow_none=True)
    anomalies = fields.Dict()
    verification = fields.Dict()
    evidence = fields.List(fields.Dict())
    heads = fields.List(fields.Dict(), metadata={
        "description": "per source, the last event (sequence, hash) the card counted; and "
                       "evaluation's own log head, which holds the review and ledger"})
