"""Events evaluation publishes: contracts, scorecards and verification samples."""
from marshmallow import fields, validate

from shared.vocabulary import MAX_SEED

from . import EventData, ref, refs


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


SCHEMAS = {
    "contract.awarded": ContractAwarded,
    "contract.amended": ContractAmended,
    "scorecard.published": ScorecardPublished,
    "survey.sample_drawn": SurveySampleDrawn,
    "survey.wave_closed": SurveyWaveClosed,
}
SUPERSEDED = {"contract.amended": [ContractAmendedV1]}  # earlier versions still accepted
