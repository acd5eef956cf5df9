"""Intake's API contract."""
from marshmallow import Schema, fields, validate

from shared.events.schemas import CHANNELS, NEED_CATEGORIES, URGENCIES


class NeedIn(Schema):
    community_id = fields.Str(required=True, validate=validate.Length(1, 64))
    grid_id = fields.Str(load_default=None, validate=validate.Length(1, 64))
    resident_ref = fields.Str(load_default=None, validate=validate.Length(1, 64))
    category = fields.Str(required=True, validate=validate.OneOf(NEED_CATEGORIES))
    urgency = fields.Str(required=True, validate=validate.OneOf(URGENCIES))
    safety_flag = fields.Bool(load_default=False)
    channel = fields.Str(required=True, validate=validate.OneOf(CHANNELS))
    description = fields.Str(required=True, validate=validate.Length(1, 4000))


class StatusChangeOut(Schema):
    status = fields.Str()
    changed_by = fields.Str()
    changed_at = fields.DateTime()


class NeedOut(Schema):
    id = fields.Str()
    community_id = fields.Str()
    grid_id = fields.Str(allow_none=True)
    resident_ref = fields.Str(allow_none=True)
    category = fields.Str()
    urgency = fields.Str()
    safety_flag = fields.Bool()
    channel = fields.Str()
    description = fields.Str()
    status = fields.Str()
    case_id = fields.Str(allow_none=True)
    reported_at = fields.DateTime()
    history = fields.List(fields.Nested(StatusChangeOut))


class NeedQuery(Schema):
    status = fields.Str(validate=validate.OneOf(
        ("reported", "triaged", "referred", "in_service", "resolved", "unresolved",
         "withdrawn")))
    limit = fields.Int(load_default=50, validate=validate.Range(1, 500))
