"""Intake's API contract (marshmallow): what clerks send and what they get back."""
from datetime import date

from marshmallow import Schema, ValidationError, validate

from shared import clock
from shared import fields
from shared.i18n import bilingual

from .names import normalise_name
from shared.vocabulary import (BUYER_KINDS, CHANNELS, EXPLICIT_FLAGS, GENDERS, HOUSEHOLD_TYPES,
                               NEED_CATEGORIES, NEED_STATUSES, URGENCIES, WITHDRAW_REASONS)

ID = validate.Length(1, 64)
REF = validate.Length(1, 32)
EARLIEST_REGISTRATION = date(1900, 1, 1)
REGISTERED_IN_FUTURE = bilingual("The registration date is in the future", "登记日期晚于今天")
REGISTERED_TOO_EARLY = bilingual("The registration date is before 1900-01-01",
                                 "登记日期早于 1900-01-01")


def _past_registration(day: date) -> None:
    """Today is read per request, not when the schema is defined."""
    if day > clock.today():
        raise ValidationError(REGISTERED_IN_FUTURE)
    if day < EARLIEST_REGISTRATION:
        raise ValidationError(REGISTERED_TOO_EARLY)


class CommunityIn(Schema):
    id = fields.Str(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    name = fields.Str(required=True, validate=validate.Length(1, 200))
    street = fields.Str(load_default=None, validate=validate.Length(1, 200))


class CommunityOut(Schema):
    id = fields.Str()
    name = fields.Str()
    street = fields.Str(allow_none=True)


KEY = validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$")


class BuyerIn(Schema):
    id = fields.Str(required=True, validate=KEY)
    name = fields.Str(required=True, validate=validate.Length(1, 200))
    kind = fields.Str(required=True, validate=validate.OneOf(BUYER_KINDS))
    community_ids = fields.List(fields.Str(validate=ID), required=True, unique=True,
                                validate=validate.Length(max=500),
                                metadata={"description": "the communities it governs"})


class BuyerUpdate(Schema):
    name = fields.Str(validate=validate.Length(1, 200))
    kind = fields.Str(validate=validate.OneOf(BUYER_KINDS))
    community_ids = fields.List(fields.Str(validate=ID), validate=validate.Length(max=500),
                                unique=True,
                                metadata={"description": "the whole new list"})


class BuyerOut(Schema):
    id = fields.Str()
    name = fields.Str()
    kind = fields.Str()
    community_ids = fields.List(fields.Str())
    updated_at = fields.DateTime()


class AgencyIn(Schema):
    id = fields.Str(required=True, validate=KEY)
    name = fields.Str(required=True, validate=validate.Length(1, 200))


class AgencyUpdate(Schema):
    name = fields.Str(validate=validate.Length(1, 200))
    active = fields.Bool(metadata={"description": "false: no new contracts"})


class AgencyOut(Schema):
    id = fields.Str()
    name = fields.Str()
    active = fields.Bool()
    updated_at = fields.DateTime()


class GridIn(Schema):
    id = fields.Str(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    name = fields.Str(required=True, validate=validate.Length(1, 200))
    kind = fields.Str(load_default="grid", validate=validate.OneOf(("grid", "building")))


class GridOut(Schema):
    id = fields.Str()
    community_id = fields.Str()
    name = fields.Str()
    kind = fields.Str()


class HouseholdIn(Schema):
    community_id = fields.Str(required=True, validate=ID)
    grid_id = fields.Str(required=True, validate=ID)
    household_type = fields.Str(required=True, validate=validate.OneOf(
        [t for t in HOUSEHOLD_TYPES if t != "unknown"]))
    address = fields.Str(load_default=None, validate=validate.Length(1, 300))


class HouseholdOut(Schema):
    ref = fields.Str()
    community_id = fields.Str()
    grid_id = fields.Str()
    household_type = fields.Str()


class ResidentIn(Schema):
    community_id = fields.Str(required=True, validate=ID)
    grid_id = fields.Str(required=True, validate=ID)
    household_ref = fields.Str(load_default=None, validate=REF)
    name = fields.Str(required=True, validate=validate.Length(1, 50))
    gender = fields.Str(load_default=None, validate=validate.OneOf(
        [g for g in GENDERS if g != "unknown"]))
    birth_date = fields.PastDate(load_default=None)
    phone = fields.Str(load_default=None, validate=validate.Length(5, 30))
    id_number = fields.Str(load_default=None, validate=validate.Length(15, 40))
    flags = fields.List(fields.Str(validate=validate.OneOf(EXPLICIT_FLAGS)), load_default=list)
    registered_on = fields.Date(load_default=None, validate=_past_registration, metadata={
        "description": "when the community registered the resident (a migrated roster); "
                       "default today"})


class ResidentUpdate(Schema):
    grid_id = fields.Str(validate=ID)
    household_ref = fields.Str(allow_none=True, validate=REF)
    name = fields.Str(validate=validate.Length(1, 50))
    gender = fields.Str(validate=validate.OneOf([g for g in GENDERS if g != "unknown"]))
    birth_date = fields.PastDate()
    phone = fields.Str(validate=validate.Length(5, 30))
    id_number = fields.Str(validate=validate.Length(15, 40))
    flags = fields.List(fields.Str(validate=validate.OneOf(EXPLICIT_FLAGS)))


class ResidentOut(Schema):
    """Without personal data: what a list or a pseudonymous view shows."""
    ref = fields.Str()
    community_id = fields.Str()
    grid_id = fields.Str()
    household_ref = fields.Function(lambda r: r.household.ref if r.household else None)
    gender = fields.Str()
    age_band = fields.Str()
    flags = fields.List(fields.Str())
    registered_on = fields.Date()
    registered_at = fields.DateTime(metadata={"description": "when the record was entered"})


class PersonalData(Schema):
    name = fields.Str()
    phone = fields.Str(allow_none=True)
    id_number = fields.Str(allow_none=True)
    birth_date = fields.Str(allow_none=True)


class ResidentDetail(ResidentOut):
    personal = fields.Nested(PersonalData)


class ResidentMatch(ResidentOut):
    name = fields.Str()


NAME_TOO_SHORT = bilingual("Search by at least two characters of the name",
                           "请至少输入姓名中的两个字")


def _searchable(fragment: str) -> None:
    """As the blind index sees it: a search needs at least one pair of characters."""
    if len(normalise_name(fragment)) < 2:
        raise ValidationError(NAME_TOO_SHORT)


class ResidentQuery(Schema):
    name = fields.Str(validate=[validate.Length(1, 50), _searchable],
                      metadata={"description": "two or more characters of the name"})
    phone = fields.Str(validate=validate.Length(5, 30))
    id_number = fields.Str(validate=validate.Length(15, 40))
    limit = fields.Int(load_default=20, validate=validate.Range(1, 100))
    purpose = fields.Str(load_default="resident lookup", validate=validate.Length(1, 200))


class ImportResult(Schema):
    imported = fields.Int()
    residents = fields.List(fields.Dict())
    failed = fields.List(fields.Dict(), metadata={"description": "row number and reasons"})


class NeedIn(Schema):
    community_id = fields.Str(required=True, validate=ID)
    grid_id = fields.Str(load_default=None, validate=ID)
    resident_ref = fields.Str(load_default=None, validate=REF)
    household_ref = fields.Str(load_default=None, validate=REF)
    category = fields.Str(required=True, validate=validate.OneOf(NEED_CATEGORIES))
    urgency = fields.Str(required=True, validate=validate.OneOf(URGENCIES))
    safety_concern = fields.Bool(load_default=False)
    channel = fields.Str(required=True, validate=validate.OneOf(CHANNELS))
    description = fields.Str(required=True, validate=validate.Length(1, 4000))
    reported_at = fields.AwareDateTime(load_default=None, default_timezone=None)


class ResidentNeedIn(Schema):
    """A need a resident reports themselves (the residents' pages): their own, in their
    community, online."""
    category = fields.Str(required=True, validate=validate.OneOf(NEED_CATEGORIES))
    urgency = fields.Str(load_default="routine", validate=validate.OneOf(URGENCIES))
    safety_concern = fields.Bool(load_default=False)
    description = fields.Str(required=True, validate=validate.Length(1, 4000))


class NeedUpdate(Schema):
    description = fields.Str(required=True, validate=validate.Length(1, 4000))


class TriageIn(Schema):
    status = fields.Str(required=True, validate=validate.OneOf(("triaged", "referred")))
    category = fields.Str(validate=validate.OneOf(NEED_CATEGORIES))
    urgency = fields.Str(validate=validate.OneOf(URGENCIES))
    referred_to = fields.Str(load_default=None, validate=validate.Length(1, 200))
    note = fields.Str(load_default=None, validate=validate.Length(1, 500))


class WithdrawIn(Schema):
    reason = fields.Str(required=True, validate=validate.OneOf(WITHDRAW_REASONS))
    note = fields.Str(load_default=None, validate=validate.Length(1, 500))


class CloseIn(Schema):
    status = fields.Str(required=True, validate=validate.OneOf(("resolved", "unresolved")))
    note = fields.Str(load_default=None, validate=validate.Length(1, 500))


class StatusChangeOut(Schema):
    status = fields.Str()
    changed_by = fields.Str()
    changed_at = fields.DateTime()
    note = fields.Str(allow_none=True)


class NeedOut(Schema):
    id = fields.Str()
    community_id = fields.Str()
    grid_id = fields.Str(allow_none=True)
    resident_ref = fields.Str(allow_none=True)
    household_ref = fields.Str(allow_none=True)
    category = fields.Str()
    urgency = fields.Str()
    safety_flag = fields.Bool()
    channel = fields.Str()
    description = fields.Str()
    status = fields.Str()
    referred_to = fields.Str(allow_none=True)
    case_id = fields.Str(allow_none=True)
    reported_by = fields.Str()
    reported_at = fields.DateTime()
    history = fields.List(fields.Nested(StatusChangeOut))


class NeedQuery(Schema):
    status = fields.Str(validate=validate.OneOf(NEED_STATUSES))
    category = fields.Str(validate=validate.OneOf(NEED_CATEGORIES))
    urgency = fields.Str(validate=validate.OneOf(URGENCIES))
    grid_id = fields.Str(validate=ID)
    community_id = fields.Str(validate=ID)
    resident_ref = fields.Str(validate=REF)
    safety_flag = fields.Bool()
    reported_from = fields.Date(metadata={"description": "on or after this day (UTC)"})
    reported_to = fields.Date(metadata={"description": "on or before this day (UTC)"})


class AccessLogOut(Schema):
    at = fields.DateTime()
    actor = fields.Str()
    role = fields.Str()
    action = fields.Str()
    resident_ref = fields.Str(allow_none=True)
    need_id = fields.Str(allow_none=True)
    fields_ = fields.List(fields.Str(), data_key="fields", attribute="fields")
    purpose = fields.Str()


class InvitationOut(Schema):
    """A resident's one-time sign-in invitation: the link its QR code holds (shown once)."""
    resident_ref = fields.Str()
    url = fields.Str()
    expires_at = fields.DateTime()


class SurveyContactOut(Schema):
    resident_ref = fields.Str()
    name = fields.Str()
    phone = fields.Str(allow_none=True)


class AccessLogQuery(Schema):
    actor = fields.Str(validate=validate.Length(1, 120))
    resident_ref = fields.Str(validate=REF)
    need_id = fields.Str(validate=validate.Length(1, 36))
    action = fields.Str(validate=validate.Length(1, 32))
    since = fields.AwareDateTime(default_timezone=None)
