"""Events intake publishes. No names, phone numbers or ID numbers: pseudonymous refs only."""
from marshmallow import fields, validate

from shared.vocabulary import (AGE_BANDS, BUYER_KINDS, CHANNELS, GENDERS, HOUSEHOLD_TYPES,
                               NEED_CATEGORIES, RESIDENT_FLAGS, URGENCIES, WITHDRAW_REASONS)

from . import EventData, one_of, ref, refs


class Demographics(EventData):
    community_id = ref()
    grid_id = ref()
    household_ref = ref(allow_none=True, load_default=None)
    household_type = one_of(HOUSEHOLD_TYPES)
    age_band = one_of(AGE_BANDS)
    gender = one_of(GENDERS)
    flags = fields.List(fields.Str(validate=validate.OneOf(RESIDENT_FLAGS)), required=True)


class ResidentRegistered(Demographics):
    resident_ref = ref()
    registered_on = fields.Date(required=True)


class ResidentUpdated(Demographics):
    resident_ref = ref()
    updated_on = fields.Date(required=True)


class NeedReported(EventData):
    need_id = ref()
    community_id = ref()
    grid_id = ref(allow_none=True, load_default=None)
    resident_ref = ref(allow_none=True, load_default=None)
    household_ref = ref(allow_none=True, load_default=None)
    category = one_of(NEED_CATEGORIES)
    urgency = one_of(URGENCIES)
    safety_flag = fields.Bool(required=True)
    channel = one_of(CHANNELS)
    reported_at = fields.DateTime(required=True)


class NeedTriaged(EventData):
    """Version 2: without `referred_to`, free text that may name a person and no consumer
    needs (the status says that it was referred)."""
    VERSION = 2
    need_id = ref()
    community_id = ref()
    category = one_of(NEED_CATEGORIES)
    urgency = one_of(URGENCIES)
    status = one_of(("triaged", "referred"))
    triaged_at = fields.DateTime(required=True)


class NeedTriagedV1(NeedTriaged):
    """As published before version 2: still accepted from the event logs."""
    VERSION = 1
    referred_to = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=200))


class NeedWithdrawn(EventData):
    need_id = ref()
    community_id = ref()
    reason = one_of(WITHDRAW_REASONS)
    withdrawn_at = fields.DateTime(required=True)


class JurisdictionUpdated(EventData):
    """A buyer (street office, civil-affairs bureau) and the communities it governs, as ops
    keep them at intake: the whole current list, so the newest event is the truth."""
    buyer_id = ref()
    name = fields.Str(required=True, validate=validate.Length(1, 200))
    kind = one_of(BUYER_KINDS)
    community_ids = refs()
    updated_at = fields.DateTime(required=True)


class AgencyUpdated(EventData):
    """A social-work agency (社工机构) as ops keep it at intake: registered, renamed, or no
    longer active (no new contracts)."""
    agency_id = ref()
    name = fields.Str(required=True, validate=validate.Length(1, 200))
    active = fields.Bool(required=True)
    updated_at = fields.DateTime(required=True)


SCHEMAS = {
    "jurisdiction.updated": JurisdictionUpdated,
    "agency.updated": AgencyUpdated,
    "resident.registered": ResidentRegistered,
    "resident.updated": ResidentUpdated,
    "need.reported": NeedReported,
    "need.triaged": NeedTriaged,
    "need.withdrawn": NeedWithdrawn,
}
SUPERSEDED = {"need.triaged": [NeedTriagedV1]}  # earlier versions consumers still accept
