"""The API's field types: marshmallow's, each bounded to what a record can hold, so that no
input the schema accepts can overflow a column, a date or a sum further on. Schemas import
`from shared import fields` and write `fields.Str`, `fields.Date`, … as before; every
marshmallow field not redefined here is marshmallow's own. The limits are documented in
docs/OPERATIONS.md ("Input limits").

- strings: at most MAX_TEXT characters unless the schema says fewer; no NUL and no lone
  surrogate (shared/inputs.py checks every string of a request, these fields included);
- integers: within +-MAX_INT (2^53 - 1, what JSON numbers hold exactly);
- floats and decimals: finite, within +-MAX_AMOUNT; `Fixed` decimals (scores) hold at most
  their places and `Yuan` (money) is to the fen, from 0 to MAX_YUAN: more decimals are
  refused, never rounded away;
- dates and times: between EARLIEST and LATEST; `PastDate` also not after today (a fact
  recorded: goals set, progress, organisation changes, birth dates);
- lists: at most MAX_ITEMS entries unless the schema says fewer; `unique=True` refuses
  duplicates;
- date ranges: `check_span` keeps a from/to pair within MAX_SPAN_DAYS.
"""
import decimal
from datetime import date, datetime

from marshmallow import ValidationError, validate
from marshmallow.fields import *  # noqa: F401,F403  every field this module does not bound
from marshmallow import fields as _ma

from . import clock
from .i18n import bilingual

MAX_TEXT = 10_000
MAX_INT = 2**53 - 1
MAX_AMOUNT = decimal.Decimal(10) ** 15
MAX_YUAN = decimal.Decimal("999999999999.99")  # what a Numeric(14, 2) column holds
MAX_ITEMS = 1_000
EARLIEST, LATEST = clock.EARLIEST_DAY, date(2200, 12, 31)
MAX_SPAN_DAYS = 100 * 366  # a contract's period: a century at most

OUT_OF_RANGE_DATE = bilingual(f"The date must be between {EARLIEST} and {LATEST}",
                              f"日期须在 {EARLIEST} 至 {LATEST} 之间")
IN_THE_FUTURE = bilingual("The date is in the future: this records what has happened",
                          "日期晚于今天：此处记录已发生的事")
DUPLICATES = bilingual("The list holds the same entry more than once", "列表中有重复项")
SPAN_TOO_LONG = bilingual(f"The range spans more than {MAX_SPAN_DAYS} days",
                          f"时间范围超过 {MAX_SPAN_DAYS} 天")
RANGE_BACKWARDS = bilingual("The end of the range is before its start", "结束日期早于开始日期")


def _with(kwargs: dict, *bounds) -> dict:
    """The field's own validators, then the bounds (the strictest of each applies)."""
    given = kwargs.get("validate")
    own = [] if given is None else list(given) if isinstance(given, (list, tuple)) else [given]
    return {**kwargs, "validate": [*own, *bounds]}


class String(_ma.String):
    def __init__(self, **kwargs):
        super().__init__(**_with(kwargs, validate.Length(max=MAX_TEXT)))


Str = String


class Integer(_ma.Integer):
    def __init__(self, **kwargs):
        super().__init__(**_with(kwargs, validate.Range(-MAX_INT, MAX_INT)))


Int = Integer


class Float(_ma.Float):
    def __init__(self, **kwargs):  # marshmallow refuses NaN and infinities by default
        super().__init__(**_with(kwargs, validate.Range(-float(MAX_AMOUNT),
                                                        float(MAX_AMOUNT))))


class Decimal(_ma.Decimal):
    """A Decimal of 1e999999 is finite: bounded here, or it would be stored as Infinity.
    Its bounds are checked as plain functions: apispec would write a Range's Decimal bounds
    into the OpenAPI document as strings, which no client generator reads; the document
    says a decimal string instead, with its bounds in the description."""

    def __init__(self, *args, **kwargs):
        kwargs = _with(kwargs, validate.Range(-MAX_AMOUNT, MAX_AMOUNT))
        kwargs["validate"] = [_unlisted(v) for v in kwargs["validate"]]
        if kwargs.get("as_string"):
            kwargs["metadata"] = {"type": "string", "format": "decimal",
                                  "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
                                  **kwargs.get("metadata", {})}
        super().__init__(*args, **kwargs)


