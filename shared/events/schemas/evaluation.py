"""Events evaluation publishes: contracts, scorecards, verification samples, the expert
review of each milestone (sheets, scores, answers, decisions) and the spending ledger."""
from marshmallow import fields, validate

from shared.vocabulary import MAX_SEED

from . import EventData, money, ref, refs


class ContractAwarded(EventData):
    contract_id = ref()
    buyer_id = ref()
    agency_id = ref()
    community_ids = refs(validate=validate.Length(min=1))
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    budget = fields.Decimal(required=True, as_string=True, validate=validate.Range(min=0))


class ContractAmended(ContractAwarded):
    """Version 2: without the amendment's `reason` (free text no consumer needs; the
    contract's versions at evaluation keep it)."""
    VERSION = 2
    version = fields.Int(required=True, validate=validate.Range(min=2))


class ContractAmendedV1(ContractAmended):
    """As published before version 2: still accepted from the event logs."""
    VERSION = 1
    reason = fields.Str(required=True, validate=validate.Length(1, 500))


class ScorecardPublished(EventData):
    contract_id = ref()
    milestone_id = ref()
    as_of = fields.Date(required=True)
    total = fields.Float(required=True, validate=validate.Range(min=0, max=100))
    dimensions = fields.Dict(keys=fields.Str(), values=fields.Float(), required=True)
    recommendation = fields.Str(required=True, validate=validate.Length(1, 200))


class SurveySampleDrawn(EventData):
    """The residents an evaluator drew for a survey wave: intake releases their contacts to
    the evaluator of the contract until release_until. References only, never contacts."""
    contract_id = ref()
    wave_id = ref()
    seed = fields.Int(required=True, validate=validate.Range(0, MAX_SEED))
    resident_refs = refs(validate=validate.Length(min=1))
    release_until = fields.Date(required=True)


class SurveyWaveClosed(EventData):
    """No more responses to the wave: intake releases its sample's contacts no longer."""
    contract_id = ref()
    wave_id = ref()
    closed_on = fields.Date(required=True)


DIGEST = validate.Regexp(r"^[0-9a-f]{64}$")
SCORERS = ("evaluator", "self_then_evaluator", "computed")
DECISIONS = ("approve", "hold", "reduce")


def digest(**kwargs):
    """The SHA-256 of a text kept at evaluation (a comment, an answer, a reason) or of a
    file: what a person typed never travels, its digest proves what was written."""
    return fields.Str(validate=DIGEST, **{"required": True, **kwargs})


def actor():
    """Who acted: the account id the token names (as every change records it), never a name."""
    return fields.Str(required=True, validate=validate.Length(1, 120))


def points(**kwargs):
    return fields.Decimal(as_string=True, validate=validate.Range(min=0, max=1000),
                          **{"required": True, **kwargs})


class SheetItem(EventData):
    key = fields.Str(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,32}$"))
    title_zh = fields.Str(required=True, validate=validate.Length(1, 100))
    title_en = fields.Str(required=True, validate=validate.Length(1, 200))
    max_points = points()
    weight = points()
    scorer = fields.Str(required=True, validate=validate.OneOf(SCORERS))
    source = fields.Str(required=True, allow_none=True, validate=validate.Length(1, 64))
    evidence_zh = fields.Str(required=True, validate=validate.Length(0, 300))
    evidence_en = fields.Str(required=True, validate=validate.Length(0, 600))
    measures = fields.List(fields.Str(validate=validate.Length(1, 64)), required=True)


class GradeBand(EventData):
    grade = fields.Str(required=True, validate=validate.Regexp(r"^[a-z_]{1,32}$"))
    label_zh = fields.Str(required=True, validate=validate.Length(1, 20))
    label_en = fields.Str(required=True, validate=validate.Length(1, 40))
    min = points()


