"""Events intake publishes. No names, phone numbers or ID numbers: pseudonymous refs only."""
from marshmallow import fields, validate

from shared.vocabulary import (AGE_BANDS, CHANNELS, GENDERS, HOUSEHOLD_TYPES, NEED_CATEGORIES,
                               RESIDENT_FLAGS, URGENCIES, WITHDRAW_REASONS)

from . import EventData, one_of, ref


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
    need_id = ref()
    community_id = ref()
    category = one_of(NEED_CATEGORIES)
    urgency = one_of(URGENCIES)
    status = one_of(("triaged", "referred"))
    referred_to = fields.Str(allow_none=True, load_default=None, validate=validate.Length(max=200))
    triaged_at = fields.DateTime(required=True)


class NeedWithdrawn(EventData):
    need_id = ref()
    community_id = ref()
    reason = one_of(WITHDRAW_REASONS)
    withdrawn_at = fields.DateTime(required=True)


SCHEMAS = {
    "resident.registered": ResidentRegistered,
    "resident.updated": ResidentUpdated,
    "need.reported": NeedReported,
    "need.triaged": NeedTriaged,
    "need.withdrawn": NeedWithdrawn,
}
