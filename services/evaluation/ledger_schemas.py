"""The API contract of a contract's spending ledger: budget lines, expenses, receipts."""
from flask_smorest.fields import Upload
from marshmallow import Schema, validate

from shared import fields
from shared.events.schemas.evaluation import DIGEST, PAYEE_KINDS

LINE_KEY = validate.Regexp(r"^[a-z0-9_]{1,32}$")


def yuan(**kwargs):
    return fields.Yuan(**kwargs)


class BudgetLineIn(Schema):
    key = fields.Str(required=True, validate=LINE_KEY, metadata={
        "description": "personnel, activities, materials, management, other, or the buyer's"})
    label_zh = fields.Str(required=True, validate=validate.Length(1, 50))
    label_en = fields.Str(required=True, validate=validate.Length(1, 100))
    amount = yuan(required=True)


class BudgetIn(Schema):
    lines = fields.List(fields.Nested(BudgetLineIn), required=True,
                        validate=validate.Length(1, 30))


class BudgetOut(Schema):
    contract_id = fields.Str()
    version = fields.Int()
    lines = fields.List(fields.Dict())
    set_by = fields.Str()
    set_at = fields.DateTime()


class ExpenseIn(Schema):
    spent_on = fields.PastDate(required=True)
    amount = yuan(required=True, positive=True)
    line = fields.Str(required=True, validate=LINE_KEY)
    payee_kind = fields.Str(required=True, validate=validate.OneOf(PAYEE_KINDS))
    description = fields.Str(required=True, validate=validate.Length(1, 2000))
    receipt_digests = fields.List(fields.Str(validate=DIGEST), load_default=list, unique=True,
                                  validate=validate.Length(0, 20))


class ExpenseOut(Schema):
    id = fields.Str()
    contract_id = fields.Str()
    spent_on = fields.Date()
    amount = yuan()
    line = fields.Str()
    payee_kind = fields.Str()
    receipts = fields.List(fields.Str())
    recorded_by = fields.Str()
    recorded_at = fields.DateTime()


class LedgerQuery(Schema):
    until = fields.Date(data_key="to")


class LedgerOut(Schema):
    contract_id = fields.Str()
    budget_version = fields.Int()
    until = fields.Str(allow_none=True)
    lines = fields.List(fields.Dict())
    budget = fields.Str()
    spent = fields.Str()
    execution_rate = fields.Str(allow_none=True)
    flagged = fields.Int()
    expenses = fields.List(fields.Dict())


class ReceiptUpload(Schema):
    file = Upload(required=True, metadata={
        "description": "a receipt photo (JPEG, PNG, HEIC) or PDF"})


class ReceiptOut(Schema):
    contract_id = fields.Str()
    digest = fields.Str()
    media_type = fields.Str()
    size = fields.Int()
    uploaded_by = fields.Str()
    uploaded_at = fields.DateTime()