def _unlisted(validator):
    def check(value):
        return validator(value)
    return check


def _decimals(value: decimal.Decimal) -> int:
    """How many decimals a finite value needs (10.100: 1), read off its digits: normalize()
    and quantize() work to the context's 28 digits and would round a long one."""
    _, digits, exponent = value.as_tuple()
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing)) if any(digits) else 0


def _at_most_places(places: int, message: str):
    def check(value: decimal.Decimal) -> None:
        if value.is_finite() and _decimals(value) > places:
            raise ValidationError(message)
    return check


class Fixed(Decimal):
    """A decimal of at most `places` decimals, read and written as a string with exactly
    them. More decimals are refused: marshmallow's `places` would round 10.005 to 10.00 and
    store what nobody entered."""

    def __init__(self, places: int = 2, *, too_precise: str | None = None, **kwargs):
        message = too_precise or bilingual(f"At most {places} decimal places",
                                           f"最多 {places} 位小数")
        self.step = decimal.Decimal(1).scaleb(-places)
        super().__init__(as_string=True, **_with(kwargs, _at_most_places(places, message)))

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None:
            value = decimal.Decimal(str(value)).quantize(self.step)
        return super()._serialize(value, attr, obj, **kwargs)


NOT_YUAN = bilingual("Yuan to the fen: at most two decimal places", "金额最多精确到分（两位小数）")
NEGATIVE = bilingual("The amount must not be negative", "金额不能为负数")
NOT_ABOVE_ZERO = bilingual("The amount must be more than 0", "金额须大于 0")


def _yuan_bounds(positive: bool, maximum: decimal.Decimal):
    too_much = bilingual(f"The amount must be at most {maximum}", f"金额不得超过 {maximum}")

    def check(value: decimal.Decimal) -> None:
        if positive and value <= 0:
            raise ValidationError(NOT_ABOVE_ZERO)
        if value < 0:
            raise ValidationError(NEGATIVE)
        if value > maximum:
            raise ValidationError(too_much)
    return check


class Yuan(Fixed):
    """An amount of money: yuan to the fen, not negative (`positive`: above zero), at most
    `maximum` (MAX_YUAN, what the amount columns hold: more would fail in PostgreSQL and be
    stored regardless in SQLite)."""

    def __init__(self, *, positive: bool = False, maximum: decimal.Decimal = MAX_YUAN,
                 **kwargs):
        super().__init__(2, too_precise=NOT_YUAN,
                         **_with(kwargs, _yuan_bounds(positive, maximum)))


def _in_range(day: date) -> None:
    if not EARLIEST <= day <= LATEST:
        raise ValidationError(OUT_OF_RANGE_DATE)


class Date(_ma.Date):
    def __init__(self, **kwargs):
        super().__init__(**_with(kwargs, _in_range))


def _not_future(day: date) -> None:
    """Today is read per request, not when the schema is defined."""
    if day > clock.today():
        raise ValidationError(IN_THE_FUTURE)


class PastDate(Date):
    """The day something happened: not after today."""

    def __init__(self, **kwargs):
        super().__init__(**_with(kwargs, _not_future))


def _moment_in_range(moment: datetime) -> None:  # its own calendar day: no UTC overflow
    _in_range(moment.date())


class DateTime(_ma.DateTime):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **_with(kwargs, _moment_in_range))


class AwareDateTime(_ma.AwareDateTime):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **_with(kwargs, _moment_in_range))


def _distinct(items: list) -> None:
    try:
        distinct = len(set(items)) == len(items)
    except TypeError:  # entries that are not hashable (nested records) are not checked
        return
    if not distinct:
        raise ValidationError(DUPLICATES)


class List(_ma.List):
    def __init__(self, cls_or_instance, *, unique: bool = False, **kwargs):
        bounds = [validate.Length(max=MAX_ITEMS), *([_distinct] if unique else [])]
        super().__init__(cls_or_instance, **_with(kwargs, *bounds))


def check_span(start: date | None, end: date | None, start_field: str = "date_from",
               end_field: str = "date_to", longest: int = MAX_SPAN_DAYS) -> None:
    """A from/to pair: in order and no longer than `longest` days (either may be open)."""
    if start and end and end < start:
        raise ValidationError(RANGE_BACKWARDS, end_field)
    if start and end and (end - start).days > longest:
        raise ValidationError(SPAN_TOO_LONG, start_field)