class SheetDefined(EventData):
    """A version of a contract's scoring sheet and grade bands (item titles and evidence
    descriptions are the buyer's labels, not about any person)."""
    by = actor()
    contract_id = ref()
    version = fields.Int(required=True, validate=validate.Range(min=1))
    items = fields.List(fields.Nested(SheetItem), required=True,
                        validate=validate.Length(1, 50))
    bands = fields.List(fields.Nested(GradeBand), required=True,
                        validate=validate.Length(1, 10))


class ItemSelfAssessed(EventData):
    by = actor()
    contract_id = ref()
    milestone_id = ref()
    item_key = ref()
    sheet_version = fields.Int(required=True, validate=validate.Range(min=1))
    points = points()
    note_sha256 = digest()


class ItemScored(ItemSelfAssessed):
    """The evaluator's score, with the drill-down records and the evidence files (by
    digest) it rests on."""
    record_ids = refs()
    file_digests = fields.List(fields.Str(validate=DIGEST), required=True)


class ItemAnswered(EventData):
    """The agency's answer to one item's score (申辩), once per item."""
    by = actor()
    contract_id = ref()
    milestone_id = ref()
    item_key = ref()
    note_sha256 = digest()


class MilestoneDecided(EventData):
    """The buyer's decision on a milestone's payment, with the sheet's result it followed."""
    by = actor()
    contract_id = ref()
    milestone_id = ref()
    sheet_version = fields.Int(required=True, validate=validate.Range(min=1))
    total = points()
    grade = fields.Str(required=True, validate=validate.Length(1, 32))
    recommended = fields.Decimal(required=True, as_string=True, validate=validate.Range(min=0))
    decision = fields.Str(required=True, validate=validate.OneOf(DECISIONS))
    amount = fields.Decimal(required=True, as_string=True, validate=validate.Range(min=0))
    reason_sha256 = digest(allow_none=True)


PAYEE_KINDS = ("staff", "supplier", "venue", "expert", "volunteer", "other")
BUDGET_LINES = ("personnel", "activities", "materials", "management", "other")


class BudgetLine(EventData):
    key = fields.Str(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,32}$"))
    label_zh = fields.Str(required=True, validate=validate.Length(1, 50))
    label_en = fields.Str(required=True, validate=validate.Length(1, 100))
    amount = money()


class BudgetSet(EventData):
    """A version of a contract's budget by line (the labels are the buyer's)."""
    by = actor()
    contract_id = ref()
    version = fields.Int(required=True, validate=validate.Range(min=1))
    lines = fields.List(fields.Nested(BudgetLine), required=True,
                        validate=validate.Length(1, 30))


class ExpenseRecorded(EventData):
    """An expenditure the agency recorded against a budget line, with its receipts' digests
    (its description stays at evaluation: note_sha256)."""
    by = actor()
    contract_id = ref()
    expense_id = ref()
    spent_on = fields.Date(required=True)
    amount = money()
    line = fields.Str(required=True, validate=validate.Regexp(r"^[a-z0-9_]{1,32}$"))
    payee_kind = fields.Str(required=True, validate=validate.OneOf(PAYEE_KINDS))
    receipt_digests = fields.List(fields.Str(validate=DIGEST), required=True)
    note_sha256 = digest()


SCHEMAS = {
    "contract.awarded": ContractAwarded,
    "contract.amended": ContractAmended,
    "scorecard.published": ScorecardPublished,
    "survey.sample_drawn": SurveySampleDrawn,
    "survey.wave_closed": SurveyWaveClosed,
    "review.sheet_defined": SheetDefined,
    "review.item_self_assessed": ItemSelfAssessed,
    "review.item_scored": ItemScored,
    "review.item_answered": ItemAnswered,
    "review.milestone_decided": MilestoneDecided,
    "ledger.budget_set": BudgetSet,
    "ledger.expense_recorded": ExpenseRecorded,
}
SUPERSEDED = {"contract.amended": [ContractAmendedV1]}  # earlier versions still accepted
