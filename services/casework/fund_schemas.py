"""The micro-fund's API contract (marshmallow)."""
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate

from shared.i18n import bilingual

from shared.vocabulary import (BALLOT_CHANNELS, FUND_CATEGORIES, FUND_PHASES, FUND_PROPOSERS,
                               VOTING_RULES)

from .schemas import ID, refs

MAX_YUAN = 10**8  # a hundred million yuan: beyond any community's micro-fund


NOT_AMOUNT = bilingual("An amount of yuan above zero and at most 100,000,000, to the fen",
                       "金额须大于零、不超过一亿元，最多精确到分")


def _yuan(value: Decimal) -> None:
    if not 0 < value <= MAX_YUAN or value != value.quantize(Decimal("0.01")):
        raise ValidationError(NOT_AMOUNT)


def money(**kwargs):
    """Yuan, more than zero, at most MAX_YUAN, to the fen; read and written as a string."""
    kwargs.setdefault("required", "load_default" not in kwargs)
    return fields.Decimal(as_string=True, validate=_yuan, **kwargs)


class PhaseDates(Schema):
    proposing = fields.Date(required=True)
    review = fields.Date(required=True)
    notice = fields.Date(required=True)
    voting = fields.Date(required=True)
    results = fields.Date(required=True)
    delivery = fields.Date(required=True)


class FundIn(Schema):
    community_id = fields.Str(required=True, validate=ID)
    year = fields.Int(required=True, validate=validate.Range(2000, 2100))
    amount = money()
    proposers = fields.List(fields.Str(validate=validate.OneOf(FUND_PROPOSERS)),
                            load_default=lambda: list(FUND_PROPOSERS),
                            validate=validate.Length(1, len(FUND_PROPOSERS)))
    min_supports = fields.Int(load_default=0, validate=validate.Range(0, 100000))
    voting_rule = fields.Str(required=True, validate=validate.OneOf(VOTING_RULES))
    notice_days = fields.Int(load_default=7, validate=validate.Range(1, 90))
    phases = fields.Nested(PhaseDates, required=True)


class PhaseIn(Schema):
    phase = fields.Str(required=True, validate=validate.OneOf(FUND_PHASES))
    on = fields.Date(required=True)
    meeting_id = fields.Str(load_default=None, validate=ID,
                            metadata={"description": "the council meeting that takes up the "
                                      "results (entering delivery)"})


class FundOut(Schema):
    id = fields.Str()
    community_id = fields.Str()
    year = fields.Int()
    amount = fields.Decimal(as_string=True)
    proposers = fields.List(fields.Str())
    min_supports = fields.Int()
    voting_rule = fields.Str()
    notice_days = fields.Int()
    phases = fields.Method("_phases")
    phase = fields.Str()
    phase_on = fields.Date()
    meeting_id = fields.Str(allow_none=True)
    totals = fields.Dict()

    def _phases(self, fund):
        return {p: getattr(fund, f"{p}_on").isoformat() for p in FUND_PHASES}


class ProjectIn(Schema):
    title = fields.Str(required=True, validate=validate.Length(1, 200))
    description = fields.Str(required=True, validate=validate.Length(1, 5000))
    category = fields.Str(required=True, validate=validate.OneOf(FUND_CATEGORIES))
    location = fields.Str(required=True, validate=validate.Length(1, 200))
    estimated_cost = money()
    beneficiaries = fields.Int(required=True, validate=validate.Range(1, 1000000))
    proposer_kind = fields.Str(required=True, validate=validate.OneOf(FUND_PROPOSERS))
    proposer_ref = fields.Str(load_default=None, validate=ID)
    organization_id = fields.Str(load_default=None, validate=ID)
    proposed_on = fields.Date(required=True)


class ProjectOut(Schema):
    id = fields.Str()
    fund_id = fields.Str()
    number = fields.Int()
    title = fields.Str()
    description = fields.Str()
    category = fields.Str()
    location = fields.Str()
    estimated_cost = fields.Decimal(as_string=True)
    beneficiaries = fields.Int()
    proposer_kind = fields.Str()
    proposer_ref = fields.Str(allow_none=True)
    organization_id = fields.Str(allow_none=True)
    proposed_on = fields.Date()
    status = fields.Str()
    supports = fields.Int()
    price = fields.Decimal(as_string=True, allow_none=True)
    price_explanation = fields.Str(allow_none=True)
    decline_reason = fields.Str(allow_none=True)
    reviewed_on = fields.Date(allow_none=True)
    votes = fields.Int(allow_none=True)
    decision_id = fields.Str(allow_none=True)
    actual_cost = fields.Decimal(as_string=True, allow_none=True)
    leader_refs = fields.List(fields.Str(), allow_none=True)


class SupportIn(Schema):
    resident_ref = fields.Str(required=True, validate=ID)
    on = fields.Date(required=True)


class SupportOut(Schema):
    project_id = fields.Str()
    resident_ref = fields.Str()
    on = fields.Date()


class ReviewIn(Schema):
    feasible = fields.Bool(required=True)
    price = money(load_default=None)
    price_explanation = fields.Str(load_default=None, validate=validate.Length(1, 2000))
    reason = fields.Str(load_default=None, validate=validate.Length(1, 2000),
                        metadata={"description": "why a project is declined"})
    on = fields.Date(required=True)


class ObjectionIn(Schema):
    project_id = fields.Str(load_default=None, validate=ID)
    text = fields.Str(required=True, validate=validate.Length(1, 2000))
    on = fields.Date(required=True)


class ObjectionOut(Schema):
    id = fields.Str()
    project_id = fields.Str(allow_none=True)
    text = fields.Str()
    on = fields.Date()


class BallotIn(Schema):
    resident_ref = fields.Str(required=True, validate=ID)
    channel = fields.Str(required=True, validate=validate.OneOf(BALLOT_CHANNELS))
    project_ids = fields.List(fields.Str(validate=ID), required=True,
                              validate=validate.Length(1, 200))
    cast_on = fields.Date(required=True)
    meeting_id = fields.Str(load_default=None, validate=ID,
                            metadata={"description": "the council meeting a paper ballot "
                                      "was cast at"})


class BallotOut(Schema):
    id = fields.Str()
    resident_ref = fields.Str()
    channel = fields.Str()
    project_ids = fields.List(fields.Str())
    cast_on = fields.Date()
    meeting_id = fields.Str(allow_none=True)


class DeliveryIn(Schema):
    actual_cost = money()
    leader_refs = refs(load_default=list)
    on = fields.Date(required=True)


class OutcomeOut(Schema):
    project_id = fields.Str()
    number = fields.Int()
    title = fields.Str()
    category = fields.Str()
    votes = fields.Int()
    cost = fields.Decimal(as_string=True)
    funded = fields.Bool()
    rank = fields.Int()
    reason = fields.Str()


class ResultsOut(Schema):
    """What a community posts (公示): figures and projects, no resident named."""
    fund_id = fields.Str()
    community_id = fields.Str()
    year = fields.Int()
    voting_rule = fields.Str()
    phase = fields.Str()
    final = fields.Bool()
    voters = fields.Int()
    voters_online = fields.Int()
    voters_paper = fields.Int()
    outcomes = fields.List(fields.Nested(OutcomeOut))
    declined = fields.List(fields.Dict())
    totals = fields.Dict()
