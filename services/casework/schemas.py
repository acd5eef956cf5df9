"""Casework's API contract."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema


class QueuedNeedOut(Schema):
    need_id = fields.Str()
    community_id = fields.Str()
    grid_id = fields.Str(allow_none=True)
    resident_ref = fields.Str(allow_none=True)
    category = fields.Str()
    urgency = fields.Str()
    safety_flag = fields.Bool()
    channel = fields.Str()
    reported_at = fields.DateTime()
    status = fields.Str()


class CaseIn(Schema):
    need_id = fields.Str(load_default=None, validate=validate.Length(1, 64))
    resident_ref = fields.Str(load_default=None, validate=validate.Length(1, 64))
    community_id = fields.Str(load_default=None, validate=validate.Length(1, 64))
    opened_on = fields.Date(load_default=None)

    @validates_schema
    def _from_need_or_field(self, data, **_):
        if not data.get("need_id") and not (data.get("resident_ref") and
                                            data.get("community_id")):
            raise ValidationError("open a case from a need_id, or name resident_ref and "
                                  "community_id for a resident met in the field", "need_id")


class CaseOut(Schema):
    id = fields.Str()
    agency_id = fields.Str()
    community_id = fields.Str()
    resident_ref = fields.Str()
    need_id = fields.Str(allow_none=True)
    worker_id = fields.Str()
    opened_on = fields.Date()
    status = fields.Str()
